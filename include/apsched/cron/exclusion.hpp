// SPDX-License-Identifier: MIT
// ExclusionTrigger: wraps any trigger and skips fire times on excluded dates and time ranges.
#pragma once

#include <apsched/clock.hpp>
#include <apsched/detail/cron/calendar.hpp>
#include <apsched/detail/cron/search.hpp>
#include <apsched/detail/cron/zone_cache.hpp>
#include <apsched/detail/format_time.hpp>
#include <apsched/error.hpp>
#include <apsched/trigger.hpp>

#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace apsched {

/// A wall-clock window excluded every day: `[from, to)` after local midnight; `from > to` wraps
/// over midnight (22:00-06:00).
///
/// Thread safety: not thread-safe (a plain value).
struct DailyWindow {
  std::chrono::seconds from{};
  std::chrono::seconds to{};
};

/// A window of UTC time excluded once: `[from, to)` (a maintenance window).
///
/// Thread safety: not thread-safe (a plain value).
struct TimeRange {
  TimePoint from{};
  TimePoint to{};
};

/// What an ExclusionTrigger leaves out, like Quartz's calendars: HolidayCalendar (`dates`),
/// AnnualCalendar (`annual_dates`), WeeklyCalendar (`weekdays`), DailyCalendar (`daily`), plus
/// absolute `ranges`. Dates and daily windows are wall-clock in `timezone` (empty: the local
/// zone, found as for CronOptions::timezone).
///
/// Thread safety: not thread-safe (a plain value).
struct Exclusions {
  std::string timezone{};
  /// Whole days, e.g. public holidays.
  std::vector<std::chrono::year_month_day> dates{};
  /// Whole days every year, e.g. December 25.
  std::vector<std::chrono::month_day> annual_dates{};
  /// Whole weekdays, e.g. Saturday and Sunday.
  std::vector<std::chrono::weekday> weekdays{};
  /// Windows of every day.
  std::vector<DailyWindow> daily{};
  /// Windows of absolute time.
  std::vector<TimeRange> ranges{};
  /// How many excluded stretches one next_fire_time call may step over before it gives up.
  std::size_t max_iterations = 100'000;
};

/// Fires at the fire times of the wrapped trigger that fall outside every exclusion.
///
/// When a fire time is excluded, the wrapped trigger is asked again for its first fire time at
/// or after the end of that exclusion (the next local midnight for a date, the window's end for
/// a window), so each step skips a whole excluded stretch, not one fire time.
///
/// @code
/// apsched::ExclusionTrigger working_days{
///     apsched::CronTrigger::from_crontab("0 9 * * *", {.timezone = "Europe/Berlin"}),
///     {.timezone = "Europe/Berlin",
///      .annual_dates = {std::chrono::December / 25},
///      .weekdays = {std::chrono::Saturday, std::chrono::Sunday}}};
/// @endcode
///
/// Thread safety: const-thread-safe when the wrapped trigger is.
template <Trigger T>
class ExclusionTrigger {
 public:
  /// Wraps `trigger`.
  /// @throws InvalidTriggerError for an invalid date, an empty window or range, all seven
  ///         weekdays excluded, or max_iterations 0; UnknownTimeZoneError.
  ExclusionTrigger(T trigger, Exclusions exclusions)
      : trigger_{std::move(trigger)}, state_{compile(std::move(exclusions))} {}

  /// See Trigger: the wrapped trigger's first fire time (strictly after `previous`, not before
  /// `now`) outside every exclusion.
  /// @throws InvalidTriggerError after max_iterations excluded stretches in one call.
  [[nodiscard]] std::optional<TimePoint> next_fire_time(std::optional<TimePoint> previous,
                                                        TimePoint now) const {
    TimePoint bound = now;
    for (std::size_t i = 0; i < state_->exclusions.max_iterations; ++i) {
      const std::optional<TimePoint> fire = trigger_.next_fire_time(previous, bound);
      if (!fire) {
        return std::nullopt;
      }
      const std::optional<TimePoint> until = excluded_until(*fire);
      if (!until) {
        return fire;
      }
      bound = std::max(bound, *until);
    }
    throw InvalidTriggerError{fmt::format(
        "ExclusionTrigger: every fire time for {} excluded stretches after {} was excluded; "
        "expected a fire time outside the exclusions (raise Exclusions::max_iterations)",
        state_->exclusions.max_iterations, detail::format_time(now))};
  }

  /// The first instant after the exclusion that holds `t`, or empty when `t` is not excluded.
  [[nodiscard]] std::optional<TimePoint> excluded_until(TimePoint t) const {
    const State& state = *state_;
    std::optional<TimePoint> until;
    // Stretches may touch or overlap (a holiday that is also a Sunday), so repeat until `t`
    // is clear of all of them; each pass moves forward.
    for (int pass = 0; pass < 64; ++pass) {
      const TimePoint at = until.value_or(t);
      const std::optional<TimePoint> end = covering_end(state, at);
      if (!end) {
        return until;
      }
      until = end;
    }
    return until;
  }

  /// The wrapped trigger.
  [[nodiscard]] const T& trigger() const noexcept { return trigger_; }
  /// The exclusions.
  [[nodiscard]] const Exclusions& exclusions() const noexcept { return state_->exclusions; }
  /// The IANA name of the zone the exclusions are read in (the local zone's name if
  /// Exclusions::timezone was empty).
  [[nodiscard]] const std::string& timezone() const noexcept { return state_->zone->name; }

  /// The jitter of the wrapped trigger (see Trigger).
  [[nodiscard]] Duration jitter() const noexcept requires JitteredTrigger<T> {
    return trigger_.jitter();
  }

  /// For listings: `exclude[cron[...]; 2 dates, 1 annual, 2 weekdays, 0 daily, 0 ranges]`.
  [[nodiscard]] std::string describe() const {
    std::string inner = "trigger";
    if constexpr (DescribedTrigger<T>) {
      inner = trigger_.describe();
    }
    const Exclusions& e = state_->exclusions;
    return fmt::format("exclude[{}; {} dates, {} annual, {} weekdays, {} daily, {} ranges, tz={}]",
                       inner, e.dates.size(), e.annual_dates.size(), e.weekdays.size(),
                       e.daily.size(), e.ranges.size(), state_->zone->name);
  }

 private:
  struct State {
    Exclusions exclusions;
    // From the zone cache, which keeps every table until the process ends.
    const detail::cron::ZoneTable* zone = nullptr;
    std::vector<std::int64_t> days;  // sorted local day numbers
    std::uint8_t weekday_bits = 0;
    std::vector<std::pair<std::int64_t, std::int64_t>> windows;  // seconds of day, [from, to)
  };

  static std::shared_ptr<const State> compile(Exclusions exclusions) {
    constexpr const char* call = "ExclusionTrigger";
    auto state = std::make_shared<State>();
    state->zone = &detail::cron::load_zone(exclusions.timezone, call, "Exclusions::timezone");
    for (const std::chrono::year_month_day date : exclusions.dates) {
      if (!date.ok()) {
        throw InvalidTriggerError{fmt::format("{}: excluded date {:04}-{:02}-{:02} is not valid",
                                              call, int{date.year()}, unsigned{date.month()},
                                              unsigned{date.day()})};
      }
      state->days.push_back(std::chrono::sys_days{date}.time_since_epoch().count());
    }
    std::sort(state->days.begin(), state->days.end());
    for (const std::chrono::month_day day : exclusions.annual_dates) {
      if (!day.ok()) {
        throw InvalidTriggerError{fmt::format("{}: excluded annual date --{:02}-{:02} is not valid",
                                              call, unsigned{day.month()}, unsigned{day.day()})};
      }
    }
    for (const std::chrono::weekday day : exclusions.weekdays) {
      if (!day.ok()) {
        throw InvalidTriggerError{fmt::format("{}: excluded weekday {} is not valid; expected 0-6",
                                              call, day.c_encoding())};
      }
      state->weekday_bits = static_cast<std::uint8_t>(state->weekday_bits | 1U << day.c_encoding());
    }
    if (state->weekday_bits == 0x7F) {
      throw InvalidTriggerError{
          fmt::format("{}: all seven weekdays are excluded; the trigger could never fire", call)};
    }
    for (const DailyWindow& window : exclusions.daily) {
      const auto from = window.from.count();
      const auto to = window.to.count();
      if (from < 0 || from > 86'400 || to < 0 || to > 86'400 || from == to) {
        throw InvalidTriggerError{fmt::format(
            "{}: daily window {}s-{}s is empty or outside a day; expected two different times "
            "of day in 0s-86400s",
            call, from, to)};
      }
      state->windows.emplace_back(from, to);
    }
    for (const TimeRange& range : exclusions.ranges) {
      if (range.to <= range.from) {
        throw InvalidTriggerError{
            fmt::format("{}: excluded range {} - {} is empty; expected from < to", call,
                        detail::format_time(range.from), detail::format_time(range.to))};
      }
    }
    if (exclusions.max_iterations == 0) {
      throw InvalidTriggerError{fmt::format("{}: max_iterations is 0; expected at least 1", call)};
    }
    state->exclusions = std::move(exclusions);
    return state;
  }

  // The first UTC instant after `after` at which the wall clock shows local second `local`
  // (the end of the gap if that time is skipped; the second pass if the first is not later).
  static TimePoint local_to_utc(const detail::cron::ZoneTable& zone, std::int64_t local,
                                TimePoint after) {
    const detail::cron::ZoneTable::Local resolved = zone.resolve(local);
    for (const std::int64_t utc : {resolved.first, resolved.second}) {
      const TimePoint candidate{std::chrono::seconds{utc}};
      if (candidate > after) {
        return candidate;
      }
    }
    return after + std::chrono::seconds{1};
  }

  // The end of one exclusion that holds `t`, or empty.
  static std::optional<TimePoint> covering_end(const State& state, TimePoint t) {
    for (const TimeRange& range : state.exclusions.ranges) {
      if (range.from <= t && t < range.to) {
        return range.to;
      }
    }
    const std::int64_t utc = std::chrono::floor<std::chrono::seconds>(t).time_since_epoch().count();
    const std::int64_t local = utc + state.zone->offset_at(utc);
    const std::int64_t day = detail::cron::floor_div(local, detail::cron::seconds_per_day);
    const std::int64_t second_of_day = local - day * detail::cron::seconds_per_day;
    const std::int64_t next_midnight = (day + 1) * detail::cron::seconds_per_day;
    bool whole_day = std::binary_search(state.days.begin(), state.days.end(), day) ||
                     (state.weekday_bits >> detail::cron::weekday_from_days(day) & 1U) != 0;
    if (!whole_day && !state.exclusions.annual_dates.empty()) {
      const detail::CivilDate date = detail::civil_from_days(day);
      for (const std::chrono::month_day annual : state.exclusions.annual_dates) {
        whole_day = whole_day ||
                    (unsigned{annual.month()} == date.month && unsigned{annual.day()} == date.day);
      }
    }
    if (whole_day) {
      return local_to_utc(*state.zone, next_midnight, t);
    }
    for (const auto& [from, to] : state.windows) {
      if (from < to && second_of_day >= from && second_of_day < to) {
        return local_to_utc(*state.zone, day * detail::cron::seconds_per_day + to, t);
      }
      if (from > to && (second_of_day >= from || second_of_day < to)) {
        const std::int64_t end_day = second_of_day >= from ? day + 1 : day;
        return local_to_utc(*state.zone, end_day * detail::cron::seconds_per_day + to, t);
      }
    }
    return std::nullopt;
  }

  T trigger_;
  std::shared_ptr<const State> state_;
};

}  // namespace apsched
