// SPDX-License-Identifier: MIT
// The Trigger concept: what decides when a job fires.
#pragma once

#include <apsched/clock.hpp>

#include <concepts>
#include <optional>
#include <string>

namespace apsched {

/// Decides a job's fire times, statelessly: the scheduler stores the next fire time and passes
/// the previous one back.
///
/// Requirements, for a `const T t`, `std::optional<TimePoint> previous` and `TimePoint now`:
/// 1. `t.next_fire_time(previous, now)` returns `std::optional<TimePoint>`: the earliest fire
///    time strictly after `*previous` (when given) and not before `now`, or an empty optional
///    once the trigger has no fire time left. A trigger that fires once at a fixed instant (the
///    date trigger) returns that instant even when it is before `now`; misfire rules then decide.
///    Calling with `now == *previous` enumerates every fire time in turn, so the scheduler can
///    count the runs it missed.
/// 2. The call is a pure function of its arguments and of `t`: it must not block, must not
///    depend on the wall clock, and returns in bounded time. It may throw only on a defect of
///    the trigger; the scheduler reports such an exception as a job error and stops the job's
///    schedule.
/// 3. `T` is copy-constructible and destructible; copies behave identically.
///
/// Optional members the scheduler uses when present:
/// - `t.jitter()` returns a Duration `j >= 0`: each run starts at a uniformly random instant in
///   `[fire, fire + j]`, kept strictly before the next fire time. `next_fire_time` itself
///   always returns the exact (un-jittered) times.
/// - `t.describe()` returns a `std::string` shown by `print_jobs` and in job listings.
///
/// Triggers are called on the scheduler's thread and on threads that add or change jobs, never
/// concurrently on the same object.
template <class T>
concept Trigger = std::copy_constructible<T> && std::destructible<T> &&
    requires(const T& trigger, std::optional<TimePoint> previous, TimePoint now) {
  { trigger.next_fire_time(previous, now) } -> std::same_as<std::optional<TimePoint>>;
};

/// A Trigger that declares a jitter (see Trigger).
template <class T>
concept JitteredTrigger = Trigger<T> && requires(const T& trigger) {
  { trigger.jitter() } -> std::convertible_to<Duration>;
};

/// A Trigger that describes itself for listings (see Trigger).
template <class T>
concept DescribedTrigger = Trigger<T> && requires(const T& trigger) {
  { trigger.describe() } -> std::convertible_to<std::string>;
};

}  // namespace apsched
