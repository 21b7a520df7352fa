// SPDX-License-Identifier: MIT
#include <apsched/cron/cron_trigger.hpp>

#include "support/catch.hpp"
#include "support/cron_time.hpp"
#include "support/cron_triggers.hpp"

#include <chrono>
#include <latch>
#include <string>
#include <thread>
#include <vector>

namespace triggers_cron_test {

using namespace std::chrono_literals;
using apsched::CronFields;
using apsched::CronOptions;
using apsched::CronTrigger;
using apsched::FoldPolicy;
using apsched::GapPolicy;
using apsched::TimePoint;
using apsched::test::contains;
using apsched::test::cron;
using apsched::test::fields;
using apsched::test::fires;
using apsched::test::utc;
using Strings = std::vector<std::string>;

namespace {
CronOptions in(const char* zone, GapPolicy gap = GapPolicy::shift,
               FoldPolicy fold = FoldPolicy::once) {
  CronOptions options;
  options.timezone = zone;
  options.gap_policy = gap;
  options.fold_policy = fold;
  return options;
}
}  // namespace

TEST_CASE("cron trigger reads the five cron(5) fields", "[trigger][cron]") {
  CHECK(fires(cron("*/15 * * * *"), utc("2024-01-01 00:07:30"), 3) ==
        Strings{"2024-01-01 00:15:00", "2024-01-01 00:30:00", "2024-01-01 00:45:00"});
  CHECK(fires(cron("5,10-12 3 * * *"), utc("2024-01-01"), 5) ==
        Strings{"2024-01-01 03:05:00", "2024-01-01 03:10:00", "2024-01-01 03:11:00",
                "2024-01-01 03:12:00", "2024-01-02 03:05:00"});
  CHECK(fires(cron("0 0-23/6 * * *"), utc("2024-01-01 01:00"), 3) ==
        Strings{"2024-01-01 06:00:00", "2024-01-01 12:00:00", "2024-01-01 18:00:00"});
  // `a/n` means a-max/n, as in cronie and Quartz.
  CHECK(fires(cron("50/5 * * * *"), utc("2024-01-01"), 3) ==
        Strings{"2024-01-01 00:50:00", "2024-01-01 00:55:00", "2024-01-01 01:50:00"});
  CHECK(fires(cron("0 0 1 jan,JUL *"), utc("2024-02-01"), 2) ==
        Strings{"2024-07-01 00:00:00", "2025-01-01 00:00:00"});
}

TEST_CASE("cron trigger reads weekday 0 and 7 and names in any case as the same day",
          "[trigger][cron]") {
  const Strings sundays{"2024-01-07 00:00:00", "2024-01-14 00:00:00"};
  CHECK(fires(cron("0 0 * * 0"), utc("2024-01-01"), 2) == sundays);
  CHECK(fires(cron("0 0 * * 7"), utc("2024-01-01"), 2) == sundays);
  CHECK(fires(cron("0 0 * * Sun"), utc("2024-01-01"), 2) == sundays);
  CHECK(fires(cron("0 0 * * fri-mon"), utc("2024-01-01 01:00"), 4) ==
        Strings{"2024-01-05 00:00:00", "2024-01-06 00:00:00", "2024-01-07 00:00:00",
                "2024-01-08 00:00:00"});
  CHECK(fires(cron("0 0 * * 5-7"), utc("2024-01-01"), 3) ==
        Strings{"2024-01-05 00:00:00", "2024-01-06 00:00:00", "2024-01-07 00:00:00"});
}

TEST_CASE("cron trigger fires on either day field when both are restricted", "[trigger][cron]") {
  // 2024-09-13 is a Friday; 2024-10-13 a Sunday.
  CHECK(fires(cron("0 0 13 * FRI"), utc("2024-09-21"), 4) ==
        Strings{"2024-09-27 00:00:00", "2024-10-04 00:00:00", "2024-10-11 00:00:00",
                "2024-10-13 00:00:00"});
  // cronie: a day field starting with * is unrestricted, so the two are ANDed: odd days that
  // are Mondays.
  CHECK(fires(cron("0 0 */2 * MON"), utc("2024-01-01 01:00"), 3) ==
        Strings{"2024-01-15 00:00:00", "2024-01-29 00:00:00", "2024-02-05 00:00:00"});
  // `?` counts as unrestricted too.
  CHECK(fires(cron("0 0 0 ? * MON"), utc("2024-01-02"), 1) == Strings{"2024-01-08 00:00:00"});
}

TEST_CASE("cron trigger reads 6 fields as seconds first and 7 as seconds first, year last",
          "[trigger][cron]") {
  CHECK(fires(cron("*/20 * * * * *"), utc("2024-01-01 00:00:01"), 3) ==
        Strings{"2024-01-01 00:00:20", "2024-01-01 00:00:40", "2024-01-01 00:01:00"});
  CHECK(fires(cron("0 0 12 * * MON-FRI"), utc("2024-01-05 12:00:01"), 2) ==
        Strings{"2024-01-08 12:00:00", "2024-01-09 12:00:00"});
  CHECK(fires(cron("0 0 0 1 1 ? 2030,2032"), utc("2024-06-01"), 3) ==
        Strings{"2030-01-01 00:00:00", "2032-01-01 00:00:00"});
  CHECK(fires(cron("0 0 0 1 1 ? 2020"), utc("2024-06-01"), 1).empty());
}

TEST_CASE("cron trigger supports the Quartz day extensions", "[trigger][cron]") {
  // Last day of the month, also in leap and non-leap years.
  CHECK(fires(cron("0 0 0 L * ?"), utc("2024-01-15"), 3) ==
        Strings{"2024-01-31 00:00:00", "2024-02-29 00:00:00", "2024-03-31 00:00:00"});
  CHECK(fires(cron("0 0 0 L 2 ?"), utc("2099-03-01"), 2) ==
        Strings{"2100-02-28 00:00:00", "2101-02-28 00:00:00"});
  CHECK(fires(cron("0 0 0 L-2 2 ?"), utc("2024-01-01"), 1) == Strings{"2024-02-27 00:00:00"});
  // 2024-06-15 is a Saturday (-> Friday 14th); 2024-06-01 a Saturday (-> Monday 3rd).
  CHECK(fires(cron("0 0 0 15W 6 ?"), utc("2024-01-01"), 1) == Strings{"2024-06-14 00:00:00"});
  CHECK(fires(cron("0 0 0 1W 6 ?"), utc("2024-01-01"), 1) == Strings{"2024-06-03 00:00:00"});
  // 2024-08-31 is a Saturday; 2024-03-31 a Sunday.
  CHECK(fires(cron("0 0 0 LW 8 ?"), utc("2024-01-01"), 1) == Strings{"2024-08-30 00:00:00"});
  CHECK(fires(cron("0 0 0 LW 3 ?"), utc("2024-01-01"), 1) == Strings{"2024-03-29 00:00:00"});
  // Last Friday and second Friday of January 2024 (Fridays: 5, 12, 19, 26).
  CHECK(fires(cron("0 0 0 ? 1 FRIL 2024"), utc("2024-01-01"), 1) == Strings{"2024-01-26 00:00:00"});
  CHECK(fires(cron("0 0 0 ? 1 5L 2024"), utc("2024-01-01"), 1) == Strings{"2024-01-26 00:00:00"});
  CHECK(fires(cron("0 0 0 ? 1 FRI#2 2024"), utc("2024-01-01"), 1) ==
        Strings{"2024-01-12 00:00:00"});
  // A fifth Friday exists only in some months.
  CHECK(fires(cron("0 0 0 ? * 5#5"), utc("2024-01-01"), 2) ==
        Strings{"2024-03-29 00:00:00", "2024-05-31 00:00:00"});
}

TEST_CASE("cron trigger reads L alone in day-of-week as every Saturday, as Quartz does",
          "[trigger][cron]") {
  // 2011-04-30 was a Saturday; the last Saturday of May 2011 is the 28th.
  CHECK(fires(cron("0 30 23 ? * L"), utc("2011-04-30 23:30:01"), 3) ==
        Strings{"2011-05-07 23:30:00", "2011-05-14 23:30:00", "2011-05-21 23:30:00"});
  CHECK(fires(cron("0 0 * * L"), utc("2011-05-01"), 2) ==
        Strings{"2011-05-07 00:00:00", "2011-05-14 00:00:00"});
  CHECK(fires(cron("0 0 * * l"), utc("2011-05-01"), 1) ==
        fires(cron("0 0 * * SAT"), utc("2011-05-01"), 1));
  // With a number before it, L is still the last such weekday of the month.
  CHECK(fires(cron("0 0 * * 6L"), utc("2011-05-01"), 1) == Strings{"2011-05-28 00:00:00"});
}

TEST_CASE("cron trigger reads Quartz's L-nW as the weekday nearest n days before the last",
          "[trigger][cron]") {
  // September 2010: L-5 is Saturday the 25th -> Friday 24th; October: L-5 is Tuesday the 26th.
  CHECK(fires(cron("0 15 10 L-5W * ? 2010"), utc("2010-09-01"), 3) ==
        Strings{"2010-09-24 10:15:00", "2010-10-26 10:15:00", "2010-11-25 10:15:00"});
  // October 2010: L-1 is Saturday the 30th (-> Friday 29th); November: Monday the 29th, once.
  CHECK(fires(cron("0 0 12 L-1W,L-1 * ? 2010"), utc("2010-10-01"), 3) ==
        Strings{"2010-10-29 12:00:00", "2010-10-30 12:00:00", "2010-11-29 12:00:00"});
  // L-0W is LW; an offset past the month's first day matches nothing in that month.
  CHECK(fires(cron("0 0 0 L-0W 8 ?"), utc("2024-01-01"), 1) == Strings{"2024-08-30 00:00:00"});
  CHECK(fires(cron("0 0 0 L-29W * ?"), utc("2024-02-01"), 2) ==
        Strings{"2024-03-01 00:00:00", "2024-04-01 00:00:00"});
}

TEST_CASE("cron trigger rejects a step larger than the range it steps through",
          "[trigger][cron][error]") {
  CHECK_THROWS_AS(fields({.day = "*/31"}), apsched::InvalidTriggerError);
  CHECK_THROWS_WITH(fields({.day = "*/31"}),
                    contains(R"(day step 31 in "*/31" is larger than the range 1-31 it steps )"
                             R"(through; it would match only 1; expected a step of 1-30)"));
  CHECK_THROWS_WITH(fields({.day = "4-6/3"}),
                    contains(R"(day step 3 in "4-6/3" is larger than the range 4-6)"));
  CHECK_THROWS_WITH(fields({.minute = "*/60"}),
                    contains(R"(minute step 60 in "*/60" is larger than the range 0-59)"));
  CHECK_THROWS_WITH(cron("*/60 * * * *"),
                    contains(R"(from_crontab: "*/60 * * * *": minute step 60 in "*/60" is )"
                             R"(larger than the range 0-59)"));
  CHECK_THROWS_WITH(cron("0 0 4-6/3 * *"),
                    contains(R"(day-of-month step 3 in "4-6/3" is larger than the range 4-6)"));
  CHECK_THROWS_WITH(cron("0 5-5/2 * * *"),
                    contains(R"(hour step 2 in "5-5/2" is larger than the range 5-5 it steps )"
                             R"(through; it would match only 5; expected no step on a single )"
                             R"(value)"));
  // A reversed range steps through its wrapped length: 22-2 spans 4 hours.
  CHECK_THROWS_WITH(cron("0 22-2/5 * * *"),
                    contains(R"(hour step 5 in "22-2/5" is larger than the range 22-2)"));
  // The largest steps that fit, and Quartz's a/n (a-max/n), stay accepted.
  CHECK(fires(fields({.day = "*/30"}), utc("2024-01-01"), 2) ==
        Strings{"2024-01-01 00:00:00", "2024-01-31 00:00:00"});
  CHECK(fires(cron("0 0 4-6/2 1 *"), utc("2024-01-01"), 2) ==
        Strings{"2024-01-04 00:00:00", "2024-01-06 00:00:00"});
  CHECK(fires(cron("55/30 * * * *"), utc("2024-01-01"), 2) ==
        Strings{"2024-01-01 00:55:00", "2024-01-01 01:55:00"});
}

TEST_CASE("cron trigger wraps a reversed range past the field's end, in both forms",
          "[trigger][cron]") {
  const Strings night{"2024-01-01 00:00:00", "2024-01-01 01:00:00", "2024-01-01 02:00:00",
                      "2024-01-01 22:00:00", "2024-01-01 23:00:00", "2024-01-02 00:00:00"};
  CHECK(fires(cron("0 22-2 * * *"), utc("2024-01-01"), 6) == night);
  CHECK(fires(fields({.hour = "22-2"}), utc("2024-01-01"), 6) == night);
  CHECK(fires(cron("0 22-2/2 * * *"), utc("2024-01-01"), 3) ==
        Strings{"2024-01-01 00:00:00", "2024-01-01 02:00:00", "2024-01-01 22:00:00"});
  CHECK(fires(fields({.hour = "22-2/2"}), utc("2024-01-01"), 3) ==
        Strings{"2024-01-01 00:00:00", "2024-01-01 02:00:00", "2024-01-01 22:00:00"});
  // FRI-MON: Friday to Monday; 2024-01-01 is a Monday.
  CHECK(fires(cron("0 0 * * FRI-MON"), utc("2024-01-01"), 5) ==
        Strings{"2024-01-01 00:00:00", "2024-01-05 00:00:00", "2024-01-06 00:00:00",
                "2024-01-07 00:00:00", "2024-01-08 00:00:00"});
  CHECK(fires(fields({.day_of_week = "fri-mon"}), utc("2024-01-01"), 2) ==
        Strings{"2024-01-01 00:00:00", "2024-01-05 00:00:00"});
}

TEST_CASE("cron trigger reads Quartz weekday numbers when asked", "[trigger][cron]") {
  CronOptions options;
  options.weekday_numbering = apsched::WeekdayNumbering::quartz;
  // Quartz: 2 = Monday, 6#2 = second Friday, 1 = Sunday.
  CHECK(fires(cron("0 0 0 ? * 2", options), utc("2024-01-02"), 1) ==
        Strings{"2024-01-08 00:00:00"});
  CHECK(fires(cron("0 0 0 ? 1 6#2 2024", options), utc("2024-01-01"), 1) ==
        Strings{"2024-01-12 00:00:00"});
  CHECK(fires(cron("0 0 0 ? * 1", options), utc("2024-01-01"), 1) ==
        Strings{"2024-01-07 00:00:00"});
  CHECK_THROWS_WITH(cron("0 0 0 ? * 0", options), contains("day-of-week 0 is out of range 1-7"));
}

TEST_CASE("cron trigger expands the macros", "[trigger][cron]") {
  const TimePoint from = utc("2024-05-15 10:30");
  CHECK(fires(cron("@yearly"), from, 1) == Strings{"2025-01-01 00:00:00"});
  CHECK(fires(cron("@annually"), from, 1) == Strings{"2025-01-01 00:00:00"});
  CHECK(fires(cron("@monthly"), from, 1) == Strings{"2024-06-01 00:00:00"});
  CHECK(fires(cron("@weekly"), from, 1) == Strings{"2024-05-19 00:00:00"});
  CHECK(fires(cron("@daily"), from, 1) == Strings{"2024-05-16 00:00:00"});
  CHECK(fires(cron("@MIDNIGHT"), from, 1) == Strings{"2024-05-16 00:00:00"});
  CHECK(fires(cron("@hourly"), from, 1) == Strings{"2024-05-15 11:00:00"});
  CHECK(fires(cron("@minutely"), from + 1s, 2) ==
        Strings{"2024-05-15 10:31:00", "2024-05-15 10:32:00"});
  CHECK(fires(cron("@Secondly"), from + 1500ms, 2) ==
        Strings{"2024-05-15 10:30:02", "2024-05-15 10:30:03"});
  CHECK(cron("@minutely").expression() == "@minutely");
  // The macros keep cron's weekdays whatever the numbering asked for.
  CronOptions quartz;
  quartz.weekday_numbering = apsched::WeekdayNumbering::quartz;
  CHECK(fires(cron("@weekly", quartz), from, 1) == Strings{"2024-05-19 00:00:00"});
}

TEST_CASE("cron trigger reads n#-k as the k-th weekday n from the month's end", "[trigger][cron]") {
  // January 2024: Fridays 5, 12, 19, 26; Sundays 7, 14, 21, 28; March 2024 has five Fridays.
  CHECK(fires(cron("0 0 * 1 FRI#-1"), utc("2024-01-01"), 1) == Strings{"2024-01-26 00:00:00"});
  CHECK(fires(cron("0 0 * 1 5#-1"), utc("2024-01-01"), 1) ==
        fires(cron("0 0 * 1 5L"), utc("2024-01-01"), 1));
  CHECK(fires(cron("0 0 * 1 fri#-2"), utc("2024-01-01"), 1) == Strings{"2024-01-19 00:00:00"});
  CHECK(fires(cron("0 0 * 1 0#-4"), utc("2024-01-01"), 1) == Strings{"2024-01-07 00:00:00"});
  // A fifth-last Friday exists only in months with five Fridays; it is then the first.
  CHECK(fires(cron("0 0 * * 5#-5"), utc("2024-01-01"), 2) ==
        Strings{"2024-03-01 00:00:00", "2024-05-03 00:00:00"});
  // In lists, with the either-day rule, and with Quartz numbers (6 = Friday).
  CHECK(fires(cron("0 0 * 1 MON#1,FRI#-1"), utc("2024-01-01 01:00"), 2) ==
        Strings{"2024-01-26 00:00:00", "2025-01-06 00:00:00"});
  CHECK(fires(cron("0 0 15 1 FRI#-1"), utc("2024-01-01"), 2) ==
        Strings{"2024-01-15 00:00:00", "2024-01-26 00:00:00"});
  CronOptions quartz;
  quartz.weekday_numbering = apsched::WeekdayNumbering::quartz;
  CHECK(fires(cron("0 0 0 ? 1 6#-1", quartz), utc("2024-01-01"), 1) ==
        Strings{"2024-01-26 00:00:00"});
}

TEST_CASE("cron trigger handles leap years and the end of TimePoint", "[trigger][cron]") {
  CHECK(fires(cron("0 0 29 2 *"), utc("1999-03-01"), 2) ==
        Strings{"2000-02-29 00:00:00", "2004-02-29 00:00:00"});
  CHECK(fires(cron("0 0 29 2 *"), utc("2097-03-01"), 1) == Strings{"2104-02-29 00:00:00"});
  CHECK(fires(cron("0 0 0 1 1 ? 2262"), utc("2261-06-01"), 2) == Strings{"2262-01-01 00:00:00"});
  CHECK(fires(cron("0 0 0 1 5 ?"), utc("2262-01-02"), 1).empty());
  CHECK_FALSE(cron("* * * * *").next_fire_time(TimePoint::max(), TimePoint::max()).has_value());
}

TEST_CASE("cron trigger answers strictly after previous and not before now", "[trigger][cron]") {
  const CronTrigger trigger = cron("0 * * * *");
  const TimePoint hour = utc("2024-01-01 05:00");
  CHECK(trigger.next_fire_time(std::nullopt, hour) == hour);
  CHECK(trigger.next_fire_time(hour, hour) == hour + 1h);
  CHECK(trigger.next_fire_time(hour - 1ns, hour - 2h) == hour);
  CHECK(trigger.next_fire_time(std::nullopt, hour + 1ns) == hour + 1h);
  CHECK(trigger.next_fire_time(hour - 3h, hour + 1ns) == hour + 1h);
}

TEST_CASE("cron trigger honours start and end dates, inclusive", "[trigger][cron]") {
  CronOptions options;
  options.start_date = utc("2024-01-01 02:00");
  options.end_date = utc("2024-01-01 04:00");
  const CronTrigger trigger = cron("0 * * * *", options);
  CHECK(fires(trigger, utc("2023-12-31"), 5) ==
        Strings{"2024-01-01 02:00:00", "2024-01-01 03:00:00", "2024-01-01 04:00:00"});
  CHECK(trigger.start_date() == options.start_date);
  CHECK(trigger.end_date() == options.end_date);
  options.end_date = utc("2023-01-01");
  CHECK_THROWS_AS(cron("0 * * * *", options), apsched::InvalidTriggerError);
  CHECK_THROWS_WITH(cron("0 * * * *", options), contains("end_date 2023-01-01"));
}

TEST_CASE("cron trigger reads APScheduler fields as an AND with defaults", "[trigger][cron]") {
  // Fields less significant than the last one given default to their minimum.
  CHECK(fires(fields({.hour = "5"}), utc("2024-01-01 06:00"), 2) ==
        Strings{"2024-01-02 05:00:00", "2024-01-03 05:00:00"});
  CHECK(fires(fields({.month = "6"}), utc("2024-01-01"), 2) ==
        Strings{"2024-06-01 00:00:00", "2025-06-01 00:00:00"});
  // More significant ones default to *.
  CHECK(fires(fields({.minute = "30"}), utc("2024-01-01 00:40"), 2) ==
        Strings{"2024-01-01 01:30:00", "2024-01-01 02:30:00"});
  // Both day fields given: AND, unlike a crontab.
  CHECK(fires(fields({.day = "13", .day_of_week = "fri"}), utc("2024-01-01"), 2) ==
        Strings{"2024-09-13 00:00:00", "2024-12-13 00:00:00"});
  CHECK(fires(fields({.day = "3rd fri", .hour = "9"}), utc("2024-01-01"), 2) ==
        Strings{"2024-01-19 09:00:00", "2024-02-16 09:00:00"});
  CHECK(fires(fields({.day = "last sun"}), utc("2024-01-01"), 1) == Strings{"2024-01-28 00:00:00"});
  CHECK(fires(fields({.day = "last"}), utc("2024-02-01"), 1) == Strings{"2024-02-29 00:00:00"});
  // ISO week 1 of 2025 starts on Monday 2024-12-30, of 2026 on 2025-12-29.
  CHECK(fires(fields({.week = "1", .day_of_week = "mon"}), utc("2024-06-01"), 2) ==
        Strings{"2024-12-30 00:00:00", "2025-12-29 00:00:00"});
  CHECK(fires(fields({.year = "2030", .month = "jan-mar", .day = "1"}), utc("2024-06-01"), 4) ==
        Strings{"2030-01-01 00:00:00", "2030-02-01 00:00:00", "2030-03-01 00:00:00"});
  // Numeric weekdays are Unix-style: 0 = Sunday.
  CHECK(fires(fields({.day_of_week = "0"}), utc("2024-01-01"), 1) ==
        Strings{"2024-01-07 00:00:00"});
  // No field at all: every second.
  CHECK(fires(fields({}), utc("2024-01-01"), 2) ==
        Strings{"2024-01-01 00:00:00", "2024-01-01 00:00:01"});
}

TEST_CASE("cron trigger rejects bad crontab strings naming expression, field, token and range",
          "[trigger][cron][error]") {
  CHECK_THROWS_AS(cron("61 0 * * *"), apsched::InvalidTriggerError);
  CHECK_THROWS_WITH(cron("61 0 * * *"),
                    R"(from_crontab: "61 0 * * *": minute 61 is out of range 0-59)");
  CHECK_THROWS_WITH(cron("0 61 * * *"),
                    R"(from_crontab: "0 61 * * *": hour 61 is out of range 0-23)");
  CHECK_THROWS_WITH(cron("0 0 0 * *"), contains("day-of-month 0 is out of range 1-31"));
  CHECK_THROWS_WITH(cron("0 0 * 13 *"), contains("month 13 is out of range 1-12"));
  CHECK_THROWS_WITH(cron("0 0 * * 8"), contains("day-of-week 8 is out of range 0-7"));
  CHECK_THROWS_WITH(cron("60 * * * * *"), contains("second 60 is out of range 0-59"));
  CHECK_THROWS_WITH(cron("0 0 0 1 1 ? 1969"), contains("year 1969 is out of range 1970-2262"));
  CHECK_THROWS_WITH(cron("0 0 * FOO *"),
                    contains(R"(month "FOO" is not a number or month name; expected 1-12)"));
  CHECK_THROWS_WITH(cron("*/0 * * * *"), contains(R"(minute step 0 in "*/0" is out of range)"));
  CHECK_THROWS_WITH(cron("1,,2 * * * *"), contains("empty list item"));
  CHECK_THROWS_WITH(cron("0 0 * *"), contains("expected 5 fields"));
  CHECK_THROWS_WITH(cron("0 0 * * * * * *"), contains("got 8 fields"));
  CHECK_THROWS_WITH(cron(""), contains("got 0 fields"));
  CHECK_THROWS_WITH(cron("@reboot"), contains("unknown macro @reboot"));
  CHECK_THROWS_WITH(cron("? * * * *"), contains("? is allowed only in day-of-month"));
  CHECK_THROWS_WITH(cron("0 0 0 ? * MON#6"), contains(R"(occurrence "6" is out of range 1-5)"));
  CHECK_THROWS_WITH(cron("0 0 * * FRI#-6"),
                    R"(from_crontab: "0 0 * * FRI#-6": day-of-week "FRI#-6": occurrence "-6" is )"
                    "out of range 1-5 (or -1 to -5, counted from the month's end: -1 is the last)");
  CHECK_THROWS_WITH(cron("0 0 * * FRI#-0"), contains(R"(occurrence "-0" is out of range)"));
  CHECK_THROWS_WITH(cron("0 0 * * FRI#0"), contains(R"(occurrence "0" is out of range)"));
  CHECK_THROWS_WITH(cron("0 0 * * FRI#--1"), contains(R"(occurrence "--1" is out of range)"));
  CHECK_THROWS_WITH(cron("0 0 * * FRI#"), contains(R"(occurrence "" is out of range)"));
  CHECK_THROWS_WITH(cron("@every_minute"),
                    R"(from_crontab: "@every_minute": unknown macro @every_minute; expected )"
                    "@yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly, "
                    "@minutely or @secondly");
  CHECK_THROWS_WITH(cron("0 0 0 L-31 * ?"),
                    contains(R"("L-31": offset "31" is not a number of days 0-30; expected L-n)"));
  CHECK_THROWS_WITH(cron("0 0 0 L-31W * ?"),
                    contains(R"("L-31W": offset "31" is not a number of days 0-30)"));
  CHECK_THROWS_WITH(cron("0 0 0 1 1 ? 2030-2020"), contains("range \"2030-2020\" is reversed"));
}

TEST_CASE("cron trigger rejects expressions that can never fire", "[trigger][cron][error]") {
  CHECK_THROWS_AS(cron("0 0 30 2 *"), apsched::InvalidTriggerError);
  CHECK_THROWS_WITH(cron("0 0 30 2 *"),
                    contains(R"(from_crontab: "0 0 30 2 *": the day-of-month, month and )"
                             "day-of-week fields match no date in any year"));
  CHECK_THROWS_WITH(cron("0 0 31 4,6,9,11 *"), contains("could never fire"));
  CHECK_THROWS_WITH(fields({.month = "2", .day = "30"}), contains("could never fire"));
  CHECK_THROWS_WITH(fields({.year = "2025", .month = "2", .day = "29"}),
                    contains("match no date in the years allowed"));
  // With the either-day rule, February 30 or any Monday in February is fine.
  CHECK_NOTHROW(cron("0 0 30 2 MON"));
  CHECK_NOTHROW(cron("0 0 29 2 *"));
}

TEST_CASE("cron trigger rejects bad APScheduler fields", "[trigger][cron][error]") {
  CHECK_THROWS_WITH(fields({.minute = "61"}),
                    R"(CronTrigger: minute="61": minute 61 is out of range 0-59)");
  CHECK_THROWS_WITH(fields({.day = "6th fri"}), contains(R"("6th" is not an occurrence)"));
  CHECK_THROWS_WITH(fields({.day_of_week = "mon-xyz"}),
                    contains(R"(day_of_week "xyz" is not a number or weekday name)"));
  CHECK_THROWS_WITH(fields({.week = "54"}), contains("week 54 is out of range 1-53"));
  CHECK_THROWS_WITH(fields({.day = "L"}), contains("day \"L\" is not a number"));
}

TEST_CASE("cron trigger names an unknown or undeterminable zone and how to set one",
          "[trigger][cron][error][zone]") {
  CHECK_THROWS_AS(cron("* * * * *", in("Mars/Olympus_Mons")), apsched::UnknownTimeZoneError);
  CHECK_THROWS_WITH(cron("* * * * *", in("Mars/Olympus_Mons")),
                    contains(R"(unknown time zone "Mars/Olympus_Mons")"));
  CHECK_THROWS_WITH(cron("* * * * *", in("Mars/Olympus_Mons")), contains("CronOptions::timezone"));
}

TEST_CASE("cron trigger fires at whole seconds after a fractional now", "[trigger][cron]") {
  const TimePoint t = utc("2024-01-01 00:00:05") + 250ms;
  CHECK(cron("* * * * * *").next_fire_time(std::nullopt, t) == utc("2024-01-01 00:00:06"));
}

TEST_CASE("cron trigger is cheap to copy, describes itself and reports jitter", "[trigger][cron]") {
  CronOptions options = in("Europe/Berlin");
  options.jitter = 30s;
  const CronTrigger trigger = CronTrigger::from_crontab("0 0 12 * * MON-FRI", options);
  const CronTrigger copy = trigger;  // NOLINT(performance-unnecessary-copy-initialization)
  CHECK(copy.next_fire_time(std::nullopt, utc("2024-01-01")) ==
        trigger.next_fire_time(std::nullopt, utc("2024-01-01")));
  CHECK(trigger.jitter() == 30s);
  CHECK(trigger.timezone() == "Europe/Berlin");
  CHECK(trigger.describe() == "cron[0 0 12 * * MON-FRI, tz=Europe/Berlin, jitter=30s]");
  CHECK(fields({.day = "3rd fri"}).describe() == R"(cron[day="3rd fri", tz=UTC])");
  STATIC_REQUIRE(apsched::Trigger<CronTrigger>);
  STATIC_REQUIRE(apsched::JitteredTrigger<CronTrigger>);
  STATIC_REQUIRE(apsched::DescribedTrigger<CronTrigger>);
  CHECK(sizeof(CronTrigger) <= 2 * sizeof(void*));
}

TEST_CASE("cron trigger shifts a skipped wall time to the end of the gap, or skips it",
          "[trigger][cron][zone][dst]") {
  // Europe/Berlin springs from 02:00 CET to 03:00 CEST at 01:00 UTC on 2024-03-31.
  CHECK(fires(cron("30 2 * * *", in("Europe/Berlin")), utc("2024-03-30 12:00"), 3) ==
        Strings{"2024-03-31 01:00:00", "2024-04-01 00:30:00", "2024-04-02 00:30:00"});
  CHECK(fires(cron("30 2 * * *", in("Europe/Berlin", GapPolicy::skip)), utc("2024-03-30 12:00"),
              2) == Strings{"2024-04-01 00:30:00", "2024-04-02 00:30:00"});
  // A job whose own time follows the gap fires once there, not twice.
  CHECK(fires(cron("*/30 * * * *", in("Europe/Berlin")), utc("2024-03-31 00:15"), 4) ==
        Strings{"2024-03-31 00:30:00", "2024-03-31 01:00:00", "2024-03-31 01:30:00",
                "2024-03-31 02:00:00"});
  // America/New_York: 02:00 EST -> 03:00 EDT at 07:00 UTC on 2024-03-10.
  CHECK(fires(cron("30 2 * * *", in("America/New_York")), utc("2024-03-09 12:00"), 2) ==
        Strings{"2024-03-10 07:00:00", "2024-03-11 06:30:00"});
  // Australia/Sydney (south): 02:00 AEST -> 03:00 AEDT at 16:00 UTC on 2024-10-05.
  CHECK(fires(cron("30 2 * * *", in("Australia/Sydney")), utc("2024-10-04 17:00"), 2) ==
        Strings{"2024-10-05 16:00:00", "2024-10-06 15:30:00"});
  CHECK(fires(cron("30 2 * * *", in("Australia/Sydney", GapPolicy::skip)), utc("2024-10-04 17:00"),
              1) == Strings{"2024-10-06 15:30:00"});
}

TEST_CASE("cron trigger fires a repeated wall time once, or in both passes",
          "[trigger][cron][zone][dst]") {
  // Europe/Berlin falls from 03:00 CEST to 02:00 CET at 01:00 UTC on 2024-10-27.
  CHECK(fires(cron("30 2 * * *", in("Europe/Berlin")), utc("2024-10-26 12:00"), 2) ==
        Strings{"2024-10-27 00:30:00", "2024-10-28 01:30:00"});
  CHECK(fires(cron("30 2 * * *", in("Europe/Berlin", GapPolicy::shift, FoldPolicy::both)),
              utc("2024-10-26 12:00"),
              3) == Strings{"2024-10-27 00:30:00", "2024-10-27 01:30:00", "2024-10-28 01:30:00"});
  // An unrestricted hour fires in both passes under either policy.
  CHECK(fires(cron("*/30 * * * *", in("Europe/Berlin")), utc("2024-10-27 00:00"), 5) ==
        Strings{"2024-10-27 00:00:00", "2024-10-27 00:30:00", "2024-10-27 01:00:00",
                "2024-10-27 01:30:00", "2024-10-27 02:00:00"});
  // America/New_York: 02:00 EDT -> 01:00 EST at 06:00 UTC on 2024-11-03.
  CHECK(fires(cron("30 1 * * *", in("America/New_York")), utc("2024-11-02 12:00"), 2) ==
        Strings{"2024-11-03 05:30:00", "2024-11-04 06:30:00"});
  CHECK(fires(cron("30 1 * * *", in("America/New_York", GapPolicy::shift, FoldPolicy::both)),
              utc("2024-11-02 12:00"), 2) == Strings{"2024-11-03 05:30:00", "2024-11-03 06:30:00"});
  // Australia/Sydney (south): 03:00 AEDT -> 02:00 AEST at 16:00 UTC on 2024-04-06.
  CHECK(fires(cron("30 2 * * *", in("Australia/Sydney")), utc("2024-04-06 00:00"), 2) ==
        Strings{"2024-04-06 15:30:00", "2024-04-07 16:30:00"});
  CHECK(fires(cron("30 2 * * *", in("Australia/Sydney", GapPolicy::shift, FoldPolicy::both)),
              utc("2024-04-06 00:00"), 2) == Strings{"2024-04-06 15:30:00", "2024-04-06 16:30:00"});
}

TEST_CASE("cron trigger follows Lord Howe's 30-minute daylight-saving shift",
          "[trigger][cron][zone][dst]") {
  // Australia/Lord_Howe: +10:30 standard, +11 summer. 2024-04-07 02:00 +11 (15:00 UTC) falls
  // back to 01:30; 2024-10-06 02:00 +10:30 (15:30 UTC) springs to 02:30.
  CHECK(fires(cron("45 1 * * *", in("Australia/Lord_Howe")), utc("2024-04-06 00:00"), 2) ==
        Strings{"2024-04-06 14:45:00", "2024-04-07 15:15:00"});
  CHECK(fires(cron("45 1 * * *", in("Australia/Lord_Howe", GapPolicy::shift, FoldPolicy::both)),
              utc("2024-04-06 00:00"), 2) == Strings{"2024-04-06 14:45:00", "2024-04-06 15:15:00"});
  CHECK(fires(cron("15 2 * * *", in("Australia/Lord_Howe")), utc("2024-10-05 00:00"), 2) ==
        Strings{"2024-10-05 15:30:00", "2024-10-06 15:15:00"});
  CHECK(fires(cron("45 2 * * *", in("Australia/Lord_Howe")), utc("2024-10-05 00:00"), 1) ==
        Strings{"2024-10-05 15:45:00"});
  CHECK(fires(cron("15 2 * * *", in("Australia/Lord_Howe", GapPolicy::skip)),
              utc("2024-10-05 00:00"), 1) == Strings{"2024-10-06 15:15:00"});
}

TEST_CASE("cron trigger follows zones whose offset changed for good",
          "[trigger][cron][zone][dst]") {
  // Europe/Moscow moved to +4 all year on 2011-03-27 (02:00 -> 03:00) and back to +3 on
  // 2014-10-26 (02:00 -> 01:00).
  CHECK(fires(cron("30 2 * * *", in("Europe/Moscow")), utc("2011-03-26 12:00"), 2) ==
        Strings{"2011-03-26 23:00:00", "2011-03-27 22:30:00"});
  CHECK(fires(cron("30 2 * * *", in("Europe/Moscow")), utc("2011-10-29 12:00"), 2) ==
        Strings{"2011-10-29 22:30:00", "2011-10-30 22:30:00"});
  CHECK(fires(cron("30 1 * * *", in("Europe/Moscow")), utc("2014-10-25 12:00"), 2) ==
        Strings{"2014-10-25 21:30:00", "2014-10-26 22:30:00"});
  // Pacific/Apia skipped 2011-12-30 entirely, from -10 to +14, at 10:00 UTC.
  CHECK(fires(cron("0 12 * * *", in("Pacific/Apia")), utc("2011-12-29 00:00"), 3) ==
        Strings{"2011-12-29 22:00:00", "2011-12-30 10:00:00", "2011-12-30 22:00:00"});
  CHECK(fires(cron("0 12 * * *", in("Pacific/Apia", GapPolicy::skip)), utc("2011-12-29 00:00"),
              2) == Strings{"2011-12-29 22:00:00", "2011-12-30 22:00:00"});
}

TEST_CASE("cron triggers load zones and answer from many threads at once",
          "[trigger][cron][zone][thread]") {
  const char* zones[] = {"Europe/Berlin", "America/New_York", "Australia/Lord_Howe",
                         "Asia/Kathmandu"};
  const CronTrigger shared = cron("*/7 * * * *", in("Europe/Paris"));
  const Strings expected = fires(shared, utc("2024-03-30"), 200);
  constexpr int threads = 4;
  std::latch start{threads};
  std::vector<Strings> seen(threads);
  std::vector<std::string> zone_names(threads);
  {
    std::vector<std::jthread> workers;
    for (int i = 0; i < threads; ++i) {
      workers.emplace_back([&, i] {
        start.arrive_and_wait();
        // Every thread loads a zone no one has loaded yet, while the others search.
        const CronTrigger own = cron("0 3 * * *", in(zones[i]));
        zone_names[static_cast<std::size_t>(i)] = own.timezone();
        const CronTrigger copy = shared;  // NOLINT(performance-unnecessary-copy-initialization)
        seen[static_cast<std::size_t>(i)] = fires(copy, utc("2024-03-30"), 200);
      });
    }
  }
  for (int i = 0; i < threads; ++i) {
    CHECK(seen[static_cast<std::size_t>(i)] == expected);
    CHECK(zone_names[static_cast<std::size_t>(i)] == zones[i]);
  }
}

TEST_CASE("cron trigger keeps the zones' daylight-saving rules after 2037",
          "[trigger][cron][zone][dst]") {
  // The tz files list transitions up to 2037 and give the rule after; apsched follows the rule.
  // 2040-03-25 is the last Sunday of March; 2050-10-02 the first Sunday of October.
  CHECK(fires(cron("30 2 * * *", in("Europe/Berlin")), utc("2040-03-24 12:00"), 2) ==
        Strings{"2040-03-25 01:00:00", "2040-03-26 00:30:00"});
  CHECK(fires(cron("0 12 1 7 *", in("Europe/Berlin")), utc("2100-01-01"), 1) ==
        Strings{"2100-07-01 10:00:00"});
  CHECK(fires(cron("30 2 * * *", in("Australia/Sydney")), utc("2050-10-01 12:00"), 1) ==
        Strings{"2050-10-01 16:00:00"});
  // Lord Howe, 2045-04-02 (first Sunday of April) repeats 01:30-02:00 (+11 -> +10:30).
  CHECK(fires(cron("45 1 * * *", in("Australia/Lord_Howe", GapPolicy::shift, FoldPolicy::both)),
              utc("2045-04-01 12:00"), 2) == Strings{"2045-04-01 14:45:00", "2045-04-01 15:15:00"});
  CHECK(fires(cron("0 12 1 1 *", in("America/New_York")), utc("2200-01-01"), 1) ==
        Strings{"2200-01-01 17:00:00"});
}

TEST_CASE("cron trigger reads POSIX TZ rules in every form", "[trigger][cron][zone]") {
  using apsched::detail::cron::PosixRuleParser;
  const auto berlin = PosixRuleParser{"CET-1CEST,M3.5.0,M10.5.0/3"}.parse();
  REQUIRE(berlin);
  CHECK(berlin->standard == 3600);
  CHECK(berlin->daylight == 7200);
  CHECK(berlin->end.time == 3 * 3600);
  const auto lord_howe = PosixRuleParser{"<+1030>-10:30<+11>-11,M10.1.0,M4.1.0"}.parse();
  REQUIRE(lord_howe);
  CHECK(lord_howe->standard == 37800);
  CHECK(lord_howe->daylight == 39600);
  const auto santiago = PosixRuleParser{"<-04>4<-03>,M9.1.6/24,M4.1.6/24"}.parse();
  REQUIRE(santiago);
  CHECK(santiago->start.time == 24 * 3600);
  const auto nuuk = PosixRuleParser{"<-02>2<-01>,M3.5.0/-1,M10.5.0/0"}.parse();
  REQUIRE(nuuk);
  CHECK(nuuk->start.time == -3600);
  CHECK(PosixRuleParser{"EST5EDT,J60/2,300"}.parse());
  CHECK_FALSE(PosixRuleParser{"<+0330>-3:30"}.parse());
  CHECK_FALSE(PosixRuleParser{"CET-1CEST,M13.5.0,M10.5.0"}.parse());
  CHECK_FALSE(PosixRuleParser{""}.parse());
}

TEST_CASE("cron trigger validates input without throwing through try_from_crontab",
          "[trigger][cron]") {
  CronOptions options;
  options.timezone = "UTC";
  CHECK(CronTrigger::try_from_crontab("*/5 * * * *", options).has_value());
  CHECK_FALSE(CronTrigger::try_from_crontab("*/5 * * *", options).has_value());
  CHECK_FALSE(CronTrigger::try_from_crontab("0 0 30 2 *", options).has_value());
  options.timezone = "No/Such_Zone";
  CHECK_FALSE(CronTrigger::try_from_crontab("*/5 * * * *", options).has_value());
}

TEST_CASE("cron calendar arithmetic knows the Gregorian leap rules beyond TimePoint",
          "[trigger][cron]") {
  // TimePoint ends in 2262, so 2400 is checked on the calendar functions directly.
  using namespace apsched::detail::cron;
  STATIC_REQUIRE(is_leap_year(2000));
  STATIC_REQUIRE_FALSE(is_leap_year(2100));
  STATIC_REQUIRE(is_leap_year(2400));
  STATIC_REQUIRE(days_in_month(2400, 2) == 29);
  STATIC_REQUIRE(days_in_month(2100, 2) == 28);
  STATIC_REQUIRE(days_from_civil(2400, 3, 1) - days_from_civil(2400, 2, 28) == 2);
  STATIC_REQUIRE(weekday_from_days(days_from_civil(2400, 2, 29)) == 2);  // a Tuesday
  STATIC_REQUIRE(apsched::detail::civil_from_days(days_from_civil(2400, 2, 29)).day == 29);
}

}  // namespace triggers_cron_test
