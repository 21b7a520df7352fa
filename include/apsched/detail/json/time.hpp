// SPDX-License-Identifier: MIT
// Exact text forms of instants, dates, times of day and weekdays for the JSON codecs.
#pragma once

#include <apsched/clock.hpp>
#include <apsched/detail/format_time.hpp>

#include <fmt/core.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace apsched::detail::json {

// TimePoint ticks are a whole fraction of a second no finer than a nanosecond (nanoseconds with
// libstdc++, microseconds with libc++), so nine fraction digits always write one exactly.
static_assert(Duration::period::num == 1 && 1'000'000'000 % Duration::period::den == 0,
              "apsched's JSON codecs expect TimePoint ticks of 1/10^k seconds, k <= 9");

/// Nanoseconds per TimePoint tick.
inline constexpr std::int64_t nanoseconds_per_tick = 1'000'000'000 / Duration::period::den;

/// `d` in nanoseconds, or empty when that overflows 64 bits (only with ticks coarser than 1ns).
[[nodiscard]] constexpr std::optional<std::int64_t> to_nanoseconds(Duration d) noexcept {
  const std::int64_t ticks = d.count();
  if (ticks > std::numeric_limits<std::int64_t>::max() / nanoseconds_per_tick ||
      ticks < std::numeric_limits<std::int64_t>::min() / nanoseconds_per_tick) {
    return std::nullopt;
  }
  return ticks * nanoseconds_per_tick;
}

/// `nanoseconds` as a Duration, or empty when it is not a whole number of ticks.
[[nodiscard]] constexpr std::optional<Duration> from_nanoseconds(
    std::int64_t nanoseconds) noexcept {
  if (nanoseconds % nanoseconds_per_tick != 0) {
    return std::nullopt;
  }
  return Duration{nanoseconds / nanoseconds_per_tick};
}

/// Appends format_rfc3339(t) to `out`.
inline void append_rfc3339(TimePoint t, std::string& out) {
  constexpr std::int64_t per_second = Duration::period::den;
  const std::int64_t ticks = t.time_since_epoch().count();
  std::int64_t seconds = ticks / per_second;
  std::int64_t fraction = ticks % per_second;
  if (fraction < 0) {
    fraction += per_second;
    --seconds;
  }
  std::int64_t days = seconds / 86'400;
  std::int64_t second_of_day = seconds % 86'400;
  if (second_of_day < 0) {
    second_of_day += 86'400;
    --days;
  }
  const CivilDate date = civil_from_days(days);
  const std::int64_t nanoseconds = fraction * nanoseconds_per_tick;
  int digits = 9;  // of the fraction: 0, 3, 6 or 9
  std::int64_t shown = nanoseconds;
  if (nanoseconds % 1'000'000 == 0) {
    digits = nanoseconds == 0 ? 0 : 3;
    shown = nanoseconds / 1'000'000;
  } else if (nanoseconds % 1'000 == 0) {
    digits = 6;
    shown = nanoseconds / 1'000;
  }
  if (date.year < 0 || date.year > 9999) {  // beyond RFC 3339; written as fmt writes it
    std::string text =
        fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", date.year, date.month, date.day,
                    second_of_day / 3600, second_of_day / 60 % 60, second_of_day % 60);
    if (digits != 0) {
      text += fmt::format(".{:0{}}", shown, digits);
    }
    out += text;
    out += 'Z';
    return;
  }
  // Written digit by digit: this runs for every stored time, and fmt's parsing of the format
  // string cost more than the rest of the encoding.
  std::array<char, 30> buffer{};
  std::size_t length = 0;
  const auto put = [&](std::int64_t value, int width) {
    for (int i = width - 1; i >= 0; --i) {
      buffer[length + static_cast<std::size_t>(i)] = static_cast<char>('0' + value % 10);
      value /= 10;
    }
    length += static_cast<std::size_t>(width);
  };
  const auto mark = [&](char c) { buffer[length++] = c; };
  put(date.year, 4);
  mark('-');
  put(date.month, 2);
  mark('-');
  put(date.day, 2);
  mark('T');
  put(second_of_day / 3600, 2);
  mark(':');
  put(second_of_day / 60 % 60, 2);
  mark(':');
  put(second_of_day % 60, 2);
  if (digits != 0) {
    mark('.');
    put(shown, digits);
  }
  mark('Z');
  out.append(buffer.data(), length);
}

/// `t` in RFC 3339 form, UTC: `2026-12-01T09:00:00Z`, with the shortest of 3, 6 or 9 fraction
/// digits that writes `t` exactly (`...T09:00:00.5` becomes `.500`, one nanosecond `.000000001`).
[[nodiscard]] inline std::string format_rfc3339(TimePoint t) {
  std::string text;
  append_rfc3339(t, text);
  return text;
}

/// Reads `count` decimal digits of `text` from `position` (advancing it), or empty.
[[nodiscard]] constexpr std::optional<std::int64_t> read_digits(std::string_view text,
                                                                std::size_t& position,
                                                                std::size_t count) noexcept {
  if (position > text.size() || text.size() - position < count) {
    return std::nullopt;
  }
  std::int64_t value = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const char c = text[position + i];
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    value = value * 10 + (c - '0');
  }
  position += count;
  return value;
}

/// Whether `text[position]` is `c` (advancing past it if so).
[[nodiscard]] constexpr bool read_char(std::string_view text, std::size_t& position,
                                       char c) noexcept {
  if (position < text.size() && text[position] == c) {
    ++position;
    return true;
  }
  return false;
}

/// The `count` digits at `position` preceded by `separator` (advancing past both), or -1 when
/// either is missing. Plain integers rather than optionals: GCC 12 warns, wrongly, that
/// optionals tested this way may be read uninitialised.
[[nodiscard]] constexpr std::int64_t read_field(std::string_view text, std::size_t& position,
                                                char separator, std::size_t count) noexcept {
  if (!read_char(text, position, separator)) {
    return -1;
  }
  return read_digits(text, position, count).value_or(-1);
}

/// Days from 1970-01-01 of the date `YYYY-MM-DD` at `position` (advancing past it), or empty
/// when it is malformed or not a valid date.
[[nodiscard]] inline std::optional<std::int64_t> read_date(std::string_view text,
                                                           std::size_t& position) {
  const std::int64_t year = read_digits(text, position, 4).value_or(-1);
  const std::int64_t month = year < 0 ? -1 : read_field(text, position, '-', 2);
  const std::int64_t day = month < 0 ? -1 : read_field(text, position, '-', 2);
  if (day < 0) {
    return std::nullopt;
  }
  const std::chrono::year_month_day date{std::chrono::year{static_cast<int>(year)},
                                         std::chrono::month{static_cast<unsigned>(month)},
                                         std::chrono::day{static_cast<unsigned>(day)}};
  if (!date.ok()) {
    return std::nullopt;
  }
  return std::chrono::sys_days{date}.time_since_epoch().count();
}

/// The instant written in RFC 3339 form (`2026-12-01T09:00:00Z`, `...T09:00:00.25+01:00`; `T` or
/// `t`, `Z` or `z`, 1 to 9 fraction digits), or empty when the text is malformed, names no valid
/// date or time (leap seconds included), is not a whole number of TimePoint ticks, or is outside
/// TimePoint's range.
[[nodiscard]] inline std::optional<TimePoint> parse_rfc3339(std::string_view text) {
  std::size_t position = 0;
  const std::optional<std::int64_t> days = read_date(text, position);
  if (!days || !(read_char(text, position, 'T') || read_char(text, position, 't'))) {
    return std::nullopt;
  }
  const std::int64_t hour = read_digits(text, position, 2).value_or(-1);
  const std::int64_t minute = read_field(text, position, ':', 2);
  const std::int64_t second = read_field(text, position, ':', 2);
  if (hour < 0 || minute < 0 || second < 0 || hour > 23 || minute > 59 || second > 59) {
    return std::nullopt;
  }
  std::int64_t nanoseconds = 0;
  if (read_char(text, position, '.')) {
    std::size_t digits = 0;
    while (position < text.size() && text[position] >= '0' && text[position] <= '9') {
      if (++digits > 9) {
        return std::nullopt;
      }
      nanoseconds = nanoseconds * 10 + (text[position++] - '0');
    }
    if (digits == 0) {
      return std::nullopt;
    }
    for (std::size_t i = digits; i < 9; ++i) {
      nanoseconds *= 10;
    }
  }
  std::int64_t offset = 0;
  if (!read_char(text, position, 'Z') && !read_char(text, position, 'z')) {
    const bool minus = read_char(text, position, '-');
    if (!minus && !read_char(text, position, '+')) {
      return std::nullopt;
    }
    const std::int64_t offset_hours = read_digits(text, position, 2).value_or(-1);
    const std::int64_t offset_minutes = read_field(text, position, ':', 2);
    if (offset_hours < 0 || offset_minutes < 0 || offset_hours > 23 || offset_minutes > 59) {
      return std::nullopt;
    }
    offset = (offset_hours * 3600 + offset_minutes * 60) * (minus ? -1 : 1);
  }
  if (position != text.size() || nanoseconds % nanoseconds_per_tick != 0) {
    return std::nullopt;
  }
  // Whole seconds and ticks compared separately, so the range check itself cannot overflow.
  const std::int64_t seconds = *days * 86'400 + hour * 3600 + minute * 60 + second - offset;
  const std::int64_t fraction = nanoseconds / nanoseconds_per_tick;
  constexpr std::int64_t per_second = Duration::period::den;
  constexpr std::int64_t max_ticks = Duration::max().count();
  constexpr std::int64_t min_ticks = Duration::min().count();
  constexpr std::int64_t max_seconds = max_ticks / per_second;
  constexpr std::int64_t max_fraction = max_ticks % per_second;
  // Floor division of min_ticks: its remainder is negative.
  constexpr std::int64_t min_seconds =
      min_ticks / per_second - (min_ticks % per_second != 0 ? 1 : 0);
  constexpr std::int64_t min_fraction =
      min_ticks % per_second == 0 ? 0 : min_ticks % per_second + per_second;
  if (seconds > max_seconds || (seconds == max_seconds && fraction > max_fraction) ||
      seconds < min_seconds || (seconds == min_seconds && fraction < min_fraction)) {
    return std::nullopt;
  }
  // For negative seconds, add one second first so the product stays within range.
  const std::int64_t ticks = seconds < 0 ? (seconds + 1) * per_second + (fraction - per_second)
                                         : seconds * per_second + fraction;
  return TimePoint{Duration{ticks}};
}

/// `date` as `YYYY-MM-DD`.
[[nodiscard]] inline std::string format_date(std::chrono::year_month_day date) {
  return fmt::format("{:04}-{:02}-{:02}", int{date.year()}, unsigned{date.month()},
                     unsigned{date.day()});
}

/// The valid date written `YYYY-MM-DD`, or empty.
[[nodiscard]] inline std::optional<std::chrono::year_month_day> parse_date(std::string_view text) {
  std::size_t position = 0;
  const std::optional<std::int64_t> days = read_date(text, position);
  if (!days || position != text.size()) {
    return std::nullopt;
  }
  return std::chrono::year_month_day{std::chrono::sys_days{std::chrono::days{*days}}};
}

/// `day` as `--MM-DD` (ISO 8601's form of a date in every year).
[[nodiscard]] inline std::string format_month_day(std::chrono::month_day day) {
  return fmt::format("--{:02}-{:02}", unsigned{day.month()}, unsigned{day.day()});
}

/// The valid month and day written `--MM-DD` (`--02-29` included), or empty.
[[nodiscard]] inline std::optional<std::chrono::month_day> parse_month_day(std::string_view text) {
  std::size_t position = 0;
  if (!read_char(text, position, '-') || !read_char(text, position, '-')) {
    return std::nullopt;
  }
  const std::int64_t month = read_digits(text, position, 2).value_or(-1);
  const std::int64_t day = read_field(text, position, '-', 2);
  if (month < 0 || day < 0 || position != text.size()) {
    return std::nullopt;
  }
  const std::chrono::month_day result{std::chrono::month{static_cast<unsigned>(month)},
                                      std::chrono::day{static_cast<unsigned>(day)}};
  return result.ok() ? std::optional{result} : std::nullopt;
}

/// `time` (seconds after midnight, 0 to 86400) as `HH:MM:SS`; 86400 is `24:00:00`.
[[nodiscard]] inline std::string format_time_of_day(std::chrono::seconds time) {
  const std::int64_t s = time.count();
  return fmt::format("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
}

/// The seconds after midnight written `HH:MM:SS` (00:00:00 to 24:00:00), or empty.
[[nodiscard]] inline std::optional<std::chrono::seconds> parse_time_of_day(std::string_view text) {
  std::size_t position = 0;
  const std::int64_t hour = read_digits(text, position, 2).value_or(-1);
  const std::int64_t minute = read_field(text, position, ':', 2);
  const std::int64_t second = read_field(text, position, ':', 2);
  if (hour < 0 || minute < 0 || second < 0 || position != text.size() || minute > 59 ||
      second > 59) {
    return std::nullopt;
  }
  const std::int64_t total = hour * 3600 + minute * 60 + second;
  if (total > 86'400) {
    return std::nullopt;
  }
  return std::chrono::seconds{total};
}

/// Lower-case English weekday abbreviations, indexed by C encoding (0 = Sunday).
inline constexpr std::array<std::string_view, 7> weekday_names{"sun", "mon", "tue", "wed",
                                                               "thu", "fri", "sat"};

}  // namespace apsched::detail::json
