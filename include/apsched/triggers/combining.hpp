// SPDX-License-Identifier: MIT
// AndTrigger and OrTrigger: fire times combined from several triggers of any kinds.
#pragma once

#include <apsched/clock.hpp>
#include <apsched/detail/combining.hpp>
#include <apsched/error.hpp>
#include <apsched/trigger.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <tuple>
#include <utility>

namespace apsched {

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
    detail::check_and_options(options_.threshold, options_.max_iterations, options_.jitter);
  }

  /// See Trigger: the earliest time of the first group of child fire times (each strictly after
  /// `previous`, not before `now`) that spread by at most the threshold; empty once any child
  /// is exhausted.
  /// @throws InvalidTriggerError when no group is found within max_iterations rounds.
  [[nodiscard]] std::optional<TimePoint> next_fire_time(std::optional<TimePoint> previous,
                                                        TimePoint now) const {
    std::array<std::optional<TimePoint>, sizeof...(Ts)> times;
    return detail::and_next_fire_time(
        times, now, options_.threshold, options_.max_iterations,
        [&](TimePoint bound, std::span<std::optional<TimePoint>> out) {
          std::apply(
              [&](const Ts&... trigger) {
                std::size_t i = 0;
                ((out[i++] = trigger.next_fire_time(previous, bound)), ...);
              },
              triggers_);
        });
  }

  /// The jitter (see Trigger).
  [[nodiscard]] Duration jitter() const noexcept { return options_.jitter; }
  /// The options.
  [[nodiscard]] const AndOptions& options() const noexcept { return options_; }
  /// The combined triggers, in the order given.
  [[nodiscard]] const std::tuple<Ts...>& triggers() const noexcept { return triggers_; }

  /// For listings: `and[threshold=1s; cron[...]; interval[...]]`.
  [[nodiscard]] std::string describe() const {
    const auto children = std::apply(
        [](const Ts&... trigger) {
          return std::array<std::string, sizeof...(Ts)>{detail::describe_child(trigger)...};
        },
        triggers_);
    return detail::describe_and(options_.threshold, children);
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
    detail::check_or_options(options_.jitter);
  }

  /// See Trigger: the earliest of the children's next fire times; empty once all are exhausted.
  [[nodiscard]] std::optional<TimePoint> next_fire_time(std::optional<TimePoint> previous,
                                                        TimePoint now) const {
    std::optional<TimePoint> earliest;
    std::apply(
        [&](const Ts&... trigger) {
          (detail::merge_or_time(earliest, trigger.next_fire_time(previous, now)), ...);
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
    const auto children = std::apply(
        [](const Ts&... trigger) {
          return std::array<std::string, sizeof...(Ts)>{detail::describe_child(trigger)...};
        },
        triggers_);
    return detail::describe_or(children);
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
