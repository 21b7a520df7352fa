// SPDX-License-Identifier: MIT
// The scheduler core's semantics, driven by hand: a ManualClock, and the callback model's
// process_due_jobs() as the loop, with inline or step-by-hand executors. No threads.
#include <apsched/callback_scheduler.hpp>
#include <apsched/executors/inline.hpp>
#include <apsched/stores/memory.hpp>
#include <apsched/testing/manual_clock.hpp>
#include <apsched/testing/manual_executor.hpp>
#include <apsched/triggers/date.hpp>
#include <apsched/triggers/interval.hpp>

#include "support/catch.hpp"
#include "support/event_log.hpp"

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace scheduler_test {

using namespace std::chrono_literals;
using apsched::Coalesce;
using apsched::DateTrigger;
using apsched::EventType;
using apsched::IntervalTrigger;
using apsched::JobContext;
using apsched::TimePoint;
using apsched::test::contains;
using apsched::test::EventLog;
using apsched::test::run_events;

namespace {

using InlineScheduler = apsched::CallbackScheduler<apsched::MemoryJobStore, apsched::InlineExecutor,
                                                   apsched::ManualClock>;
using SteppedScheduler = apsched::CallbackScheduler<apsched::MemoryJobStore,
                                                    apsched::ManualExecutor, apsched::ManualClock>;

const TimePoint t0 = apsched::ManualClock{}.now();

// A started scheduler on a manual clock, with an event log attached.
template <class Scheduler>
struct Fixture {
  // Declared first so it outlives the scheduler, whose destructor still emits events.
  EventLog log;
  apsched::ManualClock clock{t0};
  Scheduler scheduler{apsched::MemoryJobStore{}, {}, clock, {.random_seed = 42}};

  Fixture() {
    scheduler.add_listener(log.listener());
    scheduler.start();
  }

  // Moves the clock and lets the scheduler process what became due.
  std::optional<TimePoint> advance(apsched::Duration step) {
    clock.advance(step);
    return scheduler.process_due_jobs();
  }
};

}  // namespace

TEST_CASE("add_job returns the given id or a generated 15-character one", "[scheduler]") {
  Fixture<InlineScheduler> f;
  CHECK(f.scheduler.add_job([] {}, IntervalTrigger{10s}, {.id = "keep-warm"}) == "keep-warm");
  const std::string generated = f.scheduler.add_job([] {}, IntervalTrigger{10s});
  CHECK(generated.size() == 15);
  CHECK(generated.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(f.scheduler.get_jobs().size() == 2);
  CHECK(f.log.count(EventType::job_added) == 2);
}

TEST_CASE("add_job on a taken id throws, keeps or replaces as on_conflict says",
          "[scheduler][error]") {
  Fixture<InlineScheduler> f;
  int runs = 0;
  f.scheduler.add_job([&] { ++runs; }, IntervalTrigger{10s}, {.id = "nightly"});
  f.advance(10s);
  REQUIRE(runs == 1);
  REQUIRE_THROWS_AS(f.scheduler.add_job([] {}, IntervalTrigger{5s}, {.id = "nightly"}),
                    apsched::ConflictingIdError);
  REQUIRE_THROWS_WITH(f.scheduler.add_job([] {}, IntervalTrigger{5s}, {.id = "nightly"}),
                      "add_job: a job with id \"nightly\" already exists; expected a new id, or "
                      "on_conflict ConflictPolicy::keep or ConflictPolicy::replace");

  // keep: the stored job stays as it was, and nothing is announced.
  int kept_runs = 0;
  CHECK(f.scheduler.add_job([&] { ++kept_runs; }, IntervalTrigger{5s},
                            {.id = "nightly", .on_conflict = apsched::ConflictPolicy::keep}) ==
        "nightly");
  std::optional<apsched::JobInfo> job = f.scheduler.get_job("nightly");
  REQUIRE(job);
  CHECK(job->trigger.describe() == "interval[10s]");
  CHECK(job->next_run_time == t0 + 20s);
  CHECK(f.log.count(EventType::job_added) == 1);
  CHECK(f.log.count(EventType::job_modified) == 0);

  // replace: the new definition, a schedule from its trigger, and the counters of the old one.
  CHECK(f.scheduler.add_job([&] { ++kept_runs; }, IntervalTrigger{5s},
                            {.id = "nightly",
                             .name = "Nightly",
                             .on_conflict = apsched::ConflictPolicy::replace}) == "nightly");
  job = f.scheduler.get_job("nightly");
  REQUIRE(job);
  CHECK(job->name == "Nightly");
  CHECK(job->trigger.describe() == "interval[5s]");
  CHECK(job->next_run_time == t0 + 15s);
  CHECK(job->run_count == 1);
  CHECK(f.scheduler.get_jobs().size() == 1);
  CHECK(f.log.count(EventType::job_added) == 1);
  CHECK(f.log.count(EventType::job_modified) == 1);
  f.advance(5s);
  CHECK(runs == 1);
  CHECK(kept_runs == 1);
  CHECK(f.scheduler.get_job("nightly")->run_count == 2);

  // replace of an id no job has adds it.
  f.scheduler.add_job([] {}, IntervalTrigger{5s},
                      {.id = "new", .on_conflict = apsched::ConflictPolicy::replace});
  CHECK(f.log.count(EventType::job_added) == 2);
}

TEST_CASE("add_job validates its options and names the bad value", "[scheduler][error]") {
  Fixture<InlineScheduler> f;
  REQUIRE_THROWS_AS(f.scheduler.add_job([] {}, IntervalTrigger{1s}, {.max_instances = 0}),
                    apsched::InvalidJobOptionError);
  REQUIRE_THROWS_WITH(f.scheduler.add_job([] {}, IntervalTrigger{1s}, {.max_instances = 0}),
                      "add_job: max_instances 0 is out of range; expected 1 to 65535");
  REQUIRE_THROWS_WITH(f.scheduler.add_job([] {}, IntervalTrigger{1s}, {.misfire_grace_time = -1s}),
                      contains("misfire_grace_time -1s is not positive"));
  REQUIRE_THROWS_WITH(f.scheduler.add_job([] {}, IntervalTrigger{1s}, {.timeout = 0s}),
                      contains("timeout"));
  REQUIRE_THROWS_AS(f.scheduler.add_job([] {}, IntervalTrigger{1s}, {.executor = "io"}),
                    apsched::InvalidJobOptionError);
  REQUIRE_THROWS_WITH(f.scheduler.add_job([] {}, IntervalTrigger{1s}, {.store = "durable"}),
                      "add_job: no store has alias \"durable\"; expected one of \"default\"");
  CHECK(f.scheduler.get_jobs().empty());
}

TEST_CASE("a job whose trigger never fires is refused", "[scheduler][error]") {
  Fixture<InlineScheduler> f;
  const IntervalTrigger ended{1s, {.start_date = t0 - 1h, .end_date = t0 - 30min}};
  REQUIRE_THROWS_AS(f.scheduler.add_job([] {}, ended), apsched::InvalidTriggerError);
  REQUIRE_THROWS_WITH(f.scheduler.add_job([] {}, ended), contains("has no fire time"));
}

TEST_CASE("an interval job runs once per interval as time moves", "[scheduler][interval]") {
  Fixture<InlineScheduler> f;
  std::vector<TimePoint> scheduled;
  f.scheduler.add_job(
      [&](const JobContext& context) { scheduled.push_back(context.scheduled_run_time); },
      IntervalTrigger{10s}, {.id = "tick"});
  CHECK(f.advance(9s) == t0 + 10s);
  CHECK(scheduled.empty());
  CHECK(f.advance(1s) == t0 + 20s);
  CHECK(f.advance(10s) == t0 + 30s);
  CHECK(f.advance(10s) == t0 + 40s);
  CHECK(scheduled == std::vector<TimePoint>{t0 + 10s, t0 + 20s, t0 + 30s});
  const auto job = f.scheduler.get_job("tick");
  REQUIRE(job);
  CHECK(job->run_count == 3);
  CHECK(job->last_run_time == t0 + 30s);
  CHECK(job->last_outcome == apsched::JobOutcome::success);
}

TEST_CASE("a date job runs once and is then removed", "[scheduler][date]") {
  Fixture<InlineScheduler> f;
  int runs = 0;
  f.scheduler.add_job([&] { ++runs; }, DateTrigger{t0 + 5s}, {.id = "once"});
  CHECK_FALSE(f.advance(10s).has_value());
  CHECK(runs == 1);
  CHECK_FALSE(f.scheduler.get_job("once"));
  CHECK(f.log.count(EventType::job_removed) == 1);
}

TEST_CASE("every run reports submitted, started, then executed or error", "[scheduler][event]") {
  Fixture<InlineScheduler> f;
  f.scheduler.add_job([] {}, DateTrigger{t0}, {.id = "ok"});
  f.scheduler.add_job([] { throw std::runtime_error{"disk full"}; }, DateTrigger{t0 + 1s},
                      {.id = "bad"});
  f.advance(5s);
  CHECK(f.log.names(run_events) == std::vector<std::string>{"job_submitted", "job_started",
                                                            "job_executed", "job_submitted",
                                                            "job_started", "job_error"});
  const auto errors = f.log.of(EventType::job_error);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].job_id == "bad");
  REQUIRE(errors[0].exception);
  REQUIRE_THROWS_WITH(std::rethrow_exception(errors[0].exception), "disk full");
  REQUIRE(errors[0].started_at);
  CHECK(*errors[0].scheduled_run_time == t0 + 1s);
}

TEST_CASE("a failing job keeps its schedule and counts its failures", "[scheduler][error]") {
  Fixture<InlineScheduler> f;
  int runs = 0;
  f.scheduler.add_job(
      [&] {
        if (++runs % 2 == 1) {
          throw std::logic_error{"odd"};
        }
      },
      IntervalTrigger{1s}, {.id = "flaky"});
  for (int i = 0; i < 4; ++i) {
    f.advance(1s);
  }
  const auto job = f.scheduler.get_job("flaky");
  REQUIRE(job);
  CHECK(job->run_count == 4);
  CHECK(job->failure_count == 2);
  CHECK(job->last_outcome == apsched::JobOutcome::success);
}

TEST_CASE("a throwing listener is logged and the other listeners still run", "[scheduler][event]") {
  // Declared before the scheduler: its destructor still emits events to the listeners.
  std::vector<std::string> logged;
  int seen = 0;
  apsched::ManualClock clock{t0};
  InlineScheduler scheduler{apsched::MemoryJobStore{},
                            {},
                            clock,
                            {.logger = [&](apsched::LogLevel, std::string_view message) {
                              logged.emplace_back(message);
                            }}};
  scheduler.add_listener([](const apsched::Event&) { throw std::runtime_error{"listener bug"}; });
  scheduler.add_listener([&](const apsched::Event&) { ++seen; });
  scheduler.start();
  int runs = 0;
  scheduler.add_job([&] { ++runs; }, DateTrigger{t0});
  scheduler.process_due_jobs();
  CHECK(runs == 1);
  CHECK(seen >= 5);  // started, added, submitted, started, executed
  REQUIRE_FALSE(logged.empty());
  CHECK_THAT(logged.front(), contains("listener bug"));
}

TEST_CASE("listeners receive only the types in their mask and can be removed",
          "[scheduler][event]") {
  Fixture<InlineScheduler> f;
  int executed = 0;
  const auto id = f.scheduler.add_listener(
      [&](const apsched::Event& e) {
        CHECK(e.type == EventType::job_executed);
        ++executed;
      },
      static_cast<apsched::EventMask>(EventType::job_executed));
  f.scheduler.add_job([] {}, IntervalTrigger{1s});
  f.advance(1s);
  CHECK(executed == 1);
  CHECK(f.scheduler.remove_listener(id));
  CHECK_FALSE(f.scheduler.remove_listener(id));
  f.advance(1s);
  CHECK(executed == 1);
}

TEST_CASE("runs later than the misfire grace time are reported missed", "[scheduler][misfire]") {
  Fixture<InlineScheduler> f;
  int runs = 0;
  f.scheduler.add_job([&] { ++runs; }, DateTrigger{t0 + 10s},
                      {.id = "late", .misfire_grace_time = 5s});
  f.advance(16s);
  CHECK(runs == 0);
  const auto missed = f.log.of(EventType::job_missed);
  REQUIRE(missed.size() == 1);
  CHECK(missed[0].job_id == "late");
  CHECK(missed[0].runs == 1);
  CHECK(*missed[0].scheduled_run_time == t0 + 10s);
}

TEST_CASE("a run within the misfire grace time still runs", "[scheduler][misfire]") {
  Fixture<InlineScheduler> f;
  int runs = 0;
  f.scheduler.add_job([&] { ++runs; }, DateTrigger{t0 + 10s}, {.misfire_grace_time = 5s});
  f.advance(15s);
  CHECK(runs == 1);
  CHECK(f.log.count(EventType::job_missed) == 0);
}

TEST_CASE("coalescing folds missed runs into one and reports how many", "[scheduler][coalesce]") {
  const auto catch_up = [](Coalesce coalesce) {
    Fixture<InlineScheduler> f;
    std::vector<TimePoint> scheduled;
    f.scheduler.add_job([&](const JobContext& c) { scheduled.push_back(c.scheduled_run_time); },
                        IntervalTrigger{10s}, {.coalesce = coalesce, .max_instances = 5});
    CHECK(f.advance(50s) == t0 + 60s);
    const auto submitted = f.log.of(EventType::job_submitted);
    return std::make_pair(scheduled, submitted);
  };
  SECTION("latest") {
    const auto [scheduled, submitted] = catch_up(Coalesce::latest);
    CHECK(scheduled == std::vector<TimePoint>{t0 + 50s});
    REQUIRE(submitted.size() == 1);
    CHECK(submitted[0].runs == 4);
  }
  SECTION("earliest") {
    const auto [scheduled, submitted] = catch_up(Coalesce::earliest);
    CHECK(scheduled == std::vector<TimePoint>{t0 + 10s});
    CHECK(submitted[0].runs == 4);
  }
  SECTION("all") {
    const auto [scheduled, submitted] = catch_up(Coalesce::all);
    CHECK(scheduled == std::vector<TimePoint>{t0 + 10s, t0 + 20s, t0 + 30s, t0 + 40s, t0 + 50s});
    CHECK(submitted.size() == 5);
  }
}

TEST_CASE("grace time drops the oldest missed runs before coalescing", "[scheduler][coalesce]") {
  Fixture<InlineScheduler> f;
  std::vector<TimePoint> scheduled;
  f.scheduler.add_job([&](const JobContext& c) { scheduled.push_back(c.scheduled_run_time); },
                      IntervalTrigger{10s}, {.misfire_grace_time = 15s});
  f.advance(50s);
  CHECK(scheduled == std::vector<TimePoint>{t0 + 50s});
  const auto missed = f.log.of(EventType::job_missed);
  REQUIRE(missed.size() == 1);
  CHECK(missed[0].runs == 3);
  CHECK(*missed[0].scheduled_run_time == t0 + 10s);
  CHECK(f.log.of(EventType::job_submitted).at(0).runs == 1);
}

TEST_CASE("max_instances skips a run while one is outstanding", "[scheduler][instances]") {
  Fixture<SteppedScheduler> f;
  f.scheduler.add_job([] {}, IntervalTrigger{10s}, {.id = "slow"});
  f.advance(10s);
  CHECK(f.scheduler.get_job("slow")->running_instances == 1);
  f.advance(10s);
  CHECK(f.scheduler.executor().pending() == 1);
  const auto skipped = f.log.of(EventType::job_max_instances);
  REQUIRE(skipped.size() == 1);
  CHECK(*skipped[0].scheduled_run_time == t0 + 20s);
  CHECK(f.scheduler.executor().run_all() == 1);
  CHECK(f.scheduler.get_job("slow")->running_instances == 0);
}

TEST_CASE("max_instances allows that many runs at once", "[scheduler][instances]") {
  Fixture<SteppedScheduler> f;
  f.scheduler.add_job([] {}, IntervalTrigger{10s}, {.max_instances = 2});
  f.advance(10s);
  f.advance(10s);
  f.advance(10s);
  CHECK(f.scheduler.executor().pending() == 2);
  CHECK(f.log.count(EventType::job_max_instances) == 1);
}

TEST_CASE("overlap queue runs a blocked run once an instance finishes", "[scheduler][instances]") {
  Fixture<SteppedScheduler> f;
  std::vector<TimePoint> scheduled;
  f.scheduler.add_job([&](const JobContext& c) { scheduled.push_back(c.scheduled_run_time); },
                      IntervalTrigger{10s}, {.id = "queued", .overlap = apsched::Overlap::queue});
  f.advance(10s);
  f.advance(10s);
  CHECK(f.scheduler.get_job("queued")->queued_runs == 1);
  f.advance(10s);  // the queue holds max_instances runs; a third is skipped
  CHECK(f.log.count(EventType::job_max_instances) == 1);
  CHECK(f.scheduler.executor().run_all() == 1);
  CHECK(f.scheduler.executor().pending() == 0);
  CHECK(f.scheduler.process_due_jobs() == t0 + 40s);  // submits the queued run
  CHECK(f.scheduler.executor().run_all() == 1);
  CHECK(scheduled == std::vector<TimePoint>{t0 + 10s, t0 + 20s});
}

TEST_CASE("pause_job and resume_job skip the paused runs by default", "[scheduler][pause]") {
  Fixture<InlineScheduler> f;
  int runs = 0;
  f.scheduler.add_job([&] { ++runs; }, IntervalTrigger{10s}, {.id = "p"});
  const auto paused = f.scheduler.pause_job("p");
  CHECK_FALSE(paused.next_run_time);
  CHECK_FALSE(f.advance(35s).has_value());
  CHECK(runs == 0);
  const auto resumed = f.scheduler.resume_job("p");
  CHECK(resumed.next_run_time == t0 + 40s);
  f.advance(5s);
  CHECK(runs == 1);
}

TEST_CASE("resume_job can keep the missed runs for the misfire rules", "[scheduler][pause]") {
  Fixture<InlineScheduler> f;
  std::vector<TimePoint> scheduled;
  f.scheduler.add_job([&](const JobContext& c) { scheduled.push_back(c.scheduled_run_time); },
                      IntervalTrigger{10s}, {.id = "p"});
  f.scheduler.pause_job("p");
  f.advance(35s);
  f.scheduler.resume_job("p", apsched::MissedRuns::run);
  f.scheduler.process_due_jobs();
  CHECK(scheduled == std::vector<TimePoint>{t0 + 30s});
  CHECK(f.log.of(EventType::job_submitted).at(0).runs == 2);
}

TEST_CASE("a job added paused waits for resume_job", "[scheduler][pause]") {
  Fixture<InlineScheduler> f;
  int runs = 0;
  f.scheduler.add_job([&] { ++runs; }, IntervalTrigger{10s}, {.id = "later", .paused = true});
  f.advance(30s);
  CHECK(runs == 0);
  f.scheduler.resume_job("later");
  f.advance(10s);
  CHECK(runs == 1);
}

TEST_CASE("modify_job changes options and the next run time", "[scheduler][modify]") {
  Fixture<InlineScheduler> f;
  f.scheduler.add_job([] {}, IntervalTrigger{10s}, {.id = "m"});
  const auto changed = f.scheduler.modify_job("m", {.name = "renamed",
                                                    .misfire_grace_time = 3s,
                                                    .coalesce = Coalesce::all,
                                                    .max_instances = 4,
                                                    .next_run_time = t0 + 2s,
                                                    .timeout = 1min});
  CHECK(changed.name == "renamed");
  CHECK(changed.misfire_grace_time == 3s);
  CHECK(changed.coalesce == Coalesce::all);
  CHECK(changed.max_instances == 4);
  CHECK(changed.next_run_time == t0 + 2s);
  CHECK(changed.timeout == 1min);
  CHECK(f.advance(2s) == t0 + 12s);  // the schedule continues from the new run time
  CHECK(f.log.count(EventType::job_modified) == 1);
  const auto cleared =
      f.scheduler.modify_job("m", {.misfire_grace_time = std::optional<apsched::Duration>{}});
  CHECK_FALSE(cleared.misfire_grace_time);
  REQUIRE_THROWS_WITH(f.scheduler.modify_job("m", {.max_instances = 70000}),
                      "modify_job: max_instances 70000 is out of range; expected 1 to 65535");
}

TEST_CASE("reschedule_job replaces the trigger from now", "[scheduler][modify]") {
  Fixture<InlineScheduler> f;
  f.scheduler.add_job([] {}, IntervalTrigger{10s}, {.id = "r"});
  f.clock.advance(3s);
  const auto job = f.scheduler.reschedule_job("r", IntervalTrigger{1min});
  CHECK(job.next_run_time == t0 + 3s + 1min);
  CHECK(job.trigger.describe() == "interval[1min]");
}

TEST_CASE("an unknown job id is a JobLookupError naming the call and id", "[scheduler][error]") {
  Fixture<InlineScheduler> f;
  REQUIRE_THROWS_AS(f.scheduler.remove_job("ghost"), apsched::JobLookupError);
  REQUIRE_THROWS_WITH(f.scheduler.remove_job("ghost"), "remove_job: no job has id \"ghost\"");
  REQUIRE_THROWS_WITH(f.scheduler.pause_job("ghost"), "pause_job: no job has id \"ghost\"");
  REQUIRE_THROWS_WITH(f.scheduler.resume_job("ghost"), "resume_job: no job has id \"ghost\"");
  REQUIRE_THROWS_WITH(f.scheduler.modify_job("ghost", {}), "modify_job: no job has id \"ghost\"");
  REQUIRE_THROWS_WITH(f.scheduler.run_job_now("ghost"), "run_job_now: no job has id \"ghost\"");
  REQUIRE_THROWS_WITH(f.scheduler.reschedule_job("ghost", IntervalTrigger{1s}),
                      "reschedule_job: no job has id \"ghost\"");
  CHECK_FALSE(f.scheduler.get_job("ghost"));
}

TEST_CASE("remove_job and remove_all_jobs remove and report", "[scheduler]") {
  Fixture<InlineScheduler> f;
  f.scheduler.add_job([] {}, IntervalTrigger{10s}, {.id = "a"});
  f.scheduler.add_job([] {}, IntervalTrigger{10s}, {.id = "b"});
  f.scheduler.add_job([] {}, IntervalTrigger{10s}, {.id = "c"});
  f.scheduler.remove_job("a");
  CHECK(f.scheduler.get_jobs().size() == 2);
  f.scheduler.remove_all_jobs();
  CHECK(f.scheduler.get_jobs().empty());
  CHECK(f.log.count(EventType::job_removed) == 1);
  CHECK(f.log.count(EventType::all_jobs_removed) == 1);
  CHECK_FALSE(f.advance(1h).has_value());
}

TEST_CASE("run_job_now runs at once and keeps the schedule", "[scheduler]") {
  Fixture<InlineScheduler> f;
  std::vector<TimePoint> scheduled;
  f.scheduler.add_job([&](const JobContext& c) { scheduled.push_back(c.scheduled_run_time); },
                      IntervalTrigger{10s}, {.id = "now"});
  f.clock.advance(3s);
  CHECK(f.scheduler.run_job_now("now"));
  CHECK(scheduled == std::vector<TimePoint>{t0 + 3s});
  CHECK(f.scheduler.get_job("now")->next_run_time == t0 + 10s);
}

TEST_CASE("run_job_now needs a started scheduler", "[scheduler][error]") {
  apsched::ManualClock clock{t0};
  InlineScheduler scheduler{apsched::MemoryJobStore{}, {}, clock};
  scheduler.add_job([] {}, IntervalTrigger{10s}, {.id = "x"});
  REQUIRE_THROWS_AS(scheduler.run_job_now("x"), apsched::SchedulerNotRunningError);
}

TEST_CASE("a paused scheduler runs nothing until resumed", "[scheduler][pause]") {
  Fixture<InlineScheduler> f;
  std::vector<TimePoint> scheduled;
  f.scheduler.add_job([&](const JobContext& c) { scheduled.push_back(c.scheduled_run_time); },
                      IntervalTrigger{10s});
  f.scheduler.pause();
  CHECK(f.scheduler.state() == apsched::SchedulerState::paused);
  CHECK_FALSE(f.advance(25s).has_value());
  CHECK(scheduled.empty());
  f.scheduler.resume();
  f.scheduler.process_due_jobs();
  CHECK(scheduled == std::vector<TimePoint>{t0 + 20s});
  CHECK(f.log.count(EventType::scheduler_paused) == 1);
  CHECK(f.log.count(EventType::scheduler_resumed) == 1);
}

TEST_CASE("start and shutdown check the state", "[scheduler][error]") {
  Fixture<InlineScheduler> f;
  REQUIRE_THROWS_AS(f.scheduler.start(), apsched::SchedulerAlreadyRunningError);
  REQUIRE_THROWS_WITH(f.scheduler.start(), "start: the scheduler is already running");
  f.scheduler.shutdown();
  CHECK(f.scheduler.state() == apsched::SchedulerState::stopped);
  REQUIRE_THROWS_AS(f.scheduler.shutdown(), apsched::SchedulerNotRunningError);
  REQUIRE_THROWS_WITH(f.scheduler.pause(), "pause: the scheduler is not running");
  f.scheduler.start();  // a scheduler can start again after shutdown
  CHECK(f.scheduler.state() == apsched::SchedulerState::running);
}

TEST_CASE("shutdown without waiting drops queued runs and reports them", "[scheduler][shutdown]") {
  Fixture<SteppedScheduler> f;
  f.scheduler.add_job([] {}, DateTrigger{t0}, {.id = "queued-a"});
  f.scheduler.add_job([] {}, IntervalTrigger{1s}, {.id = "queued-b"});
  f.advance(1s);
  CHECK(f.scheduler.executor().pending() == 2);
  f.scheduler.shutdown(false);
  CHECK(f.log.count(EventType::job_dropped) == 2);
  CHECK(f.scheduler.get_job("queued-b")->last_outcome == apsched::JobOutcome::dropped);
  CHECK(f.scheduler.get_job("queued-b")->running_instances == 0);
}

TEST_CASE("jobs receive their context and bound arguments", "[scheduler][job]") {
  Fixture<InlineScheduler> f;
  std::string seen;
  f.scheduler.add_job(
      [&](const JobContext& context, const std::string& to, int retries) {
        seen = std::string{context.job_id} + ":" + to + ":" + std::to_string(retries);
        CHECK_FALSE(context.stop_token.stop_requested());
        CHECK(context.attempt == 1);
      },
      DateTrigger{t0}, {.id = "report"}, std::string{"ops@example.com"}, 3);
  int sum = 0;
  f.scheduler.add_job([&](int a, int b) { sum = a + b; }, DateTrigger{t0}, {}, 2, 40);
  f.scheduler.process_due_jobs();
  CHECK(seen == "report:ops@example.com:3");
  CHECK(sum == 42);
}

TEST_CASE("jobs may manage the scheduler from inside a run", "[scheduler][job]") {
  Fixture<InlineScheduler> f;
  int runs = 0;
  f.scheduler.add_job(
      [&] {
        ++runs;
        f.scheduler.remove_job("self");
        f.scheduler.add_job([&] { ++runs; }, DateTrigger{t0 + 1min}, {.id = "next"});
        CHECK(f.scheduler.get_jobs().size() == 1);
      },
      IntervalTrigger{10s}, {.id = "self"});
  f.advance(10s);
  CHECK(f.advance(1min) == std::nullopt);
  CHECK(runs == 2);
}

TEST_CASE("jitter delays runs within bounds and keeps the grid", "[scheduler][jitter]") {
  Fixture<InlineScheduler> f;
  std::vector<TimePoint> scheduled;
  f.scheduler.add_job([&](const JobContext& c) { scheduled.push_back(c.scheduled_run_time); },
                      IntervalTrigger{10s, {.start_date = t0 + 10s, .jitter = 4s}});
  for (int i = 0; i < 500; ++i) {
    f.advance(1s);
  }
  REQUIRE(scheduled.size() >= 45);
  bool any_delayed = false;
  for (const TimePoint t : scheduled) {
    const auto offset = (t - t0) % 10s;
    CHECK(offset <= 4s);
    any_delayed = any_delayed || offset > 0s;
  }
  CHECK(any_delayed);
}

TEST_CASE("jitter never reaches the following fire time", "[scheduler][jitter]") {
  Fixture<InlineScheduler> f;
  std::vector<TimePoint> scheduled;
  f.scheduler.add_job([&](const JobContext& c) { scheduled.push_back(c.scheduled_run_time); },
                      IntervalTrigger{1s, {.start_date = t0 + 1s, .jitter = 1h}});
  for (int i = 0; i < 200; ++i) {
    f.advance(100ms);
  }
  // Unclamped, an hour of jitter would push every run past the end of these 20 s.
  REQUIRE(scheduled.size() >= 15);
  for (std::size_t i = 1; i < scheduled.size(); ++i) {
    CHECK(scheduled[i] > scheduled[i - 1]);
    CHECK(scheduled[i] - scheduled[i - 1] < 2s);
  }
  CHECK(scheduled.back() <= t0 + 20s);
}

namespace {
struct BackwardsTrigger {
  [[nodiscard]] std::optional<TimePoint> next_fire_time(std::optional<TimePoint> previous,
                                                        TimePoint now) const {
    return previous ? *previous : now;  // a defect: never moves on
  }
};
}  // namespace

TEST_CASE("a defective trigger is reported and its job paused, not lost", "[scheduler][error]") {
  Fixture<InlineScheduler> f;
  f.scheduler.add_job([] {}, BackwardsTrigger{}, {.id = "stuck"});
  f.advance(1s);
  const auto errors = f.log.of(EventType::job_error);
  REQUIRE(errors.size() == 1);
  REQUIRE_THROWS_AS(std::rethrow_exception(errors[0].exception), apsched::InvalidTriggerError);
  const auto job = f.scheduler.get_job("stuck");
  REQUIRE(job);
  CHECK_FALSE(job->next_run_time);
}

TEST_CASE("a clock stepped back runs nothing twice", "[scheduler][clock]") {
  Fixture<InlineScheduler> f;
  int runs = 0;
  f.scheduler.add_job([&] { ++runs; }, IntervalTrigger{10s});
  f.advance(10s);
  CHECK(runs == 1);
  f.clock.set(t0 - 1h);
  CHECK(f.scheduler.process_due_jobs() == t0 + 20s);
  CHECK(runs == 1);
  f.clock.set(t0 + 20s);
  f.scheduler.process_due_jobs();
  CHECK(runs == 2);
}

TEST_CASE("a clock stepped forward runs the missed runs once, coalesced", "[scheduler][clock]") {
  Fixture<InlineScheduler> f;
  int runs = 0;
  f.scheduler.add_job([&] { ++runs; }, IntervalTrigger{10s});
  f.clock.set(t0 + 24h);
  CHECK(f.scheduler.process_due_jobs() == t0 + 24h + 10s);
  CHECK(runs == 1);
  CHECK(f.log.of(EventType::job_submitted).at(0).runs == 24 * 360 - 1);
}

TEST_CASE("the wake-up handler fires when a change moves the wake-up earlier",
          "[scheduler][callback]") {
  int wakeups = 0;  // outlives the scheduler, whose shutdown calls the handler
  apsched::ManualClock clock{t0};
  InlineScheduler scheduler{apsched::MemoryJobStore{}, {}, clock};
  scheduler.set_wakeup_handler([&] { ++wakeups; });
  scheduler.start();
  CHECK(wakeups == 1);
  scheduler.add_job([] {}, IntervalTrigger{1h});
  CHECK(wakeups == 2);
  CHECK(scheduler.process_due_jobs() == t0 + 1h);
  scheduler.add_job([] {}, IntervalTrigger{2h});
  CHECK(wakeups == 2);  // later than the armed wake-up: no need to wake
  scheduler.add_job([] {}, IntervalTrigger{1min}, {.id = "soon"});
  CHECK(wakeups == 3);
  CHECK(scheduler.process_due_jobs() == t0 + 1min);
  scheduler.modify_job("soon", {.next_run_time = t0 + 1s});
  CHECK(wakeups == 4);
}

TEST_CASE("a listener may take one job's events, and error events carry the error's text",
          "[scheduler][events]") {
  Fixture<InlineScheduler> f;
  std::vector<apsched::Event> boom_events;
  f.scheduler.add_listener([&](const apsched::Event& event) { boom_events.push_back(event); },
                           apsched::all_events, "boom");
  f.scheduler.add_job([] {}, IntervalTrigger{10s}, {.id = "quiet"});
  f.scheduler.add_job([] { throw std::runtime_error{"disk full"}; }, IntervalTrigger{10s},
                      {.id = "boom"});
  f.advance(10s);
  REQUIRE(boom_events.size() == 4);  // added, submitted, started, error
  for (const apsched::Event& event : boom_events) {
    CHECK(event.job_id == "boom");
  }
  CHECK(f.log.count(EventType::job_executed) == 1);  // quiet's, seen by the unfiltered log only
  const std::vector<apsched::Event> errors = f.log.of(EventType::job_error);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].message == "disk full");
  CHECK(boom_events.back().message == "disk full");
  CHECK(f.log.of(EventType::job_executed)[0].message.empty());
}

TEST_CASE("print_jobs lists each job with its trigger, next run and settings", "[scheduler]") {
  Fixture<InlineScheduler> f;
  f.scheduler.add_job([] {}, IntervalTrigger{10s}, {.id = "warm", .name = "keep warm"});
  f.scheduler.add_job([] {}, IntervalTrigger{1h}, {.id = "idle", .paused = true});
  f.scheduler.add_job([] {}, IntervalTrigger{90s},
                      {.id = "slow",
                       .misfire_grace_time = 30s,
                       .coalesce = Coalesce::all,
                       .max_instances = 2,
                       .overlap = apsched::Overlap::queue,
                       .paused = true,
                       .timeout = 2min});
  const std::string table = f.scheduler.format_jobs();
  CHECK_THAT(table, contains("slow (trigger: interval[90s], paused, misfire grace time: 30s, "
                             "timeout: 2min, max instances: 2, coalesce: all, overlap: queue)"));
  CHECK_THAT(table, contains("Store \"default\":"));
  CHECK_THAT(table, contains("keep warm [warm] (trigger: interval[10s], next run at: "
                             "2024-01-01T00:00:10.000000Z)"));
  CHECK_THAT(table, contains("idle (trigger: interval[1h], paused)"));
}

TEST_CASE("jobs choose their store and executor by alias", "[scheduler][composition]") {
  using Multi = apsched::CallbackScheduler<
      apsched::Stores<apsched::MemoryJobStore, apsched::MemoryJobStore>,
      apsched::Executors<apsched::InlineExecutor, apsched::ManualExecutor>, apsched::ManualClock>;
  apsched::ManualClock clock{t0};
  Multi scheduler{
      {},
      {},
      clock,
      {.store_aliases = {"default", "durable"}, .executor_aliases = {"default", "stepped"}}};
  scheduler.start();
  int inline_runs = 0;
  int stepped_runs = 0;
  scheduler.add_job([&] { ++inline_runs; }, IntervalTrigger{10s}, {.id = "a"});
  scheduler.add_job([&] { ++stepped_runs; }, IntervalTrigger{5s},
                    {.id = "b", .executor = "stepped", .store = "durable"});
  CHECK(scheduler.get_jobs("durable").size() == 1);
  CHECK(scheduler.get_jobs("durable")[0].id == "b");
  CHECK(scheduler.get_job("b")->executor == "stepped");
  CHECK(scheduler.process_due_jobs() == t0 + 5s);
  clock.advance(10s);
  scheduler.process_due_jobs();
  CHECK(inline_runs == 1);
  CHECK(stepped_runs == 0);
  CHECK(scheduler.executor<1>().run_all() == 1);
  CHECK(stepped_runs == 1);
  REQUIRE_THROWS_WITH(scheduler.add_job([] {}, IntervalTrigger{1s}, {.id = "b"}),
                      Catch::Matchers::StartsWith("add_job: a job with id \"b\" already exists;"));
  REQUIRE_THROWS_WITH(
      scheduler.get_jobs("cold"),
      "get_jobs: no store has alias \"cold\"; expected one of \"default\", \"durable\"");
}

namespace {
template <class T>
concept ProcessesDueJobs = requires(T& scheduler) {
  scheduler.process_due_jobs();
};
template <class T>
concept TakesWakeupHandler = requires(T& scheduler) {
  scheduler.set_wakeup_handler([] {});
};
template <apsched::SchedulerMode M>
using ModeScheduler =
    apsched::BasicScheduler<M, apsched::ManualClock, apsched::Stores<apsched::MemoryJobStore>,
                            apsched::Executors<apsched::InlineExecutor>>;
}  // namespace

TEST_CASE("mode-specific members exist only in their mode", "[scheduler][composition]") {
  STATIC_REQUIRE(ProcessesDueJobs<ModeScheduler<apsched::SchedulerMode::callback>>);
  STATIC_REQUIRE(TakesWakeupHandler<ModeScheduler<apsched::SchedulerMode::callback>>);
  STATIC_REQUIRE_FALSE(ProcessesDueJobs<ModeScheduler<apsched::SchedulerMode::background>>);
  STATIC_REQUIRE_FALSE(ProcessesDueJobs<ModeScheduler<apsched::SchedulerMode::blocking>>);
  STATIC_REQUIRE_FALSE(TakesWakeupHandler<ModeScheduler<apsched::SchedulerMode::blocking>>);
}

TEST_CASE("the destructor calls no listener or wake-up handler", "[scheduler][shutdown]") {
  int calls = 0;
  {
    apsched::ManualClock clock{t0};
    SteppedScheduler scheduler{apsched::MemoryJobStore{}, {}, clock};
    scheduler.add_listener([&](const apsched::Event&) { ++calls; });
    scheduler.set_wakeup_handler([&] { ++calls; });
    scheduler.start();
    scheduler.add_job([] {}, DateTrigger{t0});
    scheduler.process_due_jobs();
    REQUIRE(scheduler.executor().pending() == 1);
    calls = 0;
  }  // shuts down and drops the queued run, silently
  CHECK(calls == 0);
}

}  // namespace scheduler_test
