// SPDX-License-Identifier: MIT
// CronTrigger against a brute-force walk through local time, on random expressions, instants
// and zones, across daylight-saving changes, leap years and month ends.
#include <apsched/cron/cron_trigger.hpp>

#include "support/catch.hpp"
#include "support/cron_reference.hpp"
#include "support/cron_time.hpp"
#include "support/cron_triggers.hpp"

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
using apsched::test::dst_options;
using apsched::test::fires_between;
using apsched::test::reference_fires;
using apsched::test::ReferenceCron;
using apsched::test::text;
using apsched::test::transitions;
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
  const CronOptions options = dst_options(zone_name, shift_gaps, fold_once);
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

// `minute hour * * <day_of_week>` (or a macro `text` meaning that), firing on `weekdays`.
ReferenceCron fixed_time(std::string text, int minute, int hour,
                         std::vector<apsched::test::DayRule> weekdays) {
  ReferenceCron cron;
  cron.text = std::move(text);
  cron.seconds[0] = true;
  for (int m = 0; m < 60; ++m) {
    cron.minutes[static_cast<std::size_t>(m)] = minute < 0 || m == minute;
  }
  for (int h = 0; h < 24; ++h) {
    cron.hours[static_cast<std::size_t>(h)] = hour < 0 || h == hour;
  }
  cron.months.fill(true);
  for (int d = 1; d <= 31; ++d) {
    cron.day_of_month.push_back({apsched::test::DayRule::Kind::day, d});
  }
  cron.day_of_week = std::move(weekdays);
  return cron;
}

std::vector<apsched::test::DayRule> every_weekday() {
  std::vector<apsched::test::DayRule> rules;
  for (int w = 0; w < 7; ++w) {
    rules.push_back({apsched::test::DayRule::Kind::weekday, w});
  }
  return rules;
}

}  // namespace

TEST_CASE("cron trigger agrees with minute-by-minute search in UTC over days",
          "[trigger][cron][reference]") {
  CronGenerator random{20240101};
  Outcome outcome;
  for (int i = 0; i < 300; ++i) {
    const ReferenceCron cron = random.next(false);
    const TimePoint from = random.instant(1995, 120);
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
    const TimePoint from = random.instant(2020, 10);
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
    const TimePoint somewhere = random.instant(1995, 41);
    const date::sys_info info =
        zone.get_info(std::chrono::time_point_cast<std::chrono::seconds>(somewhere));
    if (info.end > date::sys_days{date::year{2037} / 1 / 1}) {
      continue;
    }
    const TimePoint transition{info.end};
    ReferenceCron cron = random.next(false, apsched::test::local_hour(zone, transition));
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

TEST_CASE("cron trigger agrees with brute force on n#-k over years in daylight-saving zones",
          "[trigger][cron][reference][dst]") {
  using Kind = apsched::test::DayRule::Kind;
  // Berlin changes its clocks on the last Sunday of March and October at 02:00 or 03:00 local,
  // so `30 2 * * SUN#-1` meets every gap and fold there. Fires are at minute 0 or 30, so a
  // half-hourly walk sees them all (and Lord Howe's half-hour changes).
  const std::vector<ReferenceCron> crons{
      fixed_time("30 2 * * SUN#-1", 30, 2, {{Kind::nth_last_weekday, 0, 1}}),
      fixed_time("0 12 * * 5#-1,MON#-3", 0, 12,
                 {{Kind::nth_last_weekday, 5, 1}, {Kind::nth_last_weekday, 1, 3}}),
      fixed_time("30 1 * * fri#-5", 30, 1, {{Kind::nth_last_weekday, 5, 5}}),
  };
  const char* zones[] = {"Europe/Berlin", "America/New_York", "Australia/Lord_Howe"};
  CronGenerator random{31};
  Outcome outcome;
  for (const char* zone_name : zones) {
    for (const ReferenceCron& cron : crons) {
      const bool shift_gaps = random.pick(2) == 0;
      const bool fold_once = random.pick(2) == 0;
      CAPTURE(cron.text, zone_name, shift_gaps, fold_once);
      const CronOptions options = dst_options(zone_name, shift_gaps, fold_once);
      const CronTrigger trigger = CronTrigger::from_crontab(cron.text, options);
      const TimePoint from = utc("2023-01-01");
      const TimePoint to = utc("2027-01-01");
      const std::vector<TimePoint> expected = reference_fires(
          cron, *date::locate_zone(zone_name), from, to, 30min, shift_gaps, fold_once);
      REQUIRE(texts(fires_between(trigger, from, to)) == texts(expected));
      outcome.fired += static_cast<int>(expected.size());
    }
  }
  CHECK(outcome.fired > 9 * 40);
}

TEST_CASE("cron trigger agrees with brute force on @minutely and @secondly across changes",
          "[trigger][cron][reference][dst]") {
  const ReferenceCron minutely = fixed_time("@minutely", -1, -1, every_weekday());
  ReferenceCron secondly = fixed_time("@SECONDLY", -1, -1, every_weekday());
  secondly.seconds.fill(true);
  const char* zones[] = {"Europe/Berlin", "America/New_York", "Australia/Lord_Howe"};
  int windows = 0;
  for (const char* zone_name : zones) {
    const date::time_zone& zone = *date::locate_zone(zone_name);
    const std::vector<TimePoint> changes = transitions(zone, utc("2023-01-01"), utc("2027-01-01"));
    for (std::size_t i = 0; i < changes.size(); ++i) {
      const bool seconds = i < 2;
      const ReferenceCron& cron = seconds ? secondly : minutely;
      const auto margin = seconds ? 1h : 26h;
      CAPTURE(cron.text, zone_name, text(changes[i]));
      CronOptions options;
      options.timezone = zone_name;
      options.gap_policy = i % 2 == 0 ? apsched::GapPolicy::shift : apsched::GapPolicy::skip;
      const CronTrigger trigger = CronTrigger::from_crontab(cron.text, options);
      const TimePoint from = changes[i] - margin;
      const TimePoint to = changes[i] + margin;
      REQUIRE(texts(fires_between(trigger, from, to)) ==
              texts(reference_fires(cron, zone, from, to, seconds ? 1s : 60s,
                                    options.gap_policy == apsched::GapPolicy::shift, true)));
      ++windows;
    }
  }
  CHECK(windows == 3 * 8);
}

}  // namespace cron_reference_test
