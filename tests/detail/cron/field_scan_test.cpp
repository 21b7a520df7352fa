// SPDX-License-Identifier: MIT
#include <apsched/detail/cron/field_scan.hpp>

#include <apsched/detail/cron/parser.hpp>
#include <apsched/error.hpp>

#include "support/catch.hpp"

#include <fmt/format.h>

#include <array>
#include <optional>
#include <random>
#include <string>

namespace detail_cron_field_scan_test {

using apsched::detail::cron::CronSpec;
using apsched::detail::cron::DaySet;
using apsched::detail::cron::Dialect;
using apsched::detail::cron::FieldKind;
using apsched::detail::cron::Parser;

namespace {

bool same_days(const DaySet& a, const DaySet& b) {
  return a.days == b.days && a.weekdays == b.weekdays && a.last_day_offsets == b.last_day_offsets &&
         a.nearest_weekdays == b.nearest_weekdays &&
         a.last_nearest_weekdays == b.last_nearest_weekdays && a.nth_weekdays == b.nth_weekdays &&
         a.nth_last_weekdays == b.nth_last_weekdays;
}

bool same(const CronSpec& a, const CronSpec& b) {
  return a.seconds == b.seconds && a.minutes == b.minutes && a.hours == b.hours &&
         a.months == b.months && a.weeks == b.weeks && same_days(a.day_of_month, b.day_of_month) &&
         same_days(a.day_of_week, b.day_of_week);
}

// The field read by Parser::parse_field, or its error message.
struct Outcome {
  std::optional<CronSpec> spec;
  std::string error;
};

Outcome parse(Dialect dialect, bool quartz, FieldKind kind, const std::string& text) {
  Outcome outcome;
  try {
    CronSpec spec;
    Parser{"test", "expression", dialect, quartz}.parse_field(spec, kind, "field", text);
    outcome.spec = spec;
  } catch (const apsched::InvalidTriggerError& error) {
    outcome.error = error.what();
  }
  return outcome;
}

}  // namespace

TEST_CASE("cron one-pass reader of plain fields agrees with the general parser", "[cron][parse]") {
  // A leading blank makes the one-pass reader decline a field; the general parser trims it away,
  // so it reads the same field. Every outcome, value or error, must be the same either way.
  static constexpr std::array<const char*, 30> tokens{
      "*",  "?",  "0",  "1",   "5",       "7",   "9",   "12",  "23",  "31",
      "53", "59", "60", "005", "1234567", "jan", "FEB", "mon", "Sun", "fri",
      "L",  "W",  "5L", "3#2", "#",       "-",   "/",   ",",   "x",   "-1"};
  constexpr std::array<FieldKind, 7> kinds{
      FieldKind::second, FieldKind::minute,      FieldKind::hour, FieldKind::day_of_month,
      FieldKind::month,  FieldKind::day_of_week, FieldKind::week};
  std::mt19937 random{20240601};
  int plain = 0;
  int accepted = 0;
  for (int i = 0; i < 40'000; ++i) {
    std::string text;
    const int count = 1 + static_cast<int>(random() % 5);
    for (int k = 0; k < count; ++k) {
      text += tokens[random() % tokens.size()];
    }
    const FieldKind kind = kinds[random() % kinds.size()];
    const Dialect dialect = random() % 4 == 0 ? Dialect::fields : Dialect::crontab;
    const bool quartz = random() % 3 == 0;
    CAPTURE(text, static_cast<int>(kind), dialect == Dialect::crontab, quartz);
    const Outcome direct = parse(dialect, quartz, kind, text);
    const Outcome general = parse(dialect, quartz, kind, " " + text);
    REQUIRE(direct.spec.has_value() == general.spec.has_value());
    if (direct.spec) {
      REQUIRE(same(*direct.spec, *general.spec));
      ++accepted;
    } else {
      // Messages quote the field or the item; the general one may show the blank.
      std::string expected = general.error;
      const std::string blank_quoted = fmt::format("\" {}\"", text);
      if (const std::size_t at = expected.find(blank_quoted); at != std::string::npos) {
        expected.replace(at, blank_quoted.size(), fmt::format("\"{}\"", text));
      }
      REQUIRE(direct.error == expected);
    }
    plain += apsched::detail::cron::scan_plain_field(text, apsched::detail::cron::PlainField{0, 59})
                 ? 1
                 : 0;
  }
  CHECK(accepted > 2'500);
  CHECK(plain > 1'000);
}

TEST_CASE("cron one-pass reader reads values, names, ranges, steps and lists", "[cron][parse]") {
  using apsched::detail::cron::month_names;
  using apsched::detail::cron::PlainField;
  using apsched::detail::cron::scan_plain_field;
  using apsched::detail::cron::weekday_names;
  const PlainField minute{0, 59};
  CHECK(scan_plain_field("*", minute) == 0x0FFF'FFFF'FFFF'FFFFULL);
  CHECK(scan_plain_field("5,7-9", minute) == (1U << 5 | 1U << 7 | 1U << 8 | 1U << 9));
  CHECK(scan_plain_field("58-1", minute) == (1ULL << 58 | 1ULL << 59 | 1U << 0 | 1U << 1));
  CHECK(scan_plain_field("*/20", minute) == (1ULL << 0 | 1ULL << 20 | 1ULL << 40));
  CHECK(scan_plain_field("50/5", minute) == (1ULL << 50 | 1ULL << 55));
  CHECK(scan_plain_field("000005", minute) == 1U << 5);
  const PlainField month{1, 12, &month_names};
  CHECK(scan_plain_field("JAN-mar", month) == (1U << 1 | 1U << 2 | 1U << 3));
  const PlainField weekday{0, 7, nullptr, &weekday_names, 0};
  // Cron's weekdays run 0-7, so a wrapping range passes 7 (Sunday again) on its way to 0.
  CHECK(scan_plain_field("fri-SUN", weekday) == (1U << 5 | 1U << 6 | 1U << 7 | 1U << 0));
  // Declined, for the general parser to read or to explain.
  for (const char* text : {"", "0000005", "60", "*/0", "*/61", "4-6/3", "5-5/1", "1,", ",1", "5L",
                           "L", "?", "1 ", "jan", "x", "5-", "-5", "*5", "1#2"}) {
    CAPTURE(text);
    CHECK_FALSE(scan_plain_field(text, minute).has_value());
  }
}

}  // namespace detail_cron_field_scan_test
