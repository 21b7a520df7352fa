// SPDX-License-Identifier: MIT
// ISO 8601 text for time points and durations, independent of the process's locale and zone.
#pragma once

#include <apsched/clock.hpp>

#include <fmt/core.h>

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
[[nodiscard]] inline std::string format_time(TimePoint t) {
  using namespace std::chrono;
  const auto micros = floor<microseconds>(t.time_since_epoch()).count();
  constexpr std::int64_t micros_per_day = 86'400'000'000;
  std::int64_t days = micros / micros_per_day;
  std::int64_t rest = micros % micros_per_day;
  if (rest < 0) {
    rest += micros_per_day;
    --days;
  }
  const CivilDate date = civil_from_days(days);
  const std::int64_t seconds = rest / 1'000'000;
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", date.year, date.month, date.day,
                     seconds / 3600, seconds / 60 % 60, seconds % 60, rest % 1'000'000);
}

/// `d` in the largest whole unit that divides it: `90s` -> "90s", `2h` -> "2h", `1500us` ->
/// "1500us".
[[nodiscard]] inline std::string format_duration(Duration d) {
  using namespace std::chrono;
  const auto ns = duration_cast<nanoseconds>(d).count();
  struct Unit {
    std::int64_t ns;
    const char* suffix;
  };
  constexpr Unit units[] = {{86'400'000'000'000, "d"}, {3'600'000'000'000, "h"},
                            {60'000'000'000, "min"},   {1'000'000'000, "s"},
                            {1'000'000, "ms"},         {1'000, "us"}};
  for (const Unit& unit : units) {
    if (ns != 0 && ns % unit.ns == 0) {
      return fmt::format("{}{}", ns / unit.ns, unit.suffix);
    }
  }
  return fmt::format("{}ns", ns);
}

/// The unit suffix of a `std::chrono::duration` whose period is `num/den` seconds: "ns", "us",
/// "ms", "s", "min", "h", "d", the other SI prefixes with "s" ("ks", "ps", ...), else "[num]s" or
/// "[num/den]s".
[[nodiscard]] inline std::string duration_unit(std::intmax_t num, std::intmax_t den) {
  struct Unit {
    std::intmax_t num;
    std::intmax_t den;
    const char* suffix;
  };
  static constexpr Unit units[] = {{1, 1'000'000'000'000'000'000, "as"},
                                   {1, 1'000'000'000'000'000, "fs"},
                                   {1, 1'000'000'000'000, "ps"},
                                   {1, 1'000'000'000, "ns"},
                                   {1, 1'000'000, "us"},
                                   {1, 1'000, "ms"},
                                   {1, 100, "cs"},
                                   {1, 10, "ds"},
                                   {1, 1, "s"},
                                   {10, 1, "das"},
                                   {100, 1, "hs"},
                                   {1'000, 1, "ks"},
                                   {1'000'000, 1, "Ms"},
                                   {1'000'000'000, 1, "Gs"},
                                   {1'000'000'000'000, 1, "Ts"},
                                   {1'000'000'000'000'000, 1, "Ps"},
                                   {1'000'000'000'000'000'000, 1, "Es"},
                                   {60, 1, "min"},
                                   {3'600, 1, "h"},
                                   {86'400, 1, "d"}};
  for (const Unit& unit : units) {
    if (unit.num == num && unit.den == den) {
      return unit.suffix;
    }
  }
  return den == 1 ? fmt::format("[{}]s", num) : fmt::format("[{}/{}]s", num, den);
}

/// A duration of any representation and period as the user wrote it (`-5s`, `0.4ns`, `3[1/3]s`;
/// floating counts as printf's `%g`), for messages about a duration argument not yet converted to
/// Duration. Lighter to compile than fmt's chrono formatting, which it replaces.
template <class Rep, class Period>
[[nodiscard]] std::string format_given_duration(std::chrono::duration<Rep, Period> d) {
  std::string count;
  if constexpr (std::chrono::treat_as_floating_point_v<Rep>) {
    count = fmt::format("{:g}", static_cast<double>(d.count()));
  } else if constexpr (std::is_signed_v<Rep>) {
    count = fmt::format("{}", static_cast<std::intmax_t>(d.count()));
  } else {
    count = fmt::format("{}", static_cast<std::uintmax_t>(d.count()));
  }
  return count + duration_unit(Period::num, Period::den);
}

}  // namespace apsched::detail
