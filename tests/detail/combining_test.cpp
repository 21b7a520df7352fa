// SPDX-License-Identifier: MIT
// The AND and OR algorithms that AndTrigger, OrTrigger and the decoded composites share.
#include <apsched/detail/combining.hpp>

#include "support/catch.hpp"

#include <array>
#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace detail_combining_test {

using namespace std::chrono_literals;
using apsched::Duration;
using apsched::InvalidTriggerError;
using apsched::TimePoint;
using apsched::detail::and_next_fire_time;
using apsched::detail::and_round;
using apsched::detail::AndRound;
using apsched::detail::check_and_options;
using apsched::detail::check_or_options;
using apsched::detail::describe_and;
using apsched::detail::describe_child;
using apsched::detail::describe_or;
using apsched::detail::merge_or_time;
using Outcome = AndRound::Outcome;

const TimePoint t0 = TimePoint{} + std::chrono::hours{24 * 20'000};
using Times = std::vector<std::optional<TimePoint>>;

// A child firing at `offset + k * step` (k >= 0) after t0, as the fake children of the loop.
struct Grid {
  Duration step;
  Duration offset;
  [[nodiscard]] std::optional<TimePoint> at_or_after(TimePoint bound) const {
    const TimePoint start = t0 + offset;
    if (bound <= start) {
      return start;
    }
    return start + (bound - start + step - 1ns) / step * step;
  }
};

// A trigger without describe().
struct Plain {
  [[nodiscard]] std::optional<TimePoint> next_fire_time(std::optional<TimePoint>,
                                                        TimePoint now) const {
    return now;
  }
};

TEST_CASE("an and round finds the earliest time of a group within the threshold", "[combining]") {
  struct Row {
    Times times;
    Duration threshold;
    Outcome outcome;
    TimePoint time;
  };
  const std::vector<Row> rows{
      {{t0}, 0s, Outcome::found, t0},
      {{t0 + 2s, t0, t0 + 1s}, 2s, Outcome::found, t0},
      {{t0 + 2s, t0, t0 + 1s}, 1s, Outcome::again, t0 + 1s},
      {{t0 + 9s, t0 + 3s}, 0s, Outcome::again, t0 + 9s},
      {{t0 + 3s, std::nullopt, t0 + 3s}, 1s, Outcome::exhausted, t0},
      {{std::nullopt}, 1s, Outcome::exhausted, t0},
  };
  for (std::size_t i = 0; i < rows.size(); ++i) {
    INFO("row " << i);
    const AndRound round = and_round(rows[i].times, t0, rows[i].threshold);
    CHECK(round.outcome == rows[i].outcome);
    if (round.outcome != Outcome::exhausted) {
      CHECK(round.time == rows[i].time);
    }
  }
  // The bound never moves back, even when latest - threshold is before it.
  const AndRound behind = and_round(Times{t0 + 1s, t0 + 5s}, t0 + 4s, 3s);
  CHECK(behind.outcome == Outcome::again);
  CHECK(behind.time == t0 + 4s);
}

TEST_CASE("the and loop asks every child from each new bound until they meet", "[combining]") {
  // 0,3,6,9,... and 1,6,11,...: with threshold 0 the first common time is 6s, then 21s.
  const std::array<Grid, 2> grids{{{3s, 0s}, {5s, 1s}}};
  std::vector<TimePoint> bounds;
  const auto fire_times = [&](TimePoint bound, std::span<std::optional<TimePoint>> out) {
    bounds.push_back(bound);
    for (std::size_t i = 0; i < grids.size(); ++i) {
      out[i] = grids[i].at_or_after(bound);
    }
  };
  std::array<std::optional<TimePoint>, 2> times;
  CHECK(and_next_fire_time(times, t0, 0s, 100, fire_times) == t0 + 6s);
  CHECK(bounds == std::vector<TimePoint>{t0, t0 + 1s, t0 + 3s, t0 + 6s});
  CHECK(and_next_fire_time(times, t0 + 7s, 0s, 100, fire_times) == t0 + 21s);
  CHECK(and_next_fire_time(times, t0 + 7s, 1s, 100, fire_times) == t0 + 11s);
}

TEST_CASE("the and loop ends when a child is exhausted", "[combining]") {
  int calls = 0;
  std::array<std::optional<TimePoint>, 3> times;
  const auto exhausted = [&](TimePoint bound, std::span<std::optional<TimePoint>> out) {
    ++calls;
    out[0] = bound;
    out[1] = std::nullopt;
    out[2] = bound;
  };
  CHECK(and_next_fire_time(times, t0, 1s, 100, exhausted) == std::nullopt);
  CHECK(calls == 1);
}

TEST_CASE("the and loop gives up after max_iterations rounds", "[combining][error]") {
  // Even and odd seconds never meet with a zero threshold.
  const std::array<Grid, 2> grids{{{2s, 0s}, {2s, 1s}}};
  int calls = 0;
  const auto fire_times = [&](TimePoint bound, std::span<std::optional<TimePoint>> out) {
    ++calls;
    for (std::size_t i = 0; i < grids.size(); ++i) {
      out[i] = grids[i].at_or_after(bound);
    }
  };
  std::array<std::optional<TimePoint>, 2> times;
  REQUIRE_THROWS_AS(and_next_fire_time(times, t0, 0s, 7, fire_times), InvalidTriggerError);
  CHECK(calls == 7);
  REQUIRE_THROWS_WITH(
      and_next_fire_time(times, t0, 0s, 7, fire_times),
      "AndTrigger: the triggers found no common fire time within 7 iterations after "
      "2024-10-04T00:00:00.000000Z; expected them to meet within threshold 0ns (raise "
      "max_iterations or threshold)");
}

TEST_CASE("the or merge keeps the earliest fire time of any child", "[combining]") {
  struct Row {
    Times times;
    std::optional<TimePoint> earliest;
  };
  const std::vector<Row> rows{
      {{}, std::nullopt},
      {{std::nullopt, std::nullopt}, std::nullopt},
      {{t0 + 3s, std::nullopt, t0 + 1s, t0 + 1s}, t0 + 1s},
      {{std::nullopt, t0 + 2s}, t0 + 2s},
      {{t0, t0 + 5s}, t0},
  };
  for (std::size_t i = 0; i < rows.size(); ++i) {
    INFO("row " << i);
    std::optional<TimePoint> earliest;
    for (const std::optional<TimePoint>& time : rows[i].times) {
      merge_or_time(earliest, time);
    }
    CHECK(earliest == rows[i].earliest);
  }
}

TEST_CASE("and and or descriptions list their children", "[combining]") {
  const std::vector<std::string> children{"date[x]", "trigger"};
  CHECK(describe_and(1s, children) == "and[threshold=1s; date[x]; trigger]");
  CHECK(describe_and(90min, std::span<const std::string>{children}.first(1)) ==
        "and[threshold=90min; date[x]]");
  CHECK(describe_or(children) == "or[date[x]; trigger]");
  CHECK(describe_or(std::span<const std::string>{children}.first(1)) == "or[date[x]]");
  CHECK(describe_child(Plain{}) == "trigger");
}

TEST_CASE("and and or options are checked with the trigger's messages", "[combining][error]") {
  CHECK_NOTHROW(check_and_options(0s, 1, 0s));
  CHECK_NOTHROW(check_or_options(0s));
  REQUIRE_THROWS_AS(check_and_options(-1s, 1, 0s), InvalidTriggerError);
  REQUIRE_THROWS_WITH(check_and_options(-1s, 1, 0s),
                      "AndTrigger: threshold -1s is negative; expected a duration >= 0");
  REQUIRE_THROWS_WITH(check_and_options(1s, 0, 0s),
                      "AndTrigger: max_iterations is 0; expected at least 1");
  REQUIRE_THROWS_WITH(check_and_options(1s, 1, -2ms),
                      "AndTrigger: jitter -2ms is negative; expected a duration >= 0");
  REQUIRE_THROWS_AS(check_or_options(-1s), InvalidTriggerError);
  REQUIRE_THROWS_WITH(check_or_options(-1s),
                      "OrTrigger: jitter -1s is negative; expected a duration >= 0");
}

}  // namespace detail_combining_test
