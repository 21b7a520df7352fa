// SPDX-License-Identifier: MIT
// Parsing of crontab strings and of APScheduler-style cron fields into a CronSpec.
#pragma once

#include <apsched/detail/cron/calendar.hpp>
#include <apsched/detail/cron/spec.hpp>
#include <apsched/error.hpp>

#include <fmt/core.h>

#include <array>
#include <bit>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace apsched::detail::cron {

/// Which field of an expression is being read; decides the range, names and extensions.
enum class FieldKind { second, minute, hour, day_of_month, month, day_of_week, year, week };

/// The syntax being read: a crontab line (cron(5) + Quartz) or APScheduler's per-field strings.
enum class Dialect { crontab, fields };

/// A set of field values, bit `value - base` (base = first_year for years, else 0).
using ValueBits = std::array<std::uint64_t, 5>;

/// Reads one expression. Errors name `context` (the call and the whole expression), the field,
/// the offending token and what was expected.
class Parser {
 public:
  Parser(std::string context, Dialect dialect, bool quartz_weekdays) noexcept
      : context_{std::move(context)}, dialect_{dialect}, quartz_weekdays_{quartz_weekdays} {}

  /// Parses `text` as field `kind` (`label` names it in messages) into `spec`.
  void parse_field(CronSpec& spec, FieldKind kind, std::string_view label, std::string_view text) {
    kind_ = kind;
    label_ = label;
    if (text.empty()) {
      fail("is empty; expected a value, a range, a list or *");
    }
    ValueBits values{};
    DaySet* days = kind == FieldKind::day_of_month  ? &spec.day_of_month
                   : kind == FieldKind::day_of_week ? &spec.day_of_week
                                                    : nullptr;
    std::size_t begin = 0;
    while (begin <= text.size()) {
      std::size_t end = text.find(',', begin);
      if (end == std::string_view::npos) {
        end = text.size();
      }
      std::string_view item = trim(text.substr(begin, end - begin));
      if (item.empty()) {
        fail(fmt::format("\"{}\" has an empty list item; expected values separated by commas",
                         text));
      }
      parse_item(item, values, days);
      begin = end + 1;
    }
    store(spec, values, days);
  }

  /// Fails unless some date in the years allowed matches the day, week and month fields.
  void require_feasible(const CronSpec& spec) const {
    const std::int64_t from = spec.years_restricted ? first_year : 2000;
    const std::int64_t to = spec.years_restricted ? last_year : 2399;  // one Gregorian cycle
    for (std::int64_t year = from; year <= to; ++year) {
      if (!spec.year_allowed(year)) {
        continue;
      }
      for (unsigned month = 1; month <= 12; ++month) {
        if ((spec.months >> month & 1U) != 0 && spec.day_mask(year, month) != 0) {
          return;
        }
      }
    }
    throw InvalidTriggerError{fmt::format(
        "{}: the {} fields match no date{} (such as February 30); the trigger could never fire",
        context_,
        dialect_ == Dialect::crontab ? "day-of-month, month and day-of-week"
                                     : "year, month, day, week and day_of_week",
        spec.years_restricted ? " in the years allowed" : " in any year")};
  }

  /// Throws InvalidTriggerError with `detail` about the current field.
  [[noreturn]] void fail(std::string_view detail) const {
    throw InvalidTriggerError{fmt::format("{}: {} {}", context_, label_, detail)};
  }

  [[nodiscard]] const std::string& context() const noexcept { return context_; }

  static std::string_view trim(std::string_view text) noexcept {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
      text.remove_prefix(1);
    }
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
      text.remove_suffix(1);
    }
    return text;
  }

 private:
  struct Range {
    int min;
    int max;
  };

  [[nodiscard]] Range range() const noexcept {
    switch (kind_) {
      case FieldKind::second:
      case FieldKind::minute:
        return {0, 59};
      case FieldKind::hour:
        return {0, 23};
      case FieldKind::day_of_month:
        return {1, 31};
      case FieldKind::month:
        return {1, 12};
      case FieldKind::day_of_week:
        return quartz_weekdays_ ? Range{1, 7} : Range{0, 7};
      case FieldKind::year:
        return {first_year, last_year};
      case FieldKind::week:
        return {1, 53};
    }
    return {0, 0};
  }

  [[nodiscard]] std::string expected_values() const {
    const Range r = range();
    switch (kind_) {
      case FieldKind::month:
        return fmt::format("{}-{} or jan-dec", r.min, r.max);
      case FieldKind::day_of_week:
        return fmt::format("{}-{} or sun-sat", r.min, r.max);
      default:
        return fmt::format("{}-{}", r.min, r.max);
    }
  }

  static bool equals_ignoring_case(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) {
      return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
      const char c = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
      if (c != b[i]) {
        return false;
      }
    }
    return true;
  }

  static std::optional<int> number(std::string_view text) noexcept {
    if (text.empty() || text.size() > 6) {
      return std::nullopt;
    }
    int value = 0;
    for (const char c : text) {
      if (c < '0' || c > '9') {
        return std::nullopt;
      }
      value = value * 10 + (c - '0');
    }
    return value;
  }

  // A number or a name, checked against the field's range.
  int value(std::string_view token) const {
    static constexpr std::string_view month_names[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                                       "jul", "aug", "sep", "oct", "nov", "dec"};
    static constexpr std::string_view weekday_names[] = {"sun", "mon", "tue", "wed",
                                                         "thu", "fri", "sat"};
    if (kind_ == FieldKind::month) {
      for (int i = 0; i < 12; ++i) {
        if (equals_ignoring_case(token, month_names[i])) {
          return i + 1;
        }
      }
    } else if (kind_ == FieldKind::day_of_week) {
      for (int i = 0; i < 7; ++i) {
        if (equals_ignoring_case(token, weekday_names[i])) {
          return quartz_weekdays_ ? i + 1 : i;
        }
      }
    }
    const std::optional<int> parsed = number(token);
    if (!parsed) {
      const char* what = kind_ == FieldKind::month         ? "a number or month name"
                         : kind_ == FieldKind::day_of_week ? "a number or weekday name"
                                                           : "a number";
      fail(fmt::format("\"{}\" is not {}; expected {}", token, what, expected_values()));
    }
    const Range r = range();
    if (*parsed < r.min || *parsed > r.max) {
      fail(fmt::format("{} is out of range {}-{}", token, r.min, r.max));
    }
    return *parsed;
  }

  // The weekday bit (0 = Sunday) of a day-of-week value in the numbering in use.
  [[nodiscard]] unsigned weekday_bit(int day) const noexcept {
    return quartz_weekdays_ ? static_cast<unsigned>(day - 1) : static_cast<unsigned>(day % 7);
  }

  static void set(ValueBits& bits, int index) noexcept {
    const auto i = static_cast<unsigned>(index);
    bits[i / 64] |= std::uint64_t{1} << (i % 64);
  }

  void parse_item(std::string_view item, ValueBits& values, DaySet* days) {
    if (days != nullptr && parse_day_special(item, *days)) {
      return;
    }
    std::string_view base = item;
    std::optional<int> step;
    const Range r = range();
    const int span = r.max - r.min + 1;
    if (const std::size_t slash = item.find('/'); slash != std::string_view::npos) {
      base = item.substr(0, slash);
      const std::string_view step_text = item.substr(slash + 1);
      step = number(step_text);
      if (!step) {
        fail(fmt::format("step \"{}\" in \"{}\" is not a number; expected 1-{}", step_text, item,
                         span));
      }
      if (*step < 1 || *step > span) {
        fail(fmt::format("step {} in \"{}\" is out of range 1-{}", step_text, item, span));
      }
    }
    int first = r.min;
    int last = r.max;
    bool step_must_fit = true;  // `*/n`, `a-b/n`; not `a/n`, which is Quartz's `a-max/n`
    if (base == "*" || base == "?") {
      if (base == "?" && (dialect_ != Dialect::crontab || days == nullptr)) {
        fail(fmt::format("\"{}\": ? is allowed only in day-of-month and day-of-week", item));
      }
    } else if (const std::size_t dash = base.find('-'); dash != std::string_view::npos) {
      first = value(base.substr(0, dash));
      last = value(base.substr(dash + 1));
      if (first > last && kind_ == FieldKind::year) {
        fail(fmt::format("range \"{}\" is reversed; expected first <= last", base));
      }
    } else {
      first = value(base);
      last = step ? r.max : first;  // `a/n` means a-max/n, as in cronie and Quartz
      step_must_fit = false;
    }
    const int stride = step.value_or(1);
    // A reversed range wraps around (Quartz, Spring): 22-2 is 22,23,0,1,2.
    const int length = first <= last ? last - first : last - first + span;
    if (step && step_must_fit && *step > length) {
      // APScheduler's rule: a step past the range's end would match its first value only.
      fail(
          fmt::format("step {} in \"{}\" is larger than the range {}-{} it steps through; it "
                      "would match only {}; expected {}",
                      *step, item, first, last, first,
                      length == 0 ? std::string{"no step on a single value"}
                                  : fmt::format("a step of 1-{}", length)));
    }
    for (int offset = 0; offset <= length; offset += stride) {
      int v = first + offset;
      if (v > r.max) {
        v -= span;
      }
      set(values, kind_ == FieldKind::year ? v - first_year : v);
    }
  }

  // L, L-n, LW, nW (day of month); nL, n#k, L (day of week); last, last x, xth y (APScheduler's
  // day). Returns false when `item` is none of these.
  bool parse_day_special(std::string_view item, DaySet& days) {
    if (dialect_ == Dialect::fields) {
      return kind_ == FieldKind::day_of_month && parse_apscheduler_day(item, days);
    }
    const bool upper_l = !item.empty() && (item.back() == 'L' || item.back() == 'l');
    if (kind_ == FieldKind::day_of_month) {
      if (equals_ignoring_case(item, "l")) {
        days.last_day_offsets |= 1U;
        return true;
      }
      if (equals_ignoring_case(item, "lw")) {
        days.last_nearest_weekdays |= 1U;
        return true;
      }
      if (item.size() > 2 && (item[0] == 'L' || item[0] == 'l') && item[1] == '-') {
        // L-n, or L-nW: the weekday nearest the n-th day before the last (Quartz).
        std::string_view offset_text = item.substr(2);
        const bool nearest =
            !offset_text.empty() && (offset_text.back() == 'W' || offset_text.back() == 'w');
        if (nearest) {
          offset_text.remove_suffix(1);
        }
        const std::optional<int> offset = number(offset_text);
        if (!offset || *offset > 30) {
          fail(
              fmt::format("\"{}\": offset \"{}\" is not a number of days 0-30; expected L-n or "
                          "L-nW",
                          item, offset_text));
        }
        (nearest ? days.last_nearest_weekdays : days.last_day_offsets) |= std::uint64_t{1}
                                                                          << *offset;
        return true;
      }
      if (item.size() > 1 && (item.back() == 'W' || item.back() == 'w')) {
        const int day = value(item.substr(0, item.size() - 1));
        days.nearest_weekdays |= std::uint64_t{1} << day;
        return true;
      }
      return false;
    }
    if (equals_ignoring_case(item, "l")) {
      days.weekdays |= 1U << 6;  // Quartz: L alone in day-of-week is every Saturday
      return true;
    }
    if (item.size() > 1 && upper_l) {
      days.last_weekdays = static_cast<std::uint8_t>(
          days.last_weekdays | 1U << weekday_bit(value(item.substr(0, item.size() - 1))));
      return true;
    }
    if (const std::size_t hash = item.find('#'); hash != std::string_view::npos) {
      const unsigned bit = weekday_bit(value(item.substr(0, hash)));
      const std::optional<int> nth = number(item.substr(hash + 1));
      if (!nth || *nth < 1 || *nth > 5) {
        fail(fmt::format("\"{}\": occurrence \"{}\" is out of range 1-5", item,
                         item.substr(hash + 1)));
      }
      auto& slot = days.nth_weekdays[static_cast<std::size_t>(*nth - 1)];
      slot = static_cast<std::uint8_t>(slot | 1U << bit);
      return true;
    }
    return false;
  }

  bool parse_apscheduler_day(std::string_view item, DaySet& days) {
    const std::size_t space = item.find(' ');
    if (equals_ignoring_case(item, "last")) {
      days.last_day_offsets |= 1U;
      return true;
    }
    if (space == std::string_view::npos) {
      return false;
    }
    const std::string_view which = item.substr(0, space);
    const std::string_view weekday = trim(item.substr(space + 1));
    static constexpr std::string_view ordinals[] = {"1st", "2nd", "3rd", "4th", "5th"};
    int nth = 0;
    for (int i = 0; i < 5; ++i) {
      if (equals_ignoring_case(which, ordinals[i])) {
        nth = i + 1;
      }
    }
    if (nth == 0 && !equals_ignoring_case(which, "last")) {
      fail(
          fmt::format("\"{}\": \"{}\" is not an occurrence; expected 1st, 2nd, 3rd, 4th, 5th "
                      "or last",
                      item, which));
    }
    const FieldKind saved = kind_;
    kind_ = FieldKind::day_of_week;
    const unsigned bit = weekday_bit(value(weekday));
    kind_ = saved;
    if (nth == 0) {
      days.last_weekdays = static_cast<std::uint8_t>(days.last_weekdays | 1U << bit);
    } else {
      auto& slot = days.nth_weekdays[static_cast<std::size_t>(nth - 1)];
      slot = static_cast<std::uint8_t>(slot | 1U << bit);
    }
    return true;
  }

  void store(CronSpec& spec, const ValueBits& values, DaySet* days) const {
    switch (kind_) {
      case FieldKind::second:
        spec.seconds = values[0];
        break;
      case FieldKind::minute:
        spec.minutes = values[0];
        break;
      case FieldKind::hour:
        spec.hours = values[0];
        break;
      case FieldKind::month:
        spec.months = values[0];
        break;
      case FieldKind::week:
        spec.weeks = values[0];
        spec.weeks_restricted = (values[0] & 0x3F'FFFF'FFFF'FFFEULL) != 0x3F'FFFF'FFFF'FFFEULL;
        break;
      case FieldKind::year: {
        spec.years = values;
        int count = 0;
        for (const std::uint64_t word : values) {
          count += std::popcount(word);
        }
        spec.years_restricted = count != last_year - first_year + 1;
        break;
      }
      case FieldKind::day_of_month:
        days->days |= values[0];
        break;
      case FieldKind::day_of_week:
        for (int v = 0; v <= 7; ++v) {
          if ((values[0] >> v & 1U) != 0) {
            days->weekdays = static_cast<std::uint8_t>(days->weekdays | 1U << weekday_bit(v));
          }
        }
        break;
    }
  }

  std::string context_;
  Dialect dialect_;
  bool quartz_weekdays_;
  FieldKind kind_ = FieldKind::second;
  std::string_view label_;
};

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
  Parser parser{fmt::format("{}: \"{}\"", call, expression), Dialect::crontab, quartz_weekdays};
  std::string_view text = Parser::trim(expression);
  if (!text.empty() && text.front() == '@') {
    struct Macro {
      std::string_view name;
      std::string_view fields;
    };
    static constexpr Macro macros[] = {{"@yearly", "0 0 1 1 *"},  {"@annually", "0 0 1 1 *"},
                                       {"@monthly", "0 0 1 * *"}, {"@weekly", "0 0 * * 0"},
                                       {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
                                       {"@hourly", "0 * * * *"}};
    std::string lower{text};
    for (char& c : lower) {
      c = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    }
    for (const Macro& macro : macros) {
      if (lower == macro.name) {
        text = macro.fields;
        quartz_weekdays = false;
      }
    }
    if (!text.empty() && text.front() == '@') {
      throw InvalidTriggerError{fmt::format(
          "{}: unknown macro {}; expected @yearly, @annually, @monthly, @weekly, @daily, "
          "@midnight or @hourly",
          parser.context(), text)};
    }
    parser = Parser{parser.context(), Dialect::crontab, quartz_weekdays};
  }
  std::array<std::string_view, 7> fields{};
  std::size_t count = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) {
      ++i;
    }
    const std::size_t begin = i;
    while (i < text.size() && text[i] != ' ' && text[i] != '\t') {
      ++i;
    }
    if (i > begin) {
      if (count < fields.size()) {
        fields[count] = text.substr(begin, i - begin);
      }
      ++count;
    }
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
  CronSpec spec;
  for (std::size_t i = 0; i < values.size(); ++i) {
    const FieldDefault& field = apscheduler_fields[i];
    std::string_view text = values[i];
    if (text.empty()) {
      text = last_given != values.size() && i > last_given ? field.fallback : "*";
    }
    Parser parser{fmt::format("CronTrigger: {}", summary.empty() ? "(no fields)" : summary),
                  Dialect::fields, quartz_weekdays};
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
  Parser{fmt::format("CronTrigger: {}", summary), Dialect::fields, quartz_weekdays}
      .require_feasible(spec);
  return spec;
}

}  // namespace apsched::detail::cron
