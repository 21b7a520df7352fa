// SPDX-License-Identifier: MIT
// DateTrigger: fires once, at one instant.
#pragma once

#include <apsched/clock.hpp>
#include <apsched/detail/format_time.hpp>
#include <apsched/trigger.hpp>

#include <chrono>
#include <optional>
#include <string>

namespace apsched {

/// Fires once at `run_date`, even when that instant is already past when the job is added: the
/// job's misfire grace time then decides whether it still runs.
///
/// @code
/// apsched::DateTrigger once{std::chrono::system_clock::now() + std::chrono::minutes{5}};
/// @endcode
///
/// Thread safety: const-thread-safe (immutable after construction).
class DateTrigger {
 public:
  /// A trigger firing once at `run_date` (any system_clock time point precision).
  template <class D>
  explicit DateTrigger(std::chrono::time_point<std::chrono::system_clock, D> run_date) noexcept
      : run_date_{std::chrono::time_point_cast<Duration>(run_date)} {}

  /// See Trigger: `run_date` unless `previous` is at or after it, whatever `now` is.
  [[nodiscard]] std::optional<TimePoint> next_fire_time(std::optional<TimePoint> previous,
                                                        TimePoint /*now*/) const noexcept {
    if (previous && *previous >= run_date_) {
      return std::nullopt;
    }
    return run_date_;
  }

  /// The instant the trigger fires at.
  [[nodiscard]] TimePoint run_date() const noexcept { return run_date_; }

  /// For listings: `date[2026-01-01T00:00:00.000000Z]`.
  [[nodiscard]] std::string describe() const {
    return "date[" + detail::format_time(run_date_) + "]";
  }

 private:
  TimePoint run_date_;
};

static_assert(Trigger<DateTrigger>);

}  // namespace apsched
