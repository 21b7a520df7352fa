// SPDX-License-Identifier: MIT
// Schedulers on one SQLite file and the fires they have not started: a due job waits, unclaimed,
// for room in its executor; a queued run waits for other schedulers' runs, recorded claimed; a
// scheduler that stops leaves its claimed fires to the next one, which runs them as first runs;
// max_instances holds across schedulers; and a rerun job's outcome is written as its run ends. Each
// scheduler is a separate store object on the file, as a separate process would be; time moves by a
// manual clock and runs by hand.
#include <apsched/apsched.hpp>
#include <apsched/sqlite/job_store.hpp>
#include <apsched/testing/manual_clock.hpp>
#include <apsched/testing/manual_executor.hpp>

#include "support/catch.hpp"
#include "support/event_log.hpp"
#include "support/sqlite_jobs.hpp"
#include "support/temp_dir.hpp"

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace sqlite_claims_test {

using namespace std::chrono_literals;
using apsched::EventType;
using apsched::FireRecord;
using apsched::FireState;
using apsched::IntervalTrigger;
using apsched::JobOptions;
using apsched::SqliteJobStore;
using apsched::TimePoint;
using apsched::test::EventLog;
using apsched::test::raw_int;
using apsched::test::TempDir;

namespace {

const TimePoint t0 = apsched::ManualClock{}.now();

using Scheduler =
    apsched::CallbackScheduler<SqliteJobStore, apsched::ManualExecutor, apsched::ManualClock>;

// One scheduler on `file`, as one process: its clock, events, executor, and the runs of task
// "tick" (the job's name and attempt).
struct Node {
  EventLog log;
  apsched::ManualClock clock;
  Scheduler scheduler;
  std::vector<std::pair<std::string, unsigned>> runs;

  Node(const std::filesystem::path& file, TimePoint now,
       std::size_t workers = static_cast<std::size_t>(-1))
      : clock{now}, scheduler{SqliteJobStore{file}, {}, clock} {
    scheduler.add_listener(log.listener());
    scheduler.register_task("tick", [this](const apsched::JobContext& context, std::string name) {
      runs.emplace_back(std::move(name), context.attempt);
    });
    scheduler.executor().set_workers(workers);
    scheduler.start();
  }

  void advance_to(TimePoint when) {
    clock.set(when);
    scheduler.process_due_jobs();
  }

  std::size_t run_all() { return scheduler.executor().run_all(); }

  // The recorded state of job `id`'s fire at `scheduled`.
  FireRecord fire(const std::string& id, TimePoint scheduled) const {
    for (const FireRecord& record : scheduler.get_fire_history(id)) {
      if (record.scheduled == scheduled) {
        return record;
      }
    }
    FAIL("no fire of " << id << " is recorded at the time asked");
    return {};
  }
};

void add_tick(Node& node, const std::string& id, JobOptions options) {
  options.id = id;
  node.scheduler.add_job(apsched::task("tick"), IntervalTrigger{1s, {.start_date = t0}},
                         std::move(options), id);
}

}  // namespace

TEST_CASE("sqlite claims: a due job without a free worker is left unclaimed until one is free",
          "[sqlite]") {
  TempDir dir;
  const auto file = dir.file("jobs.db");
  Node node{file, t0, 1};
  add_tick(node, "a", {});
  add_tick(node, "b", {});
  node.advance_to(t0);
  REQUIRE(node.scheduler.executor().pending() == 1);
  // One job's fire is recorded started; the other job is still due, its fire not recorded, so
  // another scheduler on the file could take it.
  CHECK(raw_int(file, "SELECT count(*) FROM fires") == 1);
  CHECK(raw_int(file, "SELECT count(*) FROM fires WHERE state = 'submitted'") == 1);
  CHECK(raw_int(file,
                "SELECT count(*) FROM jobs WHERE next_run <= (SELECT min(scheduled) FROM "
                "fires)") == 1);

  CHECK(node.run_all() == 1);
  node.advance_to(t0 + 500ms);
  CHECK(node.scheduler.executor().pending() == 1);
  CHECK(node.run_all() == 1);
  node.advance_to(t0 + 600ms);
  CHECK(node.fire("a", t0).state == FireState::succeeded);
  CHECK(node.fire("b", t0).state == FireState::succeeded);
  CHECK(node.runs.size() == 2);
}

TEST_CASE(
    "sqlite claims: a due job left for want of a worker at shutdown runs on the next "
    "scheduler",
    "[sqlite]") {
  TempDir dir;
  const auto file = dir.file("jobs.db");
  {
    Node first{file, t0, 1};
    add_tick(first, "a", {.abandoned = apsched::Abandoned::rerun});
    add_tick(first, "b", {.abandoned = apsched::Abandoned::rerun});
    first.advance_to(t0);
    CHECK(first.run_all() == 1);
    first.scheduler.shutdown(true);
    CHECK(first.runs.size() == 1);
  }
  Node second{file, t0 + 500ms};
  second.advance_to(t0 + 500ms);
  CHECK(second.run_all() == 1);
  second.advance_to(t0 + 600ms);
  REQUIRE(second.runs.size() == 1);
  CHECK(second.runs[0].second == 1);
  CHECK(second.log.count(EventType::job_abandoned) == 0);
  const std::string other = second.runs[0].first;
  CHECK(second.fire(other, t0).state == FireState::succeeded);
  CHECK(second.fire(other, t0).attempt == 1);
}

TEST_CASE("sqlite claims: a queued run left at a clean shutdown is not abandoned but run once",
          "[sqlite]") {
  TempDir dir;
  const auto file = dir.file("jobs.db");
  {
    Node first{file, t0};
    add_tick(first, "q",
             {.overlap = apsched::Overlap::queue, .abandoned = apsched::Abandoned::rerun});
    first.advance_to(t0);
    first.advance_to(t0 + 1s);  // the run of t0 has not ended: t0 + 1 s is queued
    CHECK(first.scheduler.get_job("q")->queued_runs == 1);
    CHECK(first.fire("q", t0 + 1s).state == FireState::claimed);
    CHECK(first.run_all() == 1);
    first.scheduler.shutdown(true);
  }
  CHECK(raw_int(file, "SELECT count(*) FROM fires WHERE state = 'claimed'") == 1);
  Node second{file, t0 + 1500ms};
  second.advance_to(t0 + 1500ms);
  CHECK(second.run_all() == 1);
  second.advance_to(t0 + 1600ms);
  CHECK(second.log.count(EventType::job_abandoned) == 0);
  REQUIRE(second.runs.size() == 1);
  CHECK(second.runs[0].second == 1);
  CHECK(second.fire("q", t0 + 1s).state == FireState::succeeded);
  CHECK(second.fire("q", t0 + 1s).attempt == 1);
  CHECK(raw_int(file,
                "SELECT count(*) FROM fires WHERE state IN ('claimed', 'submitted', "
                "'abandoned')") == 0);
}

TEST_CASE("sqlite claims: max_instances counts the runs of other schedulers on the file",
          "[sqlite]") {
  TempDir dir;
  const auto file = dir.file("jobs.db");
  Node first{file, t0};
  Node second{file, t0};
  add_tick(first, "m", {});
  first.advance_to(t0);
  REQUIRE(first.scheduler.executor().pending() == 1);  // running in the first scheduler

  second.advance_to(t0 + 1s);
  CHECK(second.scheduler.executor().pending() == 0);
  CHECK(second.log.count(EventType::job_max_instances) == 1);
  CHECK(second.fire("m", t0 + 1s).state == FireState::skipped);

  CHECK(first.run_all() == 1);
  first.advance_to(t0 + 1s + 100ms);  // writes the outcome
  second.advance_to(t0 + 2s);
  CHECK(second.scheduler.executor().pending() == 1);
  CHECK(second.fire("m", t0 + 2s).state == FireState::submitted);
}

TEST_CASE("sqlite claims: a queued run waits for another scheduler's run, then starts",
          "[sqlite]") {
  TempDir dir;
  const auto file = dir.file("jobs.db");
  Node first{file, t0};
  Node second{file, t0};
  add_tick(first, "q", {.overlap = apsched::Overlap::queue});
  first.advance_to(t0);
  REQUIRE(first.scheduler.executor().pending() == 1);

  second.advance_to(t0 + 1s);  // the first scheduler's run is in the way: claimed, waiting
  CHECK(second.scheduler.executor().pending() == 0);
  CHECK(second.fire("q", t0 + 1s).state == FireState::claimed);
  second.advance_to(t0 + 1200ms);
  CHECK(second.scheduler.executor().pending() == 0);

  CHECK(first.run_all() == 1);
  first.advance_to(t0 + 1300ms);  // writes the outcome
  second.advance_to(t0 + 1400ms);
  CHECK(second.scheduler.executor().pending() == 1);
  CHECK(second.fire("q", t0 + 1s).state == FireState::submitted);
  CHECK(second.run_all() == 1);
  CHECK(second.runs == std::vector<std::pair<std::string, unsigned>>{{"q", 1}});
}

TEST_CASE("sqlite claims: a rerun job's outcome is written when its run ends, not a step later",
          "[sqlite]") {
  TempDir dir;
  const auto file = dir.file("jobs.db");
  Node node{file, t0};
  add_tick(node, "rerun", {.abandoned = apsched::Abandoned::rerun});
  add_tick(node, "drop", {});
  node.advance_to(t0);
  CHECK(node.run_all() == 2);
  CHECK(raw_int(file,
                "SELECT count(*) FROM fires WHERE job_id = 'rerun' AND "
                "state = 'succeeded'") == 1);
  // The other job's outcome waits for the next step, with the others of its step.
  CHECK(raw_int(file,
                "SELECT count(*) FROM fires WHERE job_id = 'drop' AND "
                "state = 'submitted'") == 1);
  node.advance_to(t0 + 100ms);
  CHECK(raw_int(file,
                "SELECT count(*) FROM fires WHERE job_id = 'drop' AND "
                "state = 'succeeded'") == 1);
}

}  // namespace sqlite_claims_test
