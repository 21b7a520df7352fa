// SPDX-License-Identifier: MIT
// Parsing of whole crontab strings (fields, macros) and of APScheduler-style field sets into a
// CronSpec.
#pragma once

#include <apsched/detail/cron/field_scan.hpp>
#include <apsched/detail/cron/parser.hpp>
#include <apsched/detail/cron/spec.hpp>
#include <apsched/error.hpp>

#include <fmt/core.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace apsched::detail::cron {

/// Whether a crontab day field counts as unrestricted for cron(5)'s either-day rule: cronie
/// looks only at the first character.
[[nodiscard]] inline bool unrestricted_day_field(std::string_view text) noexcept {
  return !text.empty() && (text.front() == '*' || text.front() == '?');
}

/// Whether a minute or hour field makes its job a wildcard job for cron(8)'s daylight-saving
/// rule: cronie looks only at the first character, so `*/5` counts and `0-59` does not.
[[nodiscard]] inline bool wildcard_time_field(std::string_view text) noexcept {
  return !text.empty() && text.front() == '*';
}

/// Parses a crontab line: 5 fields (cron(5)), 6 (seconds first) or 7 (seconds first, year
/// last), or a macro.
[[nodiscard]] inline CronSpec parse_crontab(std::string_view expression, bool quartz_weekdays,
                                            std::string_view call = "from_crontab") {
  Parser parser{call, expression, Dialect::crontab, quartz_weekdays};
  std::string_view text = Parser::trim(expression);
  if (!text.empty() && text.front() == '@') {
    struct Macro {
      std::string_view name;
      std::string_view fields;
    };
    static constexpr Macro macros[] = {
        {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
        {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
        {"@hourly", "0 * * * *"}, {"@minutely", "* * * * *"}, {"@secondly", "* * * * * *"}};
    for (const Macro& macro : macros) {
      if (equals_ignoring_case(text, macro.name)) {
        text = macro.fields;
        // The macros' weekdays are cron's whatever the options say.
        parser.set_quartz_weekdays(false);
        break;
      }
    }
    if (!text.empty() && text.front() == '@') {
      throw InvalidTriggerError{fmt::format(
          "{}: unknown macro {}; expected @yearly, @annually, @monthly, @weekly, @daily, "
          "@midnight, @hourly, @minutely or @secondly",
          parser.context(), text)};
    }
  }
  std::array<std::string_view, 7> fields{};
  std::size_t count = 0;
  // Most characters are above ' ', which one comparison tells.
  const auto blank = [](char c) { return c <= ' ' && (c == ' ' || c == '\t'); };
  for (std::size_t i = 0; i < text.size();) {
    if (blank(text[i])) {
      ++i;
      continue;
    }
    const std::size_t begin = i;
    while (++i < text.size() && !blank(text[i])) {
    }
    if (count < fields.size()) {
      fields[count] = std::string_view{text.data() + begin, i - begin};
    }
    ++count;
  }
  if (count < 5 || count > 7) {
    throw InvalidTriggerError{fmt::format(
        "{}: expected 5 fields (minute hour day-of-month month day-of-week), 6 (seconds first) "
        "or 7 (seconds first, year last), or a macro such as @daily; got {} field{}",
        parser.context(), count, count == 1 ? "" : "s")};
  }
  CronSpec spec;
  const std::size_t shift = count == 5 ? 0 : 1;
  if (count == 5) {
    spec.seconds = 1;
  } else {
    parser.parse_field(spec, FieldKind::second, "second", fields[0]);
  }
  parser.parse_field(spec, FieldKind::minute, "minute", fields[shift]);
  parser.parse_field(spec, FieldKind::hour, "hour", fields[shift + 1]);
  parser.parse_field(spec, FieldKind::day_of_month, "day-of-month", fields[shift + 2]);
  parser.parse_field(spec, FieldKind::month, "month", fields[shift + 3]);
  parser.parse_field(spec, FieldKind::day_of_week, "day-of-week", fields[shift + 4]);
  if (count == 7) {
    parser.parse_field(spec, FieldKind::year, "year", fields[6]);
  }
  spec.weeks = ~std::uint64_t{0};
  spec.days_either =
      !unrestricted_day_field(fields[shift + 2]) && !unrestricted_day_field(fields[shift + 4]);
  spec.minute_or_hour_wildcard =
      wildcard_time_field(fields[shift]) || wildcard_time_field(fields[shift + 1]);
  spec.day_of_month.finish();
  spec.day_of_week.finish();
  parser.require_feasible(spec);
  return spec;
}

/// APScheduler's field names, most significant first, and the value a field takes when it is
/// less significant than every field given.
struct FieldDefault {
  std::string_view name;
  FieldKind kind;
  std::string_view fallback;
};
inline constexpr std::array<FieldDefault, 8> apscheduler_fields{{
    {"year", FieldKind::year, "*"},
    {"month", FieldKind::month, "1"},
    {"day", FieldKind::day_of_month, "1"},
    {"week", FieldKind::week, "*"},
    {"day_of_week", FieldKind::day_of_week, "*"},
    {"hour", FieldKind::hour, "0"},
    {"minute", FieldKind::minute, "0"},
    {"second", FieldKind::second, "0"},
}};

/// Parses APScheduler-style fields (in the order of apscheduler_fields; empty = not given). All
/// fields must match (AND); fields more significant than the least significant one given
/// default to `*`, less significant ones to their minimum (week and day_of_week to `*`).
[[nodiscard]] inline CronSpec parse_fields(const std::array<std::string_view, 8>& values,
                                           bool quartz_weekdays) {
  std::size_t last_given = values.size();
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!values[i].empty()) {
      last_given = i;
    }
  }
  std::string summary;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!values[i].empty()) {
      summary += fmt::format("{}{}=\"{}\"", summary.empty() ? "" : " ", apscheduler_fields[i].name,
                             values[i]);
    }
  }
  if (summary.empty()) {
    summary = "(no fields)";
  }
  Parser parser{"CronTrigger", summary, Dialect::fields, quartz_weekdays};
  CronSpec spec;
  for (std::size_t i = 0; i < values.size(); ++i) {
    const FieldDefault& field = apscheduler_fields[i];
    std::string_view text = values[i];
    if (text.empty()) {
      text = last_given != values.size() && i > last_given ? field.fallback : "*";
    }
    parser.parse_field(spec, field.kind, field.name, text);
    // A field not given counts as the text it defaults to, so `hour="2"` is a fixed time.
    if (field.kind == FieldKind::minute || field.kind == FieldKind::hour) {
      spec.minute_or_hour_wildcard =
          spec.minute_or_hour_wildcard || wildcard_time_field(Parser::trim(text));
    }
  }
  spec.days_either = false;
  spec.day_of_month.finish();
  spec.day_of_week.finish();
  parser.require_feasible(spec);
  return spec;
}

}  // namespace apsched::detail::cron
