// SPDX-License-Identifier: MIT
// The definitions of IntervalTrigger's members. triggers/interval.hpp includes this in header-only
// mode; in the compiled mode the apsched::compiled library holds them.
#pragma once

#include <apsched/config.hpp>
#include <apsched/detail/format_time.hpp>
#include <apsched/detail/time_math.hpp>
#include <apsched/error.hpp>
#include <apsched/triggers/interval.hpp>

#include <fmt/core.h>

#include <optional>
#include <string>

namespace apsched {

APSCHED_INLINE IntervalTrigger::IntervalTrigger(Duration interval, const IntervalOptions& options,
                                                Checked)
    : interval_{interval},
      start_{options.start_date.value_or(TimePoint::min())},
      end_{options.end_date.value_or(TimePoint::max())},
      jitter_{options.jitter} {
  if (options.start_date && options.end_date && *options.end_date < *options.start_date) {
    throw InvalidTriggerError{fmt::format(
        "IntervalTrigger: end_date {} is before start_date {}; expected end_date >= start_date",
        detail::format_time(end_), detail::format_time(start_))};
  }
  if (jitter_ < Duration::zero()) {
    throw InvalidTriggerError{
        fmt::format("IntervalTrigger: jitter {} is negative; expected a duration >= 0",
                    detail::format_duration(jitter_))};
  }
}

APSCHED_INLINE void IntervalTrigger::reject(const std::string& given, Rejection why) {
  switch (why) {
    case Rejection::not_positive:
      throw InvalidTriggerError{fmt::format(
          "IntervalTrigger: interval {} is not positive; expected a duration > 0", given)};
    case Rejection::too_large:
      throw InvalidTriggerError{
          fmt::format("IntervalTrigger: interval {} is too large; expected at most {}", given,
                      detail::format_duration(Duration::max()))};
    case Rejection::coarse:
      break;
  }
  throw InvalidTriggerError{fmt::format(
      "IntervalTrigger: interval {} is not positive at nanosecond precision; expected a "
      "duration > 0",
      given)};
}

APSCHED_INLINE std::optional<TimePoint> IntervalTrigger::next_fire_time(
    std::optional<TimePoint> previous, TimePoint now) const noexcept {
  std::optional<TimePoint> next;
  if (has_start()) {
    TimePoint at_least = now;
    if (previous && *previous >= at_least) {
      if (*previous == TimePoint::max()) {
        return std::nullopt;
      }
      at_least = *previous + Duration{1};
    }
    next = detail::grid_ceil(start_, interval_, at_least);
  } else if (previous) {
    const std::optional<TimePoint> after = detail::checked_add(*previous, interval_);
    next = after ? detail::grid_ceil(*after, interval_, now) : std::nullopt;
  } else {
    next = detail::checked_add(now, interval_);
  }
  if (!next || *next > end_) {
    return std::nullopt;
  }
  return next;
}
APSCHED_INLINE std::string IntervalTrigger::describe() const {
  std::string text = fmt::format("interval[{}", detail::format_duration(interval_));
  if (has_start()) {
    text += fmt::format(", start={}", detail::format_time(start_));
  }
  if (end_ != TimePoint::max()) {
    text += fmt::format(", end={}", detail::format_time(end_));
  }
  if (jitter_ != Duration::zero()) {
    text += fmt::format(", jitter={}", detail::format_duration(jitter_));
  }
  return text + "]";
}
}  // namespace apsched
