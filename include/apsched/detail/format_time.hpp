// SPDX-License-Identifier: MIT
// ISO 8601 text for time points and durations, independent of the process's locale and zone.
#pragma once

#include <apsched/clock.hpp>
#include <apsched/config.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <type_traits>

namespace apsched::detail {

/// A proleptic Gregorian date.
struct CivilDate {
  std::int64_t year;
  unsigned month;  // 1-12
  unsigned day;    // 1-31
};

/// The date `days` days after 1970-01-01 (negative: before it).
[[nodiscard]] constexpr CivilDate civil_from_days(std::int64_t days) noexcept {
  // Shift to an era-based count starting on 0000-03-01, so leap days fall at the end of a year.
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto day_of_era = static_cast<std::uint64_t>(days - era * 146097);
  const std::uint64_t year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const std::uint64_t day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const std::uint64_t shifted_month = (5 * day_of_year + 2) / 153;
  const auto day = static_cast<unsigned>(day_of_year - (153 * shifted_month + 2) / 5 + 1);
  const auto month =
      static_cast<unsigned>(shifted_month < 10 ? shifted_month + 3 : shifted_month - 9);
  const std::int64_t year =
      static_cast<std::int64_t>(year_of_era) + era * 400 + (month <= 2 ? 1 : 0);
  return {year, month, day};
}

/// `t` as `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC, microseconds).
///
/// Thread safety: thread-safe.
[[nodiscard]] APSCHED_INLINE std::string format_time(TimePoint t);

/// `d` in the largest whole unit that divides it: `90s` -> "90s", `2h` -> "2h", `1500us` ->
/// "1500us".
///
/// Thread safety: thread-safe.
[[nodiscard]] APSCHED_INLINE std::string format_duration(Duration d);

/// The unit suffix of a `std::chrono::duration` whose period is `num/den` seconds: "ns", "us",
/// "ms", "s", "min", "h", "d", the other SI prefixes with "s" ("ks", "ps", ...), else "[num]s" or
/// "[num/den]s".
///
/// Thread safety: thread-safe.
[[nodiscard]] APSCHED_INLINE std::string duration_unit(std::intmax_t num, std::intmax_t den);

/// A floating count as format_given_duration writes it: as printf's `%g` (`0.4`, `1e+30`).
///
/// Thread safety: thread-safe.
[[nodiscard]] APSCHED_INLINE std::string format_count(double count);
/// A signed count in full, as format_given_duration writes it.
///
/// Thread safety: thread-safe.
[[nodiscard]] APSCHED_INLINE std::string format_count(std::intmax_t count);
/// An unsigned count in full, as format_given_duration writes it.
///
/// Thread safety: thread-safe.
[[nodiscard]] APSCHED_INLINE std::string format_count(std::uintmax_t count);

/// A duration of any representation and period as the user wrote it (`-5s`, `0.4ns`, `3[1/3]s`;
/// floating counts as printf's `%g`), for messages about a duration argument not yet converted to
/// Duration. Lighter to compile than fmt's chrono formatting, which it replaces.
template <class Rep, class Period>
[[nodiscard]] std::string format_given_duration(std::chrono::duration<Rep, Period> d) {
  std::string count;
  if constexpr (std::chrono::treat_as_floating_point_v<Rep>) {
    count = format_count(static_cast<double>(d.count()));
  } else if constexpr (std::is_signed_v<Rep>) {
    count = format_count(static_cast<std::intmax_t>(d.count()));
  } else {
    count = format_count(static_cast<std::uintmax_t>(d.count()));
  }
  return count + duration_unit(Period::num, Period::den);
}

}  // namespace apsched::detail

#if !APSCHED_SEPARATE_COMPILATION
#include <apsched/impl/detail/format_time.hpp>
#endif
