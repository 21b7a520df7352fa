// SPDX-License-Identifier: MIT
#include <apsched/any_trigger.hpp>
#include <apsched/triggers/date.hpp>
#include <apsched/triggers/interval.hpp>

#include "support/catch.hpp"

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

namespace any_trigger_test {

using namespace std::chrono_literals;
using apsched::AnyTrigger;
using apsched::DateTrigger;
using apsched::Duration;
using apsched::IntervalTrigger;
using apsched::TimePoint;

namespace {

const TimePoint t0 = TimePoint{std::chrono::sys_days{std::chrono::year{2024} / 1 / 1}};

// Live instances of CountedTrigger, to check that AnyTrigger neither leaks nor double-destroys.
int live_triggers = 0;

// A user trigger that fires `offset` after now, forever, has no jitter() and no describe(), and
// counts its live instances. Payload bytes make it fit inline or not.
template <std::size_t PayloadBytes>
class CountedTrigger {
 public:
  explicit CountedTrigger(Duration offset) : offset_{offset} { ++live_triggers; }
  CountedTrigger(const CountedTrigger& other) : offset_{other.offset_}, payload_{other.payload_} {
    ++live_triggers;
  }
  CountedTrigger(CountedTrigger&& other) noexcept
      : offset_{other.offset_}, payload_{other.payload_} {
    ++live_triggers;
  }
  CountedTrigger& operator=(const CountedTrigger&) = default;
  CountedTrigger& operator=(CountedTrigger&&) = default;
  ~CountedTrigger() { --live_triggers; }

  [[nodiscard]] std::optional<TimePoint> next_fire_time(std::optional<TimePoint> /*previous*/,
                                                        TimePoint now) const {
    return now + offset_;
  }
  [[nodiscard]] Duration offset() const { return offset_; }

 private:
  Duration offset_;
  std::array<std::byte, PayloadBytes> payload_{};
};

using SmallTrigger = CountedTrigger<8>;
using LargeTrigger = CountedTrigger<64>;
static_assert(sizeof(SmallTrigger) <= 32);
static_assert(sizeof(LargeTrigger) > 32);

// Small, but its move may throw, so it cannot live in the inline buffer.
struct ThrowingMoveTrigger {
  ThrowingMoveTrigger() = default;
  ThrowingMoveTrigger(const ThrowingMoveTrigger&) = default;
  ThrowingMoveTrigger(ThrowingMoveTrigger&&) noexcept(false) {}
  ThrowingMoveTrigger& operator=(const ThrowingMoveTrigger&) = default;
  ThrowingMoveTrigger& operator=(ThrowingMoveTrigger&&) = default;
  ~ThrowingMoveTrigger() = default;
  [[nodiscard]] std::optional<TimePoint> next_fire_time(std::optional<TimePoint>,
                                                        TimePoint now) const {
    return now;
  }
};

// Small, but aligned more strictly than the inline buffer.
struct alignas(32) OverAlignedTrigger {
  [[nodiscard]] std::optional<TimePoint> next_fire_time(std::optional<TimePoint>,
                                                        TimePoint now) const {
    return now + 1s;
  }
  std::int64_t value = 42;
};

// A user trigger with both optional members.
struct LabelledTrigger {
  [[nodiscard]] std::optional<TimePoint> next_fire_time(std::optional<TimePoint> previous,
                                                        TimePoint now) const {
    return previous ? std::nullopt : std::optional{now};
  }
  [[nodiscard]] std::chrono::seconds jitter() const { return 7s; }
  [[nodiscard]] std::string describe() const { return "labelled"; }
};

// Negative models: none is a Trigger, so none converts to AnyTrigger.
struct WrongReturnType {
  [[nodiscard]] TimePoint next_fire_time(std::optional<TimePoint>, TimePoint now) const {
    return now;
  }
};
struct NotConst {
  [[nodiscard]] std::optional<TimePoint> next_fire_time(std::optional<TimePoint>, TimePoint now) {
    return now;
  }
};
struct MissingMember {};
struct NotCopyable {
  NotCopyable() = default;
  NotCopyable(const NotCopyable&) = delete;
  NotCopyable& operator=(const NotCopyable&) = delete;
  NotCopyable(NotCopyable&&) = default;
  NotCopyable& operator=(NotCopyable&&) = default;
  ~NotCopyable() = default;
  [[nodiscard]] std::optional<TimePoint> next_fire_time(std::optional<TimePoint>,
                                                        TimePoint now) const {
    return now;
  }
};

// Whether the held trigger lies inside the AnyTrigger object itself (inline storage).
template <class T>
bool stored_inline(const AnyTrigger& any) {
  const auto* held = static_cast<const void*>(any.target<T>());
  const auto* begin = static_cast<const void*>(&any);
  const auto* end =
      static_cast<const void*>(reinterpret_cast<const std::byte*>(&any) + sizeof(any));
  return held != nullptr && !std::less<const void*>{}(held, begin) &&
         std::less<const void*>{}(held, end);
}

}  // namespace

TEST_CASE("any trigger is a Trigger with jitter and description", "[any_trigger][concept]") {
  STATIC_REQUIRE(apsched::Trigger<AnyTrigger>);
  STATIC_REQUIRE(apsched::JitteredTrigger<AnyTrigger>);
  STATIC_REQUIRE(apsched::DescribedTrigger<AnyTrigger>);
  STATIC_REQUIRE(std::is_nothrow_move_constructible_v<AnyTrigger>);
  STATIC_REQUIRE(std::is_nothrow_move_assignable_v<AnyTrigger>);
  STATIC_REQUIRE(std::is_convertible_v<IntervalTrigger, AnyTrigger>);
  STATIC_REQUIRE(std::is_convertible_v<const DateTrigger&, AnyTrigger>);
}

TEST_CASE("any trigger cannot hold a type that is not a Trigger", "[any_trigger][concept]") {
  STATIC_REQUIRE_FALSE(std::is_constructible_v<AnyTrigger, WrongReturnType>);
  STATIC_REQUIRE_FALSE(std::is_constructible_v<AnyTrigger, NotConst>);
  STATIC_REQUIRE_FALSE(std::is_constructible_v<AnyTrigger, MissingMember>);
  STATIC_REQUIRE_FALSE(std::is_constructible_v<AnyTrigger, NotCopyable>);
  STATIC_REQUIRE_FALSE(std::is_constructible_v<AnyTrigger, int>);
  STATIC_REQUIRE_FALSE(apsched::Trigger<WrongReturnType>);
  STATIC_REQUIRE_FALSE(apsched::Trigger<NotConst>);
  STATIC_REQUIRE_FALSE(apsched::Trigger<MissingMember>);
  STATIC_REQUIRE_FALSE(apsched::Trigger<NotCopyable>);
}

TEST_CASE("any trigger stores small triggers inline and large ones on the heap", "[any_trigger]") {
  {
    const AnyTrigger interval = IntervalTrigger{10s};
    const AnyTrigger date = DateTrigger{t0};
    const AnyTrigger small = SmallTrigger{1s};
    const AnyTrigger large = LargeTrigger{2s};
    const AnyTrigger throwing_move = ThrowingMoveTrigger{};
    const AnyTrigger over_aligned = OverAlignedTrigger{};
    CHECK(stored_inline<IntervalTrigger>(interval));
    CHECK(stored_inline<DateTrigger>(date));
    CHECK(stored_inline<SmallTrigger>(small));
    CHECK_FALSE(stored_inline<LargeTrigger>(large));
    CHECK_FALSE(stored_inline<ThrowingMoveTrigger>(throwing_move));
    CHECK_FALSE(stored_inline<OverAlignedTrigger>(over_aligned));
    const OverAlignedTrigger* aligned = over_aligned.target<OverAlignedTrigger>();
    REQUIRE(aligned != nullptr);
    CHECK(reinterpret_cast<std::uintptr_t>(aligned) % 32 == 0);
    CHECK(aligned->value == 42);
    CHECK(live_triggers == 2);
  }
  CHECK(live_triggers == 0);
}

TEST_CASE("any trigger forwards next_fire_time to the held trigger", "[any_trigger]") {
  const AnyTrigger interval = IntervalTrigger{10s, {.start_date = t0}};
  CHECK(interval.next_fire_time(std::nullopt, t0 - 1s) == t0);
  CHECK(interval.next_fire_time(t0, t0) == t0 + 10s);
  const AnyTrigger date = DateTrigger{t0};
  CHECK(date.next_fire_time(std::nullopt, t0 + 1h) == t0);
  CHECK_FALSE(date.next_fire_time(t0, t0).has_value());
  {
    const AnyTrigger small = SmallTrigger{3s};
    const AnyTrigger large = LargeTrigger{4s};
    CHECK(small.next_fire_time(std::nullopt, t0) == t0 + 3s);
    CHECK(large.next_fire_time(t0, t0) == t0 + 4s);
  }
  CHECK(live_triggers == 0);
}

TEST_CASE("any trigger forwards jitter, or reports zero for triggers without one",
          "[any_trigger]") {
  CHECK(AnyTrigger{IntervalTrigger(10s, {.jitter = 3s})}.jitter() == 3s);
  CHECK(AnyTrigger{IntervalTrigger{10s}}.jitter() == Duration::zero());
  CHECK(AnyTrigger{LabelledTrigger{}}.jitter() == 7s);
  CHECK(AnyTrigger{DateTrigger{t0}}.jitter() == Duration::zero());
  CHECK(AnyTrigger{SmallTrigger{1s}}.jitter() == Duration::zero());
  CHECK(AnyTrigger{LargeTrigger{1s}}.jitter() == Duration::zero());
  CHECK(live_triggers == 0);
}

TEST_CASE("any trigger forwards describe, or falls back to a non-empty name", "[any_trigger]") {
  CHECK(AnyTrigger{IntervalTrigger{10s}}.describe() == "interval[10s]");
  CHECK(AnyTrigger{DateTrigger{t0}}.describe() == "date[2024-01-01T00:00:00.000000Z]");
  CHECK(AnyTrigger{LabelledTrigger{}}.describe() == "labelled");
  CHECK_FALSE(AnyTrigger{SmallTrigger{1s}}.describe().empty());
  CHECK_FALSE(AnyTrigger{LargeTrigger{1s}}.describe().empty());
  CHECK_FALSE(AnyTrigger{OverAlignedTrigger{}}.describe().empty());
  CHECK(live_triggers == 0);
}

TEST_CASE("any trigger's target returns the held trigger only for its exact type",
          "[any_trigger]") {
  const AnyTrigger interval = IntervalTrigger{10s};
  const IntervalTrigger* held = interval.target<IntervalTrigger>();
  REQUIRE(held != nullptr);
  CHECK(held->interval() == 10s);
  CHECK(interval.target<DateTrigger>() == nullptr);
  CHECK(interval.target<SmallTrigger>() == nullptr);
  {
    const AnyTrigger large = LargeTrigger{5s};
    REQUIRE(large.target<LargeTrigger>() != nullptr);
    CHECK(large.target<LargeTrigger>()->offset() == 5s);
    CHECK(large.target<SmallTrigger>() == nullptr);
    CHECK(large.target<IntervalTrigger>() == nullptr);
  }
  // An AnyTrigger made from an AnyTrigger is a copy, not a nested wrapper.
  const AnyTrigger copy = interval;
  CHECK(copy.target<IntervalTrigger>() != nullptr);
  CHECK(copy.target<AnyTrigger>() == nullptr);
  CHECK(live_triggers == 0);
}

TEST_CASE("any trigger copies are independent of the original", "[any_trigger]") {
  {
    std::optional<AnyTrigger> small_original{SmallTrigger{1s}};
    std::optional<AnyTrigger> large_original{LargeTrigger{2s}};
    const AnyTrigger small_copy = *small_original;
    const AnyTrigger large_copy = *large_original;
    CHECK(live_triggers == 4);
    CHECK(small_copy.target<SmallTrigger>() != small_original->target<SmallTrigger>());
    CHECK(large_copy.target<LargeTrigger>() != large_original->target<LargeTrigger>());
    small_original.reset();
    large_original.reset();
    CHECK(live_triggers == 2);
    CHECK(small_copy.next_fire_time(std::nullopt, t0) == t0 + 1s);
    CHECK(large_copy.next_fire_time(std::nullopt, t0) == t0 + 2s);
  }
  CHECK(live_triggers == 0);
}

TEST_CASE("any trigger moves keep the held trigger working", "[any_trigger]") {
  {
    AnyTrigger small = SmallTrigger{1s};
    AnyTrigger large = LargeTrigger{2s};
    const LargeTrigger* large_address = large.target<LargeTrigger>();
    const AnyTrigger small_moved{std::move(small)};
    const AnyTrigger large_moved{std::move(large)};
    CHECK(small_moved.next_fire_time(std::nullopt, t0) == t0 + 1s);
    CHECK(large_moved.next_fire_time(std::nullopt, t0) == t0 + 2s);
    // A heap-held trigger moves by pointer.
    CHECK(large_moved.target<LargeTrigger>() == large_address);
    // Moved-from wrappers may be assigned to, and work again.
    small = IntervalTrigger{10s};
    large = LargeTrigger{3s};
    CHECK(small.describe() == "interval[10s]");
    CHECK(large.next_fire_time(std::nullopt, t0) == t0 + 3s);
  }
  CHECK(live_triggers == 0);
}

TEST_CASE("any trigger copy assignment replaces the held trigger, across storage kinds",
          "[any_trigger]") {
  {
    const AnyTrigger small = SmallTrigger{1s};
    const AnyTrigger large = LargeTrigger{2s};
    const AnyTrigger interval = IntervalTrigger{10s};
    AnyTrigger target = interval;
    target = large;
    CHECK(target.next_fire_time(std::nullopt, t0) == t0 + 2s);
    CHECK(target.target<LargeTrigger>() != large.target<LargeTrigger>());
    target = small;
    CHECK(target.next_fire_time(std::nullopt, t0) == t0 + 1s);
    target = large;
    target = large;
    CHECK(target.next_fire_time(std::nullopt, t0) == t0 + 2s);
    target = interval;
    CHECK(target.describe() == "interval[10s]");
    CHECK(target.target<LargeTrigger>() == nullptr);
    CHECK(live_triggers == 2);
    // The sources are untouched.
    CHECK(small.next_fire_time(std::nullopt, t0) == t0 + 1s);
    CHECK(large.next_fire_time(std::nullopt, t0) == t0 + 2s);
  }
  CHECK(live_triggers == 0);
}

TEST_CASE("any trigger move assignment replaces the held trigger, across storage kinds",
          "[any_trigger]") {
  {
    AnyTrigger target = SmallTrigger{1s};
    target = AnyTrigger{LargeTrigger{2s}};
    CHECK(target.next_fire_time(std::nullopt, t0) == t0 + 2s);
    CHECK(live_triggers == 1);
    target = AnyTrigger{LargeTrigger{3s}};
    CHECK(target.next_fire_time(std::nullopt, t0) == t0 + 3s);
    CHECK(live_triggers == 1);
    target = AnyTrigger{SmallTrigger{4s}};
    CHECK(target.next_fire_time(std::nullopt, t0) == t0 + 4s);
    CHECK(live_triggers == 1);
    // Assigning a trigger directly goes through the converting constructor.
    target = DateTrigger{t0};
    CHECK(target.describe() == "date[2024-01-01T00:00:00.000000Z]");
    CHECK(live_triggers == 0);
    AnyTrigger source = LargeTrigger{5s};
    target = std::move(source);
    CHECK(target.next_fire_time(std::nullopt, t0) == t0 + 5s);
    CHECK(live_triggers == 1);
    // The moved-from source is assigned into and used again.
    source = SmallTrigger{6s};
    CHECK(source.next_fire_time(std::nullopt, t0) == t0 + 6s);
  }
  CHECK(live_triggers == 0);
}

TEST_CASE("any trigger survives self-assignment", "[any_trigger]") {
  {
    AnyTrigger small = SmallTrigger{1s};
    AnyTrigger large = LargeTrigger{2s};
    AnyTrigger& small_alias = small;
    AnyTrigger& large_alias = large;
    small = small_alias;
    large = large_alias;
    CHECK(small.next_fire_time(std::nullopt, t0) == t0 + 1s);
    CHECK(large.next_fire_time(std::nullopt, t0) == t0 + 2s);
    small = std::move(small_alias);
    large = std::move(large_alias);
    CHECK(small.next_fire_time(std::nullopt, t0) == t0 + 1s);
    CHECK(large.next_fire_time(std::nullopt, t0) == t0 + 2s);
    CHECK(live_triggers == 2);
  }
  CHECK(live_triggers == 0);
}

TEST_CASE("a user-written minimal trigger works through any trigger", "[any_trigger]") {
  const AnyTrigger trigger = LabelledTrigger{};
  CHECK(trigger.next_fire_time(std::nullopt, t0) == t0);
  CHECK_FALSE(trigger.next_fire_time(t0, t0).has_value());
  CHECK(trigger.target<LabelledTrigger>() != nullptr);
}

}  // namespace any_trigger_test
