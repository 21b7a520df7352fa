// SPDX-License-Identifier: MIT
// The dialect settings of cron-family triggers print by name.
#include <apsched/triggers/calendar_interval.hpp>
#include <apsched/triggers/cron_policies.hpp>

#include "support/catch.hpp"

#include <fmt/format.h>

namespace triggers_cron_policies_test {

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
