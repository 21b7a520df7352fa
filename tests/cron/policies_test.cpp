// SPDX-License-Identifier: MIT
// The dialect settings of cron-family triggers: cron(8)'s daylight-saving rule (DstPolicy::cron)
// in two zones, and the names every setting prints by.
#include <apsched/cron/calendar_interval.hpp>
#include <apsched/cron/cron_trigger.hpp>
#include <apsched/cron/policies.hpp>

#include "support/catch.hpp"
#include "support/cron_time.hpp"
#include "support/cron_triggers.hpp"

#include <fmt/format.h>

#include <string>
#include <vector>

namespace triggers_cron_policies_test {

using apsched::CronFields;
using apsched::CronOptions;
using apsched::CronTrigger;
using apsched::FoldPolicy;
using apsched::GapPolicy;
using apsched::test::contains;
using apsched::test::cron;
using apsched::test::fields;
using apsched::test::fires;
using apsched::test::utc;
using Strings = std::vector<std::string>;

namespace {
// The default gap and fold policies in `zone`.
CronOptions in(const char* zone) {
  CronOptions options;
  options.timezone = zone;
  return options;
}
// cron(8)'s split rule in `zone`.
CronOptions cron_dst(const char* zone) {
  CronOptions options;
  options.timezone = zone;
  options.dst_policy = apsched::DstPolicy::cron;
  return options;
}
}  // namespace

TEST_CASE("cron trigger under DstPolicy::cron fires a fixed-time job once at a gap and a fold",
          "[trigger][cron][zone][dst]") {
  const CronOptions berlin = cron_dst("Europe/Berlin");
  // Europe/Berlin: 02:00 CET -> 03:00 CEST at 01:00 UTC on 2024-03-31; the swallowed 02:30
  // fires at the gap's end, then daily.
  CHECK(fires(cron("30 2 * * *", berlin), utc("2024-03-30 12:00"), 3) ==
        Strings{"2024-03-31 01:00:00", "2024-04-01 00:30:00", "2024-04-02 00:30:00"});
  // 03:00 CEST -> 02:00 CET at 01:00 UTC on 2024-10-27: 02:30 fires in the first pass only.
  CHECK(fires(cron("30 2 * * *", berlin), utc("2024-10-26 12:00"), 2) ==
        Strings{"2024-10-27 00:30:00", "2024-10-28 01:30:00"});
  // A fixed minute and hour that names every hour is still a fixed-time job for cron(8): once
  // in the fold, where FoldPolicy::once alone fires it in both passes.
  CHECK(fires(cron("30 0-23 * * *", berlin), utc("2024-10-27 00:00"), 3) ==
        Strings{"2024-10-27 00:30:00", "2024-10-27 02:30:00", "2024-10-27 03:30:00"});
  CHECK(fires(cron("30 0-23 * * *", in("Europe/Berlin")), utc("2024-10-27 00:00"), 3) ==
        Strings{"2024-10-27 00:30:00", "2024-10-27 01:30:00", "2024-10-27 02:30:00"});
  CHECK(fires(cron("30 0-23 * * *", berlin), utc("2024-03-31 00:00"), 3) ==
        Strings{"2024-03-31 00:30:00", "2024-03-31 01:00:00", "2024-03-31 01:30:00"});
  // Only the first character counts: 0-59/30 and 0,*/30 match what */30 does, but are fixed.
  CHECK(fires(cron("0-59/30 2 * * *", berlin), utc("2024-03-30 12:00"), 2) ==
        Strings{"2024-03-31 01:00:00", "2024-04-01 00:00:00"});
  CHECK(fires(cron("0,*/30 2 * * *", berlin), utc("2024-03-30 12:00"), 2) ==
        Strings{"2024-03-31 01:00:00", "2024-04-01 00:00:00"});

  const CronOptions new_york = cron_dst("America/New_York");
  // America/New_York: 02:00 EST -> 03:00 EDT at 07:00 UTC on 2024-03-10.
  CHECK(fires(cron("30 2 * * *", new_york), utc("2024-03-09 12:00"), 3) ==
        Strings{"2024-03-10 07:00:00", "2024-03-11 06:30:00", "2024-03-12 06:30:00"});
  // 02:00 EDT -> 01:00 EST at 06:00 UTC on 2024-11-03: 01:30 fires in the first pass only.
  CHECK(fires(cron("30 1 * * *", new_york), utc("2024-11-02 12:00"), 2) ==
        Strings{"2024-11-03 05:30:00", "2024-11-04 06:30:00"});
  CHECK(fires(cron("0,30 1 * * *", new_york), utc("2024-11-03 04:00"), 3) ==
        Strings{"2024-11-03 05:00:00", "2024-11-03 05:30:00", "2024-11-04 06:00:00"});
}

TEST_CASE("cron trigger under DstPolicy::cron lets a wildcard job follow the wall clock",
          "[trigger][cron][zone][dst]") {
  const CronOptions berlin = cron_dst("Europe/Berlin");
  // Europe/Berlin's gap: 02:30 does not exist and is not made up at 03:00 CEST (01:00 UTC).
  CHECK(fires(cron("30 * * * *", berlin), utc("2024-03-31 00:00"), 3) ==
        Strings{"2024-03-31 00:30:00", "2024-03-31 01:30:00", "2024-03-31 02:30:00"});
  CHECK(fires(cron("*/30 2 * * *", berlin), utc("2024-03-30 12:00"), 2) ==
        Strings{"2024-04-01 00:00:00", "2024-04-01 00:30:00"});
  // Europe/Berlin's fold: 02:00 and 02:30 fire in both passes, even with the hour restricted.
  CHECK(fires(cron("30 * * * *", berlin), utc("2024-10-27 00:00"), 3) ==
        Strings{"2024-10-27 00:30:00", "2024-10-27 01:30:00", "2024-10-27 02:30:00"});
  CHECK(fires(cron("*/30 2 * * *", berlin), utc("2024-10-26 12:00"), 5) ==
        Strings{"2024-10-27 00:00:00", "2024-10-27 00:30:00", "2024-10-27 01:00:00",
                "2024-10-27 01:30:00", "2024-10-28 01:00:00"});

  const CronOptions new_york = cron_dst("America/New_York");
  // America/New_York's gap: no fire at 07:00 UTC (03:00 EDT) for the skipped 02:30.
  CHECK(fires(cron("30 * * * *", new_york), utc("2024-03-10 06:00"), 3) ==
        Strings{"2024-03-10 06:30:00", "2024-03-10 07:30:00", "2024-03-10 08:30:00"});
  CHECK(fires(cron("*/30 2 * * *", new_york), utc("2024-03-09 12:00"), 2) ==
        Strings{"2024-03-11 06:00:00", "2024-03-11 06:30:00"});
  // America/New_York's fold: 01:00 and 01:30 fire in both passes.
  CHECK(fires(cron("30 * * * *", new_york), utc("2024-11-03 05:00"), 3) ==
        Strings{"2024-11-03 05:30:00", "2024-11-03 06:30:00", "2024-11-03 07:30:00"});
  CHECK(fires(cron("*/30 1 * * *", new_york), utc("2024-11-02 12:00"), 5) ==
        Strings{"2024-11-03 05:00:00", "2024-11-03 05:30:00", "2024-11-03 06:00:00",
                "2024-11-03 06:30:00", "2024-11-04 06:00:00"});
}

TEST_CASE("cron trigger under DstPolicy::cron reads omitted fields as their defaults",
          "[trigger][cron][zone][dst]") {
  const CronOptions berlin = cron_dst("Europe/Berlin");
  // hour="2" fires at 02:00:00 (minute and second default to 0): a fixed time, made up after
  // the gap.
  CHECK(fires(fields({.hour = "2"}, berlin), utc("2024-03-30 12:00"), 2) ==
        Strings{"2024-03-31 01:00:00", "2024-04-01 00:00:00"});
  CHECK(fires(fields({.hour = "2", .minute = "30"}, berlin), utc("2024-10-26 12:00"), 2) ==
        Strings{"2024-10-27 00:30:00", "2024-10-28 01:30:00"});
  // minute="30" leaves the hour at `*`: a wildcard job.
  CHECK(fires(fields({.minute = "30"}, berlin), utc("2024-03-31 00:00"), 2) ==
        Strings{"2024-03-31 00:30:00", "2024-03-31 01:30:00"});
  CHECK(fires(fields({.hour = "2", .minute = "*/30"}, berlin), utc("2024-10-27 00:00"), 4) ==
        Strings{"2024-10-27 00:00:00", "2024-10-27 00:30:00", "2024-10-27 01:00:00",
                "2024-10-27 01:30:00"});
}

TEST_CASE("cron trigger rejects DstPolicy::cron with a gap or fold policy of its own",
          "[trigger][cron][error]") {
  CronOptions options = cron_dst("UTC");
  CHECK(cron("30 2 * * *", options).dst_policy() == apsched::DstPolicy::cron);
  CHECK(cron("30 2 * * *").dst_policy() == apsched::DstPolicy::separate);
  options.gap_policy = GapPolicy::skip;
  REQUIRE_THROWS_AS(cron("30 2 * * *", options), apsched::InvalidTriggerError);
  REQUIRE_THROWS_WITH(
      cron("30 2 * * *", options),
      "from_crontab: dst_policy cron sets the gap and fold rules itself, but gap_policy is skip "
      "and fold_policy is once; expected gap_policy shift and fold_policy once (the defaults) "
      "with dst_policy cron");
  options.gap_policy = GapPolicy::shift;
  options.fold_policy = FoldPolicy::both;
  REQUIRE_THROWS_WITH(fields({.hour = "2"}, options),
                      contains("CronTrigger: dst_policy cron sets the gap and fold rules itself, "
                               "but gap_policy is shift and fold_policy is both"));
}

TEST_CASE("cron settings print by name", "[cron][format]") {
  using namespace apsched;
  CHECK(to_string(GapPolicy::shift) == "shift");
  CHECK(fmt::format("{}", GapPolicy::skip) == "skip");
  CHECK(to_string(FoldPolicy::once) == "once");
  CHECK(fmt::format("{}", FoldPolicy::both) == "both");
  CHECK(to_string(DstPolicy::separate) == "separate");
  CHECK(fmt::format("{}", DstPolicy::cron) == "cron");
  CHECK(to_string(WeekdayNumbering::cron) == "cron");
  CHECK(fmt::format("{}", WeekdayNumbering::quartz) == "quartz");
  CHECK(to_string(MissingDayPolicy::skip) == "skip");
  CHECK(fmt::format("{}", MissingDayPolicy::clamp) == "clamp");
}

}  // namespace triggers_cron_policies_test
