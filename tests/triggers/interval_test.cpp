// SPDX-License-Identifier: MIT
#include <apsched/triggers/interval.hpp>

#include "support/catch.hpp"

#include <chrono>
#include <cmath>
#include <cstdint>
#include <optional>
#include <vector>

namespace triggers_interval_test {

using namespace std::chrono_literals;
using apsched::Duration;
using apsched::IntervalOptions;
using apsched::IntervalTrigger;
using apsched::InvalidTriggerError;
using apsched::TimePoint;

namespace {

// 2024-01-01T00:00:00Z
const TimePoint t0 = TimePoint{std::chrono::sys_days{std::chrono::year{2024} / 1 / 1}};

// The fire times the trigger yields from `first` on, asking with now == previous, as the scheduler
// does to count missed runs; stops after `limit` or once the trigger is exhausted.
std::vector<TimePoint> enumerate(const IntervalTrigger& trigger, TimePoint first, int limit) {
  std::vector<TimePoint> fires;
  std::optional<TimePoint> next = trigger.next_fire_time(std::nullopt, first);
  while (next && static_cast<int>(fires.size()) < limit) {
    fires.push_back(*next);
    next = trigger.next_fire_time(*next, *next);
  }
  return fires;
}

}  // namespace

TEST_CASE("interval trigger fires start + n*interval", "[trigger][interval]") {
  const IntervalTrigger trigger{10s, {.start_date = t0}};
  CHECK(trigger.next_fire_time(std::nullopt, t0 - 1h) == t0);
  CHECK(trigger.next_fire_time(std::nullopt, t0) == t0);
  CHECK(trigger.next_fire_time(t0, t0) == t0 + 10s);
  CHECK(trigger.next_fire_time(t0 + 10s, t0 + 10s) == t0 + 20s);
  CHECK(trigger.next_fire_time(t0 + 990s, t0 + 990s) == t0 + 1000s);
}

TEST_CASE("interval trigger with a start date picks the grid point at or after now",
          "[trigger][interval]") {
  const IntervalTrigger trigger{10s, {.start_date = t0}};
  SECTION("without a previous fire time") {
    CHECK(trigger.next_fire_time(std::nullopt, t0 + 1ns) == t0 + 10s);
    CHECK(trigger.next_fire_time(std::nullopt, t0 + 25s) == t0 + 30s);
    CHECK(trigger.next_fire_time(std::nullopt, t0 + 30s) == t0 + 30s);
    CHECK(trigger.next_fire_time(std::nullopt, t0 + 30s - 1ns) == t0 + 30s);
  }
  SECTION("with a previous fire time before now") {
    CHECK(trigger.next_fire_time(t0, t0 + 25s) == t0 + 30s);
    CHECK(trigger.next_fire_time(t0 + 10s, t0 + 30s) == t0 + 30s);
  }
  SECTION("with a previous fire time after now, the result is strictly after previous") {
    CHECK(trigger.next_fire_time(t0 + 30s, t0 + 5s) == t0 + 40s);
    CHECK(trigger.next_fire_time(t0 + 30s - 1ns, t0) == t0 + 30s);
  }
  SECTION("a start date in the future is the first fire time") {
    CHECK(trigger.next_fire_time(std::nullopt, t0 - 24h) == t0);
    CHECK(trigger.next_fire_time(t0 - 1s, t0 - 24h) == t0);
  }
}

TEST_CASE("interval trigger keeps its grid however late the runs are (no drift)",
          "[trigger][interval]") {
  const IntervalTrigger with_start{10s, {.start_date = t0}};
  const IntervalTrigger without_start{10s};
  TimePoint previous = t0;
  for (int k = 1; k <= 1000; ++k) {
    // The run of `previous` is handled late, by a different amount below one interval each time.
    const Duration lateness = std::chrono::milliseconds{(k * 7919) % 10'000};
    const auto next_with = with_start.next_fire_time(previous, previous + lateness);
    const auto next_without = without_start.next_fire_time(previous, previous + lateness);
    REQUIRE(next_with == t0 + k * 10s);
    REQUIRE(next_without == t0 + k * 10s);
    previous = *next_with;
  }
}

TEST_CASE("interval trigger without a start date fires one interval after the first call",
          "[trigger][interval]") {
  const IntervalTrigger trigger{10s};
  CHECK(trigger.next_fire_time(std::nullopt, t0) == t0 + 10s);
  CHECK(trigger.next_fire_time(std::nullopt, t0 + 3ms) == t0 + 10s + 3ms);
  CHECK_FALSE(trigger.start_date().has_value());
}

TEST_CASE("interval trigger without a start date continues the grid of the previous fire time",
          "[trigger][interval]") {
  const IntervalTrigger trigger{10s};
  const TimePoint previous = t0 + 3ms;
  CHECK(trigger.next_fire_time(previous, previous) == previous + 10s);
  CHECK(trigger.next_fire_time(previous, previous + 10s) == previous + 10s);
  CHECK(trigger.next_fire_time(previous, previous + 10s + 1ns) == previous + 20s);
  CHECK(trigger.next_fire_time(previous, previous + 25s) == previous + 30s);
  CHECK(trigger.next_fire_time(previous, previous - 1h) == previous + 10s);
}

TEST_CASE("interval trigger enumerates missed runs when called with now == previous",
          "[trigger][interval]") {
  const TimePoint real_now = t0 + 5min + 30s;
  for (const IntervalTrigger& trigger :
       {IntervalTrigger{1min, {.start_date = t0}}, IntervalTrigger{1min}}) {
    std::optional<TimePoint> previous = t0;
    std::vector<TimePoint> missed;
    for (;;) {
      const std::optional<TimePoint> next = trigger.next_fire_time(previous, *previous);
      REQUIRE(next.has_value());
      if (*next > real_now) {
        break;
      }
      missed.push_back(*next);
      previous = next;
    }
    CHECK(missed == std::vector<TimePoint>{t0 + 1min, t0 + 2min, t0 + 3min, t0 + 4min, t0 + 5min});
    // The run after the missed ones is the next grid point after now.
    CHECK(trigger.next_fire_time(t0, real_now) == t0 + 6min);
  }
}

TEST_CASE("interval trigger's end date is inclusive", "[trigger][interval]") {
  SECTION("with a start date") {
    const IntervalTrigger trigger{10s, {.start_date = t0, .end_date = t0 + 30s}};
    CHECK(enumerate(trigger, t0 - 1h, 100) ==
          std::vector<TimePoint>{t0, t0 + 10s, t0 + 20s, t0 + 30s});
    CHECK(trigger.next_fire_time(t0 + 20s, t0 + 20s) == t0 + 30s);
    CHECK_FALSE(trigger.next_fire_time(t0 + 30s, t0 + 30s).has_value());
    CHECK_FALSE(trigger.next_fire_time(std::nullopt, t0 + 30s + 1ns).has_value());
    CHECK(trigger.end_date() == t0 + 30s);
  }
  SECTION("an end date between grid points") {
    const IntervalTrigger trigger{10s, {.start_date = t0, .end_date = t0 + 35s}};
    CHECK(trigger.next_fire_time(t0 + 20s, t0 + 20s) == t0 + 30s);
    CHECK_FALSE(trigger.next_fire_time(t0 + 30s, t0 + 30s).has_value());
  }
  SECTION("an end date equal to the start date fires once") {
    const IntervalTrigger trigger{10s, {.start_date = t0, .end_date = t0}};
    CHECK(enumerate(trigger, t0 - 1s, 100) == std::vector<TimePoint>{t0});
  }
  SECTION("without a start date") {
    const IntervalTrigger trigger{10s, {.end_date = t0 + 30s}};
    CHECK(trigger.next_fire_time(std::nullopt, t0 + 20s) == t0 + 30s);
    CHECK_FALSE(trigger.next_fire_time(std::nullopt, t0 + 20s + 1ns).has_value());
    CHECK(trigger.next_fire_time(t0 + 20s, t0 + 20s) == t0 + 30s);
    CHECK_FALSE(trigger.next_fire_time(t0 + 30s, t0 + 30s).has_value());
  }
}

TEST_CASE("interval trigger accepts any std::chrono duration", "[trigger][interval]") {
  SECTION("weeks") {
    const IntervalTrigger trigger{std::chrono::hours{24 * 7}, {.start_date = t0}};
    CHECK(trigger.interval() == 168h);
    CHECK(trigger.next_fire_time(t0, t0) == t0 + 168h);
    CHECK(trigger.describe() == "interval[7d, start=2024-01-01T00:00:00.000000Z]");
  }
  SECTION("days") {
    const IntervalTrigger trigger{std::chrono::days{2}};
    CHECK(trigger.interval() == 48h);
    CHECK(trigger.next_fire_time(std::nullopt, t0) == t0 + 48h);
  }
  SECTION("milliseconds") {
    const IntervalTrigger trigger{250ms, {.start_date = t0}};
    CHECK(trigger.interval() == 250ms);
    CHECK(enumerate(trigger, t0, 5) ==
          std::vector<TimePoint>{t0, t0 + 250ms, t0 + 500ms, t0 + 750ms, t0 + 1s});
    CHECK(trigger.describe() == "interval[250ms, start=2024-01-01T00:00:00.000000Z]");
  }
  SECTION("nanoseconds") {
    const IntervalTrigger trigger{1ns, {.start_date = t0}};
    CHECK(trigger.next_fire_time(t0, t0) == t0 + 1ns);
    CHECK(trigger.describe() == "interval[1ns, start=2024-01-01T00:00:00.000000Z]");
  }
  SECTION("fractional seconds are rounded to the nearest nanosecond") {
    CHECK(IntervalTrigger{std::chrono::duration<double>{0.5}}.interval() == 500ms);
    CHECK(IntervalTrigger{std::chrono::duration<double>{1.25}}.interval() == 1250ms);
    CHECK(IntervalTrigger{std::chrono::duration<double, std::milli>{1.5}}.interval() == 1500us);
    CHECK(IntervalTrigger{std::chrono::duration<double, std::nano>{0.6}}.interval() == 1ns);
    CHECK(IntervalTrigger{std::chrono::duration<double, std::nano>{2.4}}.interval() == 2ns);
    const IntervalTrigger trigger{std::chrono::duration<double>{0.5}, {.start_date = t0}};
    CHECK(trigger.next_fire_time(t0, t0) == t0 + 500ms);
  }
  SECTION("fractional minutes") {
    using FractionalMinutes = std::chrono::duration<double, std::ratio<60>>;
    CHECK(IntervalTrigger{FractionalMinutes{1.5}}.interval() == 90s);
  }
}

TEST_CASE("interval trigger returns empty instead of overflowing near TimePoint::max()",
          "[trigger][interval]") {
  const TimePoint last = TimePoint::max();
  SECTION("with a start date") {
    const IntervalTrigger trigger{10s, {.start_date = last - 15s}};
    CHECK(trigger.next_fire_time(std::nullopt, last - 20s) == last - 15s);
    CHECK(trigger.next_fire_time(last - 15s, last - 15s) == last - 5s);
    CHECK_FALSE(trigger.next_fire_time(last - 5s, last - 5s).has_value());
    CHECK_FALSE(trigger.next_fire_time(std::nullopt, last).has_value());
    CHECK_FALSE(trigger.next_fire_time(last, last).has_value());
    CHECK_FALSE(trigger.next_fire_time(last, t0).has_value());
  }
  SECTION("with an early start date and now at the end of time") {
    const IntervalTrigger trigger{7s, {.start_date = t0}};
    CHECK_FALSE(trigger.next_fire_time(std::nullopt, last).has_value());
    CHECK_FALSE(trigger.next_fire_time(last - 1ns, last - 1ns).has_value());
  }
  SECTION("without a start date") {
    const IntervalTrigger trigger{10s};
    CHECK(trigger.next_fire_time(std::nullopt, last - 10s) == last);
    CHECK_FALSE(trigger.next_fire_time(std::nullopt, last - 5s).has_value());
    CHECK_FALSE(trigger.next_fire_time(last - 5s, last - 5s).has_value());
    CHECK_FALSE(trigger.next_fire_time(last, last).has_value());
    CHECK_FALSE(trigger.next_fire_time(t0, last).has_value());
  }
  SECTION("with an interval close to the largest") {
    const Duration almost_max = Duration::max() - 1ns;
    const IntervalTrigger with_start{almost_max, {.start_date = t0}};
    CHECK(with_start.next_fire_time(std::nullopt, t0) == t0);
    CHECK_FALSE(with_start.next_fire_time(t0, t0).has_value());
    const IntervalTrigger without_start{almost_max};
    CHECK_FALSE(without_start.next_fire_time(std::nullopt, t0).has_value());
    CHECK(without_start.next_fire_time(std::nullopt, TimePoint{}) == TimePoint{} + almost_max);
  }
}

TEST_CASE("interval trigger with a start date centuries before now stays on its grid",
          "[trigger][interval]") {
  const IntervalTrigger trigger{1h, {.start_date = TimePoint::min() + 1h}};
  CHECK_FALSE(trigger.next_fire_time(std::nullopt, TimePoint::max()).has_value());
  const auto next = trigger.next_fire_time(std::nullopt, t0 + 1s);
  REQUIRE(next.has_value());
  CHECK(*next > t0);
  CHECK(*next - (t0 + 1s) < 1h);
}

TEST_CASE("interval trigger without a start date works before 1970", "[trigger][interval]") {
  const TimePoint before_epoch = TimePoint{} - std::chrono::hours{24 * 365};
  const IntervalTrigger trigger{10s};
  CHECK(trigger.next_fire_time(std::nullopt, before_epoch) == before_epoch + 10s);
  CHECK(trigger.next_fire_time(before_epoch, before_epoch) == before_epoch + 10s);
}

TEST_CASE("interval trigger treats a start date of TimePoint::min() as none",
          "[trigger][interval]") {
  // Documented: TimePoint::min() stands for "no start date" (it keeps the trigger 32 bytes).
  const IntervalTrigger trigger{1h, {.start_date = TimePoint::min()}};
  CHECK_FALSE(trigger.start_date().has_value());
  CHECK(trigger.next_fire_time(std::nullopt, t0 + 1s) == t0 + 1s + 1h);
}

TEST_CASE("interval trigger yields exactly one hour between fires across a DST change",
          "[trigger][interval]") {
  // Europe/Berlin springs forward at 2024-03-31T01:00:00Z (02:00 CET -> 03:00 CEST).
  const TimePoint switch_over =
      TimePoint{std::chrono::sys_days{std::chrono::year{2024} / 3 / 31}} + 1h;
  const IntervalTrigger trigger{1h, {.start_date = switch_over - 3h}};
  const std::vector<TimePoint> fires = enumerate(trigger, switch_over - 3h, 7);
  REQUIRE(fires.size() == 7);
  for (std::size_t i = 1; i < fires.size(); ++i) {
    CHECK(fires[i] - fires[i - 1] == 1h);
  }
  CHECK(fires[3] == switch_over);
}

TEST_CASE("interval trigger rejects a non-positive interval", "[trigger][interval][error]") {
  REQUIRE_THROWS_AS(IntervalTrigger{0s}, InvalidTriggerError);
  REQUIRE_THROWS_WITH(IntervalTrigger{0s},
                      "IntervalTrigger: interval 0s is not positive; expected a duration > 0");
  REQUIRE_THROWS_AS(IntervalTrigger{-5s}, InvalidTriggerError);
  REQUIRE_THROWS_WITH(IntervalTrigger{-5s},
                      apsched::test::contains("interval -5s is not positive"));
  REQUIRE_THROWS_AS(IntervalTrigger{-1ns}, apsched::InvalidArgumentError);
  // A fractional interval that rounds to zero nanoseconds is not positive either.
  using FractionalNanoseconds = std::chrono::duration<double, std::nano>;
  REQUIRE_THROWS_AS(IntervalTrigger{FractionalNanoseconds{0.4}}, InvalidTriggerError);
  REQUIRE_THROWS_WITH(
      IntervalTrigger{FractionalNanoseconds{0.4}},
      apsched::test::contains("interval 0.4ns is not positive at nanosecond precision"));
  REQUIRE_THROWS_AS(IntervalTrigger{std::chrono::duration<double>{-0.5}}, InvalidTriggerError);
}

TEST_CASE("interval trigger rejects a hugely negative interval as not positive",
          "[trigger][interval][error]") {
  REQUIRE_THROWS_AS(IntervalTrigger{std::chrono::hours{-3'000'000}}, InvalidTriggerError);
}

TEST_CASE("interval trigger rejects an interval too large for a TimePoint",
          "[trigger][interval][error]") {
  const auto too_large = std::chrono::hours{24 * 365 * 300};
  REQUIRE_THROWS_AS(IntervalTrigger{too_large}, InvalidTriggerError);
  REQUIRE_THROWS_WITH(IntervalTrigger{too_large},
                      apsched::test::contains("IntervalTrigger: interval 2628000h is too large"));
  REQUIRE_THROWS_WITH(
      IntervalTrigger{too_large},
      apsched::test::contains("is too large; expected at most 9223372036854775807ns"));
  REQUIRE_THROWS_AS(IntervalTrigger{std::chrono::duration<double>{1e300}}, InvalidTriggerError);
  REQUIRE_THROWS_AS(IntervalTrigger{std::chrono::duration<double>{HUGE_VAL}}, InvalidTriggerError);
  CHECK(IntervalTrigger{Duration::max() - 1ns}.interval() == Duration::max() - 1ns);
}

TEST_CASE("interval trigger accepts the largest Duration as its interval", "[trigger][interval]") {
  CHECK(IntervalTrigger{Duration::max()}.interval() == Duration::max());
}

TEST_CASE("interval trigger rejects an end date before its start date",
          "[trigger][interval][error]") {
  const IntervalOptions options{.start_date = t0, .end_date = t0 - 1s};
  REQUIRE_THROWS_AS(IntervalTrigger(10s, options), InvalidTriggerError);
  REQUIRE_THROWS_WITH(IntervalTrigger(10s, options),
                      "IntervalTrigger: end_date 2023-12-31T23:59:59.000000Z is before start_date "
                      "2024-01-01T00:00:00.000000Z; expected end_date >= start_date");
  CHECK_NOTHROW(IntervalTrigger(10s, {.start_date = t0, .end_date = t0}));
  // Without a start date any end date is accepted: the first fire is relative to now.
  CHECK_NOTHROW(IntervalTrigger(10s, {.end_date = TimePoint{} - 24h}));
}

TEST_CASE("interval trigger rejects a negative jitter", "[trigger][interval][error]") {
  REQUIRE_THROWS_AS(IntervalTrigger(10s, {.jitter = -1s}), InvalidTriggerError);
  REQUIRE_THROWS_WITH(IntervalTrigger(10s, {.jitter = -1s}),
                      "IntervalTrigger: jitter -1s is negative; expected a duration >= 0");
  CHECK_NOTHROW(IntervalTrigger(10s, {.jitter = 0s}));
}

TEST_CASE("interval trigger reports its jitter and leaves fire times un-jittered",
          "[trigger][interval]") {
  CHECK(IntervalTrigger{10s}.jitter() == Duration::zero());
  const IntervalTrigger trigger{10s, {.start_date = t0, .jitter = 3s}};
  CHECK(trigger.jitter() == 3s);
  CHECK(trigger.next_fire_time(t0, t0) == t0 + 10s);
  CHECK(trigger.next_fire_time(std::nullopt, t0 + 1s) == t0 + 10s);
}

TEST_CASE("interval trigger reports its settings", "[trigger][interval]") {
  const IntervalTrigger plain{90s};
  CHECK(plain.interval() == 90s);
  CHECK_FALSE(plain.start_date().has_value());
  CHECK_FALSE(plain.end_date().has_value());
  const IntervalTrigger full{1h, {.start_date = t0, .end_date = t0 + 24h, .jitter = 30s}};
  CHECK(full.start_date() == t0);
  CHECK(full.end_date() == t0 + 24h);
  CHECK(full.jitter() == 30s);
}

TEST_CASE("interval trigger describes itself for listings", "[trigger][interval]") {
  CHECK(IntervalTrigger{10s}.describe() == "interval[10s]");
  CHECK(IntervalTrigger{90s}.describe() == "interval[90s]");
  CHECK(IntervalTrigger{2h}.describe() == "interval[2h]");
  CHECK(IntervalTrigger{1500us}.describe() == "interval[1500us]");
  CHECK(IntervalTrigger(10s, {.jitter = 2s}).describe() == "interval[10s, jitter=2s]");
  CHECK(IntervalTrigger(10s, {.end_date = t0}).describe() ==
        "interval[10s, end=2024-01-01T00:00:00.000000Z]");
  CHECK(IntervalTrigger(1min, {.start_date = t0, .end_date = t0 + 1h, .jitter = 5s}).describe() ==
        "interval[1min, start=2024-01-01T00:00:00.000000Z, end=2024-01-01T01:00:00.000000Z, "
        "jitter=5s]");
}

TEST_CASE("interval trigger is a copyable, jittered, described Trigger", "[trigger][interval]") {
  STATIC_REQUIRE(apsched::Trigger<IntervalTrigger>);
  STATIC_REQUIRE(apsched::JitteredTrigger<IntervalTrigger>);
  STATIC_REQUIRE(apsched::DescribedTrigger<IntervalTrigger>);
  STATIC_REQUIRE(sizeof(IntervalTrigger) <= 32);
  const IntervalTrigger original{10s, {.start_date = t0, .jitter = 1s}};
  const IntervalTrigger copy = original;  // NOLINT(performance-unnecessary-copy-initialization)
  CHECK(copy.next_fire_time(t0, t0) == original.next_fire_time(t0, t0));
  CHECK(copy.describe() == original.describe());
}

}  // namespace triggers_interval_test
