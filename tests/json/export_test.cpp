// SPDX-License-Identifier: MIT
// export_jobs / import_jobs: task jobs written as JSON and added back, into another store of the
// same scheduler or into another scheduler, with their triggers, options and next run times.
#include <apsched/callback_scheduler.hpp>
#include <apsched/cron/cron_trigger.hpp>
#include <apsched/executors/inline.hpp>
#include <apsched/json/export.hpp>
#include <apsched/stores/memory.hpp>
#include <apsched/testing/manual_clock.hpp>
#include <apsched/triggers/interval.hpp>

#include "support/catch.hpp"
#include "support/journal_store.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace json_export_test {

using namespace std::chrono_literals;
using apsched::TimePoint;
using apsched::test::Journal;
using apsched::test::JournalStore;
using nlohmann::json;

namespace {

const TimePoint t0 = apsched::ManualClock{}.now();

using Scheduler = apsched::CallbackScheduler<apsched::Stores<apsched::MemoryJobStore, JournalStore>,
                                             apsched::InlineExecutor, apsched::ManualClock>;

struct Node {
  std::shared_ptr<Journal> journal = std::make_shared<Journal>();
  apsched::ManualClock clock{t0};
  Scheduler scheduler{{apsched::MemoryJobStore{}, JournalStore{journal}},
                      {},
                      clock,
                      {.store_aliases = {"memory", "durable"}, .random_seed = 3}};
  std::vector<std::string> sent;

  Node() {
    scheduler.register_task("send", [this](std::string to, int copies) {
      sent.push_back(fmt::format("{} x{}", to, copies));
    });
  }
};

}  // namespace

TEST_CASE("json export: task jobs export with their task, trigger, options and next run",
          "[json][export]") {
  Node node;
  node.scheduler.add_job(apsched::task("send"), apsched::IntervalTrigger{10min},
                         {.id = "mail",
                          .name = "Mail",
                          .misfire_grace_time = 30s,
                          .max_instances = 2,
                          .store = "durable",
                          .abandoned = apsched::Abandoned::rerun},
                         "ops@example.com", 3);
  const json exported = apsched::export_jobs(node.scheduler, "durable");
  CHECK(exported["format"] == "apsched-jobs");
  CHECK(exported["version"] == 1);
  REQUIRE(exported["jobs"].size() == 1);
  const json& job = exported["jobs"][0];
  CHECK(job["id"] == "mail");
  CHECK(job["task"] == "send");
  CHECK(job["arguments"] == json::array({"ops@example.com", 3}));
  CHECK(job["trigger"]["type"] == "interval");
  CHECK(job["trigger"]["interval_ns"] == 600'000'000'000);
  CHECK(job["options"]["name"] == "Mail");
  CHECK(job["options"]["misfire_grace_time_ns"] == 30'000'000'000);
  CHECK(job["options"]["max_instances"] == 2);
  CHECK(job["options"]["abandoned"] == "rerun");
  CHECK(job["options"]["next_run_time"] == apsched::detail::json::format_rfc3339(t0 + 10min));
  CHECK_FALSE(job["options"].contains("store"));
}

TEST_CASE("json export: closures are refused, or left out on request", "[json][export]") {
  Node node;
  node.scheduler.add_job([] {}, apsched::IntervalTrigger{1s}, {.id = "closure"});
  CHECK_THROWS_MATCHES(
      apsched::export_jobs(node.scheduler), apsched::SerializationError,
      Catch::Matchers::Message("export_jobs: job \"closure\" runs a closure, which cannot be "
                               "exported; expected task jobs only (or "
                               "ExportOptions::skip_closures)"));
  CHECK(apsched::export_jobs(node.scheduler, {}, {.skip_closures = true})["jobs"].empty());
}

TEST_CASE("json export: jobs move to another scheduler and keep their schedules",
          "[json][export]") {
  Node from;
  from.scheduler.add_job(apsched::task("send"), apsched::IntervalTrigger{10min},
                         {.id = "mail", .store = "durable"}, "a@b", 1);
  from.scheduler.add_job(
      apsched::task("send"),
      apsched::CronTrigger::from_crontab("0 9 * * MON-FRI", {.timezone = "Europe/Berlin"}),
      {.id = "report", .store = "durable"}, "c@d", 2);
  const json exported = apsched::export_jobs(from.scheduler);

  Node to;
  const std::vector<std::string> ids =
      apsched::import_jobs(to.scheduler, json::parse(exported.dump()), {.store = "durable"});
  CHECK(ids == std::vector<std::string>{"mail", "report"});
  CHECK(to.journal->batch == std::vector<std::string>{"begin", "commit"});
  for (const std::string& id : ids) {
    const std::optional<apsched::JobInfo> original = from.scheduler.get_job(id);
    const std::optional<apsched::JobInfo> moved = to.scheduler.get_job(id);
    REQUIRE(moved);
    CHECK(moved->store == "durable");
    CHECK(moved->next_run_time == original->next_run_time);
    CHECK(moved->trigger.describe() == original->trigger.describe());
    CHECK(moved->task->arguments == original->task->arguments);
  }
  // Exporting the imported jobs gives the same JSON.
  CHECK(apsched::export_jobs(to.scheduler) == exported);

  to.scheduler.start();
  to.clock.advance(10min);
  (void)to.scheduler.process_due_jobs();
  CHECK(to.sent == std::vector<std::string>{"a@b x1"});
}

TEST_CASE("json export: a conflicting or malformed import lands nothing", "[json][export]") {
  Node node;
  node.scheduler.add_job(apsched::task("send"), apsched::IntervalTrigger{1h},
                         {.id = "mail", .store = "durable"}, "a@b", 1);
  const json exported = apsched::export_jobs(node.scheduler);
  CHECK_THROWS_AS(apsched::import_jobs(node.scheduler, exported, {.store = "durable"}),
                  apsched::ConflictingIdError);
  CHECK(node.journal->batch == std::vector<std::string>{"begin", "rollback"});
  CHECK_NOTHROW(
      apsched::import_jobs(node.scheduler, exported,
                           {.store = "durable", .on_conflict = apsched::ConflictPolicy::replace}));

  CHECK_THROWS_AS(apsched::import_jobs(node.scheduler, json{{"jobs", json::array()}}),
                  apsched::SerializationError);
  CHECK_THROWS_WITH(apsched::import_jobs(node.scheduler, json{{"jobs", json::array()}}),
                    Catch::Matchers::StartsWith("import_jobs: the input is "));
  json missing = exported;
  missing["jobs"][0].erase("trigger");
  CHECK_THROWS_MATCHES(
      apsched::import_jobs(node.scheduler, missing,
                           {.on_conflict = apsched::ConflictPolicy::replace}),
      apsched::SerializationError,
      Catch::Matchers::Message("import_jobs: job 0 has no member \"trigger\"; expected \"id\", "
                               "\"task\", \"arguments\", \"trigger\" and \"options\""));
  json unknown = exported;
  unknown["jobs"][0]["task"] = "gone";
  CHECK_THROWS_AS(apsched::import_jobs(node.scheduler, unknown,
                                       {.on_conflict = apsched::ConflictPolicy::replace}),
                  apsched::UnknownTaskError);
}

}  // namespace json_export_test
