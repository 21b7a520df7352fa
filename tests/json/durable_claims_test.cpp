// SPDX-License-Identifier: MIT
// The scheduler and the runs whose fires a durable store recorded claimed (held back by other
// schedulers' runs, or beyond the executor's room): each goes to the executor only once the
// store recorded it started; one the store says is busy waits for a later step; one it says
// another scheduler took over is dropped here without running, and no longer counts towards
// max_instances.
#include <apsched/apsched.hpp>
#include <apsched/testing/manual_clock.hpp>
#include <apsched/testing/manual_executor.hpp>

#include "support/catch.hpp"
#include "support/event_log.hpp"
#include "support/journal_store.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace json_durable_claims_test {

using namespace std::chrono_literals;
using apsched::ClaimVerdict;
using apsched::EventType;
using apsched::FireState;
using apsched::IntervalTrigger;
using apsched::TimePoint;
using apsched::test::EventLog;
using apsched::test::Journal;
using apsched::test::JournalStore;

namespace {

const TimePoint t0 = apsched::ManualClock{}.now();

using Scheduler =
    apsched::CallbackScheduler<JournalStore, apsched::ManualExecutor, apsched::ManualClock>;

// A scheduler whose executor has room for one run, with interval job "q" (Overlap::queue) due
// at t0 + 1 s and every second after.
struct Fixture {
  EventLog log;
  std::shared_ptr<Journal> journal = std::make_shared<Journal>();
  apsched::ManualClock clock{t0};
  Scheduler scheduler{JournalStore{journal}, {}, clock};
  std::vector<std::string> runs;

  explicit Fixture(apsched::Coalesce coalesce = apsched::Coalesce::latest) {
    scheduler.add_listener(log.listener());
    scheduler.register_task("tick", [this](std::string name) { runs.push_back(std::move(name)); });
    scheduler.executor().set_workers(1);
    scheduler.add_job(apsched::task("tick"), IntervalTrigger{1s, {.start_date = t0 + 1s}},
                      {.id = "q", .coalesce = coalesce, .overlap = apsched::Overlap::queue},
                      std::string{"q"});
    scheduler.start();
  }

  void advance_to(TimePoint when) {
    clock.set(when);
    scheduler.process_due_jobs();
  }

  // The states the commits recorded, in order.
  std::vector<FireState> states() const {
    std::vector<FireState> states;
    for (const Journal::Commit& commit : journal->commits) {
      for (const apsched::FireDecision& fire : commit.fires) {
        states.push_back(fire.state);
      }
    }
    return states;
  }
};

}  // namespace

TEST_CASE(
    "durable claims: a run another scheduler's run holds back is claimed, and starts once "
    "recorded started",
    "[durable]") {
  Fixture f;
  f.journal->running_elsewhere["q"] = 1;
  f.journal->next_verdicts = {ClaimVerdict::busy};
  f.advance_to(t0 + 1s);
  CHECK(f.states() == std::vector{FireState::claimed});
  REQUIRE(f.journal->starts.size() == 1);
  CHECK(f.journal->starts[0].job_id == "q");
  CHECK(f.journal->starts[0].scheduled == t0 + 1s);
  CHECK(f.journal->starts[0].max_instances == 1);
  CHECK(f.scheduler.executor().pending() == 0);  // busy: it waits
  CHECK(f.log.count(EventType::job_submitted) == 0);

  f.advance_to(t0 + 1200ms);  // asked again: started
  CHECK(f.journal->starts.size() == 2);
  CHECK(f.scheduler.executor().pending() == 1);
  CHECK(f.scheduler.executor().run_all() == 1);
  CHECK(f.runs == std::vector<std::string>{"q"});
  CHECK(f.log.count(EventType::job_submitted) == 1);
}

TEST_CASE("durable claims: a claimed run another scheduler took over is not run here",
          "[durable]") {
  Fixture f;
  f.journal->running_elsewhere["q"] = 1;
  f.journal->next_verdicts = {ClaimVerdict::lost};
  f.advance_to(t0 + 1s);
  CHECK(f.journal->starts.size() == 1);
  CHECK(f.scheduler.executor().pending() == 0);
  CHECK(f.log.count(EventType::job_submitted) == 0);

  // It no longer counts as running here: the next fire starts at once.
  f.journal->running_elsewhere["q"] = 0;
  f.advance_to(t0 + 2s);
  CHECK(f.scheduler.executor().pending() == 1);
  CHECK(f.log.count(EventType::job_max_instances) == 0);
  CHECK(f.journal->starts.size() == 1);
}

TEST_CASE("durable claims: runs beyond the executor's room are claimed and start as it frees",
          "[durable]") {
  Fixture f{apsched::Coalesce::all};
  f.scheduler.modify_job("q", {.max_instances = 2});
  f.advance_to(t0 + 2s);  // two fires due at once, room for one run
  CHECK(f.states() == std::vector{FireState::submitted, FireState::claimed});
  CHECK(f.scheduler.executor().pending() == 1);
  CHECK(f.journal->starts.empty());  // no room: not asked yet

  CHECK(f.scheduler.executor().run_all() == 1);
  f.advance_to(t0 + 2100ms);
  REQUIRE(f.journal->starts.size() == 1);
  CHECK(f.journal->starts[0].scheduled == t0 + 2s);
  CHECK(f.journal->starts[0].max_instances == 2);
  CHECK(f.scheduler.executor().pending() == 1);
  CHECK(f.scheduler.executor().run_all() == 1);
  CHECK(f.runs.size() == 2);
}

}  // namespace json_durable_claims_test
