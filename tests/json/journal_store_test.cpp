// SPDX-License-Identifier: MIT
// The job store conformance suite against JournalStore, the test store whose DurableJobStore
// hooks keep a journal (support/journal_store.hpp). It lives in the json part's tests because
// JournalStore runs tasks of a TaskRegistry. Its batches and outcomes are only journaled and it
// keeps nothing beyond itself, so it gets the cases a store shows on its own.
#include <apsched/json/task_registry.hpp>
#include <apsched/triggers/interval.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "support/catch.hpp"
#include "support/durable_job_store_conformance.hpp"
#include "support/journal_store.hpp"
#include "support/task_body.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace json_journal_store_test {

using namespace std::chrono_literals;
using apsched::JobRecord;
using apsched::TimePoint;
using apsched::test::Journal;
using apsched::test::JournalStore;

namespace {

// The conformance suite's fixture: each store a fresh one on a journal of its own, attached to a
// registry with task "ping".
struct JournalStoreFixture {
  using Store = JournalStore;
  static constexpr std::string_view name = "JournalStore";
  static constexpr std::string_view tags = "[journal]";
  static constexpr bool shares_storage = false;

  std::shared_ptr<apsched::TaskRegistry> tasks = [] {
    auto registry = std::make_shared<apsched::TaskRegistry>();
    registry->add("ping", [](int /*value*/) {});
    return registry;
  }();

  [[nodiscard]] Store open() const {
    Store store{std::make_shared<Journal>()};
    store.attach(tasks, 0);
    return store;
  }

  // A durable job running task "ping" with argument `value` every 10 s from `first`.
  [[nodiscard]] JobRecord record(std::string id, TimePoint first, int value) const {
    const std::string arguments = fmt::format("[{}]", value);
    JobRecord job{
        .id = std::move(id),
        .body = apsched::test::task_body(*tasks, "ping", nlohmann::json::parse(arguments)),
        .trigger = apsched::AnyTrigger{apsched::IntervalTrigger{10s, {.start_date = first}}}};
    job.extra().task =
        std::make_shared<const apsched::TaskCall>(apsched::TaskCall{"ping", arguments});
    job.next_fire = first;
    job.next_run = first;
    return job;
  }
};

}  // namespace

[[maybe_unused]] const bool conformance_registered =
    apsched::test::conformance::register_suite<JournalStoreFixture>();

TEST_CASE("journal store: satisfies DurableJobStore", "[store][journal][concept]") {
  STATIC_REQUIRE(apsched::DurableJobStore<JournalStore>);
}

}  // namespace json_journal_store_test
