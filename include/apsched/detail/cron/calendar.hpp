// SPDX-License-Identifier: MIT
// Proleptic Gregorian calendar arithmetic on day counts, shared by the cron-family triggers.
#pragma once

#include <apsched/detail/format_time.hpp>

#include <cstdint>

namespace apsched::detail::cron {

inline constexpr std::int64_t seconds_per_day = 86'400;

/// `a / b` rounded towards negative infinity (b > 0).
[[nodiscard]] constexpr std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
  const std::int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

/// Whether `year` is a Gregorian leap year (2000 and 2400 are, 2100 is not).
[[nodiscard]] constexpr bool is_leap_year(std::int64_t year) noexcept {
  return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
}

/// The number of days of `month` (1-12) in `year`.
[[nodiscard]] constexpr unsigned days_in_month(std::int64_t year, unsigned month) noexcept {
  constexpr unsigned lengths[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap_year(year) ? 29U : lengths[month - 1];
}

/// Days from 1970-01-01 to `year-month-day` (the inverse of civil_from_days).
[[nodiscard]] constexpr std::int64_t days_from_civil(std::int64_t year, unsigned month,
                                                     unsigned day) noexcept {
  // Count from 0000-03-01 so the leap day ends the counted year (as civil_from_days does).
  year -= month <= 2 ? 1 : 0;
  const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
  const auto year_of_era = static_cast<std::uint64_t>(year - era * 400);
  const std::uint64_t shifted_month = month > 2 ? month - 3 : month + 9;
  const std::uint64_t day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
  const std::uint64_t day_of_era =
      year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + static_cast<std::int64_t>(day_of_era) - 719468;
}

/// The weekday of day `days` after 1970-01-01: 0 = Sunday ... 6 = Saturday.
[[nodiscard]] constexpr unsigned weekday_from_days(std::int64_t days) noexcept {
  const std::int64_t r = (days + 4) % 7;  // 1970-01-01 was a Thursday
  return static_cast<unsigned>(r < 0 ? r + 7 : r);
}

/// The ISO 8601 week number (1-53) of day `days` after 1970-01-01.
[[nodiscard]] constexpr unsigned iso_week_from_days(std::int64_t days) noexcept {
  const unsigned iso_weekday = (weekday_from_days(days) + 6) % 7;  // Monday = 0
  // An ISO week belongs to the year that holds its Thursday.
  const std::int64_t thursday = days - iso_weekday + 3;
  const std::int64_t jan_first = days_from_civil(civil_from_days(thursday).year, 1, 1);
  return static_cast<unsigned>((thursday - jan_first) / 7 + 1);
}

}  // namespace apsched::detail::cron
