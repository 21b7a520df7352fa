// SPDX-License-Identifier: MIT
// CalendarIntervalTrigger: fires every N years, months, weeks or days at a wall-clock time.
#pragma once

#include <apsched/clock.hpp>
#include <apsched/cron/cron_trigger.hpp>
#include <apsched/detail/cron/calendar.hpp>
#include <apsched/detail/cron/search.hpp>
#include <apsched/detail/cron/zone_cache.hpp>
#include <apsched/detail/enum_format.hpp>
#include <apsched/detail/format_time.hpp>
#include <apsched/error.hpp>
#include <apsched/trigger.hpp>

#include <fmt/core.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>

namespace apsched {

/// What a CalendarIntervalTrigger does on a date that its month does not have (January 31 plus
/// one month).
enum class MissingDayPolicy {
  /// Do not fire in that month (APScheduler's CalendarIntervalTrigger). The default.
  skip,
  /// Fire on the month's last day instead (January 31 -> February 28 or 29).
  clamp,
};

/// The name of `value`: "skip", "clamp".
[[nodiscard]] constexpr std::string_view to_string(MissingDayPolicy value) noexcept {
  switch (value) {
    case MissingDayPolicy::skip:
      return "skip";
    case MissingDayPolicy::clamp:
      return "clamp";
  }
  return "unknown";
}

/// Settings of a CalendarIntervalTrigger. At least one of years, months, weeks and days must be
/// positive.
///
/// Thread safety: not thread-safe (a plain value).
struct CalendarIntervalOptions {
  int years = 0;
  int months = 0;
  int weeks = 0;
  int days = 0;
  /// The wall-clock time of day of every fire.
  int hour = 0;
  int minute = 0;
  int second = 0;
  /// The first date (in `timezone`). Empty: today in that zone, read at construction.
  std::optional<std::chrono::year_month_day> start_date{};
  /// The last date a fire may fall on (inclusive, in `timezone`). Empty: no end.
  std::optional<std::chrono::year_month_day> end_date{};
  /// The IANA zone of the dates and the time of day; empty: the local zone (as
  /// CronOptions::timezone: TZ, read at each construction, else the system setting, read once).
  std::string timezone{};
  /// Each run starts up to this much later than its fire time (applied by the scheduler).
  Duration jitter{};
  /// A time of day skipped by a daylight-saving change fires at the end of the gap (shift) or
  /// not at all that day (skip).
  GapPolicy gap_policy = GapPolicy::shift;
  /// A time of day repeated by a daylight-saving change fires once, in the first pass (once),
  /// or in both (both).
  FoldPolicy fold_policy = FoldPolicy::once;
  /// A day the month lacks.
  MissingDayPolicy missing_day = MissingDayPolicy::skip;
};

/// Fires on the dates `start_date + k * (years, months)` then `+ k * (weeks, days)`, k = 0, 1,
/// ..., at `hour:minute:second` wall-clock time in a zone (APScheduler 3.11/4's
/// CalendarIntervalTrigger). Dates are computed from the start date, never from the previous
/// fire, so clamping or skipping never drifts: January 31 monthly gives Jan 31, (Feb 29,)
/// Mar 31, (Apr 30,) May 31, ... Daylight-saving changes are handled as for CronTrigger: a time
/// of day is a restricted hour, so a fold fires it once unless FoldPolicy::both.
///
/// @code
/// apsched::CalendarIntervalTrigger monthly{{.months = 1, .hour = 9, .minute = 30,
///     .start_date = std::chrono::year{2024} / 1 / 31, .timezone = "Europe/Berlin"}};
/// @endcode
///
/// Thread safety: const-thread-safe (immutable after construction; copies share state).
class CalendarIntervalTrigger {
 public:
  /// @throws InvalidTriggerError for no positive interval, a negative one, a time of day out
  ///         of range, an invalid or reversed date, or a negative jitter; UnknownTimeZoneError.
  explicit CalendarIntervalTrigger(CalendarIntervalOptions options) {
    constexpr const char* call = "CalendarIntervalTrigger";
    const auto check = [&](const char* name, int value, int min, int max) {
      if (value < min || value > max) {
        throw InvalidTriggerError{
            fmt::format("{}: {} {} is out of range {}-{}", call, name, value, min, max)};
      }
    };
    check("years", options.years, 0, 300);
    check("months", options.months, 0, 3600);
    check("weeks", options.weeks, 0, 16000);
    check("days", options.days, 0, 110'000);
    check("hour", options.hour, 0, 23);
    check("minute", options.minute, 0, 59);
    check("second", options.second, 0, 59);
    if (options.years + options.months + options.weeks + options.days == 0) {
      throw InvalidTriggerError{fmt::format(
          "{}: years, months, weeks and days are all 0; expected at least one positive", call)};
    }
    if (options.jitter < Duration::zero()) {
      throw InvalidTriggerError{fmt::format("{}: jitter {} is negative; expected a duration >= 0",
                                            call, detail::format_duration(options.jitter))};
    }
    auto state = std::make_shared<State>();
    state->zone =
        &detail::cron::load_zone(options.timezone, call, "CalendarIntervalOptions::timezone");
    if (!options.start_date) {
      const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
      const std::int64_t local =
          now.time_since_epoch().count() + state->zone->offset_at(now.time_since_epoch().count());
      options.start_date = std::chrono::year_month_day{std::chrono::sys_days{
          std::chrono::days{detail::cron::floor_div(local, detail::cron::seconds_per_day)}}};
    }
    for (const auto* date : {&options.start_date, &options.end_date}) {
      if (*date && !(*date)->ok()) {
        throw InvalidTriggerError{fmt::format(
            "{}: {} {} is not a valid date", call,
            date == &options.start_date ? "start_date" : "end_date", format_date(**date))};
      }
    }
    if (options.end_date && *options.end_date < *options.start_date) {
      throw InvalidTriggerError{
          fmt::format("{}: end_date {} is before start_date {}; expected end_date >= start_date",
                      call, format_date(*options.end_date), format_date(*options.start_date))};
    }
    const std::chrono::year_month_day start = *options.start_date;
    state->start_month = std::int64_t{int{start.year()}} * 12 + unsigned{start.month()} - 1;
    state->start_day = unsigned{start.day()};
    state->month_step = std::int64_t{options.years} * 12 + options.months;
    state->day_step = std::int64_t{options.weeks} * 7 + options.days;
    state->end_day = options.end_date
                         ? std::chrono::sys_days{*options.end_date}.time_since_epoch().count()
                         : std::numeric_limits<std::int64_t>::max();
    state->time_of_day = options.hour * 3600 + options.minute * 60 + options.second;
    state->options = std::move(options);
    state_ = std::move(state);
  }

  /// See Trigger.
  [[nodiscard]] std::optional<TimePoint> next_fire_time(std::optional<TimePoint> previous,
                                                        TimePoint now) const noexcept {
    const State& state = *state_;
    const std::optional<TimePoint> at_least =
        detail::cron::earliest_allowed(previous, now, TimePoint::min());
    if (!at_least) {
      return std::nullopt;
    }
    const std::int64_t from = detail::cron::ceil_seconds(*at_least);
    // A date two days before `from`'s local date cannot fire at or after `from`.
    const std::int64_t target_day =
        detail::cron::floor_div(from + state.zone->offset_at(from), detail::cron::seconds_per_day) -
        2;
    std::int64_t low = 0;
    std::int64_t high = 1;
    while (nominal_day(high) < target_day && high < (std::int64_t{1} << 40)) {
      low = high;
      high *= 2;
    }
    while (low < high) {
      const std::int64_t middle = low + (high - low) / 2;
      if (nominal_day(middle) < target_day) {
        low = middle + 1;
      } else {
        high = middle;
      }
    }
    if (low > 0) {
      --low;
    }
    // Skipped dates are rare (at most a few in a row), so this walk is short; the bound only
    // guards the arithmetic.
    for (std::int64_t k = low; k < low + 10'000; ++k) {
      const std::optional<std::int64_t> day = day_of(k);
      const std::int64_t nominal = nominal_day(k);
      if (nominal > state.end_day || nominal > max_day) {
        return std::nullopt;
      }
      if (!day) {
        continue;
      }
      const std::int64_t local = *day * detail::cron::seconds_per_day + state.time_of_day;
      const detail::cron::ZoneTable::Local resolved = state.zone->resolve(local);
      std::array<std::int64_t, 2> candidates{resolved.first, resolved.second};
      std::size_t count = 1;
      if (resolved.kind == detail::cron::ZoneTable::Local::Kind::skipped &&
          state.options.gap_policy == GapPolicy::skip) {
        count = 0;
      } else if (resolved.kind == detail::cron::ZoneTable::Local::Kind::repeated &&
                 state.options.fold_policy == FoldPolicy::both) {
        count = 2;
      }
      for (std::size_t i = 0; i < count; ++i) {
        if (candidates[i] >= from) {
          return detail::cron::second_to_time_point(candidates[i]);
        }
      }
    }
    return std::nullopt;
  }

  /// The jitter (see Trigger).
  [[nodiscard]] Duration jitter() const noexcept { return state_->options.jitter; }
  /// The settings, with start_date filled in.
  [[nodiscard]] const CalendarIntervalOptions& options() const noexcept { return state_->options; }
  /// The IANA name of the zone of the dates and the time of day (the local zone's name if
  /// CalendarIntervalOptions::timezone was empty).
  [[nodiscard]] const std::string& timezone() const noexcept { return state_->zone->name; }

  /// For listings: `calendar_interval[1y 2m 0w 0d at 09:30:00 from 2024-01-31, tz=UTC]`.
  [[nodiscard]] std::string describe() const {
    const CalendarIntervalOptions& o = state_->options;
    std::string text = fmt::format("calendar_interval[{}y {}m {}w {}d at {:02}:{:02}:{:02} from {}",
                                   o.years, o.months, o.weeks, o.days, o.hour, o.minute, o.second,
                                   format_date(*o.start_date));
    if (o.end_date) {
      text += " to " + format_date(*o.end_date);
    }
    text += ", tz=" + state_->zone->name;
    if (o.missing_day == MissingDayPolicy::clamp) {
      text += ", clamp";
    }
    if (o.jitter != Duration::zero()) {
      text += ", jitter=" + detail::format_duration(o.jitter);
    }
    return text + "]";
  }

 private:
  // The last day a TimePoint reaches, 2262-04-11.
  static constexpr std::int64_t max_day = 106'751;

  struct State {
    // From the zone cache, which keeps every table until the process ends.
    const detail::cron::ZoneTable* zone = nullptr;
    std::int64_t start_month = 0;  // year * 12 + month - 1
    unsigned start_day = 1;
    std::int64_t month_step = 0;
    std::int64_t day_step = 0;
    std::int64_t end_day = 0;
    std::int64_t time_of_day = 0;
    CalendarIntervalOptions options;
  };

  static std::string format_date(std::chrono::year_month_day date) {
    return fmt::format("{:04}-{:02}-{:02}", int{date.year()}, unsigned{date.month()},
                       unsigned{date.day()});
  }

  // The k-th date (days since 1970-01-01), clamped into its month; increasing in k.
  [[nodiscard]] std::int64_t nominal_day(std::int64_t k) const noexcept {
    return date_of(k, true).value_or(0);
  }

  // The k-th date, or empty when its month lacks the day and the policy skips it.
  [[nodiscard]] std::optional<std::int64_t> day_of(std::int64_t k) const noexcept {
    return date_of(k, state_->options.missing_day == MissingDayPolicy::clamp);
  }

  [[nodiscard]] std::optional<std::int64_t> date_of(std::int64_t k, bool clamp) const noexcept {
    const State& state = *state_;
    // k is at most 2^40 and the steps at most 110,000, so nothing here overflows.
    const std::int64_t month_index = state.start_month + k * state.month_step;
    const std::int64_t year = detail::cron::floor_div(month_index, 12);
    const auto month = static_cast<unsigned>(month_index - year * 12 + 1);
    const unsigned length = detail::cron::days_in_month(year, month);
    unsigned day = state.start_day;
    if (day > length) {
      if (!clamp) {
        return std::nullopt;
      }
      day = length;
    }
    return detail::cron::days_from_civil(year, month, day) + k * state.day_step;
  }

  std::shared_ptr<const State> state_;
};

static_assert(Trigger<CalendarIntervalTrigger>);
static_assert(JitteredTrigger<CalendarIntervalTrigger>);

}  // namespace apsched

namespace apsched::detail {
template <>
inline constexpr bool named_enum<MissingDayPolicy> = true;
}  // namespace apsched::detail
