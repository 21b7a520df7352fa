// SPDX-License-Identifier: MIT
// The fire policy as a table: misfire grace time x coalescing x overlap x max_instances x
// durable stores and executor room, then jitter, exhausted and broken triggers, and run_job_now;
// no scheduler, clock or thread.
#include <apsched/detail/scheduler/fire_policy.hpp>
#include <apsched/triggers/date.hpp>
#include <apsched/triggers/interval.hpp>

#include "support/catch.hpp"

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace detail_scheduler_fire_policy_test {

using namespace std::chrono_literals;
using apsched::AnyTrigger;
using apsched::Coalesce;
using apsched::DateTrigger;
using apsched::Duration;
using apsched::IntervalTrigger;
using apsched::JobRecord;
using apsched::Overlap;
using apsched::TimePoint;
using apsched::detail::FireContext;
using apsched::detail::FireEnding;
using apsched::detail::FirePlan;
using apsched::detail::FireStep;
using apsched::detail::SplitMix64;
using Kind = FireStep::Kind;

const TimePoint t0 = TimePoint{} + std::chrono::hours{24 * 365 * 50};

// A job of an interval trigger firing every 10 s from t0, due at t0.
JobRecord every_ten_seconds() {
  return JobRecord{.id = "job",
                   .body = {},
                   .trigger = AnyTrigger{IntervalTrigger{10s, {.start_date = t0}}},
                   .next_fire = t0,
                   .next_run = t0};
}

FireStep run(TimePoint scheduled, std::uint64_t folded = 0, bool claimed = false) {
  return FireStep{.kind = Kind::run, .scheduled = scheduled, .count = folded, .claimed = claimed};
}
FireStep queue(TimePoint scheduled) {
  return FireStep{.kind = Kind::queue, .scheduled = scheduled};
}
FireStep skip(TimePoint scheduled) { return FireStep{.kind = Kind::skip, .scheduled = scheduled}; }
FireStep missed(TimePoint first, std::uint64_t count) {
  return FireStep{.kind = Kind::missed, .scheduled = first, .count = count};
}
FireStep coalesced(TimePoint first, std::uint64_t count) {
  return FireStep{.kind = Kind::coalesced, .scheduled = first, .count = count};
}

std::string describe(const std::vector<FireStep>& steps) {
  std::string text;
  for (const FireStep& step : steps) {
    static constexpr const char* names[] = {"run", "queue", "skip", "missed", "coalesced"};
    text += names[static_cast<int>(step.kind)];
    text += " +" + std::to_string((step.scheduled - t0) / 1s) + "s";
    text += " x" + std::to_string(step.count);
    text += step.claimed ? " claimed; " : "; ";
  }
  return text;
}

// One row: a job due at t0 every 10 s, looked at 25 s later (fires at +0, +10 and +20 are due).
struct Row {
  const char* name;
  std::optional<Duration> grace;
  Coalesce coalesce = Coalesce::latest;
  Overlap overlap = Overlap::skip;
  std::uint16_t max_instances = 1;
  std::uint16_t running = 0;
  std::uint16_t elsewhere = 0;
  bool durable = false;
  std::size_t room = FireContext::unlimited;
  std::vector<FireStep> expected;
};

TEST_CASE("fire policy: three due fires, by grace time, coalescing, overlap and instances",
          "[scheduler][fire_policy]") {
  const TimePoint a = t0;
  const TimePoint b = t0 + 10s;
  const TimePoint c = t0 + 20s;
  const std::vector<Row> rows = {
      {.name = "latest folds all into the last", .expected = {run(c, 2)}},
      {.name = "earliest folds all into the first",
       .coalesce = Coalesce::earliest,
       .expected = {run(a, 2)}},
      {.name = "all runs each while instances allow",
       .coalesce = Coalesce::all,
       .max_instances = 3,
       .expected = {run(a), run(b), run(c)}},
      {.name = "all beyond max_instances skips",
       .coalesce = Coalesce::all,
       .expected = {run(a), skip(b), skip(c)}},
      {.name = "all beyond max_instances queues up to max_instances",
       .coalesce = Coalesce::all,
       .overlap = Overlap::queue,
       .expected = {run(a), queue(b), skip(c)}},
      {.name = "the grace time misses the late ones",
       .grace = 8s,
       .expected = {missed(a, 2), run(c)}},
      {.name = "the grace time with all: runs first, then the missed",
       .grace = 8s,
       .coalesce = Coalesce::all,
       .expected = {run(c), missed(a, 2)}},
      {.name = "a grace time none passed misses nothing",
       .grace = 30s,
       .coalesce = Coalesce::earliest,
       .expected = {run(a, 2)}},
      {.name = "all late: only missed", .grace = 1s, .expected = {missed(a, 3)}},
      {.name = "a run outstanding skips", .running = 1, .expected = {skip(c)}},
      {.name = "a run outstanding queues",
       .overlap = Overlap::queue,
       .running = 1,
       .expected = {queue(c)}},
      {.name = "another scheduler's run counts", .elsewhere = 1, .expected = {skip(c)}},
      {.name = "durable: the folded fires are recorded beside the run",
       .durable = true,
       .expected = {coalesced(a, 2), run(c, 2)}},
      {.name = "durable earliest: folded from the second",
       .coalesce = Coalesce::earliest,
       .durable = true,
       .expected = {coalesced(b, 2), run(a, 2)}},
      {.name = "durable without executor room: claimed",
       .durable = true,
       .room = 0,
       .expected = {coalesced(a, 2), run(c, 2, true)}},
      {.name = "durable with room for one of three",
       .coalesce = Coalesce::all,
       .max_instances = 3,
       .durable = true,
       .room = 1,
       .expected = {run(a), run(b, 0, true), run(c, 0, true)}},
      {.name = "not durable: no room still runs, unclaimed", .room = 0, .expected = {run(c, 2)}},
      {.name = "durable queue: only another scheduler's run in the way waits claimed",
       .overlap = Overlap::queue,
       .elsewhere = 1,
       .durable = true,
       .expected = {coalesced(a, 2), run(c, 2, true)}},
      {.name = "durable queue: its own run in the way queues",
       .overlap = Overlap::queue,
       .running = 1,
       .durable = true,
       .expected = {coalesced(a, 2), queue(c)}},
      {.name = "not durable queue: another scheduler's run queues",
       .overlap = Overlap::queue,
       .elsewhere = 1,
       .expected = {queue(c)}},
  };
  for (const Row& row : rows) {
    INFO(row.name);
    JobRecord job = every_ten_seconds();
    if (row.grace) {
      job.extra().misfire_grace_time = row.grace;
    }
    job.coalesce = row.coalesce;
    job.overlap = row.overlap;
    job.max_instances = row.max_instances;
    job.running = row.running;
    job.running_elsewhere = row.elsewhere;
    SplitMix64 random{1};
    FirePlan plan;
    apsched::detail::plan_fires(
        job, FireContext{.now = t0 + 25s, .durable = row.durable, .room = row.room}, random, plan);
    CHECK(describe(plan.steps) == describe(row.expected));
    CHECK(plan.steps == row.expected);
    CHECK(plan.ending == FireEnding::advanced);
    CHECK(plan.next_fire == t0 + 30s);
    CHECK(plan.next_run == t0 + 30s);
    // The policy reads the job; it changes nothing.
    CHECK(job.running == row.running);
    CHECK((!job.extras || job.extras->queued_runs.empty()));
  }
}

TEST_CASE("fire policy: a plan replaces the steps of the last", "[scheduler][fire_policy]") {
  JobRecord job = every_ten_seconds();
  SplitMix64 random{1};
  FirePlan plan;
  apsched::detail::plan_fires(job, FireContext{.now = t0 + 25s}, random, plan);
  apsched::detail::plan_fires(job, FireContext{.now = t0 + 5s}, random, plan);
  CHECK(plan.steps == std::vector{run(t0)});
  CHECK(plan.next_fire == t0 + 10s);
}

TEST_CASE("fire policy: jitter delays the next run within the jitter and before the next fire",
          "[scheduler][fire_policy]") {
  JobRecord job = every_ten_seconds();
  job.trigger = AnyTrigger{IntervalTrigger{10s, {.start_date = t0, .jitter = 3s}}};
  FirePlan plan;
  SplitMix64 random{7};
  SplitMix64 same{7};
  std::vector<TimePoint> runs;
  for (int i = 0; i < 200; ++i) {
    apsched::detail::plan_fires(job, FireContext{.now = t0}, random, plan);
    REQUIRE(plan.next_fire == t0 + 10s);
    CHECK(plan.next_run >= t0 + 10s);
    CHECK(plan.next_run <= t0 + 13s);
    CHECK(plan.next_run == apsched::detail::jittered(job.trigger, t0 + 10s, same));
    runs.push_back(plan.next_run);
  }
  std::sort(runs.begin(), runs.end());
  CHECK(runs.front() != runs.back());  // it varies

  // A jitter longer than the interval stays strictly before the following fire.
  job.trigger = AnyTrigger{IntervalTrigger{10s, {.start_date = t0, .jitter = 60s}}};
  for (int i = 0; i < 200; ++i) {
    apsched::detail::plan_fires(job, FireContext{.now = t0}, random, plan);
    CHECK(plan.next_run >= t0 + 10s);
    CHECK(plan.next_run < t0 + 20s);
  }
}

TEST_CASE("fire policy: an exhausted trigger ends the plan; a queued run goes as missed",
          "[scheduler][fire_policy]") {
  JobRecord job{.id = "once",
                .body = {},
                .trigger = AnyTrigger{DateTrigger{t0}},
                .next_fire = t0,
                .next_run = t0};
  SplitMix64 random{1};
  FirePlan plan;
  apsched::detail::plan_fires(job, FireContext{.now = t0 + 1s}, random, plan);
  CHECK(plan.steps == std::vector{run(t0)});
  CHECK(plan.ending == FireEnding::exhausted);

  // Queued behind its own run: the job goes, and its queued run with it, reported missed; a
  // durable store keeps the job for its queued run, recorded claimed.
  job.overlap = Overlap::queue;
  job.running = 1;
  apsched::detail::plan_fires(job, FireContext{.now = t0 + 1s}, random, plan);
  CHECK(plan.steps == std::vector{queue(t0), missed(t0, 1)});
  CHECK(plan.ending == FireEnding::exhausted);
  apsched::detail::plan_fires(job, FireContext{.now = t0 + 1s, .durable = true}, random, plan);
  CHECK(plan.steps == std::vector{queue(t0)});

  // Runs queued before are the first of the missed.
  job.extra().queued_runs.push_back(t0 - 5s);
  job.max_instances = 2;
  job.running = 2;
  apsched::detail::plan_fires(job, FireContext{.now = t0 + 1s}, random, plan);
  CHECK(plan.steps == std::vector{queue(t0), missed(t0 - 5s, 2)});
}

// A trigger that returns its previous time again: a defect the policy reports.
struct StuckTrigger {
  [[nodiscard]] std::optional<TimePoint> next_fire_time(std::optional<TimePoint> previous,
                                                        TimePoint /*now*/) const {
    return previous ? *previous : t0;
  }
};

// A trigger that throws once past its first fire.
struct FailingTrigger {
  [[nodiscard]] std::optional<TimePoint> next_fire_time(std::optional<TimePoint> previous,
                                                        TimePoint /*now*/) const {
    if (previous && *previous >= t0 + 10s) {
      throw std::runtime_error{"the calendar is unreadable"};
    }
    return previous ? *previous + 10s : t0;
  }
};

TEST_CASE("fire policy: a broken trigger ends the plan broken, keeping the runs decided",
          "[scheduler][fire_policy]") {
  SplitMix64 random{1};
  FirePlan plan;
  JobRecord stuck{.id = "stuck",
                  .body = {},
                  .trigger = AnyTrigger{StuckTrigger{}},
                  .next_fire = t0,
                  .next_run = t0};
  apsched::detail::plan_fires(stuck, FireContext{.now = t0 + 1s}, random, plan);
  CHECK(plan.ending == FireEnding::broken);
  CHECK(plan.steps.empty());
  REQUIRE(plan.error);
  CHECK_THROWS_AS(std::rethrow_exception(plan.error), apsched::InvalidTriggerError);
  CHECK_THROWS_WITH(std::rethrow_exception(plan.error),
                    Catch::Matchers::Contains("expected a later time"));

  JobRecord failing{.id = "failing",
                    .body = {},
                    .trigger = AnyTrigger{FailingTrigger{}},
                    .next_fire = t0,
                    .next_run = t0};
  failing.coalesce = Coalesce::all;
  failing.max_instances = 5;
  apsched::detail::plan_fires(failing, FireContext{.now = t0 + 25s}, random, plan);
  CHECK(plan.ending == FireEnding::broken);
  CHECK(plan.steps == std::vector{run(t0), run(t0 + 10s)});
  CHECK_THROWS_WITH(std::rethrow_exception(plan.error), "the calendar is unreadable");

  // The next plan starts clean.
  JobRecord job = every_ten_seconds();
  apsched::detail::plan_fires(job, FireContext{.now = t0}, random, plan);
  CHECK(plan.ending == FireEnding::advanced);
  CHECK(!plan.error);
}

TEST_CASE("fire policy: a run now follows max_instances and overlap, keeping the schedule",
          "[scheduler][fire_policy]") {
  JobRecord job = every_ten_seconds();
  job.next_fire = t0 + 10s;
  job.next_run = t0 + 12s;
  FirePlan plan;
  const TimePoint now = t0 + 3s;
  apsched::detail::plan_run_now(job, FireContext{.now = now}, now, plan);
  CHECK(plan.steps == std::vector{run(now)});
  CHECK(plan.ending == FireEnding::advanced);
  CHECK(plan.next_fire == t0 + 10s);
  CHECK(plan.next_run == t0 + 12s);

  job.running = 1;
  apsched::detail::plan_run_now(job, FireContext{.now = now}, now, plan);
  CHECK(plan.steps == std::vector{skip(now)});
  job.overlap = Overlap::queue;
  apsched::detail::plan_run_now(job, FireContext{.now = now}, now, plan);
  CHECK(plan.steps == std::vector{queue(now)});
  job.running = 0;
  apsched::detail::plan_run_now(job, FireContext{.now = now, .durable = true, .room = 0}, now,
                                plan);
  CHECK(plan.steps == std::vector{run(now, 0, true)});
}

}  // namespace detail_scheduler_fire_policy_test

namespace detail_scheduler_fire_policy_first_test {

using namespace std::chrono_literals;

TEST_CASE(
    "fire policy: a job's first fire is its trigger's first at or after now; a trigger "
    "that never fires again is refused naming the call",
    "[scheduler][fire_policy]") {
  const apsched::TimePoint now = apsched::TimePoint{} + std::chrono::hours{24 * 365 * 50};
  CHECK(apsched::detail::first_fire(apsched::AnyTrigger{apsched::DateTrigger{now + 5s}}, now,
                                    "add_job") == now + 5s);
  CHECK(apsched::detail::first_fire(apsched::AnyTrigger{apsched::DateTrigger{now}}, now,
                                    "add_job") == now);
  // An interval that ended a minute ago.
  const apsched::AnyTrigger past{
      apsched::IntervalTrigger{10s, {.start_date = now - 1h, .end_date = now - 1min}}};
  CHECK_THROWS_AS(apsched::detail::first_fire(past, now, "reschedule_job"),
                  apsched::InvalidTriggerError);
  CHECK_THROWS_WITH(apsched::detail::first_fire(past, now, "reschedule_job"),
                    Catch::Matchers::StartsWith("reschedule_job: trigger ") &&
                        apsched::test::contains("expected one that fires"));
}

}  // namespace detail_scheduler_fire_policy_first_test
