// SPDX-License-Identifier: MIT
// The reader of one cron field (crontab or APScheduler syntax) into a CronSpec.
#pragma once

#include <apsched/detail/cron/calendar.hpp>
#include <apsched/detail/cron/field_scan.hpp>
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

/// Reads one expression. Errors name the context (the call and the whole expression, `call:
/// "text"` for a crontab line, `call: summary` for fields), the field, the offending token and
/// what was expected. The context is formatted only when an error is thrown: `call` and
/// `subject` must outlive the parser.
class Parser {
 public:
  Parser(std::string_view call, std::string_view subject, Dialect dialect,
         bool quartz_weekdays) noexcept
      : call_{call}, subject_{subject}, dialect_{dialect}, quartz_weekdays_{quartz_weekdays} {}

  /// Reads numeric weekdays as Quartz's (1 = Sunday) or cron's.
  void set_quartz_weekdays(bool quartz_weekdays) noexcept { quartz_weekdays_ = quartz_weekdays; }

  /// Parses `text` as field `kind` (`label` names it in messages) into `spec`.
  void parse_field(CronSpec& spec, FieldKind kind, std::string_view label, std::string_view text) {
    kind_ = kind;
    range_ = range_of(kind);
    label_ = label;
    if (text.empty()) {
      fail("is empty; expected a value, a range, a list or *");
    }
    ValueBits values{};
    DaySet* days = kind == FieldKind::day_of_month  ? &spec.day_of_month
                   : kind == FieldKind::day_of_week ? &spec.day_of_week
                                                    : nullptr;
    if (kind != FieldKind::year) {
      // Most fields are plain lists, read in one pass; the general path below reads the rest
      // and reports every error.
      PlainField plain{range_.min, range_.max};
      if (kind == FieldKind::month) {
        plain.months = &month_names;
      } else if (kind == FieldKind::day_of_week) {
        plain.weekdays = &weekday_names;
        plain.first_name = quartz_weekdays_ ? 1 : 0;
      }
      if (const std::optional<std::uint64_t> bits = scan_plain_field(text, plain)) {
        values[0] = *bits;
        store(spec, values, days);
        return;
      }
    }
    std::size_t begin = 0;
    while (begin <= text.size()) {
      std::size_t end = find_char(text, ',', begin);
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
    if (trivially_feasible(spec)) {
      return;
    }
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
        context(),
        dialect_ == Dialect::crontab ? "day-of-month, month and day-of-week"
                                     : "year, month, day, week and day_of_week",
        spec.years_restricted ? " in the years allowed" : " in any year")};
  }

  /// Whether `spec` obviously matches some date: in every year, some month (each field allows
  /// one) has every weekday and days 1-28.
  [[nodiscard]] static bool trivially_feasible(const CronSpec& spec) noexcept {
    if (spec.years_restricted || spec.weeks_restricted || !spec.day_of_month.only_plain ||
        !spec.day_of_week.only_plain) {
      return false;
    }
    constexpr std::uint64_t days_1_to_28 = 0x1FFF'FFFEULL;
    const bool dom = (spec.day_of_month.days & days_1_to_28) != 0;
    const bool dow = spec.day_of_week.weekdays != 0;
    if (spec.days_either) {
      return dom || dow;
    }
    return (dom && spec.day_of_week.every_day) || (dow && spec.day_of_month.every_day);
  }

  /// Throws InvalidTriggerError with `detail` about the current field.
  [[noreturn]] void fail(std::string_view detail) const {
    throw InvalidTriggerError{fmt::format("{}: {} {}", context(), label_, detail)};
  }

  /// The context errors start with.
  [[nodiscard]] std::string context() const {
    return dialect_ == Dialect::crontab ? fmt::format("{}: \"{}\"", call_, subject_)
                                        : fmt::format("{}: {}", call_, subject_);
  }

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

  [[nodiscard]] Range range() const noexcept { return range_; }

  [[nodiscard]] Range range_of(FieldKind kind) const noexcept {
    switch (kind) {
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

  static std::optional<int> number(std::string_view text) noexcept { return parse_number(text); }

  // A number or a name, checked against the field's range.
  int value(std::string_view token) const {
    const std::optional<int> parsed = number(token);
    if (!parsed && kind_ == FieldKind::month) {
      if (const std::optional<int> month = find_name(token, month_names)) {
        return *month + 1;
      }
    } else if (!parsed && kind_ == FieldKind::day_of_week) {
      if (const std::optional<int> weekday = find_name(token, weekday_names)) {
        return quartz_weekdays_ ? *weekday + 1 : *weekday;
      }
    }
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

  // Bits `from` to `to` (0 <= from <= to <= 62).
  static std::uint64_t bits_between(int from, int to) noexcept {
    return ((std::uint64_t{2} << to) - 1) & ~((std::uint64_t{1} << from) - 1);
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
    if (const std::size_t slash = find_char(item, '/'); slash != std::string_view::npos) {
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
    } else if (const std::size_t dash = find_char(base, '-'); dash != std::string_view::npos) {
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
    if (stride == 1 && kind_ != FieldKind::year) {
      // Every value of the range at once: the common case, and the fields' values fit in a word.
      values[0] |= bits_between(first, first <= last ? last : r.max);
      if (first > last) {
        values[0] |= bits_between(r.min, last);
      }
      return;
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
      add_weekday(days.nth_last_weekdays, 1, value(item.substr(0, item.size() - 1)));
      return true;
    }
    if (const std::size_t hash = find_char(item, '#'); hash != std::string_view::npos) {
      const int weekday = value(item.substr(0, hash));
      // n#k is the k-th weekday n of the month; n#-k the k-th from its end (n#-1 = nL).
      const std::string_view occurrence = item.substr(hash + 1);
      const bool from_end = !occurrence.empty() && occurrence.front() == '-';
      const std::optional<int> nth = number(occurrence.substr(from_end ? 1 : 0));
      if (!nth || *nth < 1 || *nth > 5) {
        fail(
            fmt::format("\"{}\": occurrence \"{}\" is out of range 1-5 (or -1 to -5, counted "
                        "from the month's end: -1 is the last)",
                        item, occurrence));
      }
      add_weekday(from_end ? days.nth_last_weekdays : days.nth_weekdays, *nth, weekday);
      return true;
    }
    return false;
  }

  // Marks the `nth` (1-5) occurrence of `weekday` (a value of the day-of-week field) in `slots`.
  void add_weekday(std::array<std::uint8_t, 5>& slots, int nth, int weekday) const noexcept {
    auto& slot = slots[static_cast<std::size_t>(nth - 1)];
    slot = static_cast<std::uint8_t>(slot | 1U << weekday_bit(weekday));
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
    range_ = range_of(kind_);
    const int weekday_value = value(weekday);
    kind_ = saved;
    range_ = range_of(kind_);
    add_weekday(nth == 0 ? days.nth_last_weekdays : days.nth_weekdays, nth == 0 ? 1 : nth,
                weekday_value);
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
      case FieldKind::day_of_week: {
        // Values to weekday bits (0 = Sunday): Quartz's 1-7 shift down by one; cron's 7 is 0.
        const std::uint64_t bits = quartz_weekdays_ ? values[0] >> 1 : values[0] | values[0] >> 7;
        days->weekdays = static_cast<std::uint8_t>(days->weekdays | (bits & 0x7FU));
        break;
      }
    }
  }

  std::string_view call_;
  std::string_view subject_;
  Dialect dialect_;
  bool quartz_weekdays_;
  FieldKind kind_ = FieldKind::second;
  Range range_{0, 59};  // of kind_
  std::string_view label_;
};

}  // namespace apsched::detail::cron
