// SPDX-License-Identifier: MIT
// CronTrigger against a brute-force walk through local time, on random expressions, instants
// and zones, across daylight-saving changes, leap years and month ends.
#include <apsched/cron/cron_trigger.hpp>

#include "support/catch.hpp"
#include "support/cron_reference.hpp"
#include "support/cron_time.hpp"

#include <date/tz.h>

#include <chrono>
#include <random>
#include <string>
#include <vector>

namespace cron_reference_test {

using namespace std::chrono_literals;
using apsched::CronOptions;
using apsched::CronTrigger;
using apsched::TimePoint;
using apsched::test::CronGenerator;
using apsched::test::fires_between;
using apsched::test::reference_fires;
using apsched::test::ReferenceCron;
using apsched::test::text;
using apsched::test::utc;

namespace {

std::vector<std::string> texts(const std::vector<TimePoint>& times) {
  std::vector<std::string> result;
  result.reserve(times.size());
  for (const TimePoint t : times) {
    result.push_back(text(t));
  }
  return result;
}

struct Outcome {
  int compared = 0;
  int rejected = 0;
  int fired = 0;
};

// Compares trigger and reference on one window; a rejected expression must match no day in a
// whole Gregorian cycle.
void compare(const ReferenceCron& cron, const char* zone_name, TimePoint from, TimePoint to,
             bool shift_gaps, bool fold_once, Outcome& outcome) {
  CAPTURE(cron.text, zone_name, text(from), text(to), shift_gaps, fold_once);
  CronOptions options;
  options.timezone = zone_name;
  options.gap_policy = shift_gaps ? apsched::GapPolicy::shift : apsched::GapPolicy::skip;
  options.fold_policy = fold_once ? apsched::FoldPolicy::once : apsched::FoldPolicy::both;
  const bool seconds = std::count(cron.text.begin(), cron.text.end(), ' ') == 5;
  try {
    const CronTrigger trigger = CronTrigger::from_crontab(cron.text, options);
    const std::vector<TimePoint> expected = reference_fires(
        cron, *date::locate_zone(zone_name), from, to, seconds ? 1s : 60s, shift_gaps, fold_once);
    REQUIRE(texts(fires_between(trigger, from, to)) == texts(expected));
    ++outcome.compared;
    outcome.fired += expected.empty() ? 0 : 1;
  } catch (const apsched::InvalidTriggerError& error) {
    CAPTURE(error.what());
    ++outcome.rejected;
    if (outcome.rejected <= 3) {
      for (std::int64_t day = 10957; day < 10957 + 146097; ++day) {  // 2000-01-01 + 400 years
        for (std::int64_t s = 0; s < 86400; s += 3600) {
          if (cron.hours[static_cast<std::size_t>(s / 3600)]) {
            REQUIRE_FALSE(cron.matches(day * 86400 + s + 60 * 0));
            break;
          }
        }
      }
    }
  }
}

TimePoint random_instant(CronGenerator& random, int first_year, int years) {
  const TimePoint base = utc(fmt::format("{}-01-01", first_year).c_str());
  const auto minutes = random.pick(years * 366 * 24 * 60);
  return base + std::chrono::minutes{minutes};
}

}  // namespace

TEST_CASE("cron trigger agrees with minute-by-minute search in UTC over days",
          "[trigger][cron][reference]") {
  CronGenerator random{20240101};
  Outcome outcome;
  for (int i = 0; i < 300; ++i) {
    const ReferenceCron cron = random.next(false);
    const TimePoint from = random_instant(random, 1995, 120);
    compare(cron, "UTC", from, from + 96h, true, true, outcome);
  }
  CHECK(outcome.compared > 250);
  CHECK(outcome.fired > 60);
}

TEST_CASE("cron trigger agrees with second-by-second search with a seconds field",
          "[trigger][cron][reference]") {
  CronGenerator random{7};
  Outcome outcome;
  for (int i = 0; i < 150; ++i) {
    const ReferenceCron cron = random.next(true);
    const TimePoint from = random_instant(random, 2020, 10);
    compare(cron, i % 2 == 0 ? "UTC" : "Asia/Kolkata", from, from + 2h, true, true, outcome);
  }
  CHECK(outcome.compared > 100);
}

TEST_CASE("cron trigger agrees with day-by-day search across leap years and month ends",
          "[trigger][cron][reference]") {
  CronGenerator random{2100};
  Outcome outcome;
  const char* starts[] = {"1999-11-01", "2099-11-01", "2023-11-01", "2199-06-01", "2258-01-01"};
  for (int i = 0; i < 250; ++i) {
    ReferenceCron cron = random.next(false);
    // One fixed time of day, so stepping by days sees every fire.
    const int hour = random.pick(24);
    const int minute = random.pick(60);
    cron.hours.fill(false);
    cron.minutes.fill(false);
    cron.hours[static_cast<std::size_t>(hour)] = true;
    cron.minutes[static_cast<std::size_t>(minute)] = true;
    cron.text = fmt::format("{} {}{}", minute, hour,
                            cron.text.substr(cron.text.find(' ', cron.text.find(' ') + 1)));
    const TimePoint from =
        utc(starts[i % 5]) + std::chrono::hours{hour} + std::chrono::minutes{minute};
    CAPTURE(cron.text, text(from));
    CronOptions options;
    options.timezone = "UTC";
    try {
      const CronTrigger trigger = CronTrigger::from_crontab(cron.text, options);
      const TimePoint to = std::min(from + std::chrono::hours{24 * 365 * 3}, utc("2262-04-01"));
      std::vector<TimePoint> expected;
      for (TimePoint t = from; t <= to; t += 24h) {
        if (cron.matches(
                std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count())) {
          expected.push_back(t);
        }
      }
      REQUIRE(texts(fires_between(trigger, from, to)) == texts(expected));
      ++outcome.compared;
    } catch (const apsched::InvalidTriggerError&) {
      ++outcome.rejected;
    }
  }
  CHECK(outcome.compared > 200);
}

TEST_CASE("cron trigger agrees with minute-by-minute search across daylight-saving changes",
          "[trigger][cron][reference][dst]") {
  const char* zones[] = {"Europe/Berlin",       "America/New_York", "Australia/Sydney",
                         "Australia/Lord_Howe", "Europe/Moscow",    "Pacific/Apia",
                         "America/Sao_Paulo",   "Pacific/Chatham",  "America/St_Johns",
                         "Asia/Tehran",         "Europe/London",    "America/Santiago"};
  CronGenerator random{1977};
  Outcome outcome;
  for (int i = 0; i < 360; ++i) {
    const char* zone_name = zones[static_cast<std::size_t>(i) % std::size(zones)];
    const date::time_zone& zone = *date::locate_zone(zone_name);
    // A random transition between 1995 and 2036.
    const TimePoint somewhere = random_instant(random, 1995, 41);
    const date::sys_info info =
        zone.get_info(std::chrono::time_point_cast<std::chrono::seconds>(somewhere));
    if (info.end > date::sys_days{date::year{2037} / 1 / 1}) {
      continue;
    }
    const TimePoint transition{info.end};
    const date::sys_info after = zone.get_info(info.end);
    const auto local_hour = static_cast<int>(
        ((info.end.time_since_epoch().count() + after.offset.count()) % 86400 + 86400) % 86400 /
        3600);
    ReferenceCron cron = random.next(false, local_hour);
    if (i % 2 == 0) {
      // Every day, so that most windows see the change.
      cron.text = cron.text.substr(0, cron.text.find(' ', cron.text.find(' ') + 1)) + " * * *";
      cron.months.fill(true);
      cron.day_of_month = {{apsched::test::DayRule::Kind::weekday, 0}};
      cron.day_of_week.clear();
      for (int w = 0; w < 7; ++w) {
        cron.day_of_week.push_back({apsched::test::DayRule::Kind::weekday, w});
      }
      cron.either = false;
      cron.day_of_month = cron.day_of_week;
    }
    compare(cron, zone_name, transition - 30h, transition + 30h, random.pick(2) == 0,
            random.pick(2) == 0, outcome);
  }
  CHECK(outcome.compared > 250);
  CHECK(outcome.fired > 150);
}

}  // namespace cron_reference_test
