// SPDX-License-Identifier: MIT
// The definitions of detail/combining.hpp's functions. That header includes this in header-only
// mode; in the compiled mode the apsched::compiled library holds them.
#pragma once

#include <apsched/config.hpp>
#include <apsched/detail/combining.hpp>
#include <apsched/detail/format_time.hpp>
#include <apsched/error.hpp>

#include <fmt/core.h>

#include <algorithm>
#include <cstddef>
#include <optional>
#include <span>
#include <string>

namespace apsched::detail {

APSCHED_INLINE void check_and_options(Duration threshold, std::size_t max_iterations,
                                      Duration jitter) {
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

APSCHED_INLINE void check_or_options(Duration jitter) {
  if (jitter < Duration::zero()) {
    throw InvalidTriggerError{fmt::format(
        "OrTrigger: jitter {} is negative; expected a duration >= 0", format_duration(jitter))};
  }
}

APSCHED_INLINE AndRound and_round(std::span<const std::optional<TimePoint>> times, TimePoint bound,
                                  Duration threshold) noexcept {
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

APSCHED_INLINE InvalidTriggerError and_no_common_time(std::size_t max_iterations, TimePoint now,
                                                      Duration threshold) {
  return InvalidTriggerError{fmt::format(
      "AndTrigger: the triggers found no common fire time within {} iterations after {}; "
      "expected them to meet within threshold {} (raise max_iterations or threshold)",
      max_iterations, format_time(now), format_duration(threshold))};
}

APSCHED_INLINE std::string join_children(std::span<const std::string> children) {
  std::string text;
  for (std::size_t i = 0; i < children.size(); ++i) {
    text += i == 0 ? "" : "; ";
    text += children[i];
  }
  return text;
}

APSCHED_INLINE std::string describe_and(Duration threshold, std::span<const std::string> children) {
  return fmt::format("and[threshold={}; {}]", format_duration(threshold), join_children(children));
}

APSCHED_INLINE std::string describe_or(std::span<const std::string> children) {
  return "or[" + join_children(children) + "]";
}

}  // namespace apsched::detail
