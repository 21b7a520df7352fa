// SPDX-License-Identifier: MIT
#include <apsched/cron/exclusion.hpp>

#include <apsched/cron/cron_trigger.hpp>
#include <apsched/triggers/interval.hpp>

#include "support/catch.hpp"
#include "support/cron_time.hpp"

#include <chrono>
#include <string>
#include <vector>

namespace triggers_exclusion_test {

using namespace std::chrono_literals;
using apsched::CronTrigger;
using apsched::Exclusions;
using apsched::ExclusionTrigger;
using apsched::test::contains;
using apsched::test::fires;
using apsched::test::utc;
using Strings = std::vector<std::string>;
namespace chrono = std::chrono;

namespace {
CronTrigger cron(const char* expression, const char* zone = "UTC") {
  apsched::CronOptions options;
  options.timezone = zone;
  return CronTrigger::from_crontab(expression, options);
}
}  // namespace

TEST_CASE("exclusion trigger skips excluded dates, annual dates and weekdays",
          "[trigger][exclusion]") {
  Exclusions exclusions;
  exclusions.timezone = "UTC";
  exclusions.dates = {chrono::year{2024} / 12 / 24};
  exclusions.annual_dates = {chrono::December / 25, chrono::January / 1};
  exclusions.weekdays = {chrono::Saturday, chrono::Sunday};
  const ExclusionTrigger trigger{cron("0 9 * * *"), exclusions};
  // 2024-12-21/22 and 28/29 are weekends; 2025-01-01 a Wednesday.
  CHECK(fires(trigger, utc("2024-12-20 10:00"), 5) ==
        Strings{"2024-12-23 09:00:00", "2024-12-26 09:00:00", "2024-12-27 09:00:00",
                "2024-12-30 09:00:00", "2024-12-31 09:00:00"});
  CHECK(fires(trigger, utc("2025-01-01"), 1) == Strings{"2025-01-02 09:00:00"});
}

TEST_CASE("exclusion trigger reads dates in its zone", "[trigger][exclusion][zone]") {
  Exclusions exclusions;
  exclusions.timezone = "Australia/Sydney";
  exclusions.dates = {chrono::year{2024} / 7 / 2};
  // 23:00 UTC on 2024-07-01 is 09:00 on 2024-07-02 in Sydney.
  const ExclusionTrigger trigger{cron("0 23 * * *"), exclusions};
  CHECK(fires(trigger, utc("2024-07-01"), 1) == Strings{"2024-07-02 23:00:00"});
}

TEST_CASE("exclusion trigger skips daily windows, also across midnight, and absolute ranges",
          "[trigger][exclusion]") {
  Exclusions exclusions;
  exclusions.timezone = "Europe/Berlin";
  exclusions.daily = {{22h, 6h}};
  exclusions.ranges = {{utc("2024-01-02 09:00"), utc("2024-01-02 12:00")}};
  const ExclusionTrigger trigger{cron("0 */4 * * *", "Europe/Berlin"), exclusions};
  // Berlin is UTC+1 in January: fires at 08, 12, 16 local (07, 11, 15 UTC); 20 local too.
  CHECK(fires(trigger, utc("2024-01-01 12:00"), 6) ==
        Strings{"2024-01-01 15:00:00", "2024-01-01 19:00:00", "2024-01-02 07:00:00",
                "2024-01-02 15:00:00", "2024-01-02 19:00:00", "2024-01-03 07:00:00"});
}

TEST_CASE("exclusion trigger steps over a long exclusion in one stride", "[trigger][exclusion]") {
  Exclusions exclusions;
  exclusions.timezone = "UTC";
  exclusions.ranges = {{utc("2024-01-01"), utc("2024-03-01")}};
  exclusions.max_iterations = 2;
  const ExclusionTrigger trigger{cron("* * * * * *"), exclusions};
  CHECK(fires(trigger, utc("2023-12-31 23:59:59"), 2) ==
        Strings{"2023-12-31 23:59:59", "2024-03-01 00:00:00"});
}

TEST_CASE("exclusion trigger wraps any trigger and keeps its precision", "[trigger][exclusion]") {
  Exclusions exclusions;
  exclusions.timezone = "UTC";
  exclusions.ranges = {{utc("2024-01-01 00:00:01"), utc("2024-01-01 00:00:03")}};
  const apsched::IntervalTrigger every{1500ms, {.start_date = utc("2024-01-01")}};
  const ExclusionTrigger trigger{every, exclusions};
  CHECK(fires(trigger, utc("2024-01-01"), 3) ==
        Strings{"2024-01-01 00:00:00", "2024-01-01 00:00:03", "2024-01-01 00:00:04.500000000"});
  STATIC_REQUIRE(apsched::Trigger<ExclusionTrigger<apsched::IntervalTrigger>>);
  STATIC_REQUIRE(apsched::JitteredTrigger<ExclusionTrigger<apsched::IntervalTrigger>>);
  STATIC_REQUIRE(apsched::DescribedTrigger<ExclusionTrigger<CronTrigger>>);
  CHECK(trigger.describe() ==
        "exclude[interval[1500ms, start=2024-01-01T00:00:00.000000Z]; 0 dates, 0 annual, "
        "0 weekdays, 0 daily, 1 ranges, tz=UTC]");
}

TEST_CASE("exclusion trigger gives up after max_iterations stretches", "[trigger][exclusion]") {
  Exclusions exclusions;
  exclusions.timezone = "UTC";
  exclusions.weekdays = {chrono::Monday};
  exclusions.max_iterations = 1;
  const ExclusionTrigger trigger{cron("0 0 * * MON"), exclusions};
  CHECK_THROWS_AS(trigger.next_fire_time(std::nullopt, utc("2024-01-01")),
                  apsched::InvalidTriggerError);
  CHECK_THROWS_WITH(trigger.next_fire_time(std::nullopt, utc("2024-01-01")),
                    contains("ExclusionTrigger: every fire time for 1 excluded stretches"));
}

TEST_CASE("exclusion trigger rejects bad exclusions", "[trigger][exclusion][error]") {
  Exclusions exclusions;
  exclusions.timezone = "UTC";
  exclusions.weekdays = {chrono::Sunday,   chrono::Monday, chrono::Tuesday, chrono::Wednesday,
                         chrono::Thursday, chrono::Friday, chrono::Saturday};
  CHECK_THROWS_WITH((ExclusionTrigger{cron("* * * * *"), exclusions}),
                    contains("all seven weekdays are excluded"));
  exclusions.weekdays.clear();
  exclusions.dates = {chrono::year{2023} / 2 / 29};
  CHECK_THROWS_WITH((ExclusionTrigger{cron("* * * * *"), exclusions}),
                    contains("excluded date 2023-02-29 is not valid"));
  exclusions.dates.clear();
  exclusions.daily = {{5h, 5h}};
  CHECK_THROWS_WITH((ExclusionTrigger{cron("* * * * *"), exclusions}),
                    contains("daily window 18000s-18000s is empty"));
  exclusions.daily.clear();
  exclusions.ranges = {{utc("2024-01-02"), utc("2024-01-01")}};
  CHECK_THROWS_AS((ExclusionTrigger{cron("* * * * *"), exclusions}), apsched::InvalidTriggerError);
  exclusions.ranges.clear();
  exclusions.timezone = "Atlantis/Capital";
  CHECK_THROWS_AS((ExclusionTrigger{cron("* * * * *"), exclusions}), apsched::UnknownTimeZoneError);
}

}  // namespace triggers_exclusion_test
