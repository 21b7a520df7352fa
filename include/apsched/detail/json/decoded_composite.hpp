// SPDX-License-Identifier: MIT
// DecodedAndTrigger and DecodedOrTrigger: what TriggerCodecs decodes `and` and `or` objects to,
// one type each for any number of children, instead of an AndTrigger or OrTrigger per count.
#pragma once

#include <apsched/any_trigger.hpp>
#include <apsched/clock.hpp>
#include <apsched/detail/combining.hpp>
#include <apsched/error.hpp>
#include <apsched/trigger.hpp>
#include <apsched/triggers/combining.hpp>

#include <fmt/core.h>

#include <array>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace apsched::detail::json {

/// Up to this many children, a decoded composite finds fire times without allocating (the
/// decoder's limit, TriggerCodecs::max_children); more work too.
inline constexpr std::size_t inline_children = 8;

/// Checks that a decoded composite, named `what`, has children.
/// @throws InvalidTriggerError if `triggers` is empty.
///
/// Thread safety: thread-safe (it touches only its arguments).
inline void check_children(std::string_view what, const std::vector<AnyTrigger>& triggers) {
  if (triggers.empty()) {
    throw InvalidTriggerError{
        fmt::format("{}: the list of triggers is empty; expected at least 1 trigger", what)};
  }
}

/// The descriptions of `triggers` (describe_child), in order.
///
/// Thread safety: as their describe().
[[nodiscard]] inline std::vector<std::string> describe_children(
    const std::vector<AnyTrigger>& triggers) {
  std::vector<std::string> texts;
  texts.reserve(triggers.size());
  for (const AnyTrigger& trigger : triggers) {
    texts.push_back(describe_child(trigger));
  }
  return texts;
}

/// An AndTrigger over children whose number is known only at run time: fires, jitters and
/// describes itself exactly as an AndTrigger with the same options over the same AnyTriggers, and
/// TriggerCodecs encodes it to the same `and` object.
///
/// Thread safety: const-thread-safe when every child is.
class DecodedAndTrigger {
 public:
  /// AND of `triggers` (in order).
  /// @throws InvalidTriggerError as AndTrigger's constructor, or if `triggers` is empty.
  DecodedAndTrigger(AndOptions options, std::vector<AnyTrigger> triggers)
      : triggers_{std::move(triggers)}, options_{options} {
    check_children("AndTrigger", triggers_);
    check_and_options(options_.threshold, options_.max_iterations, options_.jitter);
  }

  /// See AndTrigger::next_fire_time.
  /// @throws InvalidTriggerError when no group is found within max_iterations rounds.
  [[nodiscard]] std::optional<TimePoint> next_fire_time(std::optional<TimePoint> previous,
                                                        TimePoint now) const {
    const auto fire_times = [&](TimePoint bound, std::span<std::optional<TimePoint>> out) {
      for (std::size_t i = 0; i < triggers_.size(); ++i) {
        out[i] = triggers_[i].next_fire_time(previous, bound);
      }
    };
    if (triggers_.size() <= inline_children) {
      std::array<std::optional<TimePoint>, inline_children> times;
      return and_next_fire_time(std::span{times}.first(triggers_.size()), now, options_.threshold,
                                options_.max_iterations, fire_times);
    }
    std::vector<std::optional<TimePoint>> times(triggers_.size());
    return and_next_fire_time(times, now, options_.threshold, options_.max_iterations, fire_times);
  }

  /// The jitter (see Trigger).
  [[nodiscard]] Duration jitter() const noexcept { return options_.jitter; }
  /// The options.
  [[nodiscard]] const AndOptions& options() const noexcept { return options_; }
  /// The combined triggers, in order (at least one).
  [[nodiscard]] const std::vector<AnyTrigger>& triggers() const noexcept { return triggers_; }

  /// As AndTrigger::describe: `and[threshold=1s; cron[...]; interval[...]]`.
  [[nodiscard]] std::string describe() const {
    return describe_and(options_.threshold, describe_children(triggers_));
  }

 private:
  std::vector<AnyTrigger> triggers_;
  AndOptions options_;
};

static_assert(Trigger<DecodedAndTrigger>);

/// An OrTrigger over children whose number is known only at run time: fires, jitters and
/// describes itself exactly as an OrTrigger with the same options over the same AnyTriggers, and
/// TriggerCodecs encodes it to the same `or` object.
///
/// Thread safety: const-thread-safe when every child is.
class DecodedOrTrigger {
 public:
  /// OR of `triggers` (in order).
  /// @throws InvalidTriggerError as OrTrigger's constructor, or if `triggers` is empty.
  DecodedOrTrigger(OrOptions options, std::vector<AnyTrigger> triggers)
      : triggers_{std::move(triggers)}, options_{options} {
    check_children("OrTrigger", triggers_);
    check_or_options(options_.jitter);
  }

  /// See OrTrigger::next_fire_time.
  [[nodiscard]] std::optional<TimePoint> next_fire_time(std::optional<TimePoint> previous,
                                                        TimePoint now) const {
    std::optional<TimePoint> earliest;
    for (const AnyTrigger& trigger : triggers_) {
      merge_or_time(earliest, trigger.next_fire_time(previous, now));
    }
    return earliest;
  }

  /// The jitter (see Trigger).
  [[nodiscard]] Duration jitter() const noexcept { return options_.jitter; }
  /// The options.
  [[nodiscard]] const OrOptions& options() const noexcept { return options_; }
  /// The combined triggers, in order (at least one).
  [[nodiscard]] const std::vector<AnyTrigger>& triggers() const noexcept { return triggers_; }

  /// As OrTrigger::describe: `or[cron[...]; interval[...]]`.
  [[nodiscard]] std::string describe() const { return describe_or(describe_children(triggers_)); }

 private:
  std::vector<AnyTrigger> triggers_;
  OrOptions options_;
};

static_assert(Trigger<DecodedOrTrigger>);

}  // namespace apsched::detail::json
