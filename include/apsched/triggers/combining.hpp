// SPDX-License-Identifier: MIT
// AndTrigger and OrTrigger: fire times combined from several triggers of any kinds.
#pragma once

#include <apsched/clock.hpp>
#include <apsched/detail/format_time.hpp>
#include <apsched/error.hpp>
#include <apsched/trigger.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <tuple>
#include <utility>

namespace apsched {

namespace detail {
template <class T>
std::string describe_child(const T& trigger) {
  if constexpr (DescribedTrigger<T>) {
    return std::string{trigger.describe()};
  } else {
    return "trigger";
  }
}
}  // namespace detail

/// Optional settings of an AndTrigger.
///
/// Thread safety: not thread-safe (a plain value).
struct AndOptions {
  /// The largest spread of the children's fire times that still counts as "together".
  Duration threshold = std::chrono::seconds{1};
  /// How many rounds of asking the children one call may take before it gives up.
  std::size_t max_iterations = 10'000;
  /// Each run starts up to this much later than its fire time (applied by the scheduler).
  Duration jitter{};
};

/// Fires when all its triggers fire within `threshold` of each other, at the earliest of those
/// times (APScheduler's AndTrigger).
///
/// Each round asks every child for its next fire time not before a bound (at first `now`). If
/// they spread by at most the threshold, the earliest is the answer. Otherwise no group can
/// start before `latest - threshold`, which becomes the new bound; the earliest child therefore
/// moves on every round. Unlike APScheduler 3, which loops forever on two intervals that never
/// meet, the rounds are bounded by `max_iterations`.
///
/// @code
/// // 09:00 on weekdays that are also the first Monday-to-Friday of a 2-week interval grid...
/// apsched::AndTrigger both{cron_trigger, interval_trigger};
/// apsched::AndTrigger loose{apsched::AndOptions{.threshold = std::chrono::minutes{5}}, a, b};
/// @endcode
///
/// Thread safety: const-thread-safe when every child is.
template <Trigger... Ts>
requires(sizeof...(Ts) >= 1) class AndTrigger {
 public:
  /// AND of `triggers` with the default options.
  explicit AndTrigger(Ts... triggers) : AndTrigger{AndOptions{}, std::move(triggers)...} {}

  /// AND of `triggers`.
  /// @throws InvalidTriggerError if the threshold or jitter is negative or max_iterations is 0.
  explicit AndTrigger(AndOptions options, Ts... triggers)
      : triggers_{std::move(triggers)...}, options_{options} {
    if (options_.threshold < Duration::zero()) {
      throw InvalidTriggerError{
          fmt::format("AndTrigger: threshold {} is negative; expected a duration >= 0",
                      detail::format_duration(options_.threshold))};
    }
    if (options_.max_iterations == 0) {
      throw InvalidTriggerError{"AndTrigger: max_iterations is 0; expected at least 1"};
    }
    if (options_.jitter < Duration::zero()) {
      throw InvalidTriggerError{
          fmt::format("AndTrigger: jitter {} is negative; expected a duration >= 0",
                      detail::format_duration(options_.jitter))};
    }
  }

  /// See Trigger: the earliest time of the first group of child fire times (each strictly after
  /// `previous`, not before `now`) that spread by at most the threshold; empty once any child
  /// is exhausted.
  /// @throws InvalidTriggerError when no group is found within max_iterations rounds.
  [[nodiscard]] std::optional<TimePoint> next_fire_time(std::optional<TimePoint> previous,
                                                        TimePoint now) const {
    TimePoint bound = now;
    for (std::size_t round = 0; round < options_.max_iterations; ++round) {
      const auto times = std::apply(
          [&](const Ts&... trigger) {
            return std::array<std::optional<TimePoint>, sizeof...(Ts)>{
                trigger.next_fire_time(previous, bound)...};
          },
          triggers_);
      TimePoint earliest = TimePoint::max();
      TimePoint latest = TimePoint::min();
      for (const std::optional<TimePoint>& time : times) {
        if (!time) {
          return std::nullopt;
        }
        earliest = std::min(earliest, *time);
        latest = std::max(latest, *time);
      }
      if (latest - earliest <= options_.threshold) {
        return earliest;
      }
      bound = std::max(bound, latest - options_.threshold);
    }
    throw InvalidTriggerError{fmt::format(
        "AndTrigger: the triggers found no common fire time within {} iterations after {}; "
        "expected them to meet within threshold {} (raise max_iterations or threshold)",
        options_.max_iterations, detail::format_time(now),
        detail::format_duration(options_.threshold))};
  }

  /// The jitter (see Trigger).
  [[nodiscard]] Duration jitter() const noexcept { return options_.jitter; }
  /// The options.
  [[nodiscard]] const AndOptions& options() const noexcept { return options_; }
  /// The combined triggers, in the order given.
  [[nodiscard]] const std::tuple<Ts...>& triggers() const noexcept { return triggers_; }

  /// For listings: `and[threshold=1s; cron[...]; interval[...]]`.
  [[nodiscard]] std::string describe() const {
    std::string text = fmt::format("and[threshold={}", detail::format_duration(options_.threshold));
    std::apply(
        [&](const Ts&... trigger) { ((text += "; " + detail::describe_child(trigger)), ...); },
        triggers_);
    return text + "]";
  }

 private:
  std::tuple<Ts...> triggers_;
  AndOptions options_;
};

template <Trigger... Ts>
AndTrigger(Ts...) -> AndTrigger<Ts...>;
template <Trigger... Ts>
AndTrigger(AndOptions, Ts...) -> AndTrigger<Ts...>;

/// Optional settings of an OrTrigger.
///
/// Thread safety: not thread-safe (a plain value).
struct OrOptions {
  /// Each run starts up to this much later than its fire time (applied by the scheduler).
  Duration jitter{};
};

/// Fires whenever any of its triggers fires: the merged, ordered stream of all their fire
/// times, where a time several children share fires once.
///
/// @code
/// apsched::OrTrigger weekday_mornings_and_noon{morning_cron, noon_cron};
/// @endcode
///
/// Thread safety: const-thread-safe when every child is.
template <Trigger... Ts>
requires(sizeof...(Ts) >= 1) class OrTrigger {
 public:
  /// OR of `triggers` with the default options.
  explicit OrTrigger(Ts... triggers) : OrTrigger{OrOptions{}, std::move(triggers)...} {}

  /// OR of `triggers`.
  /// @throws InvalidTriggerError if the jitter is negative.
  explicit OrTrigger(OrOptions options, Ts... triggers)
      : triggers_{std::move(triggers)...}, options_{options} {
    if (options_.jitter < Duration::zero()) {
      throw InvalidTriggerError{
          fmt::format("OrTrigger: jitter {} is negative; expected a duration >= 0",
                      detail::format_duration(options_.jitter))};
    }
  }

  /// See Trigger: the earliest of the children's next fire times; empty once all are exhausted.
  [[nodiscard]] std::optional<TimePoint> next_fire_time(std::optional<TimePoint> previous,
                                                        TimePoint now) const {
    std::optional<TimePoint> earliest;
    std::apply(
        [&](const Ts&... trigger) {
          const auto consider = [&](std::optional<TimePoint> time) {
            if (time && (!earliest || *time < *earliest)) {
              earliest = time;
            }
          };
          (consider(trigger.next_fire_time(previous, now)), ...);
        },
        triggers_);
    return earliest;
  }

  /// The jitter (see Trigger).
  [[nodiscard]] Duration jitter() const noexcept { return options_.jitter; }
  /// The options.
  [[nodiscard]] const OrOptions& options() const noexcept { return options_; }
  /// The combined triggers, in the order given.
  [[nodiscard]] const std::tuple<Ts...>& triggers() const noexcept { return triggers_; }

  /// For listings: `or[cron[...]; interval[...]]`.
  [[nodiscard]] std::string describe() const {
    std::string text = "or[";
    bool first = true;
    std::apply(
        [&](const Ts&... trigger) {
          ((text += (first ? "" : "; ") + detail::describe_child(trigger), first = false), ...);
        },
        triggers_);
    return text + "]";
  }

 private:
  std::tuple<Ts...> triggers_;
  OrOptions options_;
};

template <Trigger... Ts>
OrTrigger(Ts...) -> OrTrigger<Ts...>;
template <Trigger... Ts>
OrTrigger(OrOptions, Ts...) -> OrTrigger<Ts...>;

}  // namespace apsched
