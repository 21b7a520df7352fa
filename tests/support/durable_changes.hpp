// SPDX-License-Identifier: MIT
// Checks that every database store must pass the same way: changes to a job (modify_job,
// reschedule_job, pause_job, resume_job) and the conflict policies of add_job are written to
// the store, read back by a store opened again and seen by another scheduler on it. Each store's
// tests call them with a function that opens a scheduler process on one file or database.
#pragma once

#include <apsched/apsched.hpp>
#include <apsched/testing/manual_clock.hpp>

#include "support/catch.hpp"
#include "support/event_log.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace apsched::test {

/// One scheduler on a durable store (its first store, alias "default"), driven by a manual
/// clock with jobs run inline; task "tick" records the argument of each run.
template <class Scheduler>
struct DurableProcess {
  EventLog log;
  ManualClock clock;
  Scheduler scheduler;
  std::vector<std::string> ticks;

  template <class Store>
  DurableProcess(Store store, TimePoint now) : clock{now}, scheduler{std::move(store), {}, clock} {
    scheduler.add_listener(log.listener());
    scheduler.register_task("tick", [this](std::string name) { ticks.push_back(std::move(name)); });
    scheduler.start();
  }

  /// Sets the clock to `when` and processes what became due.
  void advance_to(TimePoint when) {
    clock.set(when);
    scheduler.process_due_jobs();
  }

  /// The job `id` as this scheduler reads it now.
  [[nodiscard]] JobInfo job(const std::string& id) const {
    std::optional<JobInfo> found = scheduler.get_job(id);
    REQUIRE(found.has_value());
    return *found;
  }
};

/// Every change modify_job, reschedule_job, pause_job and resume_job make reaches the store:
/// `other` (a scheduler open on the store throughout) and a store opened after each change read
/// it back. `open(now)` returns a `std::unique_ptr<DurableProcess<...>>` on the store.
template <class Open>
void check_changes_are_durable(Open open, TimePoint t0) {
  using namespace std::chrono_literals;
  auto first = open(t0);
  auto other = open(t0);
  first->scheduler.add_job(task("tick"), IntervalTrigger{10s}, {.id = "tick"}, "a");
  // Reads the job back in `other` and in a store opened for the purpose, and checks it there.
  const auto everywhere = [&](auto check) {
    {
      INFO("another scheduler on the store");
      check(other->job("tick"));
    }
    auto reopened = open(t0);
    INFO("the store opened again");
    check(reopened->job("tick"));
  };

  SECTION("modify_job: every option") {
    first->scheduler.modify_job("tick", {.name = "r1",
                                         .misfire_grace_time = 15s,
                                         .coalesce = Coalesce::all,
                                         .max_instances = 3,
                                         .overlap = Overlap::queue,
                                         .timeout = 2min,
                                         .abandoned = Abandoned::rerun});
    everywhere([&](const JobInfo& job) {
      CHECK(job.name == "r1");
      CHECK(job.misfire_grace_time == Duration{15s});
      CHECK(job.coalesce == Coalesce::all);
      CHECK(job.max_instances == 3);
      CHECK(job.overlap == Overlap::queue);
      CHECK(job.timeout == Duration{2min});
      CHECK(job.abandoned == Abandoned::rerun);
      CHECK(job.next_run_time == t0 + 10s);
    });
    // Limits removed again, and the next run moved.
    first->scheduler.modify_job("tick", {.misfire_grace_time = std::optional<Duration>{},
                                         .next_run_time = t0 + 4s,
                                         .timeout = std::optional<Duration>{}});
    everywhere([&](const JobInfo& job) {
      CHECK(job.name == "r1");
      CHECK_FALSE(job.misfire_grace_time.has_value());
      CHECK_FALSE(job.timeout.has_value());
      CHECK(job.next_run_time == t0 + 4s);
    });
  }
  SECTION("reschedule_job: the trigger and the next run") {
    first->scheduler.reschedule_job("tick", IntervalTrigger{30s});
    everywhere([&](const JobInfo& job) {
      CHECK(job.trigger.describe() == "interval[30s]");
      CHECK(job.next_run_time == t0 + 30s);
    });
  }
  SECTION("run_job_now: recorded in the history like a scheduled run") {
    first->clock.set(t0 + 3s);
    REQUIRE(first->scheduler.run_job_now("tick"));
    CHECK(first->ticks == std::vector<std::string>{"a"});
    first->scheduler.process_due_jobs();  // the loop's next step writes the run's outcome
    everywhere([&](const JobInfo& job) {
      CHECK(job.run_count == 1);
      CHECK(job.next_run_time == t0 + 10s);  // the schedule is unchanged
    });
    auto reopened = open(t0 + 3s);
    const std::vector<FireRecord> history = reopened->scheduler.get_fire_history("tick");
    REQUIRE(history.size() == 1);
    CHECK(history[0].scheduled == t0 + 3s);
    CHECK(history[0].state == FireState::succeeded);
    // The scheduled run still runs at its time.
    first->advance_to(t0 + 10s);
    CHECK(first->ticks.size() == 2);
  }
  SECTION("pause_job and resume_job") {
    first->scheduler.pause_job("tick");
    everywhere([&](const JobInfo& job) { CHECK_FALSE(job.next_run_time.has_value()); });
    first->clock.set(t0 + 25s);
    first->scheduler.resume_job("tick");  // the runs at 10 and 20 s are skipped
    everywhere([&](const JobInfo& job) { CHECK(job.next_run_time == t0 + 30s); });
  }
}

/// The start-up idiom: a program that adds its jobs at every start with ConflictPolicy::keep
/// or ::replace keeps each job's counters, fire history and schedule across restarts, and runs
/// the fires missed while it was down as the job's misfire rules say; a changed definition
/// replaces the stored one without losing what the job did.
template <class Open>
void check_conflict_policies_keep_what_ran(Open open, TimePoint t0) {
  using namespace std::chrono_literals;
  const auto add = [](auto& process, ConflictPolicy policy, std::string argument,
                      Duration interval = 10s, std::string name = {}) {
    return process.scheduler.add_job(task("tick"), IntervalTrigger{interval},
                                     {.id = "tick", .name = std::move(name), .on_conflict = policy},
                                     std::move(argument));
  };
  {
    auto first = open(t0);
    CHECK(add(*first, ConflictPolicy::keep, "a") == "tick");
    CHECK(first->log.count(EventType::job_added) == 1);
    first->advance_to(t0 + 10s);
    first->advance_to(t0 + 20s);
    CHECK(first->ticks.size() == 2);
  }
  {
    // Down from 20 s to 55 s: the fires at 30, 40 and 50 s were missed.
    auto second = open(t0 + 55s);
    CHECK(add(*second, ConflictPolicy::keep, "changed", 5s) == "tick");
    CHECK(second->log.count(EventType::job_added) == 0);
    CHECK(second->log.count(EventType::job_modified) == 0);
    const JobInfo kept = second->job("tick");
    CHECK(kept.trigger.describe() == "interval[10s]");
    CHECK(kept.run_count == 2);
    CHECK(kept.next_run_time == t0 + 30s);
    CHECK(second->scheduler.get_fire_history("tick").size() == 2);
    second->scheduler.process_due_jobs();
    CHECK(second->ticks == std::vector<std::string>{"a"});  // coalesced: one run for three
    CHECK(second->job("tick").run_count == 3);
  }
  {
    // Down from 55 s to 75 s (fires at 60 and 70 s missed); the same definition replaced.
    auto third = open(t0 + 75s);
    const std::size_t history = third->scheduler.get_fire_history("tick").size();
    CHECK(history == 4);  // 10 s, 20 s, 30 s (coalesced), 50 s
    CHECK(add(*third, ConflictPolicy::replace, "a") == "tick");
    CHECK(third->log.count(EventType::job_modified) == 1);
    JobInfo job = third->job("tick");
    CHECK(job.run_count == 3);
    CHECK(job.next_run_time == t0 + 60s);
    CHECK(third->scheduler.get_fire_history("tick").size() == history);
    third->scheduler.process_due_jobs();
    CHECK(third->ticks == std::vector<std::string>{"a"});
    CHECK(third->job("tick").next_run_time == t0 + 80s);

    // A paused job stays paused when the program adds it again unpaused with its trigger.
    third->scheduler.pause_job("tick");
    add(*third, ConflictPolicy::replace, "a");
    CHECK_FALSE(third->job("tick").next_run_time.has_value());
    third->scheduler.resume_job("tick", MissedRuns::run);

    // A changed argument and name: the definition changes, the schedule and counters stay.
    add(*third, ConflictPolicy::replace, "b", 10s, "Tick");
    job = third->job("tick");
    CHECK(job.name == "Tick");
    CHECK(job.next_run_time == t0 + 80s);
    CHECK(job.run_count == 4);
    third->advance_to(t0 + 80s);
    CHECK(third->ticks == std::vector<std::string>{"a", "b"});

    // A new trigger: its schedule starts now; counters and history stay.
    add(*third, ConflictPolicy::replace, "b", 25s, "Tick");
    job = third->job("tick");
    CHECK(job.trigger.describe() == "interval[25s]");
    CHECK(job.next_run_time == t0 + 105s);
    CHECK(job.run_count == 5);
    CHECK(third->scheduler.get_fire_history("tick").size() == history + 3);  // 60, 70, 80 s
  }
  auto reopened = open(t0 + 80s);
  const JobInfo job = reopened->job("tick");
  CHECK(job.name == "Tick");
  CHECK(job.trigger.describe() == "interval[25s]");
  CHECK(job.run_count == 5);
  CHECK(job.next_run_time == t0 + 105s);
  CHECK(reopened->scheduler.get_fire_history("tick").size() == 7);
}

}  // namespace apsched::test
