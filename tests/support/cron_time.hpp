// SPDX-License-Identifier: MIT
// Test helpers for the cron-family triggers: UTC instants from text, and fire-time listings.
#pragma once

#include <apsched/clock.hpp>

#include <date/date.h>
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace apsched::test {

/// The UTC instant written `YYYY-MM-DD HH:MM:SS` (seconds optional).
inline TimePoint utc(const char* text) {
  int year = 0;
  unsigned month = 0;
  unsigned day = 0;
  int hour = 0;
  int minute = 0;
  int second = 0;
  if (std::sscanf(text, "%d-%u-%u %d:%d:%d", &year, &month, &day, &hour, &minute, &second) < 3) {
    throw std::invalid_argument{text};
  }
  const date::sys_days days{date::year{year} / date::month{month} / date::day{day}};
  return TimePoint{days} + std::chrono::hours{hour} + std::chrono::minutes{minute} +
         std::chrono::seconds{second};
}

/// `t` as `YYYY-MM-DD HH:MM:SS` in UTC (whole seconds; fractions are shown when present).
inline std::string text(TimePoint t) {
  const auto days = date::floor<date::days>(t);
  const date::year_month_day ymd{days};
  const auto rest = t - days;
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(rest).count();
  std::string result =
      fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}", int{ymd.year()}, unsigned{ymd.month()},
                  unsigned{ymd.day()}, seconds / 3600, seconds / 60 % 60, seconds % 60);
  if (rest % std::chrono::seconds{1} != Duration::zero()) {
    result += fmt::format(".{:09}", (rest % std::chrono::seconds{1}).count());
  }
  return result;
}

/// The next `count` fire times of `trigger` from `now`, chained, as UTC text; stops early when
/// the trigger is exhausted.
template <class T>
std::vector<std::string> fires(const T& trigger, TimePoint now, int count) {
  std::vector<std::string> result;
  std::optional<TimePoint> previous;
  for (int i = 0; i < count; ++i) {
    previous = trigger.next_fire_time(previous, previous.value_or(now));
    if (!previous) {
      break;
    }
    result.push_back(text(*previous));
  }
  return result;
}

/// The fire times of `trigger` in `[from, to]`, chained.
template <class T>
std::vector<TimePoint> fires_between(const T& trigger, TimePoint from, TimePoint to) {
  std::vector<TimePoint> result;
  std::optional<TimePoint> previous;
  for (;;) {
    previous = trigger.next_fire_time(previous, previous.value_or(from));
    if (!previous || *previous > to) {
      return result;
    }
    result.push_back(*previous);
  }
}

}  // namespace apsched::test
