// SPDX-License-Identifier: MIT
#include <apsched/clock.hpp>

#include "support/catch.hpp"

#include <chrono>
#include <condition_variable>
#include <future>
#include <latch>
#include <mutex>
#include <thread>

namespace clock_test {

using namespace std::chrono_literals;
using apsched::Clock;
using apsched::SystemClock;
using apsched::TimePoint;

namespace {

// A user clock with exactly the required members.
struct FixedClock {
  [[nodiscard]] TimePoint now() const noexcept { return TimePoint{}; }
  void wait_until(std::unique_lock<std::mutex>& /*lock*/, std::condition_variable& /*cv*/,
                  TimePoint /*deadline*/) const {}
};

// One negative model per requirement of Clock.
struct NowWrongType {
  [[nodiscard]] std::chrono::steady_clock::time_point now() const { return {}; }
  void wait_until(std::unique_lock<std::mutex>&, std::condition_variable&, TimePoint) const {}
};
struct NowNotConst {
  [[nodiscard]] TimePoint now() { return {}; }
  void wait_until(std::unique_lock<std::mutex>&, std::condition_variable&, TimePoint) const {}
};
struct MissingNow {
  void wait_until(std::unique_lock<std::mutex>&, std::condition_variable&, TimePoint) const {}
};
struct MissingWaitUntil {
  [[nodiscard]] TimePoint now() const { return {}; }
};
struct WaitUntilNotConst {
  [[nodiscard]] TimePoint now() const { return {}; }
  void wait_until(std::unique_lock<std::mutex>&, std::condition_variable&, TimePoint) {}
};
struct WaitUntilWrongParameters {
  [[nodiscard]] TimePoint now() const { return {}; }
  void wait_until(std::condition_variable&, TimePoint) const {}
};
struct NotCopyable : FixedClock {
  NotCopyable() = default;
  NotCopyable(const NotCopyable&) = delete;
  NotCopyable& operator=(const NotCopyable&) = delete;
  NotCopyable(NotCopyable&&) = default;
  NotCopyable& operator=(NotCopyable&&) = default;
  ~NotCopyable() = default;
};

}  // namespace

TEST_CASE("system clock and a minimal user clock satisfy Clock", "[clock][concept]") {
  STATIC_REQUIRE(Clock<SystemClock>);
  STATIC_REQUIRE(Clock<FixedClock>);
  STATIC_REQUIRE(SystemClock::max_slice == 1s);
}

TEST_CASE("types breaking a Clock requirement are not Clocks", "[clock][concept]") {
  STATIC_REQUIRE_FALSE(Clock<NowWrongType>);
  STATIC_REQUIRE_FALSE(Clock<NowNotConst>);
  STATIC_REQUIRE_FALSE(Clock<MissingNow>);
  STATIC_REQUIRE_FALSE(Clock<MissingWaitUntil>);
  STATIC_REQUIRE_FALSE(Clock<WaitUntilNotConst>);
  STATIC_REQUIRE_FALSE(Clock<WaitUntilWrongParameters>);
  STATIC_REQUIRE_FALSE(Clock<NotCopyable>);
  STATIC_REQUIRE_FALSE(Clock<std::chrono::system_clock::time_point>);
}

TEST_CASE("system clock reads the system time", "[clock]") {
  const SystemClock clock;
  const TimePoint before = std::chrono::system_clock::now();
  const TimePoint now = clock.now();
  // A sanity check only: the two reads are moments apart, unless the system clock steps.
  CHECK(now - before < 1h);
  CHECK(before - now < 1h);
  const SystemClock copy = clock;
  CHECK(copy.now() - now < 1h);
}

TEST_CASE("system clock returns at once from wait_until with a past deadline", "[clock]") {
  const SystemClock clock;
  std::mutex mutex;
  std::condition_variable cv;
  std::unique_lock lock{mutex};
  // Nothing notifies cv; a wait would last a whole slice (or forever, if it ignored the deadline).
  clock.wait_until(lock, cv, clock.now() - 1h);
  CHECK(lock.owns_lock());
  clock.wait_until(lock, cv, TimePoint{});
  CHECK(lock.owns_lock());
}

TEST_CASE("system clock returns at once from wait_until with the earliest deadline", "[clock]") {
  const SystemClock clock;
  std::mutex mutex;
  std::condition_variable cv;
  std::unique_lock lock{mutex};
  clock.wait_until(lock, cv, TimePoint::min());
  CHECK(lock.owns_lock());
}

TEST_CASE("system clock's wait_until wakes when the condition variable is notified",
          "[clock][thread]") {
  const SystemClock clock;
  std::mutex mutex;
  std::condition_variable cv;
  bool notified = false;
  std::latch holding{1};
  std::promise<void> woke;
  std::future<void> woke_future = woke.get_future();
  std::thread waiter{[&] {
    std::unique_lock lock{mutex};
    holding.count_down();
    while (!notified) {
      clock.wait_until(lock, cv, clock.now() + 24h);
    }
    woke.set_value();
  }};
  holding.wait();
  {
    // The waiter holds the mutex until wait_until releases it.
    const std::lock_guard guard{mutex};
    notified = true;
  }
  cv.notify_all();
  CHECK(woke_future.wait_for(10s) == std::future_status::ready);
  waiter.join();
}

}  // namespace clock_test
