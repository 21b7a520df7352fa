// SPDX-License-Identifier: MIT
// The AND and OR algorithms over child fire times, shared by AndTrigger and OrTrigger and by the
// JSON decoder's runtime-sized composites, so both fire and describe themselves identically.
#pragma once

#include <apsched/clock.hpp>
#include <apsched/detail/format_time.hpp>
#include <apsched/error.hpp>
#include <apsched/trigger.hpp>

#include <fmt/core.h>

#include <algorithm>
#include <cstddef>
#include <optional>
#include <span>
#include <string>

namespace apsched::detail {

/// `trigger`'s text in an AND's or OR's description: its describe(), or "trigger" when it has
/// none.
///
/// Thread safety: as `trigger.describe()`.
template <class T>
[[nodiscard]] std::string describe_child(const T& trigger) {
  if constexpr (DescribedTrigger<T>) {
    return std::string{trigger.describe()};
  } else {
    return "trigger";
  }
}

/// Checks the options of an AND of triggers.
/// @throws InvalidTriggerError if `threshold` or `jitter` is negative or `max_iterations` is 0.
///
/// Thread safety: thread-safe (it touches only its arguments).
inline void check_and_options(Duration threshold, std::size_t max_iterations, Duration jitter) {
  if (threshold < Duration::zero()) {
    throw InvalidTriggerError{
        fmt::format("AndTrigger: threshold {} is negative; expected a duration >= 0",
                    format_duration(threshold))};
  }
  if (max_iterations == 0) {
    throw InvalidTriggerError{"AndTrigger: max_iterations is 0; expected at least 1"};
  }
  if (jitter < Duration::zero()) {
    throw InvalidTriggerError{fmt::format(
        "AndTrigger: jitter {} is negative; expected a duration >= 0", format_duration(jitter))};
  }
}

/// Checks the options of an OR of triggers.
/// @throws InvalidTriggerError if `jitter` is negative.
///
/// Thread safety: thread-safe (it touches only its arguments).
inline void check_or_options(Duration jitter) {
  if (jitter < Duration::zero()) {
    throw InvalidTriggerError{fmt::format(
        "OrTrigger: jitter {} is negative; expected a duration >= 0", format_duration(jitter))};
  }
}

/// What one round of an AND makes of its children's fire times.
///
/// Thread safety: not thread-safe (a plain value).
struct AndRound {
  /// The outcome of a round.
  enum class Outcome {
    exhausted,  ///< a child has no fire time left, so neither has the AND
    found,      ///< the times spread by at most the threshold; `time` is the earliest
    again,      ///< they spread further; ask again from `time`, the next bound
  };
  /// The outcome.
  Outcome outcome;
  /// The common fire time (found) or the next bound (again); unused when exhausted.
  TimePoint time;
};

/// One AND round (see AndTrigger): `times` are the children's next fire times not before
/// `bound`, one per child (at least one). When they spread by at most `threshold`, the earliest
/// is the AND's; otherwise no group starts before `latest - threshold`, the next bound.
///
/// Thread safety: thread-safe (it touches only its arguments).
[[nodiscard]] inline AndRound and_round(std::span<const std::optional<TimePoint>> times,
                                        TimePoint bound, Duration threshold) noexcept {
  TimePoint earliest = TimePoint::max();
  TimePoint latest = TimePoint::min();
  for (const std::optional<TimePoint>& time : times) {
    if (!time) {
      return {AndRound::Outcome::exhausted, bound};
    }
    earliest = std::min(earliest, *time);
    latest = std::max(latest, *time);
  }
  if (latest - earliest <= threshold) {
    return {AndRound::Outcome::found, earliest};
  }
  return {AndRound::Outcome::again, std::max(bound, latest - threshold)};
}

/// The error of an AND whose children found no common fire time within `max_iterations` rounds
/// of a call with `now`.
///
/// Thread safety: thread-safe (it touches only its arguments).
[[nodiscard]] inline InvalidTriggerError and_no_common_time(std::size_t max_iterations,
                                                            TimePoint now, Duration threshold) {
  return InvalidTriggerError{fmt::format(
      "AndTrigger: the triggers found no common fire time within {} iterations after {}; "
      "expected them to meet within threshold {} (raise max_iterations or threshold)",
      max_iterations, format_time(now), format_duration(threshold))};
}

/// The next fire time of an AND of children (see AndTrigger::next_fire_time), starting from
/// `now`. Each round calls `fire_times(bound, times)`, which must set `times[i]` to child `i`'s
/// `next_fire_time(previous, bound)`; `times` has one element per child (at least one).
/// @throws InvalidTriggerError (and_no_common_time) after `max_iterations` rounds without a
///         group, and whatever `fire_times` throws.
///
/// Thread safety: as `fire_times`; `times` must not be shared.
template <class FireTimes>
[[nodiscard]] std::optional<TimePoint> and_next_fire_time(std::span<std::optional<TimePoint>> times,
                                                          TimePoint now, Duration threshold,
                                                          std::size_t max_iterations,
                                                          const FireTimes& fire_times) {
  TimePoint bound = now;
  for (std::size_t round = 0; round < max_iterations; ++round) {
    fire_times(bound, times);
    const AndRound result = and_round(times, bound, threshold);
    switch (result.outcome) {
      case AndRound::Outcome::exhausted:
        return std::nullopt;
      case AndRound::Outcome::found:
        return result.time;
      case AndRound::Outcome::again:
        bound = result.time;
        break;
    }
  }
  throw and_no_common_time(max_iterations, now, threshold);
}

/// Merges `time`, one child's next fire time, into `earliest`, the earliest of an OR's
/// children's next fire times so far (empty while all were exhausted).
///
/// Thread safety: thread-safe (it touches only its arguments).
inline void merge_or_time(std::optional<TimePoint>& earliest,
                          std::optional<TimePoint> time) noexcept {
  if (time && (!earliest || *time < *earliest)) {
    earliest = time;
  }
}

/// `children` joined by "; ", the list inside an AND's or OR's description.
///
/// Thread safety: thread-safe (it touches only its arguments).
[[nodiscard]] inline std::string join_children(std::span<const std::string> children) {
  std::string text;
  for (std::size_t i = 0; i < children.size(); ++i) {
    text += i == 0 ? "" : "; ";
    text += children[i];
  }
  return text;
}

/// An AND's description, `and[threshold=1s; cron[...]; interval[...]]`, from its children's
/// (describe_child).
///
/// Thread safety: thread-safe (it touches only its arguments).
[[nodiscard]] inline std::string describe_and(Duration threshold,
                                              std::span<const std::string> children) {
  return fmt::format("and[threshold={}; {}]", format_duration(threshold), join_children(children));
}

/// An OR's description, `or[cron[...]; interval[...]]`, from its children's (describe_child).
///
/// Thread safety: thread-safe (it touches only its arguments).
[[nodiscard]] inline std::string describe_or(std::span<const std::string> children) {
  return "or[" + join_children(children) + "]";
}

}  // namespace apsched::detail
