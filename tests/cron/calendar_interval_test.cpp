// SPDX-License-Identifier: MIT
#include <apsched/cron/calendar_interval.hpp>

#include "support/catch.hpp"
#include "support/cron_time.hpp"

#include <chrono>
#include <string>
#include <vector>

namespace triggers_calendar_interval_test {

using namespace std::chrono_literals;
using apsched::CalendarIntervalOptions;
using apsched::CalendarIntervalTrigger;
using apsched::test::contains;
using apsched::test::fires;
using apsched::test::utc;
using Strings = std::vector<std::string>;
namespace chrono = std::chrono;

namespace {
CalendarIntervalOptions base(chrono::year_month_day start, const char* zone = "UTC") {
  CalendarIntervalOptions options;
  options.start_date = start;
  options.timezone = zone;
  return options;
}
}  // namespace

TEST_CASE("calendar interval trigger skips days a month lacks by default",
          "[trigger][calendar_interval]") {
  CalendarIntervalOptions options = base(chrono::year{2024} / 1 / 31);
  options.months = 1;
  options.hour = 9;
  CHECK(fires(CalendarIntervalTrigger{options}, utc("2024-01-01"), 5) ==
        Strings{"2024-01-31 09:00:00", "2024-03-31 09:00:00", "2024-05-31 09:00:00",
                "2024-07-31 09:00:00", "2024-08-31 09:00:00"});
}

TEST_CASE("calendar interval trigger clamps to the month's last day on request",
          "[trigger][calendar_interval]") {
  CalendarIntervalOptions options = base(chrono::year{2024} / 1 / 31);
  options.months = 1;
  options.missing_day = apsched::MissingDayPolicy::clamp;
  // Dates come from the start date, so clamping does not drift to the 29th.
  CHECK(fires(CalendarIntervalTrigger{options}, utc("2024-01-01"), 4) ==
        Strings{"2024-01-31 00:00:00", "2024-02-29 00:00:00", "2024-03-31 00:00:00",
                "2024-04-30 00:00:00"});
  options = base(chrono::year{2096} / 2 / 29);
  options.years = 1;
  CHECK(fires(CalendarIntervalTrigger{options}, utc("2096-01-01"), 2) ==
        Strings{"2096-02-29 00:00:00", "2104-02-29 00:00:00"});
  options.missing_day = apsched::MissingDayPolicy::clamp;
  CHECK(fires(CalendarIntervalTrigger{options}, utc("2099-06-01"), 2) ==
        Strings{"2100-02-28 00:00:00", "2101-02-28 00:00:00"});
}

TEST_CASE("calendar interval trigger steps weeks and days and finds far instants fast",
          "[trigger][calendar_interval]") {
  CalendarIntervalOptions options = base(chrono::year{2000} / 1 / 1);
  options.weeks = 2;
  options.days = 1;
  options.minute = 15;
  CHECK(fires(CalendarIntervalTrigger{options}, utc("2000-01-01"), 3) ==
        Strings{"2000-01-01 00:15:00", "2000-01-16 00:15:00", "2000-01-31 00:15:00"});
  options = base(chrono::year{2000} / 1 / 1);
  options.days = 1;
  options.second = 1;
  CHECK(fires(CalendarIntervalTrigger{options}, utc("2200-05-05 12:00"), 1) ==
        Strings{"2200-05-06 00:00:01"});
  CHECK(fires(CalendarIntervalTrigger{options}, utc("1990-05-05"), 1) ==
        Strings{"2000-01-01 00:00:01"});
  CHECK(fires(CalendarIntervalTrigger{options}, utc("2262-04-10 12:00"), 3) ==
        Strings{"2262-04-11 00:00:01"});
}

TEST_CASE("calendar interval trigger ends after end_date", "[trigger][calendar_interval]") {
  CalendarIntervalOptions options = base(chrono::year{2024} / 1 / 1);
  options.years = 1;
  options.end_date = chrono::year{2026} / 1 / 1;
  CHECK(fires(CalendarIntervalTrigger{options}, utc("2020-01-01"), 5) ==
        Strings{"2024-01-01 00:00:00", "2025-01-01 00:00:00", "2026-01-01 00:00:00"});
}

TEST_CASE("calendar interval trigger applies the daylight-saving policies",
          "[trigger][calendar_interval][dst]") {
  CalendarIntervalOptions options = base(chrono::year{2024} / 3 / 30, "Europe/Berlin");
  options.days = 1;
  options.hour = 2;
  options.minute = 30;
  CHECK(fires(CalendarIntervalTrigger{options}, utc("2024-03-30"), 3) ==
        Strings{"2024-03-30 01:30:00", "2024-03-31 01:00:00", "2024-04-01 00:30:00"});
  options.gap_policy = apsched::GapPolicy::skip;
  CHECK(fires(CalendarIntervalTrigger{options}, utc("2024-03-30"), 2) ==
        Strings{"2024-03-30 01:30:00", "2024-04-01 00:30:00"});
  options.start_date = chrono::year{2024} / 10 / 26;
  CHECK(fires(CalendarIntervalTrigger{options}, utc("2024-10-26"), 3) ==
        Strings{"2024-10-26 00:30:00", "2024-10-27 00:30:00", "2024-10-28 01:30:00"});
  options.fold_policy = apsched::FoldPolicy::both;
  CHECK(fires(CalendarIntervalTrigger{options}, utc("2024-10-26"), 4) ==
        Strings{"2024-10-26 00:30:00", "2024-10-27 00:30:00", "2024-10-27 01:30:00",
                "2024-10-28 01:30:00"});
  // South of the equator, 30-minute shift: Lord Howe repeats 01:30-02:00 on 2024-04-07.
  options = base(chrono::year{2024} / 4 / 6, "Australia/Lord_Howe");
  options.days = 1;
  options.hour = 1;
  options.minute = 45;
  options.fold_policy = apsched::FoldPolicy::both;
  CHECK(fires(CalendarIntervalTrigger{options}, utc("2024-04-06"), 3) ==
        Strings{"2024-04-06 14:45:00", "2024-04-06 15:15:00", "2024-04-07 15:15:00"});
}

TEST_CASE("calendar interval trigger rejects bad settings", "[trigger][calendar_interval][error]") {
  CalendarIntervalOptions options = base(chrono::year{2024} / 1 / 1);
  CHECK_THROWS_WITH(CalendarIntervalTrigger{options},
                    contains("CalendarIntervalTrigger: years, months, weeks and days are all 0"));
  options.days = 1;
  options.hour = 24;
  CHECK_THROWS_WITH(CalendarIntervalTrigger{options},
                    "CalendarIntervalTrigger: hour 24 is out of range 0-23");
  options.hour = 0;
  options.months = -1;
  CHECK_THROWS_AS(CalendarIntervalTrigger{options}, apsched::InvalidTriggerError);
  options.months = 0;
  options.start_date = chrono::year{2023} / 2 / 29;
  CHECK_THROWS_WITH(CalendarIntervalTrigger{options}, contains("start_date 2023-02-29 is not a "
                                                               "valid date"));
  options.start_date = chrono::year{2024} / 2 / 1;
  options.end_date = chrono::year{2024} / 1 / 1;
  CHECK_THROWS_WITH(CalendarIntervalTrigger{options}, contains("end_date 2024-01-01 is before"));
  options.end_date.reset();
  options.timezone = "Nowhere/Special";
  CHECK_THROWS_AS(CalendarIntervalTrigger{options}, apsched::UnknownTimeZoneError);
  CHECK_THROWS_WITH(CalendarIntervalTrigger{options},
                    contains("CalendarIntervalOptions::timezone"));
}

TEST_CASE("calendar interval trigger defaults its start to today and describes itself",
          "[trigger][calendar_interval]") {
  CalendarIntervalOptions options;
  options.timezone = "UTC";
  options.days = 1;
  const CalendarIntervalTrigger today{options};
  REQUIRE(today.options().start_date.has_value());
  CHECK(today.options().start_date->ok());
  options = base(chrono::year{2024} / 1 / 31);
  options.months = 1;
  options.hour = 9;
  options.minute = 30;
  options.jitter = 5s;
  const CalendarIntervalTrigger trigger{options};
  CHECK(trigger.describe() ==
        "calendar_interval[0y 1m 0w 0d at 09:30:00 from 2024-01-31, "
        "tz=UTC, jitter=5s]");
  CHECK(trigger.jitter() == 5s);
  STATIC_REQUIRE(apsched::Trigger<CalendarIntervalTrigger>);
  STATIC_REQUIRE(apsched::DescribedTrigger<CalendarIntervalTrigger>);
}

}  // namespace triggers_calendar_interval_test
