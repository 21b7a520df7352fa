// SPDX-License-Identifier: MIT
// The scheduler with a durable store: tasks by name, fires committed before they run, refused or
// failed commits undone, outcomes recorded, store reports as events. The durable store here is a
// memory store with the DurableJobStore hooks and a journal of what they were told.
#include <apsched/callback_scheduler.hpp>
#include <apsched/executors/inline.hpp>
#include <apsched/json/task_registry.hpp>
#include <apsched/stores/memory.hpp>
#include <apsched/testing/manual_clock.hpp>
#include <apsched/triggers/date.hpp>
#include <apsched/triggers/interval.hpp>

#include <nlohmann/json.hpp>

#include "support/catch.hpp"
#include "support/decode_count.hpp"
#include "support/event_log.hpp"
#include "support/journal_store.hpp"

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

namespace json_durable_scheduler_test {

using namespace std::chrono_literals;
using apsched::DateTrigger;
using apsched::EventType;
using apsched::FireDecision;
using apsched::FireState;
using apsched::IntervalTrigger;
using apsched::TimePoint;
using apsched::test::EventLog;
using apsched::test::Journal;
using apsched::test::JournalStore;

namespace {

const TimePoint t0 = apsched::ManualClock{}.now();

static_assert(apsched::DurableJobStore<JournalStore>);
static_assert(!apsched::DurableJobStore<apsched::MemoryJobStore>);

using Scheduler = apsched::CallbackScheduler<apsched::Stores<apsched::MemoryJobStore, JournalStore>,
                                             apsched::InlineExecutor, apsched::ManualClock>;
static_assert(Scheduler::any_durable && !Scheduler::all_durable);

struct Fixture {
  EventLog log;
  std::shared_ptr<Journal> journal = std::make_shared<Journal>();
  apsched::ManualClock clock{t0};
  Scheduler scheduler{{apsched::MemoryJobStore{}, JournalStore{journal}},
                      {},
                      clock,
                      {.store_aliases = {"memory", "durable"}, .random_seed = 7}};
  std::vector<std::string> sent;
  std::vector<unsigned> attempts;

  Fixture() {
    scheduler.add_listener(log.listener());
    scheduler.register_task("send", [this](std::string to, int copies) {
      if (copies < 0) {
        throw std::runtime_error{"negative copies"};
      }
      sent.push_back(fmt::format("{} x{}", to, copies));
    });
    scheduler.register_task("attempt", [this](const apsched::JobContext& context) {
      attempts.push_back(context.attempt);
    });
    scheduler.start();
  }

  std::optional<TimePoint> advance(apsched::Duration step) {
    clock.advance(step);
    return scheduler.process_due_jobs();
  }
};

}  // namespace

TEST_CASE("durable: the scheduler hands its task registry and index to durable stores",
          "[durable]") {
  Fixture f;
  REQUIRE(f.journal->tasks != nullptr);
  CHECK(f.journal->tasks->contains("send"));
  CHECK(f.journal->index == 1);
  CHECK(f.journal->registered == std::vector<std::string>{"send", "attempt"});
}

TEST_CASE("durable: a task job stores its task and JSON arguments and runs them", "[durable]") {
  Fixture f;
  f.scheduler.add_job(apsched::task("send"), DateTrigger{t0 + 10s},
                      {.id = "report", .store = "durable"}, "ops@example.com", 3);
  const std::optional<apsched::JobInfo> info = f.scheduler.get_job("report");
  REQUIRE(info);
  CHECK(info->store == "durable");

  f.advance(10s);
  CHECK(f.sent == std::vector<std::string>{"ops@example.com x3"});
  REQUIRE(f.journal->commits.size() == 1);
  const Journal::Commit& commit = f.journal->commits.front();
  CHECK(commit.job_id == "report");
  CHECK(commit.remove);  // a date trigger has no fire time left
  REQUIRE(commit.fires.size() == 1);
  CHECK(commit.fires[0].scheduled == t0 + 10s);
  CHECK(commit.fires[0].state == FireState::submitted);
  REQUIRE(f.journal->outcomes.size() == 1);
  CHECK(f.journal->outcomes[0].state == FireState::succeeded);
  CHECK(f.journal->outcomes[0].scheduled == t0 + 10s);
  CHECK_FALSE(f.journal->outcomes[0].with_record);  // the job was removed before it ran
}

TEST_CASE("durable: adding a task job decodes its arguments once", "[durable]") {
  Fixture f;
  std::vector<int> values;
  f.scheduler.register_task(
      "counted", [&values](decode_count::Counted counted) { values.push_back(counted.value); });
  decode_count::decodes = 0;
  f.scheduler.add_job(apsched::task("counted"), DateTrigger{t0 + 1s},
                      {.id = "counted", .store = "durable"}, decode_count::Counted{7});
  CHECK(decode_count::decodes == 1);
  f.scheduler.add_task_job(apsched::TaskCall{"counted", "[8]"}, DateTrigger{t0 + 1s},
                           {.id = "imported", .store = "durable"});
  CHECK(decode_count::decodes == 2);
  f.advance(1s);
  std::sort(values.begin(), values.end());
  CHECK(values == std::vector{7, 8});
  CHECK(decode_count::decodes == 2);
}

TEST_CASE("durable: a task job may live in the memory store too", "[durable]") {
  Fixture f;
  f.scheduler.add_job(apsched::task("send"), DateTrigger{t0 + 1s}, {.id = "transient"}, "a@b", 1);
  f.advance(1s);
  CHECK(f.sent == std::vector<std::string>{"a@b x1"});
  CHECK(f.journal->commits.empty());
  CHECK(f.journal->outcomes.empty());
}

TEST_CASE("durable: a failing task's outcome carries its error text", "[durable]") {
  Fixture f;
  f.scheduler.add_job(apsched::task("send"), IntervalTrigger{10s},
                      {.id = "bad", .store = "durable"}, "x", -1);
  f.advance(10s);
  REQUIRE(f.journal->outcomes.size() == 1);
  CHECK(f.journal->outcomes[0].state == FireState::failed);
  CHECK(f.journal->outcomes[0].error == "negative copies");
  CHECK(f.journal->outcomes[0].with_record);
  CHECK_FALSE(f.journal->commits.at(0).remove);
}

TEST_CASE("durable: add_job refuses closures, unknown tasks and mismatched arguments",
          "[durable]") {
  Fixture f;
  CHECK_THROWS_MATCHES(
      f.scheduler.add_job([] {}, IntervalTrigger{1s}, {.store = "durable"}),
      apsched::InvalidJobOptionError,
      Catch::Matchers::Message("add_job: store \"durable\" keeps jobs durably and cannot hold a "
                               "closure; expected a task registered with register_task and "
                               "named with apsched::task(\"name\")"));
  CHECK_THROWS_MATCHES(
      f.scheduler.add_job(apsched::task("nope"), IntervalTrigger{1s}, {.store = "durable"}),
      apsched::UnknownTaskError,
      Catch::Matchers::Message("add_job: no task is registered as \"nope\"; the registered "
                               "tasks are \"attempt\", \"send\""));
  CHECK_THROWS_MATCHES(
      f.scheduler.add_job(apsched::task("send"), IntervalTrigger{1s}, {.store = "durable"}, "x"),
      apsched::SerializationError,
      Catch::Matchers::Message("add_job: task \"send\" takes 2 arguments, got 1"));
  CHECK(f.scheduler.get_jobs().empty());
}

TEST_CASE("durable: a refused commit undoes the step, and the job runs once when it commits",
          "[durable]") {
  Fixture f;
  f.scheduler.add_job(apsched::task("send"), IntervalTrigger{10s},
                      {.id = "tick", .store = "durable"}, "x", 1);
  f.journal->next_refusal = Journal::Refusal::unchanged;
  f.log.clear();
  f.advance(10s);
  // The refused step ran nothing and said nothing; the store gave the job back unchanged and
  // still due, so the same step committed it on the next try.
  CHECK(f.sent == std::vector<std::string>{"x x1"});
  REQUIRE(f.journal->commits.size() == 1);
  CHECK(f.journal->commits[0].fires.size() == 1);
  CHECK(f.log.count(EventType::job_submitted) == 1);
  CHECK(f.scheduler.get_job("tick")->running_instances == 0);
  CHECK(f.scheduler.get_job("tick")->next_run_time == t0 + 20s);
}

TEST_CASE("durable: a job another scheduler ran is not run here", "[durable]") {
  Fixture f;
  f.scheduler.add_job(apsched::task("send"), IntervalTrigger{10s},
                      {.id = "tick", .store = "durable"}, "x", 1);
  f.journal->next_refusal = Journal::Refusal::advanced_elsewhere;
  f.log.clear();
  f.advance(10s);
  CHECK(f.sent.empty());
  CHECK(f.journal->commits.empty());
  CHECK(f.log.count(EventType::job_submitted) == 0);
  CHECK(f.scheduler.get_job("tick")->running_instances == 0);
  CHECK(f.scheduler.get_job("tick")->next_run_time == t0 + 10s + 1h);
}

TEST_CASE("durable: a failing commit is a store error, and the store is retried after a back-off",
          "[durable]") {
  Fixture f;
  f.scheduler.add_job(apsched::task("send"), IntervalTrigger{10s},
                      {.id = "tick", .store = "durable"}, "x", 1);
  f.journal->next_refusal = Journal::Refusal::throws;
  f.log.clear();
  const std::optional<TimePoint> next = f.advance(10s);
  CHECK(f.sent.empty());
  CHECK(f.log.count(EventType::store_error) == 1);
  CHECK(f.log.count(EventType::job_submitted) == 0);
  REQUIRE(next);
  CHECK(*next == t0 + 10s + 10ms);  // the first back-off
  f.advance(10ms);
  CHECK(f.sent == std::vector<std::string>{"x x1"});
  CHECK(f.journal->commits.size() == 1);
}

TEST_CASE("durable: missed and coalesced fires are recorded beside the submitted one",
          "[durable]") {
  Fixture f;
  f.scheduler.add_job(apsched::task("send"), IntervalTrigger{10s},
                      {.id = "late", .misfire_grace_time = 15s, .store = "durable"}, "x", 1);
  // Down for a minute: at 65 s, the fires at 10..40 s are more than 15 s late; 50 s and 60 s
  // coalesce into one run, as the latest.
  f.advance(65s);
  REQUIRE(f.journal->commits.size() == 1);
  const std::vector<FireDecision>& fires = f.journal->commits[0].fires;
  REQUIRE(fires.size() == 3);
  CHECK(fires[0].state == FireState::missed);
  CHECK(fires[0].scheduled == t0 + 10s);
  CHECK(fires[0].runs == 4);
  CHECK(fires[1].state == FireState::coalesced);
  CHECK(fires[1].scheduled == t0 + 50s);
  CHECK(fires[1].runs == 1);
  CHECK(fires[2].state == FireState::submitted);
  CHECK(fires[2].scheduled == t0 + 60s);
  CHECK(f.sent.size() == 1);

  // Coalesce::earliest runs the first due fire and records the later ones from the second.
  f.scheduler.add_job(apsched::task("send"), IntervalTrigger{10s},
                      {.id = "early", .coalesce = apsched::Coalesce::earliest, .store = "durable"},
                      "y", 1);
  f.advance(35s);  // due: 75, 85 and 95 s
  const std::vector<FireDecision>& early = f.journal->commits.back().fires;
  REQUIRE(early.size() == 2);
  CHECK(early[0].state == FireState::coalesced);
  CHECK(early[0].scheduled == t0 + 85s);
  CHECK(early[0].runs == 2);
  CHECK(early[1].state == FireState::submitted);
  CHECK(early[1].scheduled == t0 + 75s);
}

TEST_CASE("durable: store reports become store_job_unusable events", "[durable]") {
  Fixture f;
  f.journal->pending_reports.push_back({"broken", "job \"broken\" names unknown task \"gone\""});
  f.log.clear();
  f.advance(1s);
  REQUIRE(f.log.count(EventType::store_job_unusable) == 1);
  const apsched::Event event = f.log.of(EventType::store_job_unusable).front();
  CHECK(event.job_id == "broken");
  CHECK(event.store == "durable");
  CHECK_THROWS_MATCHES(std::rethrow_exception(event.exception), apsched::StoreError,
                       Catch::Matchers::Message("job \"broken\" names unknown task \"gone\""));
}

TEST_CASE("durable: an idle scheduler asks a durable store again within its poll interval",
          "[durable]") {
  Fixture f;
  const std::optional<TimePoint> next = f.scheduler.process_due_jobs();
  REQUIRE(next);
  CHECK(*next == t0 + 2s);
}

TEST_CASE("durable: an abandoned fire is reported, and run again as the next attempt on rerun",
          "[durable]") {
  Fixture f;
  f.scheduler.add_job(apsched::task("attempt"), IntervalTrigger{1h},
                      {.id = "dropped", .store = "durable"});
  f.scheduler.add_job(apsched::task("attempt"), IntervalTrigger{1h},
                      {.id = "rerun", .store = "durable", .abandoned = apsched::Abandoned::rerun});
  CHECK(f.scheduler.get_job("rerun")->abandoned == apsched::Abandoned::rerun);
  f.journal->pending_abandoned.push_back({"dropped", t0 - 5min, 1, false});
  f.journal->pending_abandoned.push_back({"rerun", t0 - 5min, 1, true});
  f.log.clear();
  f.advance(1s);

  const std::vector<apsched::Event> abandoned = f.log.of(EventType::job_abandoned);
  REQUIRE(abandoned.size() == 2);
  CHECK(abandoned[0].job_id == "dropped");
  CHECK(abandoned[0].runs == 0);
  CHECK(abandoned[0].attempt == 1);
  CHECK(abandoned[0].scheduled_run_time == t0 - 5min);
  CHECK(abandoned[1].job_id == "rerun");
  CHECK(abandoned[1].runs == 1);
  // Only the rerun ran, as attempt 2 of the fire it took over; its outcome is recorded.
  CHECK(f.attempts == std::vector<unsigned>{2});
  const std::vector<apsched::Event> submitted = f.log.of(EventType::job_submitted);
  REQUIRE(submitted.size() == 1);
  CHECK(submitted[0].attempt == 2);
  CHECK(submitted[0].scheduled_run_time == t0 - 5min);
  REQUIRE(f.journal->outcomes.size() == 1);
  CHECK(f.journal->outcomes[0].job_id == "rerun");
  CHECK(f.journal->outcomes[0].scheduled == t0 - 5min);
  CHECK(f.journal->outcomes[0].state == FireState::succeeded);
}

TEST_CASE("durable: reruns whose job cannot be read now run at a later step, each once",
          "[durable]") {
  Fixture f;
  for (const char* id : {"a", "b"}) {
    f.scheduler.add_job(apsched::task("attempt"), IntervalTrigger{1h},
                        {.id = id, .store = "durable", .abandoned = apsched::Abandoned::rerun});
  }
  f.journal->pending_abandoned.push_back({"a", t0 - 5min, 1, true});
  f.journal->pending_abandoned.push_back({"b", t0 - 5min, 1, true});
  f.log.clear();
  f.journal->failing_finds = 1;  // the store fails reading "a"
  f.advance(1s);
  CHECK(f.attempts.empty());
  CHECK(f.log.count(EventType::job_abandoned) == 2);
  REQUIRE(f.log.count(EventType::store_error) == 1);
  CHECK_THROWS_WITH(std::rethrow_exception(f.log.of(EventType::store_error)[0].exception),
                    "find: the server is unreachable");
  f.advance(1s);  // both run now, as attempt 2, and are reported once
  CHECK(f.attempts == std::vector<unsigned>{2, 2});
  CHECK(f.log.count(EventType::job_abandoned) == 2);
  REQUIRE(f.journal->outcomes.size() == 2);
  f.advance(1s);
  CHECK(f.attempts.size() == 2);
}

TEST_CASE("durable: a rerun of a job that is gone is recorded as dropped", "[durable]") {
  Fixture f;
  f.journal->pending_abandoned.push_back({"gone", t0 - 1min, 2, true});
  f.advance(1s);
  CHECK(f.attempts.empty());
  REQUIRE(f.journal->outcomes.size() == 1);
  CHECK(f.journal->outcomes[0].state == FireState::dropped);
  CHECK(f.journal->outcomes[0].error == "the job no longer exists");
}

TEST_CASE("durable: a batch brackets the changes in the durable stores and holds their due jobs",
          "[durable]") {
  Fixture f;
  f.scheduler.add_job(apsched::task("send"), DateTrigger{t0 + 1s},
                      {.id = "due", .store = "durable"}, "x", 1);
  f.scheduler.batch([&] {
    CHECK(f.journal->batch == std::vector<std::string>{"begin"});
    f.scheduler.add_job(apsched::task("send"), DateTrigger{t0 + 1h},
                        {.id = "later", .store = "durable"}, "y", 1);
    CHECK_THROWS_AS(f.scheduler.batch([] {}), apsched::InvalidArgumentError);
    // Due, but the durable store is not processed during the batch.
    f.advance(2s);
    CHECK(f.sent.empty());
  });
  CHECK(f.journal->batch == std::vector<std::string>{"begin", "commit"});
  f.scheduler.process_due_jobs();
  CHECK(f.sent == std::vector<std::string>{"x x1"});

  CHECK_THROWS_AS(f.scheduler.batch([] { throw std::runtime_error{"abandon"}; }),
                  std::runtime_error);
  CHECK(f.journal->batch == std::vector<std::string>{"begin", "commit", "begin", "rollback"});
}

}  // namespace json_durable_scheduler_test
