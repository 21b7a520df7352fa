// SPDX-License-Identifier: MIT
// CronTrigger::previous_fire_time: examples, and the property that defines it checked by brute
// force on random expressions, instants, zones and daylight-saving policies: the answer for t is
// the largest instant at or before t among the fire times the forward search produces.
#include <apsched/cron/cron_trigger.hpp>

#include "support/catch.hpp"
#include "support/cron_reference.hpp"
#include "support/cron_time.hpp"
#include "support/cron_triggers.hpp"

#include <date/tz.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace cron_previous_fire_time_test {

using namespace std::chrono_literals;
using apsched::CronOptions;
using apsched::CronTrigger;
using apsched::TimePoint;
using apsched::test::cron;
using apsched::test::CronGenerator;
using apsched::test::dst_options;
using apsched::test::fires_between;
using apsched::test::reference_fires;
using apsched::test::ReferenceCron;
using apsched::test::text;
using apsched::test::transitions;
using apsched::test::utc;

namespace {

std::string text_of(std::optional<TimePoint> t) { return t ? text(*t) : std::string{"none"}; }

std::string previous(const CronTrigger& trigger, const char* t) {
  return text_of(trigger.previous_fire_time(utc(t)));
}

// Checks previous_fire_time(t) for instants in [from, to] against `fires`, every fire time of
// the trigger in [from, to] in order: at each fire, just before and after it, and at random
// instants. Where no fire of the list is at or before t, the answer must lie before `from`, be a
// fire time of the forward search, and have no fire time of the forward search after it up to t.
void check_previous(const CronTrigger& trigger, const std::vector<TimePoint>& fires, TimePoint from,
                    TimePoint to, CronGenerator& random) {
  std::vector<TimePoint> probes{from, to};
  for (const TimePoint fire : fires) {
    const apsched::Duration deltas[] = {-1s, -1ns, 0ns, 1ns, 999ms, 59s};
    for (const apsched::Duration delta : deltas) {
      if (fire + delta >= from && fire + delta <= to) {
        probes.push_back(fire + delta);
      }
    }
  }
  const auto span = std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count();
  for (int i = 0; i < 40; ++i) {
    const auto offset = static_cast<double>(random.pick(1'000'000)) / 1'000'000.0;
    probes.push_back(from + std::chrono::milliseconds{
                                static_cast<std::int64_t>(offset * static_cast<double>(span))});
  }
  for (const TimePoint t : probes) {
    CAPTURE(text(t));
    const std::optional<TimePoint> got = trigger.previous_fire_time(t);
    const auto after = std::upper_bound(fires.begin(), fires.end(), t);
    if (after != fires.begin()) {
      REQUIRE(text_of(got) == text(*(after - 1)));
      continue;
    }
    if (got) {
      REQUIRE(*got < from);
      REQUIRE(trigger.next_fire_time(std::nullopt, *got) == got);
      const std::optional<TimePoint> next = trigger.next_fire_time(*got, *got);
      REQUIRE((!next || *next > t));
    } else {
      const std::optional<TimePoint> first = trigger.next_fire_time(std::nullopt, TimePoint::min());
      REQUIRE((!first || *first > t));
    }
  }
}

}  // namespace

TEST_CASE("cron previous fire time is the latest fire time at or before t",
          "[trigger][cron][previous]") {
  const CronTrigger quarter = cron("*/15 * * * *");
  CHECK(previous(quarter, "2024-01-01 00:07:30") == "2024-01-01 00:00:00");
  CHECK(previous(quarter, "2024-01-01 00:15:00") == "2024-01-01 00:15:00");
  CHECK(text_of(quarter.previous_fire_time(utc("2024-01-01 00:15:00") - 1ns)) ==
        "2024-01-01 00:00:00");
  CHECK(text_of(quarter.previous_fire_time(utc("2024-01-01 00:15:00") + 1ns)) ==
        "2024-01-01 00:15:00");
  // Across month, year and leap-day boundaries.
  CHECK(previous(cron("0 0 29 2 *"), "2024-02-28") == "2020-02-29 00:00:00");
  CHECK(previous(cron("0 0 29 2 *"), "2104-03-01") == "2104-02-29 00:00:00");
  CHECK(previous(cron("0 0 29 2 *"), "2104-02-28") == "2096-02-29 00:00:00");
  CHECK(previous(cron("0 12 L * *"), "2024-03-15") == "2024-02-29 12:00:00");
  CHECK(previous(cron("0 0 1 1 *"), "2024-06-01") == "2024-01-01 00:00:00");
  CHECK(previous(cron("59 23 31 12 *"), "2024-06-01") == "2023-12-31 23:59:00");
  // Seconds, Quartz days and the new #-k.
  CHECK(previous(cron("*/20 * * * * *"), "2024-01-01 00:00:59") == "2024-01-01 00:00:40");
  CHECK(previous(cron("0 0 0 LW * ?"), "2024-09-01") == "2024-08-30 00:00:00");
  CHECK(previous(cron("0 18 * * FRI#-1"), "2024-02-10") == "2024-01-26 18:00:00");
  CHECK(previous(cron("0 18 * * FRI#-2"), "2024-02-10") == "2024-01-19 18:00:00");
  // Both day fields restricted: either matches.
  CHECK(previous(cron("0 0 13 * FRI"), "2024-10-14") == "2024-10-13 00:00:00");
  CHECK(previous(cron("0 0 13 * FRI"), "2024-10-12") == "2024-10-11 00:00:00");
}

TEST_CASE("cron previous fire time honours start and end dates and year fields",
          "[trigger][cron][previous]") {
  CronOptions options;
  options.start_date = utc("2024-01-01 02:00");
  options.end_date = utc("2024-01-01 04:00");
  const CronTrigger trigger = cron("0 * * * *", options);
  CHECK(previous(trigger, "2024-01-01 01:59") == "none");
  CHECK(previous(trigger, "2024-01-01 02:00") == "2024-01-01 02:00:00");
  CHECK(previous(trigger, "2024-01-01 03:30") == "2024-01-01 03:00:00");
  CHECK(previous(trigger, "2024-06-01") == "2024-01-01 04:00:00");
  options.start_date = utc("2024-01-01 02:30");
  CHECK(previous(cron("0 * * * *", options), "2024-01-01 02:59") == "none");
  // A year field bounds it: nothing before the first year, the last fire after the last one.
  const CronTrigger years = cron("0 0 0 1 1 ? 2030,2032");
  CHECK(previous(years, "2029-12-31") == "none");
  CHECK(previous(years, "2031-06-01") == "2030-01-01 00:00:00");
  CHECK(previous(years, "2200-01-01") == "2032-01-01 00:00:00");
  // The ends of TimePoint.
  CHECK(cron("* * * * *").previous_fire_time(TimePoint::max()).has_value());
  CHECK_FALSE(cron("* * * * *").previous_fire_time(TimePoint::min()).has_value());
  CHECK(text_of(cron("0 0 1 1 *").previous_fire_time(TimePoint::max())) == "2262-01-01 00:00:00");
}

TEST_CASE("cron previous fire time follows the daylight-saving policies of the forward search",
          "[trigger][cron][previous][dst]") {
  CronOptions berlin;
  berlin.timezone = "Europe/Berlin";
  // Spring: 02:30 does not exist on 2024-03-31; shifted, it fires at 03:00 CEST (01:00 UTC).
  CHECK(previous(cron("30 2 * * *", berlin), "2024-03-31 12:00") == "2024-03-31 01:00:00");
  berlin.gap_policy = apsched::GapPolicy::skip;
  CHECK(previous(cron("30 2 * * *", berlin), "2024-03-31 12:00") == "2024-03-30 01:30:00");
  // Autumn: 02:30 happens twice on 2024-10-27 (00:30 and 01:30 UTC); once fires in the first.
  berlin.gap_policy = apsched::GapPolicy::shift;
  CHECK(previous(cron("30 2 * * *", berlin), "2024-10-27 12:00") == "2024-10-27 00:30:00");
  berlin.fold_policy = apsched::FoldPolicy::both;
  CHECK(previous(cron("30 2 * * *", berlin), "2024-10-27 12:00") == "2024-10-27 01:30:00");
  CHECK(previous(cron("30 2 * * *", berlin), "2024-10-27 01:29") == "2024-10-27 00:30:00");
  // cron(8)'s rule: the wildcard job fires in both passes, the fixed-time one once.
  CronOptions cron_rule;
  cron_rule.timezone = "Europe/Berlin";
  cron_rule.dst_policy = apsched::DstPolicy::cron;
  CHECK(previous(cron("30 * * * *", cron_rule), "2024-10-27 01:45") == "2024-10-27 01:30:00");
  CHECK(previous(cron("30 2 * * *", cron_rule), "2024-10-27 01:45") == "2024-10-27 00:30:00");
  CHECK(previous(cron("30 2 * * *", cron_rule), "2024-03-31 12:00") == "2024-03-31 01:00:00");
  CHECK(previous(cron("30 * * * *", cron_rule), "2024-03-31 01:15") == "2024-03-31 00:30:00");
  // Lord Howe's half-hour change: 02:15 is skipped on 2024-10-06 and shifted to 02:30 (+11).
  CronOptions lord_howe;
  lord_howe.timezone = "Australia/Lord_Howe";
  CHECK(previous(cron("15 2 * * *", lord_howe), "2024-10-05 16:00") == "2024-10-05 15:30:00");
}

TEST_CASE("cron previous fire time agrees with brute force across daylight-saving changes",
          "[trigger][cron][previous][reference][dst]") {
  const char* zones[] = {"Europe/Berlin",    "America/New_York", "Australia/Lord_Howe",
                         "Australia/Sydney", "Pacific/Apia",     "America/Santiago",
                         "Europe/Moscow",    "Asia/Kolkata",     "UTC"};
  CronGenerator random{4242};
  int compared = 0;
  for (int i = 0; i < 180; ++i) {
    const char* zone_name = zones[static_cast<std::size_t>(i) % std::size(zones)];
    const date::time_zone& zone = *date::locate_zone(zone_name);
    const TimePoint somewhere = random.instant(1995, 41);
    const date::sys_info info =
        zone.get_info(std::chrono::time_point_cast<std::chrono::seconds>(somewhere));
    const TimePoint transition =
        info.end < date::sys_days{date::year{2037} / 1 / 1} ? TimePoint{info.end} : somewhere;
    const ReferenceCron expression =
        random.next(i % 4 == 3, apsched::test::local_hour(zone, transition));
    const bool shift_gaps = random.pick(2) == 0;
    const bool fold_once = random.pick(2) == 0;
    CAPTURE(expression.text, zone_name, shift_gaps, fold_once);
    const CronOptions options = dst_options(zone_name, shift_gaps, fold_once);
    const std::optional<CronTrigger> trigger =
        CronTrigger::try_from_crontab(expression.text, options);
    if (!trigger) {
      continue;  // matches no date; the reference tests check that
    }
    const bool seconds = i % 4 == 3;
    const TimePoint from = transition - (seconds ? 2h : 30h);
    const TimePoint to = transition + (seconds ? 2h : 30h);
    const std::vector<TimePoint> expected =
        reference_fires(expression, zone, from, to, seconds ? 1s : 60s, shift_gaps, fold_once);
    REQUIRE(fires_between(*trigger, from, to) == expected);
    check_previous(*trigger, expected, from, to, random);
    ++compared;
  }
  CHECK(compared > 150);
}

TEST_CASE("cron previous fire time is the forward search's last fire under cron(8)'s rule",
          "[trigger][cron][previous][dst]") {
  // No brute-force model of DstPolicy::cron here: the fire list comes from the forward search,
  // started far enough back, which is what the definition names.
  const char* expressions[] = {"30 2 * * *", "*/20 2 * * *",    "0,30 1-3 * * *",
                               "30 * * * *", "15 2 * * FRI#-1", "@hourly"};
  const char* zones[] = {"Europe/Berlin", "America/New_York", "Australia/Lord_Howe"};
  CronGenerator random{99};
  for (const char* zone_name : zones) {
    for (const char* expression : expressions) {
      CAPTURE(zone_name, expression);
      CronOptions options;
      options.timezone = zone_name;
      options.dst_policy = apsched::DstPolicy::cron;
      const CronTrigger trigger = CronTrigger::from_crontab(expression, options);
      // Windows around each change of 2023 and 2024, and one stretch of a month without any.
      const date::time_zone& zone = *date::locate_zone(zone_name);
      std::vector<std::pair<TimePoint, TimePoint>> windows{{utc("2023-12-01"), utc("2024-01-01")}};
      for (const TimePoint change : transitions(zone, utc("2023-01-01"), utc("2025-01-01"))) {
        windows.emplace_back(change - 30h, change + 30h);
      }
      for (const auto& [from, to] : windows) {
        check_previous(trigger, fires_between(trigger, from, to), from, to, random);
      }
    }
  }
}

}  // namespace cron_previous_fire_time_test
