// SPDX-License-Identifier: MIT
// A scheduler on a real SQLite file: restart catch-up, fire history, fires of a dead scheduler,
// and a memory store beside the durable one. Time moves by a manual clock; jobs run inline.
#include <apsched/apsched.hpp>
#include <apsched/sqlite/job_store.hpp>
#include <apsched/testing/manual_clock.hpp>

#include "support/catch.hpp"
#include "support/durable_changes.hpp"
#include "support/event_log.hpp"
#include "support/task_body.hpp"
#include "support/temp_dir.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

namespace sqlite_scheduler_test {

using namespace std::chrono_literals;
using apsched::EventType;
using apsched::FireRecord;
using apsched::FireState;
using apsched::IntervalTrigger;
using apsched::SqliteJobStore;
using apsched::TimePoint;
using apsched::test::contains;

// A scheduler over a store that needs its file is made only with the store given.
static_assert(!std::is_default_constructible_v<apsched::BackgroundScheduler<SqliteJobStore>>);
static_assert(!std::is_constructible_v<apsched::BlockingScheduler<SqliteJobStore>,
                                       apsched::SchedulerOptions>);
static_assert(std::is_default_constructible_v<apsched::BackgroundScheduler<>>);
using apsched::test::EventLog;
using apsched::test::TempDir;

namespace {

const TimePoint t0 = apsched::ManualClock{}.now();

using Scheduler =
    apsched::CallbackScheduler<apsched::Stores<SqliteJobStore, apsched::MemoryJobStore>,
                               apsched::InlineExecutor, apsched::ManualClock>;

// One scheduler process on `file`: its clock, events, and the runs of task "tick".
struct Process {
  EventLog log;
  apsched::ManualClock clock;
  Scheduler scheduler;
  std::vector<std::string> ticks;
  std::vector<unsigned> attempts;

  Process(const std::filesystem::path& file, TimePoint now)
      : clock{now},
        scheduler{{SqliteJobStore{file}, apsched::MemoryJobStore{}},
                  {},
                  clock,
                  {.store_aliases = {"default", "memory"}}} {
    scheduler.add_listener(log.listener());
    scheduler.register_task("tick", [this](const apsched::JobContext& context, std::string name) {
      ticks.push_back(name);
      attempts.push_back(context.attempt);
    });
    scheduler.start();
  }

  void advance_to(TimePoint when) {
    clock.set(when);
    scheduler.process_due_jobs();
  }
};

}  // namespace

TEST_CASE("sqlite scheduler: a job missed ten times while no scheduler ran runs once at start-up",
          "[sqlite]") {
  TempDir dir;
  const auto file = dir.file("jobs.db");
  {
    Process first{file, t0};
    first.scheduler.add_job(apsched::task("tick"), IntervalTrigger{10s}, {.id = "tick"}, "a");
    first.advance_to(t0 + 10s);
    CHECK(first.ticks.size() == 1);
  }
  // Down from t0 + 10 s to t0 + 115 s: the fires at 20 s .. 110 s (ten) are missed.
  Process second{file, t0 + 115s};
  second.scheduler.process_due_jobs();
  CHECK(second.ticks == std::vector<std::string>{"a"});
  // Coalesced (the default): the latest fire runs and its event counts the nine it folds.
  const std::vector<apsched::Event> submitted = second.log.of(EventType::job_submitted);
  REQUIRE(submitted.size() == 1);
  CHECK(submitted[0].scheduled_run_time == t0 + 110s);
  CHECK(submitted[0].runs == 9);
  CHECK(second.log.count(EventType::job_missed) == 0);  // no misfire grace time: none too late
  const std::optional<apsched::JobInfo> job = second.scheduler.get_job("tick");
  REQUIRE(job.has_value());
  CHECK(job->next_run_time == t0 + 120s);
  CHECK(job->run_count == 2);

  const std::vector<FireRecord> history = second.scheduler.get_fire_history("tick");
  REQUIRE(history.size() == 3);
  CHECK(history[0].scheduled == t0 + 110s);
  CHECK(history[0].state == FireState::succeeded);
  CHECK(history[1].scheduled == t0 + 20s);
  CHECK(history[1].state == FireState::coalesced);
  CHECK(history[1].runs == 9);
  CHECK(history[2].scheduled == t0 + 10s);
  CHECK(history[2].state == FireState::succeeded);
  CHECK(second.scheduler.get_fire_history("tick", 1).size() == 1);

  // With a misfire grace time, the fires missed by more than it are reported as missed.
  second.scheduler.modify_job("tick", {.misfire_grace_time = 15s});
  second.log.clear();
  second.advance_to(t0 + 165s);  // 120 .. 140 s too late; 150 and 160 s within the grace time
  const std::vector<apsched::Event> missed = second.log.of(EventType::job_missed);
  REQUIRE(missed.size() == 1);
  CHECK(missed[0].scheduled_run_time == t0 + 120s);
  CHECK(missed[0].runs == 3);
  CHECK(second.ticks.size() == 2);
  const std::vector<FireRecord> later = second.scheduler.get_fire_history("tick", 3);
  REQUIRE(later.size() == 3);
  CHECK(later[0].scheduled == t0 + 160s);
  CHECK(later[1].state == FireState::coalesced);
  CHECK(later[1].scheduled == t0 + 150s);
  CHECK(later[2].state == FireState::missed);
  CHECK(later[2].runs == 3);
  CHECK(second.scheduler.get_fire_history("nothing").empty());
}

TEST_CASE("sqlite scheduler: a memory job and a durable job live side by side", "[sqlite]") {
  TempDir dir;
  const auto file = dir.file("jobs.db");
  {
    Process first{file, t0};
    first.scheduler.add_job(apsched::task("tick"), IntervalTrigger{10s}, {.id = "kept"}, "kept");
    first.scheduler.add_job([] {}, IntervalTrigger{10s}, {.id = "transient", .store = "memory"});
    CHECK(first.scheduler.get_jobs("default").size() == 1);
    CHECK(first.scheduler.get_jobs("memory").size() == 1);
    REQUIRE_THROWS_WITH(first.scheduler.add_job([] {}, IntervalTrigger{10s}, {.id = "closure"}),
                        contains("closure") && contains("default"));
  }
  Process second{file, t0};
  CHECK(second.scheduler.get_job("kept").has_value());
  CHECK_FALSE(second.scheduler.get_job("transient").has_value());
}

TEST_CASE(
    "sqlite scheduler: a fire in flight when its scheduler stopped is reported, then "
    "dropped or run again",
    "[sqlite]") {
  TempDir dir;
  const auto file = dir.file("jobs.db");
  {
    // A scheduler records two fires and "dies" before they end: a step-by-hand executor would
    // hold them; here the store is given the fires directly, as the scheduler would.
    SqliteJobStore store{file};
    auto tasks = std::make_shared<apsched::TaskRegistry>();
    tasks->add("tick", [](std::string /*name*/) {});
    store.attach(tasks, 0);
    // "last" is a one-shot job: its fire in flight is its last, and the job is gone from
    // listings once the fire is recorded.
    for (const char* id : {"drop", "again", "last"}) {
      const bool last = std::string_view{id} == "last";
      apsched::JobRecord record{
          .id = id,
          .body = apsched::test::task_body(*tasks, "tick", nlohmann::json::array({id})),
          .trigger = last ? apsched::AnyTrigger{apsched::DateTrigger{t0}}
                          : apsched::AnyTrigger{IntervalTrigger{10s, {.start_date = t0}}}};
      record.extra().task = std::make_shared<const apsched::TaskCall>(
          apsched::TaskCall{"tick", nlohmann::json::array({id}).dump()});
      record.next_fire = record.next_run = t0;
      record.abandoned =
          std::string_view{id} == "drop" ? apsched::Abandoned::drop : apsched::Abandoned::rerun;
      REQUIRE(store.insert(std::move(record)) != nullptr);
      apsched::JobRecord* job = store.find(id);
      const apsched::FireDecision fire{.scheduled = t0};
      job->next_fire = job->next_run = t0 + 10s;
      REQUIRE(store.commit_due(*job, std::span{&fire, 1}, last));
    }
    CHECK(store.find("last") == nullptr);
  }  // closed with the three fires in flight: its lease lapses at once

  Process next{file, t0 + 5s};
  next.scheduler.process_due_jobs();
  const std::vector<apsched::Event> abandoned = next.log.of(EventType::job_abandoned);
  REQUIRE(abandoned.size() == 3);
  for (const apsched::Event& event : abandoned) {
    CHECK(event.scheduled_run_time == t0);
    CHECK(event.attempt == 1);
    CHECK(event.runs == (event.job_id == "drop" ? 0U : 1U));
  }
  std::vector<std::string> ticks = next.ticks;
  std::sort(ticks.begin(), ticks.end());
  CHECK(ticks == std::vector<std::string>{"again", "last"});
  CHECK(next.attempts == std::vector<unsigned>{2, 2});
  for (const char* id : {"again", "last"}) {
    const FireRecord rerun = next.scheduler.get_fire_history(id).at(0);
    CHECK(rerun.state == FireState::succeeded);
    CHECK(rerun.attempt == 2);
  }
  CHECK(next.scheduler.get_fire_history("drop").at(0).state == FireState::abandoned);
  CHECK_FALSE(next.scheduler.get_job("last").has_value());
  CHECK(next.scheduler.get_jobs().size() == 2);

  next.scheduler.process_due_jobs();  // nothing more is taken over
  CHECK(next.log.count(EventType::job_abandoned) == 3);
  CHECK(next.ticks.size() == 2);
}

TEST_CASE(
    "sqlite scheduler: a job of an unknown task is reported once, kept, used once the task "
    "is registered, and removable",
    "[sqlite]") {
  TempDir dir;
  const auto file = dir.file("jobs.db");
  {
    Process first{file, t0};
    first.scheduler.register_task("later", [](int /*value*/) {});
    first.scheduler.add_job(apsched::task("later"), IntervalTrigger{10s}, {.id = "later"}, 1);
    first.scheduler.add_job(apsched::task("later"), IntervalTrigger{10s}, {.id = "bad"}, 2);
  }
  Process second{file, t0};
  std::vector<int> values;
  second.advance_to(t0 + 10s);
  second.advance_to(t0 + 20s);
  const std::vector<apsched::Event> unusable = second.log.of(EventType::store_job_unusable);
  REQUIRE(unusable.size() == 2);  // once each, though due twice
  CHECK(unusable[0].store == "default");
  CHECK_FALSE(second.scheduler.get_job("later").has_value());
  CHECK(second.log.count(EventType::job_submitted) == 0);

  second.scheduler.remove_job("bad");  // not usable here, yet removable
  CHECK(second.log.count(EventType::job_removed) == 1);
  CHECK_THROWS_AS(second.scheduler.remove_job("bad"), apsched::JobLookupError);

  second.scheduler.register_task("later", [&values](int value) { values.push_back(value); });
  second.scheduler.process_due_jobs();
  CHECK(values == std::vector<int>{1});  // its missed fires coalesced into one run
  CHECK(second.scheduler.get_job("later").has_value());
  CHECK(second.log.count(EventType::store_job_unusable) == 2);
}

namespace {

// Opens a scheduler on `file` (a SQLite store alone) at `now`.
auto opener(const std::filesystem::path& file) {
  using Alone =
      apsched::CallbackScheduler<SqliteJobStore, apsched::InlineExecutor, apsched::ManualClock>;
  return [file](TimePoint now) {
    return std::make_unique<apsched::test::DurableProcess<Alone>>(SqliteJobStore{file}, now);
  };
}

}  // namespace

TEST_CASE("sqlite scheduler: modify, reschedule, pause and resume are written to the file",
          "[sqlite]") {
  TempDir dir;
  apsched::test::check_changes_are_durable(opener(dir.file("jobs.db")), t0);
}

TEST_CASE("sqlite scheduler: adding a job again keeps or replaces it without losing what ran",
          "[sqlite]") {
  TempDir dir;
  apsched::test::check_conflict_policies_keep_what_ran(opener(dir.file("jobs.db")), t0);
}

}  // namespace sqlite_scheduler_test
