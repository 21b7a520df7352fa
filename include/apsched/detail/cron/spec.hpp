// SPDX-License-Identifier: MIT
// The compiled form of a cron expression (bit sets per field) and its search in local time.
#pragma once

#include <apsched/detail/cron/calendar.hpp>
#include <apsched/detail/format_time.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <optional>

namespace apsched::detail::cron {

/// The first year a year field may name, and the last one a TimePoint can reach.
inline constexpr int first_year = 1970;
inline constexpr int last_year = 2262;
/// A year before the first TimePoint (1677), where backward searches stop.
inline constexpr int earliest_year = 1676;

/// The index of the lowest set bit of `mask` at or above `from`, or 64 when there is none.
[[nodiscard]] constexpr unsigned next_bit(std::uint64_t mask, unsigned from) noexcept {
  if (from >= 64) {
    return 64;
  }
  return static_cast<unsigned>(std::countr_zero(mask >> from << from));
}

/// The index of the highest set bit of `mask` at or below `to` (0-63), or -1 when there is none.
[[nodiscard]] constexpr int previous_bit(std::uint64_t mask, int to) noexcept {
  if (to < 0) {
    return -1;
  }
  const std::uint64_t kept = to >= 63 ? mask : mask & ((std::uint64_t{2} << to) - 1);
  return kept == 0 ? -1 : 63 - std::countl_zero(kept);
}

/// A set of days of a month, described by day numbers and by weekday rules; both day fields of a
/// cron expression compile to one.
struct DaySet {
  std::uint64_t days = 0;                      // bit d: day d of the month (1-31)
  std::uint64_t last_day_offsets = 0;          // bit n: the n-th day before the last one (L-n)
  std::uint64_t nearest_weekdays = 0;          // bit d: the weekday nearest day d (dW)
  std::uint64_t last_nearest_weekdays = 0;     // bit n: the weekday nearest L-n (L-nW; LW is n = 0)
  std::uint8_t weekdays = 0;                   // bit w: every weekday w (0 = Sunday)
  std::array<std::uint8_t, 5> nth_weekdays{};  // [k-1] bit w: the k-th weekday w (w#k)
  // [k-1] bit w: the k-th weekday w counted from the month's end (w#-k; wL is k = 1).
  std::array<std::uint8_t, 5> nth_last_weekdays{};
  bool every_day = false;                           // matches every day: no need to compute
  bool only_plain = false;                          // just `days` and `weekdays`
  bool any_weekday_rule = false;                    // some nth_weekdays or nth_last_weekdays
  std::array<std::uint64_t, 7> weekday_patterns{};  // [first weekday]: days matching `weekdays`

  /// Precomputes the helpers; call after the rule members are set.
  constexpr void finish() noexcept {
    // Days 1-7 of a month starting on weekday `first` are weekdays first, first + 1, ...: the
    // week's bits rotated, then repeated every 7 days (five copies cover day 31).
    constexpr std::uint64_t every_seventh = 1 | 1ULL << 7 | 1ULL << 14 | 1ULL << 21 | 1ULL << 28;
    constexpr std::uint64_t all_days = 0xFFFF'FFFEULL;
    const std::uint64_t week_bits = weekdays;
    for (unsigned first = 0; first < 7 && week_bits != 0; ++first) {
      const std::uint64_t week = (week_bits >> first | week_bits << (7 - first)) & 0x7FU;
      weekday_patterns[first] = (week * every_seventh) << 1 & all_days;
    }
    any_weekday_rule = false;
    for (std::size_t k = 0; k < nth_weekdays.size(); ++k) {
      any_weekday_rule = any_weekday_rule || nth_weekdays[k] != 0 || nth_last_weekdays[k] != 0;
    }
    only_plain = last_day_offsets == 0 && nearest_weekdays == 0 && last_nearest_weekdays == 0 &&
                 !any_weekday_rule;
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
      const unsigned first_day = 1 + (w + 7 - first) % 7;
      const unsigned last_day = length - (last_weekday + 7 - w) % 7;
      for (unsigned k = 0; k < 5; ++k) {
        if ((nth_weekdays[k] >> w & 1U) != 0 && first_day + 7 * k <= length) {
          result |= std::uint64_t{1} << (first_day + 7 * k);
        }
        if ((nth_last_weekdays[k] >> w & 1U) != 0 && last_day > 7 * k) {
          result |= std::uint64_t{1} << (last_day - 7 * k);
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

  /// The last allowed year at or before `year`, or empty.
  [[nodiscard]] constexpr std::optional<std::int64_t> previous_year(
      std::int64_t year) const noexcept {
    if (!years_restricted) {
      return year;
    }
    for (year = std::min<std::int64_t>(year, last_year); year >= first_year; --year) {
      if (year_allowed(year)) {
        return year;
      }
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

  /// The last local time at or before `to` that matches, or empty when none does after the
  /// start of year earliest_year.
  [[nodiscard]] constexpr std::optional<std::int64_t> previous_local(
      std::int64_t to) const noexcept {
    const std::int64_t day_count = floor_div(to, seconds_per_day);
    const auto second_of_day = static_cast<int>(to - day_count * seconds_per_day);
    const CivilDate date = civil_from_days(day_count);
    std::int64_t year = date.year;
    auto month = static_cast<int>(date.month);
    auto day = static_cast<int>(date.day);
    int hour = second_of_day / 3600;
    int minute = second_of_day / 60 % 60;
    int second = second_of_day % 60;
    // The mirror of next_local: each pass moves back by at least one month, down to a year
    // before any TimePoint.
    while (year >= earliest_year) {
      if (!year_allowed(year)) {
        const std::optional<std::int64_t> previous = previous_year(year);
        if (!previous) {
          return std::nullopt;
        }
        year = *previous;
        month = 12;
        day = 31;
        hour = 23;
        minute = second = 59;
      }
      const int previous_month = previous_bit(months, month);
      if (previous_month < 1) {
        --year;
        month = 12;
        day = 31;
        hour = 23;
        minute = second = 59;
        continue;
      }
      if (previous_month != month) {
        month = previous_month;
        day = 31;
        hour = 23;
        minute = second = 59;
      }
      const std::uint64_t days = day_mask(year, static_cast<unsigned>(month));
      for (int previous_day = previous_bit(days, day); previous_day >= 1;
           previous_day = previous_bit(days, day)) {
        if (previous_day != day) {
          day = previous_day;
          hour = 23;
          minute = second = 59;
        }
        for (int previous_hour = previous_bit(hours, hour); previous_hour >= 0;
             previous_hour = previous_bit(hours, hour)) {
          if (previous_hour != hour) {
            hour = previous_hour;
            minute = second = 59;
          }
          for (int previous_minute = previous_bit(minutes, minute); previous_minute >= 0;
               previous_minute = previous_bit(minutes, minute)) {
            if (previous_minute != minute) {
              minute = previous_minute;
              second = 59;
            }
            const int previous_second = previous_bit(seconds, second);
            if (previous_second >= 0) {
              return days_from_civil(year, static_cast<unsigned>(month),
                                     static_cast<unsigned>(day)) *
                         seconds_per_day +
                     hour * 3600 + minute * 60 + previous_second;
            }
            --minute;
            second = 59;
          }
          --hour;
          minute = second = 59;
        }
        --day;
        hour = 23;
        minute = second = 59;
      }
      if (--month < 1) {
        --year;
        month = 12;
      }
      day = 31;
      hour = 23;
      minute = second = 59;
    }
    return std::nullopt;
  }
};

}  // namespace apsched::detail::cron
