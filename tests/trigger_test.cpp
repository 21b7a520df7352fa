// SPDX-License-Identifier: MIT
#include <apsched/trigger.hpp>

#include "support/catch.hpp"

#include <chrono>
#include <optional>
#include <string>

namespace trigger_test {

using apsched::DescribedTrigger;
using apsched::JitteredTrigger;
using apsched::TimePoint;
using apsched::Trigger;

namespace {

// A user trigger with nothing but the required member: fires every second, forever.
struct EverySecond {
  [[nodiscard]] std::optional<TimePoint> next_fire_time(std::optional<TimePoint> previous,
                                                        TimePoint now) const {
    const TimePoint after = previous ? *previous + std::chrono::seconds{1} : now;
    return after < now ? now : after;
  }
};

struct WithJitter : EverySecond {
  [[nodiscard]] std::chrono::seconds jitter() const { return std::chrono::seconds{2}; }
};

struct WithDescription : EverySecond {
  [[nodiscard]] const char* describe() const { return "every second"; }
};

struct WithBoth : EverySecond {
  [[nodiscard]] apsched::Duration jitter() const { return {}; }
  [[nodiscard]] std::string describe() const { return "both"; }
};

// Optional members of the wrong shape are not detected.
struct JitterAsInt : EverySecond {
  [[nodiscard]] int jitter() const { return 2; }
};
struct JitterNotConst : EverySecond {
  [[nodiscard]] apsched::Duration jitter() { return {}; }
};
struct DescribeAsInt : EverySecond {
  [[nodiscard]] int describe() const { return 1; }
};

// One negative model per requirement of Trigger.
struct WrongReturnType {
  [[nodiscard]] TimePoint next_fire_time(std::optional<TimePoint>, TimePoint now) const {
    return now;
  }
};
struct WrongPrecision {
  using Seconds = std::chrono::time_point<std::chrono::system_clock, std::chrono::seconds>;
  [[nodiscard]] std::optional<Seconds> next_fire_time(std::optional<TimePoint>, TimePoint) const {
    return std::nullopt;
  }
};
struct NotConst {
  [[nodiscard]] std::optional<TimePoint> next_fire_time(std::optional<TimePoint>, TimePoint now) {
    return now;
  }
};
struct MissingMember {
  [[nodiscard]] std::optional<TimePoint> next(std::optional<TimePoint>, TimePoint now) const {
    return now;
  }
};
struct WrongParameters {
  [[nodiscard]] std::optional<TimePoint> next_fire_time(TimePoint now) const { return now; }
};
struct NotCopyable : EverySecond {
  NotCopyable() = default;
  NotCopyable(const NotCopyable&) = delete;
  NotCopyable& operator=(const NotCopyable&) = delete;
  NotCopyable(NotCopyable&&) = default;
  NotCopyable& operator=(NotCopyable&&) = default;
  ~NotCopyable() = default;
};
// Jitter and description alone do not make a Trigger.
struct OnlyOptionalMembers {
  [[nodiscard]] apsched::Duration jitter() const { return {}; }
  [[nodiscard]] std::string describe() const { return "nothing"; }
};

}  // namespace

TEST_CASE("a user type with only next_fire_time is a Trigger", "[trigger][concept]") {
  STATIC_REQUIRE(Trigger<EverySecond>);
  STATIC_REQUIRE_FALSE(JitteredTrigger<EverySecond>);
  STATIC_REQUIRE_FALSE(DescribedTrigger<EverySecond>);
  const TimePoint now{std::chrono::hours{1}};
  const EverySecond trigger;
  CHECK(trigger.next_fire_time(std::nullopt, now) == now);
  CHECK(trigger.next_fire_time(now, now) == now + std::chrono::seconds{1});
}

TEST_CASE("a Trigger with a jitter() convertible to Duration is a JitteredTrigger",
          "[trigger][concept]") {
  STATIC_REQUIRE(JitteredTrigger<WithJitter>);
  STATIC_REQUIRE(JitteredTrigger<WithBoth>);
  STATIC_REQUIRE_FALSE(JitteredTrigger<JitterAsInt>);
  STATIC_REQUIRE_FALSE(JitteredTrigger<JitterNotConst>);
  STATIC_REQUIRE_FALSE(JitteredTrigger<OnlyOptionalMembers>);
  STATIC_REQUIRE_FALSE(DescribedTrigger<WithJitter>);
}

TEST_CASE("a Trigger with a describe() convertible to std::string is a DescribedTrigger",
          "[trigger][concept]") {
  STATIC_REQUIRE(DescribedTrigger<WithDescription>);
  STATIC_REQUIRE(DescribedTrigger<WithBoth>);
  STATIC_REQUIRE_FALSE(DescribedTrigger<DescribeAsInt>);
  STATIC_REQUIRE_FALSE(DescribedTrigger<OnlyOptionalMembers>);
  STATIC_REQUIRE_FALSE(JitteredTrigger<WithDescription>);
}

TEST_CASE("types breaking a Trigger requirement are not Triggers", "[trigger][concept]") {
  STATIC_REQUIRE_FALSE(Trigger<WrongReturnType>);
  STATIC_REQUIRE_FALSE(Trigger<WrongPrecision>);
  STATIC_REQUIRE_FALSE(Trigger<NotConst>);
  STATIC_REQUIRE_FALSE(Trigger<MissingMember>);
  STATIC_REQUIRE_FALSE(Trigger<WrongParameters>);
  STATIC_REQUIRE_FALSE(Trigger<NotCopyable>);
  STATIC_REQUIRE_FALSE(Trigger<OnlyOptionalMembers>);
  STATIC_REQUIRE_FALSE(Trigger<int>);
  STATIC_REQUIRE_FALSE(Trigger<void>);
}

}  // namespace trigger_test
