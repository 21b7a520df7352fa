// SPDX-License-Identifier: MIT
// The compiled form of a cron expression (bit sets per field) and its search in local time.
#pragma once

#include <apsched/detail/cron/calendar.hpp>
#include <apsched/detail/format_time.hpp>

#include <array>
#include <bit>
#include <cstdint>
#include <optional>

namespace apsched::detail::cron {

/// The first year a year field may name, and the last one a TimePoint can reach.
inline constexpr int first_year = 1970;
inline constexpr int last_year = 2262;

/// The index of the lowest set bit of `mask` at or above `from`, or 64 when there is none.
[[nodiscard]] constexpr unsigned next_bit(std::uint64_t mask, unsigned from) noexcept {
  if (from >= 64) {
    return 64;
  }
  return static_cast<unsigned>(std::countr_zero(mask >> from << from));
}

/// A set of days of a month, described by day numbers and by weekday rules; both day fields of a
/// cron expression compile to one.
struct DaySet {
  std::uint64_t days = 0;                      // bit d: day d of the month (1-31)
  std::uint64_t last_day_offsets = 0;          // bit n: the n-th day before the last one (L-n)
  std::uint64_t nearest_weekdays = 0;          // bit d: the weekday nearest day d (dW)
  std::uint64_t last_nearest_weekdays = 0;     // bit n: the weekday nearest L-n (L-nW; LW is n = 0)
  std::uint8_t weekdays = 0;                   // bit w: every weekday w (0 = Sunday)
  std::uint8_t last_weekdays = 0;              // bit w: the last weekday w of the month (wL)
  std::array<std::uint8_t, 5> nth_weekdays{};  // [k-1] bit w: the k-th weekday w (w#k)
  bool every_day = false;                      // matches every day: no need to compute
  bool only_plain = false;                     // just `days` and `weekdays`
  bool any_weekday_rule = false;               // some last_weekdays or nth_weekdays
  std::array<std::uint64_t, 7> weekday_patterns{};  // [first weekday]: days matching `weekdays`

  /// Precomputes the helpers; call after the rule members are set.
  constexpr void finish() noexcept {
    for (unsigned first = 0; first < 7; ++first) {
      std::uint64_t pattern = 0;
      for (unsigned day = 1; day <= 31; ++day) {
        if ((weekdays >> ((first + day - 1) % 7) & 1U) != 0) {
          pattern |= std::uint64_t{1} << day;
        }
      }
      weekday_patterns[first] = pattern;
    }
    constexpr std::uint64_t all_days = 0xFFFF'FFFEULL;
    bool any_nth = false;
    for (const std::uint8_t nth : nth_weekdays) {
      any_nth = any_nth || nth != 0;
    }
    any_weekday_rule = any_nth || last_weekdays != 0;
    only_plain = last_day_offsets == 0 && nearest_weekdays == 0 && last_nearest_weekdays == 0 &&
                 last_weekdays == 0 && !any_nth;
    every_day = only_plain && ((days & all_days) == all_days || weekdays == 0x7F);
  }

  /// The days of a month with `length` days whose first day is weekday `first` that match, as
  /// bits 1..length.
  [[nodiscard]] constexpr std::uint64_t mask(unsigned length, unsigned first) const noexcept {
    const std::uint64_t valid = ((std::uint64_t{1} << length) - 1) << 1;
    std::uint64_t result = days | weekday_patterns[first];
    if (!only_plain) {
      result |= special_days(length, first);
    }
    return result & valid;
  }

 private:
  [[nodiscard]] constexpr std::uint64_t special_days(unsigned length,
                                                     unsigned first) const noexcept {
    std::uint64_t result = 0;
    const auto weekday_of = [first](unsigned day) { return (first + day - 1) % 7; };
    for (std::uint64_t bits = last_day_offsets; bits != 0; bits &= bits - 1) {
      const auto offset = static_cast<unsigned>(std::countr_zero(bits));
      if (offset < length) {
        result |= std::uint64_t{1} << (length - offset);
      }
    }
    for (std::uint64_t bits = nearest_weekdays; bits != 0; bits &= bits - 1) {
      const auto day = static_cast<unsigned>(std::countr_zero(bits));
      if (day <= length) {
        result |= std::uint64_t{1} << nearest_weekday(day, length, weekday_of(day));
      }
    }
    for (std::uint64_t bits = last_nearest_weekdays; bits != 0; bits &= bits - 1) {
      const auto offset = static_cast<unsigned>(std::countr_zero(bits));
      if (offset < length) {
        const unsigned day = length - offset;
        result |= std::uint64_t{1} << nearest_weekday(day, length, weekday_of(day));
      }
    }
    if (!any_weekday_rule) {
      return result;
    }
    const unsigned last_weekday = weekday_of(length);
    for (unsigned w = 0; w < 7; ++w) {
      if ((last_weekdays >> w & 1U) != 0) {
        result |= std::uint64_t{1} << (length - (last_weekday + 7 - w) % 7);
      }
      const unsigned first_day = 1 + (w + 7 - first) % 7;
      for (unsigned k = 0; k < 5; ++k) {
        const unsigned day = first_day + 7 * k;
        if ((nth_weekdays[k] >> w & 1U) != 0 && day <= length) {
          result |= std::uint64_t{1} << day;
        }
      }
    }
    return result;
  }

  // Quartz's W: a Saturday moves to Friday and a Sunday to Monday, never into another month.
  [[nodiscard]] static constexpr unsigned nearest_weekday(unsigned day, unsigned length,
                                                          unsigned weekday) noexcept {
    if (weekday == 6) {
      return day == 1 ? 3 : day - 1;
    }
    if (weekday == 0) {
      return day == length ? day - 2 : day + 1;
    }
    return day;
  }
};

/// A compiled cron expression: what each field allows, in wall-clock (local) time.
struct CronSpec {
  std::uint64_t seconds = 0;  // bit s (0-59)
  std::uint64_t minutes = 0;  // bit m (0-59)
  std::uint64_t hours = 0;    // bit h (0-23)
  std::uint64_t months = 0;   // bit m (1-12)
  std::uint64_t weeks = 0;    // bit w: ISO week w (1-53); all set when unrestricted
  bool weeks_restricted = false;
  DaySet day_of_month;
  DaySet day_of_week;
  // cron(5): when both day fields are restricted a day matches either; otherwise both.
  bool days_either = false;
  // cron(8)'s wildcard job: the minute or the hour field, as written, starts with `*` (decides
  // the daylight-saving rule of DstPolicy::cron).
  bool minute_or_hour_wildcard = false;
  bool years_restricted = false;
  std::array<std::uint64_t, 5> years{};  // bit (y - first_year)

  /// Whether the hour field leaves out some hour (decides the fold rule).
  [[nodiscard]] constexpr bool hour_restricted() const noexcept { return hours != 0xFF'FFFFULL; }

  /// Whether `year` is allowed.
  [[nodiscard]] constexpr bool year_allowed(std::int64_t year) const noexcept {
    if (!years_restricted) {
      return true;
    }
    if (year < first_year || year > last_year) {
      return false;
    }
    const auto index = static_cast<std::size_t>(year - first_year);
    return (years[index / 64] >> (index % 64) & 1U) != 0;
  }

  /// The first allowed year at or after `year`, or empty.
  [[nodiscard]] constexpr std::optional<std::int64_t> next_year(std::int64_t year) const noexcept {
    if (!years_restricted) {
      return year;
    }
    if (year < first_year) {
      year = first_year;
    }
    for (; year <= last_year; ++year) {
      const auto index = static_cast<std::size_t>(year - first_year);
      const std::uint64_t word = years[index / 64] >> (index % 64);
      if (word != 0) {
        return year + std::countr_zero(word);
      }
      year += 63 - static_cast<std::int64_t>(index % 64);
    }
    return std::nullopt;
  }

  /// The days of `month` in `year` that match, as bits 1..31.
  [[nodiscard]] constexpr std::uint64_t day_mask(std::int64_t year, unsigned month) const noexcept {
    const unsigned length = days_in_month(year, month);
    const std::int64_t first_day = days_from_civil(year, month, 1);
    const unsigned first = weekday_from_days(first_day);
    const std::uint64_t valid = ((std::uint64_t{1} << length) - 1) << 1;
    const std::uint64_t dom = day_of_month.every_day ? valid : day_of_month.mask(length, first);
    const std::uint64_t dow = day_of_week.every_day ? valid : day_of_week.mask(length, first);
    std::uint64_t result = days_either ? (dom | dow) : (dom & dow);
    if (weeks_restricted) {
      for (unsigned day = 1; day <= length; ++day) {
        const unsigned week = iso_week_from_days(first_day + day - 1);
        if ((weeks >> week & 1U) == 0) {
          result &= ~(std::uint64_t{1} << day);
        }
      }
    }
    return result;
  }

  /// The first local time (seconds since 1970-01-01 on the wall clock) at or after `from` that
  /// matches, or empty when none does before the end of year last_year.
  [[nodiscard]] constexpr std::optional<std::int64_t> next_local(std::int64_t from) const noexcept {
    std::int64_t day_count = floor_div(from, seconds_per_day);
    const auto second_of_day = static_cast<unsigned>(from - day_count * seconds_per_day);
    const CivilDate date = civil_from_days(day_count);
    std::int64_t year = date.year;
    unsigned month = date.month;
    unsigned day = date.day;
    unsigned hour = second_of_day / 3600;
    unsigned minute = second_of_day / 60 % 60;
    unsigned second = second_of_day % 60;
    // Each pass moves forward by at least one month, and the year is capped, so this ends.
    while (year <= last_year) {
      if (!year_allowed(year)) {
        const std::optional<std::int64_t> next = next_year(year);
        if (!next) {
          return std::nullopt;
        }
        year = *next;
        month = 1;
        day = 1;
        hour = minute = second = 0;
      }
      const unsigned next_month = next_bit(months, month);
      if (next_month > 12) {
        ++year;
        month = 1;
        day = 1;
        hour = minute = second = 0;
        continue;
      }
      if (next_month != month) {
        month = next_month;
        day = 1;
        hour = minute = second = 0;
      }
      const std::uint64_t days = day_mask(year, month);
      for (;;) {
        const unsigned next_day = next_bit(days, day);
        if (next_day > 31) {
          break;
        }
        if (next_day != day) {
          day = next_day;
          hour = minute = second = 0;
        }
        for (;;) {
          const unsigned next_hour = next_bit(hours, hour);
          if (next_hour > 23) {
            break;
          }
          if (next_hour != hour) {
            hour = next_hour;
            minute = second = 0;
          }
          for (;;) {
            const unsigned next_minute = next_bit(minutes, minute);
            if (next_minute > 59) {
              break;
            }
            if (next_minute != minute) {
              minute = next_minute;
              second = 0;
            }
            const unsigned next_second = next_bit(seconds, second);
            if (next_second <= 59) {
              return days_from_civil(year, month, day) * seconds_per_day + hour * 3600 +
                     minute * 60 + next_second;
            }
            ++minute;
            second = 0;
          }
          ++hour;
          minute = second = 0;
        }
        ++day;
        hour = minute = second = 0;
      }
      ++month;
      day = 1;
      hour = minute = second = 0;
    }
    return std::nullopt;
  }
};

}  // namespace apsched::detail::cron
