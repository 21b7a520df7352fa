// SPDX-License-Identifier: MIT
// The fire policy: what becomes of a due job's fire times (misfire grace time, coalescing,
// max_instances and overlap, jitter), decided from the job and the time alone, as a plan the
// scheduler then carries out.
#pragma once

#include <apsched/any_trigger.hpp>
#include <apsched/clock.hpp>
#include <apsched/error.hpp>
#include <apsched/job.hpp>
#include <apsched/job_store.hpp>

#include <apsched/detail/format_time.hpp>
#include <apsched/detail/hash.hpp>

#include <fmt/core.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <limits>
#include <optional>
#include <string_view>
#include <vector>

namespace apsched::detail {

/// One thing the fire policy decided for a job, in the order the scheduler carries them out.
struct FireStep {
  enum class Kind : std::uint8_t {
    run,        ///< start a run for `scheduled` that folds `count` other fires into it
    queue,      ///< Overlap::queue: the run for `scheduled` waits behind a run of the job
    skip,       ///< max_instances runs are outstanding: the fire at `scheduled` is not run
    missed,     ///< `count` fire times from `scheduled` on were past the misfire grace time
    coalesced,  ///< durable stores only: `count` fire times from `scheduled` on were folded
                ///< into a run (recorded beside it)
  };
  Kind kind = Kind::run;
  TimePoint scheduled{};
  /// With `run`: the fires folded into it; with `missed` and `coalesced`: how many fire times.
  std::uint64_t count = 0;
  /// With `run`: its fire is recorded claimed, not submitted (a durable job's run waits for a
  /// free worker, or for other schedulers' runs of the job).
  bool claimed = false;

  friend bool operator==(const FireStep&, const FireStep&) = default;
};

/// What became of the job's schedule.
enum class FireEnding : std::uint8_t {
  advanced,   ///< its next fire time is `FirePlan::next_fire` (due at `next_run`)
  exhausted,  ///< its trigger has no fire time left: the job goes
  broken,     ///< its trigger failed (`FirePlan::error`): the job is to be paused
};

/// The fire policy's decision for one due job: its steps, then its ending.
struct FirePlan {
  std::vector<FireStep> steps;
  FireEnding ending = FireEnding::advanced;
  TimePoint next_fire{};
  TimePoint next_run{};
  /// With `broken`: what the trigger threw.
  std::exception_ptr error;
};

/// What the scheduler lets the policy know beyond the job: the time, whether the job's store
/// records fires (durable), and how many more runs the job's executor starts in this step
/// (`unlimited` for no limit).
struct FireContext {
  static constexpr std::size_t unlimited = std::numeric_limits<std::size_t>::max();

  TimePoint now{};
  bool durable = false;
  std::size_t room = unlimited;
};

/// The first fire time of `trigger` at or after `now`, for a job `call` adds or reschedules.
/// @throws InvalidTriggerError naming `call` if the trigger never fires again
[[nodiscard]] inline TimePoint first_fire(const AnyTrigger& trigger, TimePoint now,
                                          std::string_view call) {
  const std::optional<TimePoint> first = trigger.next_fire_time(std::nullopt, now);
  if (!first) {
    throw InvalidTriggerError{
        fmt::format("{}: trigger {} has no fire time at or after {}; expected one that fires", call,
                    trigger.describe(), format_time(now))};
  }
  return *first;
}

/// `fire` delayed by a uniformly random part of `trigger`'s jitter, kept strictly before the
/// trigger's following fire time.
inline TimePoint jittered(const AnyTrigger& trigger, TimePoint fire, SplitMix64& random) {
  const Duration jitter = trigger.jitter();
  if (jitter <= Duration::zero()) {
    return fire;
  }
  Duration bound = jitter;
  if (const std::optional<TimePoint> following = trigger.next_fire_time(fire, fire)) {
    bound = std::min(bound, *following - fire - Duration{1});
  }
  if (bound <= Duration::zero()) {
    return fire;
  }
  return fire + Duration{static_cast<Duration::rep>(
                    random.at_most(static_cast<std::uint64_t>(bound.count())))};
}

/// Whether the fire at `scheduled` is past `job`'s misfire grace time at `now`.
[[nodiscard]] inline bool late(const JobRecord& job, TimePoint scheduled, TimePoint now) noexcept {
  const JobExtras* extras = job.extras.get();
  return extras != nullptr && extras->misfire_grace_time &&
         now - scheduled > *extras->misfire_grace_time;
}

/// Whether max_instances allows one more run of `job`: this scheduler's runs and those that
/// other schedulers sharing the job's store have in flight (as the store last read them).
[[nodiscard]] inline bool below_max_instances(const JobRecord& job) noexcept {
  return std::uint32_t{job.running} + job.running_elsewhere < job.max_instances;
}

/// The runs of a job the policy has counted so far: the job's own, plus the ones its plan
/// starts or queues.
class FireTally {
 public:
  FireTally(const JobRecord& job, const FireContext& context) noexcept
      : job_{job},
        context_{context},
        running_{job.running},
        queued_{job.extras ? job.extras->queued_runs.size() : 0},
        room_{context.room} {}

  /// Offers a run for `scheduled` folding `folded` fires: it runs if max_instances allows
  /// (counting other schedulers' runs), else per the job's overlap rule it waits (queue) or is
  /// skipped.
  void offer(TimePoint scheduled, std::uint64_t folded, std::vector<FireStep>& steps) {
    if (std::uint32_t{running_} + job_.running_elsewhere < job_.max_instances) {
      const bool claimed = context_.durable && room_ == 0;
      if (!claimed && room_ != FireContext::unlimited && room_ > 0) {
        --room_;
      }
      start(scheduled, folded, claimed, steps);
      return;
    }
    if (job_.overlap == Overlap::queue && context_.durable && running_ < job_.max_instances) {
      // Only other schedulers' runs are in the way: recorded claimed, the run waits for them,
      // and its store starts it once fewer are recorded running.
      start(scheduled, folded, true, steps);
      return;
    }
    if (job_.overlap == Overlap::queue && queued_ < job_.max_instances) {
      ++queued_;
      if (!first_planned_queued_) {
        first_planned_queued_ = scheduled;
      }
      steps.push_back(FireStep{.kind = FireStep::Kind::queue, .scheduled = scheduled});
      return;
    }
    steps.push_back(FireStep{.kind = FireStep::Kind::skip, .scheduled = scheduled});
  }

  /// The runs waiting in the job's queue, the plan's included, and the first of them.
  [[nodiscard]] std::size_t queued() const noexcept { return queued_; }
  [[nodiscard]] TimePoint first_queued() const noexcept {
    return job_.extras && !job_.extras->queued_runs.empty()
               ? job_.extras->queued_runs.front()
               : first_planned_queued_.value_or(TimePoint{});
  }

 private:
  void start(TimePoint scheduled, std::uint64_t folded, bool claimed,
             std::vector<FireStep>& steps) {
    ++running_;
    steps.push_back(FireStep{
        .kind = FireStep::Kind::run, .scheduled = scheduled, .count = folded, .claimed = claimed});
  }

  const JobRecord& job_;
  const FireContext& context_;
  std::uint32_t running_;
  std::size_t queued_;
  std::size_t room_;
  std::optional<TimePoint> first_planned_queued_;
};

/// Decides the runs of the due `job` into `plan` (its steps replaced): enumerates the job's
/// fire times due by `context.now` from `job.next_run` on, reports the ones past the misfire
/// grace time as missed, coalesces the rest per `job.coalesce`, offers the runs to
/// max_instances and the overlap rule, and finds the next fire time (jittered with `random`).
/// A trigger that throws, or returns a time not after the previous one, ends the plan broken
/// (the steps decided before stay). Calls only the job's trigger; reads nothing else.
inline void plan_fires(const JobRecord& job, const FireContext& context, SplitMix64& random,
                       FirePlan& plan) {
  plan.steps.clear();
  if (plan.error) {
    plan.error = nullptr;
  }
  FireTally tally{job, context};
  std::uint64_t missed = 0;
  TimePoint first_missed{};
  std::uint64_t on_time = 0;
  TimePoint earliest{};
  TimePoint second{};
  TimePoint latest{};
  const auto consider = [&](TimePoint scheduled) {
    if (late(job, scheduled, context.now)) {
      if (missed++ == 0) {
        first_missed = scheduled;
      }
      return;
    }
    if (on_time++ == 0) {
      earliest = scheduled;
    } else if (on_time == 2) {
      second = scheduled;
    }
    latest = scheduled;
    if (job.coalesce == Coalesce::all) {
      tally.offer(scheduled, 0, plan.steps);
    }
  };

  std::optional<TimePoint> next;
  try {
    consider(job.next_run);
    TimePoint fire = job.next_fire;
    for (;;) {
      next = job.trigger.next_fire_time(fire, fire);
      if (next && *next <= fire) {
        throw InvalidTriggerError{
            fmt::format("trigger {} returned {} after {}; expected a later time",
                        job.trigger.describe(), format_time(*next), format_time(fire))};
      }
      if (!next || *next > context.now) {
        break;
      }
      fire = *next;
      consider(fire);
    }
  } catch (...) {
    plan.ending = FireEnding::broken;
    plan.error = std::current_exception();
    return;
  }

  if (missed > 0) {
    plan.steps.push_back(
        FireStep{.kind = FireStep::Kind::missed, .scheduled = first_missed, .count = missed});
  }
  if (on_time > 0 && job.coalesce != Coalesce::all) {
    // A durable store records the folded fires, from the first of them, beside the run.
    if (context.durable && on_time > 1) {
      plan.steps.push_back(
          FireStep{.kind = FireStep::Kind::coalesced,
                   .scheduled = job.coalesce == Coalesce::earliest ? second : earliest,
                   .count = on_time - 1});
    }
    tally.offer(job.coalesce == Coalesce::earliest ? earliest : latest, on_time - 1, plan.steps);
  }
  if (next) {
    plan.ending = FireEnding::advanced;
    plan.next_fire = *next;
    plan.next_run = jittered(job.trigger, *next, random);
    return;
  }
  plan.ending = FireEnding::exhausted;
  if (tally.queued() > 0 && !context.durable) {
    // The job goes with its queued runs. A durable job's queued runs are recorded claimed: they
    // run, the store keeping the job for them (see detail::durable::retires).
    plan.steps.push_back(FireStep{.kind = FireStep::Kind::missed,
                                  .scheduled = tally.first_queued(),
                                  .count = tally.queued()});
  }
}

/// Decides one run of `job` for `scheduled` outside its schedule (BasicScheduler::run_job_now)
/// into `plan` (its steps replaced; the ending stays `advanced` with the schedule unchanged):
/// a run if max_instances allows, else per the job's overlap rule.
inline void plan_run_now(const JobRecord& job, const FireContext& context, TimePoint scheduled,
                         FirePlan& plan) {
  plan.steps.clear();
  plan.error = nullptr;
  plan.ending = FireEnding::advanced;
  plan.next_fire = job.next_fire;
  plan.next_run = job.next_run;
  FireTally{job, context}.offer(scheduled, 0, plan.steps);
}

}  // namespace apsched::detail
