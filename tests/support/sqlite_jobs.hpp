// SPDX-License-Identifier: MIT
// Jobs and stores for the SQLite tests: a task registry with task "ping", a durable job running
// it, and a store opened on a file and attached to that registry.
#pragma once

#include <apsched/json/task_registry.hpp>
#include <apsched/stores/sqlite.hpp>
#include <apsched/triggers/interval.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>

namespace apsched::test {

/// A registry with task "ping" (one int) and, with `with_other`, task "other" (no argument).
inline std::shared_ptr<apsched::TaskRegistry> make_tasks(bool with_other = true) {
  auto tasks = std::make_shared<apsched::TaskRegistry>();
  tasks->add("ping", [](int /*value*/) {});
  if (with_other) {
    tasks->add("other", [] {});
  }
  return tasks;
}

/// A durable job running task "ping" with argument `value` every 10 s from `first`.
inline JobRecord make_job(const apsched::TaskRegistry& tasks, std::string id, TimePoint first,
                          int value = 1) {
  const std::string arguments = fmt::format("[{}]", value);
  JobRecord record{.id = std::move(id),
                   .body = tasks.make_body("ping", nlohmann::json::parse(arguments)),
                   .trigger = apsched::AnyTrigger{
                       apsched::IntervalTrigger{std::chrono::seconds{10}, {.start_date = first}}}};
  record.extra().task =
      std::make_shared<const apsched::TaskCall>(apsched::TaskCall{"ping", arguments});
  record.next_fire = first;
  record.next_run = first;
  return record;
}

/// A store on `file`, attached to `tasks` as the store with index 0.
inline SqliteJobStore open_store(const std::filesystem::path& file,
                                 std::shared_ptr<const apsched::TaskRegistry> tasks,
                                 SqliteStoreOptions options = {}) {
  SqliteJobStore store{file, std::move(options)};
  store.attach(std::move(tasks), 0);
  return store;
}

}  // namespace apsched::test
