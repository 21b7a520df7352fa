// SPDX-License-Identifier: MIT
// ISO 8601 text for time points and durations, independent of the process's locale and zone.
#pragma once

#include <apsched/clock.hpp>

#include <fmt/format.h>

#include <chrono>
#include <cstdint>
#include <string>

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

}  // namespace apsched::detail
