// SPDX-License-Identifier: MIT
// IntervalTrigger: fires every fixed length of elapsed time.
#pragma once

#include <apsched/clock.hpp>
#include <apsched/config.hpp>
#include <apsched/detail/format_time.hpp>
#include <apsched/trigger.hpp>

#include <chrono>
#include <optional>
#include <ratio>
#include <string>

namespace apsched {

/// Optional settings of an IntervalTrigger.
///
/// Thread safety: not thread-safe (a plain value).
struct IntervalOptions {
  /// The first fire time; later ones are `start_date + k * interval`. Empty (or
  /// TimePoint::min(), which stands for empty): one interval after the job is added (precisely,
  /// after the `now` of the first `next_fire_time` call).
  std::optional<TimePoint> start_date;
  /// The last instant a fire may happen at (inclusive). Empty: no end.
  std::optional<TimePoint> end_date;
  /// Each run starts up to this much later than its fire time, uniformly at random (see Trigger).
  Duration jitter{};
};

/// Fires every `interval` of elapsed time: `start + k * interval`, computed on the UTC time line,
/// so a daylight-saving change neither skips nor repeats a fire. The fire times form a fixed grid
/// from the first one: lateness never accumulates.
///
/// @code
/// apsched::IntervalTrigger every_ten_seconds{std::chrono::seconds{10}};
/// apsched::IntervalTrigger hourly_from{std::chrono::hours{1}, {.start_date = midnight}};
/// @endcode
///
/// Thread safety: const-thread-safe (immutable after construction).
class IntervalTrigger {
 public:
  /// A trigger firing every `interval`, which may be any `std::chrono::duration` (weeks, days,
  /// hours, ..., milliseconds; fractional ones are rounded to the nearest nanosecond).
  /// @throws InvalidTriggerError if `interval` is not positive or too large for a TimePoint, if
  ///         `end_date` is before `start_date`, or if `jitter` is negative.
  template <class Rep, class Period>
  explicit IntervalTrigger(std::chrono::duration<Rep, Period> interval,
                           IntervalOptions options = {})
      : IntervalTrigger{to_duration(interval), options, Checked{}} {}

  /// See Trigger: the first `start + k * interval` strictly after `previous` and at or after
  /// `now`, or empty past `end_date`. Without a start date, the grid starts one interval after
  /// `now` on the first call and continues from `previous` afterwards.
  [[nodiscard]] APSCHED_INLINE std::optional<TimePoint> next_fire_time(
      std::optional<TimePoint> previous, TimePoint now) const noexcept;

  /// The length of one interval.
  [[nodiscard]] Duration interval() const noexcept { return interval_; }
  /// The start date, if one was given.
  [[nodiscard]] std::optional<TimePoint> start_date() const noexcept {
    return has_start() ? std::optional{start_} : std::nullopt;
  }
  /// The end date, if one was given.
  [[nodiscard]] std::optional<TimePoint> end_date() const noexcept {
    return end_ != TimePoint::max() ? std::optional{end_} : std::nullopt;
  }
  /// The jitter (see Trigger).
  [[nodiscard]] Duration jitter() const noexcept { return jitter_; }

  /// For listings: `interval[10s]`, with start, end and jitter when set.
  [[nodiscard]] APSCHED_INLINE std::string describe() const;

 private:
  struct Checked {};
  // Why an interval is refused: not positive, beyond Duration, or positive but below a
  // nanosecond.
  enum class Rejection { not_positive, too_large, coarse };

  // A trigger of `interval` (checked already) with `options` checked.
  APSCHED_INLINE IntervalTrigger(Duration interval, const IntervalOptions& options, Checked);

  // Throws the InvalidTriggerError that refuses interval `given` (as the user wrote it).
  [[noreturn]] APSCHED_INLINE static void reject(const std::string& given, Rejection why);

  template <class Rep, class Period>
  static Duration to_duration(std::chrono::duration<Rep, Period> interval) {
    constexpr bool floating = std::chrono::treat_as_floating_point_v<Rep>;
    if constexpr (!floating && std::ratio_greater_equal_v<Period, Duration::period>) {
      // Whole units no finer than Duration's: checked and converted exactly in integers (the
      // common case: seconds, minutes, hours, days).
      using Given = std::chrono::duration<Rep, Period>;
      if (interval <= Given::zero()) {
        reject(detail::format_given_duration(interval), Rejection::not_positive);
      }
      if (interval > std::chrono::duration_cast<Given>(Duration::max())) {
        reject(detail::format_given_duration(interval), Rejection::too_large);
      }
      return std::chrono::duration_cast<Duration>(interval);
    }
    using Seconds = std::chrono::duration<long double>;
    const Seconds seconds{interval};
    // Checked before converting: the conversion itself overflows outside Duration's range.
    if (!(seconds > Seconds::zero())) {
      reject(detail::format_given_duration(interval), Rejection::not_positive);
    }
    if (seconds > Seconds{Duration::max()} || (floating && seconds >= Seconds{Duration::max()})) {
      reject(detail::format_given_duration(interval), Rejection::too_large);
    }
    Duration converted{};
    if constexpr (floating) {
      converted = std::chrono::round<Duration>(interval);
    } else {
      converted = std::chrono::duration_cast<Duration>(interval);
    }
    if (converted <= Duration::zero()) {
      reject(detail::format_given_duration(interval), Rejection::coarse);
    }
    return converted;
  }

  [[nodiscard]] bool has_start() const noexcept { return start_ != TimePoint::min(); }

  // Absent start and end are stored as TimePoint::min()/max() so the trigger stays 32 bytes and
  // fits the small buffer of AnyTrigger.
  Duration interval_;
  TimePoint start_;
  TimePoint end_;
  Duration jitter_;
};

static_assert(Trigger<IntervalTrigger>);
static_assert(JitteredTrigger<IntervalTrigger>);

}  // namespace apsched

#if !APSCHED_SEPARATE_COMPILATION
#include <apsched/impl/triggers/interval.hpp>
#endif
