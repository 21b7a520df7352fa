// SPDX-License-Identifier: MIT
// The AND and OR algorithms over child fire times, shared by AndTrigger and OrTrigger and by the
// JSON decoder's runtime-sized composites, so both fire and describe themselves identically.
#pragma once

#include <apsched/clock.hpp>
#include <apsched/config.hpp>
#include <apsched/error.hpp>
#include <apsched/trigger.hpp>

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
APSCHED_INLINE void check_and_options(Duration threshold, std::size_t max_iterations,
                                      Duration jitter);

/// Checks the options of an OR of triggers.
/// @throws InvalidTriggerError if `jitter` is negative.
///
/// Thread safety: thread-safe (it touches only its arguments).
APSCHED_INLINE void check_or_options(Duration jitter);

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
[[nodiscard]] APSCHED_INLINE AndRound and_round(std::span<const std::optional<TimePoint>> times,
                                                TimePoint bound, Duration threshold) noexcept;

/// The error of an AND whose children found no common fire time within `max_iterations` rounds
/// of a call with `now`.
///
/// Thread safety: thread-safe (it touches only its arguments).
[[nodiscard]] APSCHED_INLINE InvalidTriggerError and_no_common_time(std::size_t max_iterations,
                                                                    TimePoint now,
                                                                    Duration threshold);

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
[[nodiscard]] APSCHED_INLINE std::string join_children(std::span<const std::string> children);

/// An AND's description, `and[threshold=1s; cron[...]; interval[...]]`, from its children's
/// (describe_child).
///
/// Thread safety: thread-safe (it touches only its arguments).
[[nodiscard]] APSCHED_INLINE std::string describe_and(Duration threshold,
                                                      std::span<const std::string> children);

/// An OR's description, `or[cron[...]; interval[...]]`, from its children's (describe_child).
///
/// Thread safety: thread-safe (it touches only its arguments).
[[nodiscard]] APSCHED_INLINE std::string describe_or(std::span<const std::string> children);

}  // namespace apsched::detail

#if !APSCHED_SEPARATE_COMPILATION
#include <apsched/impl/detail/combining.hpp>
#endif
