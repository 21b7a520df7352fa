// SPDX-License-Identifier: MIT
#include <apsched/triggers/date.hpp>

#include "support/catch.hpp"

#include <chrono>

namespace triggers_date_test {

using namespace std::chrono_literals;
using apsched::DateTrigger;
using apsched::TimePoint;

namespace {
const TimePoint t0 = TimePoint{} + std::chrono::hours{24 * 20'000};
}

TEST_CASE("date trigger fires once at its date, even when that date is past", "[trigger][date]") {
  const DateTrigger trigger{t0};
  CHECK(trigger.next_fire_time(std::nullopt, t0 - 1h) == t0);
  CHECK(trigger.next_fire_time(std::nullopt, t0 + 1h) == t0);
  CHECK_FALSE(trigger.next_fire_time(t0, t0).has_value());
  CHECK_FALSE(trigger.next_fire_time(t0 + 1s, t0).has_value());
}

TEST_CASE("date trigger keeps the precision of the time point it is given", "[trigger][date]") {
  const auto seconds = std::chrono::time_point_cast<std::chrono::seconds>(t0);
  const DateTrigger trigger{seconds + 1s};
  CHECK(trigger.run_date() == TimePoint{seconds} + 1s);
  CHECK(trigger.describe() == "date[2024-10-04T00:00:01.000000Z]");
}

TEST_CASE("date trigger satisfies the Trigger concept", "[trigger][date]") {
  STATIC_REQUIRE(apsched::Trigger<DateTrigger>);
  STATIC_REQUIRE(apsched::DescribedTrigger<DateTrigger>);
  STATIC_REQUIRE_FALSE(apsched::JitteredTrigger<DateTrigger>);
}

}  // namespace triggers_date_test
