// SPDX-License-Identifier: MIT
#include <apsched/triggers/combining.hpp>
#include <apsched/triggers/date.hpp>
#include <apsched/triggers/interval.hpp>

#include "support/catch.hpp"

#include <chrono>
#include <optional>
#include <vector>

namespace triggers_combining_test {

using namespace std::chrono_literals;
using apsched::AndOptions;
using apsched::AndTrigger;
using apsched::DateTrigger;
using apsched::IntervalTrigger;
using apsched::OrTrigger;
using apsched::TimePoint;
using apsched::test::contains;

namespace {
const TimePoint t0 = TimePoint{} + std::chrono::hours{24 * 20'000};

IntervalTrigger every(apsched::Duration step, apsched::Duration offset = {}) {
  return IntervalTrigger{step, {.start_date = t0 + offset, .end_date = {}, .jitter = {}}};
}

template <class T>
std::vector<apsched::Duration> offsets(const T& trigger, int count) {
  std::vector<apsched::Duration> result;
  std::optional<TimePoint> previous;
  for (int i = 0; i < count; ++i) {
    previous = trigger.next_fire_time(previous, previous.value_or(t0));
    if (!previous) {
      break;
    }
    result.push_back(*previous - t0);
  }
  return result;
}

// A user-written trigger: fires at t0 + 7s * k, with nothing else.
struct Sevens {
  [[nodiscard]] std::optional<TimePoint> next_fire_time(std::optional<TimePoint> previous,
                                                        TimePoint now) const {
    TimePoint at = previous && *previous >= now ? *previous + 1ns : now;
    const auto k = (at - t0 + 7s - 1ns) / 7s;
    return t0 + k * 7s;
  }
};
using D = std::vector<apsched::Duration>;
}  // namespace

TEST_CASE("or trigger merges the streams and fires shared times once", "[trigger][combining]") {
  const OrTrigger trigger{every(3s), every(5s)};
  CHECK(offsets(trigger, 8) == D{0s, 3s, 5s, 6s, 9s, 10s, 12s, 15s});
  CHECK(offsets(trigger, 9).back() == 18s);
}

TEST_CASE("or trigger ends when every child has ended", "[trigger][combining]") {
  const OrTrigger trigger{DateTrigger{t0 + 2s}, DateTrigger{t0 + 1s}, DateTrigger{t0 + 2s}};
  CHECK(offsets(trigger, 5) == D{1s, 2s});
}

TEST_CASE("and trigger fires where all children fire together", "[trigger][combining]") {
  const AndTrigger exact{AndOptions{.threshold = 0s}, every(3s), every(5s)};
  CHECK(offsets(exact, 3) == D{0s, 15s, 30s});
  const AndTrigger three{AndOptions{.threshold = 0s}, every(2s), every(3s), Sevens{}};
  CHECK(offsets(three, 2) == D{0s, 42s});
}

TEST_CASE("and trigger fires at the earliest time of a group within the threshold",
          "[trigger][combining]") {
  // 0,3,6,9,12,15,18,21 and 1,6,11,16,21: groups within 1s at 0/1, 6/6, 11/12, 15/16.
  const AndTrigger trigger{every(3s), every(5s, 1s)};
  CHECK(offsets(trigger, 4) == D{0s, 6s, 11s, 15s});
  CHECK(trigger.options().threshold == 1s);
}

TEST_CASE("and trigger ends when any child ends", "[trigger][combining]") {
  const AndTrigger trigger{DateTrigger{t0 + 6s}, every(3s)};
  CHECK(offsets(trigger, 3) == D{6s});
}

TEST_CASE("and trigger gives up after max_iterations instead of looping forever",
          "[trigger][combining][error]") {
  // Even and odd seconds never meet with a zero threshold.
  const AndTrigger never{AndOptions{.threshold = 0s, .max_iterations = 100, .jitter = {}},
                         every(2s), every(2s, 1s)};
  CHECK_THROWS_AS(never.next_fire_time(std::nullopt, t0), apsched::InvalidTriggerError);
  CHECK_THROWS_WITH(never.next_fire_time(std::nullopt, t0),
                    contains("AndTrigger: the triggers found no common fire time within 100 "
                             "iterations"));
  const AndTrigger loose{AndOptions{.threshold = 1s}, every(2s), every(2s, 1s)};
  CHECK(offsets(loose, 2) == D{0s, 1s});
}

TEST_CASE("combining triggers reject bad options", "[trigger][combining][error]") {
  CHECK_THROWS_WITH((AndTrigger{AndOptions{.threshold = -1s}, every(1s)}),
                    contains("AndTrigger: threshold -1s is negative"));
  CHECK_THROWS_WITH((AndTrigger{AndOptions{.threshold = 1s, .max_iterations = 0}, every(1s)}),
                    contains("max_iterations is 0"));
  CHECK_THROWS_WITH((OrTrigger{apsched::OrOptions{.jitter = -1s}, every(1s)}),
                    contains("OrTrigger: jitter -1s is negative"));
}

TEST_CASE("combining triggers describe their children and report jitter", "[trigger][combining]") {
  const OrTrigger either{apsched::OrOptions{.jitter = 2s}, DateTrigger{t0}, Sevens{}};
  CHECK(either.describe() == "or[date[2024-10-04T00:00:00.000000Z]; trigger]");
  CHECK(either.jitter() == 2s);
  const AndTrigger both{DateTrigger{t0}, DateTrigger{t0}};
  CHECK(both.describe() ==
        "and[threshold=1s; date[2024-10-04T00:00:00.000000Z]; date[2024-10-04T00:00:00.000000Z]]");
}

TEST_CASE("combining triggers satisfy the Trigger concept over any triggers",
          "[trigger][combining]") {
  STATIC_REQUIRE(apsched::Trigger<Sevens>);
  STATIC_REQUIRE(apsched::Trigger<OrTrigger<Sevens, IntervalTrigger>>);
  STATIC_REQUIRE(apsched::Trigger<AndTrigger<Sevens, DateTrigger>>);
  STATIC_REQUIRE(apsched::JitteredTrigger<OrTrigger<Sevens>>);
  STATIC_REQUIRE(apsched::DescribedTrigger<AndTrigger<Sevens>>);
  STATIC_REQUIRE(apsched::Trigger<OrTrigger<AndTrigger<Sevens, Sevens>, OrTrigger<Sevens>>>);
  // Nesting works, and a non-trigger is not accepted.
  STATIC_REQUIRE_FALSE(std::is_constructible_v<OrTrigger<Sevens>, int>);
}

}  // namespace triggers_combining_test
