// SPDX-License-Identifier: MIT
// Jobs and stores for the SQLite tests: a task registry with task "ping", a durable job running
// it, a store opened on a file and attached to that registry, a fire committed by hand, and
// the file read and written through a connection of its own, as another program would.
#pragma once

#include <apsched/detail/sqlite/database.hpp>
#include <apsched/json/task_registry.hpp>
#include <apsched/sqlite/job_store.hpp>
#include <apsched/triggers/interval.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "support/task_body.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <stdexcept>
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
  JobRecord record{
      .id = std::move(id),
      .body = apsched::test::task_body(tasks, "ping", nlohmann::json::parse(arguments)),
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

/// Advances `job` by one 10 s interval and has `store` commit one fire of `state` at the job's
/// next_run before the advance; returns what commit_due returned.
inline bool commit_one(SqliteJobStore& store, JobRecord& job,
                       FireState state = FireState::submitted) {
  const FireDecision fire{.scheduled = job.next_run, .state = state, .runs = 1};
  job.next_fire += std::chrono::seconds{10};
  job.next_run += std::chrono::seconds{10};
  return store.commit_due(job, std::span<const FireDecision>{&fire, 1}, false);
}

/// Runs `sql` on `file` through a connection of its own, as another program would.
inline void raw_exec(const std::filesystem::path& file, const std::string& sql) {
  auto db = detail::sqlite::Database::open(file);
  db.exec(sql);
}

/// The integer the single-value query `sql` returns on `file`, through a connection of its own.
/// @throws std::runtime_error if the query returns no row
inline std::int64_t raw_int(const std::filesystem::path& file, const std::string& sql) {
  auto db = detail::sqlite::Database::open(file);
  auto select = db.prepare(sql);
  if (!select.step()) {
    throw std::runtime_error{"raw_int: no row for " + sql};
  }
  return select.column_int64(0);
}

}  // namespace apsched::test
