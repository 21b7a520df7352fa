// SPDX-License-Identifier: MIT
// Overflow-safe arithmetic on time points and durations, shared by the triggers.
#pragma once

#include <apsched/clock.hpp>

#include <optional>

namespace apsched::detail {

/// `t + d` for `d >= 0`, or empty when the sum would pass TimePoint::max().
[[nodiscard]] inline std::optional<TimePoint> checked_add(TimePoint t, Duration d) noexcept {
  if (t > TimePoint::max() - d) {
    return std::nullopt;
  }
  return t + d;
}

/// `t - offset`, kept within [TimePoint::min(), TimePoint::max()]; max() stays max() (never).
[[nodiscard]] inline TimePoint minus_saturated(TimePoint t, Duration offset) noexcept {
  if (t == TimePoint::max() || (offset < Duration::zero() && t > TimePoint::max() + offset)) {
    return TimePoint::max();
  }
  if (offset > Duration::zero() && t < TimePoint::min() + offset) {
    return TimePoint::min();
  }
  return t - offset;
}

/// The first instant `origin + k * step` (k >= 0) that is at or after `at_least`, or empty past
/// TimePoint::max(). Requires `step > 0`.
[[nodiscard]] inline std::optional<TimePoint> grid_ceil(TimePoint origin, Duration step,
                                                        TimePoint at_least) noexcept {
  if (at_least <= origin) {
    return origin;
  }
  // Compute in unsigned 64 bits: at_least - origin can exceed Duration::max() when the two
  // are far apart with opposite signs.
  const auto span = static_cast<unsigned long long>(at_least.time_since_epoch().count()) -
                    static_cast<unsigned long long>(origin.time_since_epoch().count());
  const auto unit = static_cast<unsigned long long>(step.count());
  const auto steps = span / unit + (span % unit != 0 ? 1ULL : 0ULL);
  const auto room = static_cast<unsigned long long>(TimePoint::max().time_since_epoch().count()) -
                    static_cast<unsigned long long>(origin.time_since_epoch().count());
  if (steps > room / unit) {
    return std::nullopt;
  }
  // The offset may exceed Duration::max() (an origin centuries back), so add in unsigned
  // arithmetic; the result was checked to fit, and C++20 converts it back exactly.
  const auto ticks =
      static_cast<unsigned long long>(origin.time_since_epoch().count()) + steps * unit;
  return TimePoint{Duration{static_cast<Duration::rep>(ticks)}};
}

}  // namespace apsched::detail
