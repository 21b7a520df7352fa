// SPDX-License-Identifier: MIT
// The definitions of detail/format_time.hpp's functions. That header includes this in header-only
// mode; in the compiled mode the apsched::compiled library holds them.
#pragma once

#include <apsched/config.hpp>
#include <apsched/detail/format_time.hpp>

#include <fmt/core.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace apsched::detail {

APSCHED_INLINE std::string format_time(TimePoint t) {
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

APSCHED_INLINE std::string format_duration(Duration d) {
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

APSCHED_INLINE std::string duration_unit(std::intmax_t num, std::intmax_t den) {
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

APSCHED_INLINE std::string format_count(double count) { return fmt::format("{:g}", count); }

APSCHED_INLINE std::string format_count(std::intmax_t count) { return fmt::format("{}", count); }

APSCHED_INLINE std::string format_count(std::uintmax_t count) { return fmt::format("{}", count); }

}  // namespace apsched::detail
