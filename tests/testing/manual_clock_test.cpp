// SPDX-License-Identifier: MIT
#include <apsched/testing/manual_clock.hpp>

#include "support/catch.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <latch>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace testing_manual_clock_test {

using namespace std::chrono_literals;
using apsched::ManualClock;
using apsched::TimePoint;

namespace {

const TimePoint new_year_2024 = TimePoint{std::chrono::sys_days{std::chrono::year{2024} / 1 / 1}};

// A thread that waits on its own mutex and condition variable through `clock` until the clock
// reaches `deadline` or `give_up` is set. Construction returns once the thread holds its mutex;
// `wait_until_blocked` returns once the thread is inside wait_until (it releases the mutex only
// there).
class Waiter {
 public:
  Waiter(ManualClock clock, TimePoint deadline)
      : clock_{std::move(clock)}, deadline_{deadline}, done_{finished_.get_future()} {
    thread_ = std::thread{[this] {
      std::unique_lock lock{mutex_};
      holding_.count_down();
      while (clock_.now() < deadline_ && !give_up_) {
        clock_.wait_until(lock, cv_, deadline_);
        owned_lock_on_return_ = owned_lock_on_return_ && lock.owns_lock();
      }
      finished_.set_value();
    }};
    holding_.wait();
  }
  Waiter(const Waiter&) = delete;
  Waiter& operator=(const Waiter&) = delete;
  ~Waiter() {
    {
      const std::lock_guard guard{mutex_};
      give_up_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  void wait_until_blocked() { const std::lock_guard guard{mutex_}; }

  // Whether the thread saw the clock reach its deadline within a generous timeout, which only
  // fails a hung test.
  bool finished() { return done_.wait_for(10s) == std::future_status::ready; }

  bool owned_lock_on_return() {
    const std::lock_guard guard{mutex_};
    return owned_lock_on_return_;
  }

 private:
  ManualClock clock_;
  TimePoint deadline_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool give_up_ = false;
  bool owned_lock_on_return_ = true;
  std::latch holding_{1};
  std::promise<void> finished_;
  std::future<void> done_;
  std::thread thread_;
};

}  // namespace

TEST_CASE("manual clock satisfies Clock", "[manual_clock][concept]") {
  STATIC_REQUIRE(apsched::Clock<ManualClock>);
}

TEST_CASE("manual clock starts at 2024-01-01 or at the given time", "[manual_clock]") {
  CHECK(ManualClock{}.now() == new_year_2024);
  CHECK(ManualClock{TimePoint{}}.now() == TimePoint{});
  CHECK(ManualClock{new_year_2024 + 5s}.now() == new_year_2024 + 5s);
}

TEST_CASE("manual clock stands still until moved", "[manual_clock]") {
  const ManualClock clock;
  CHECK(clock.now() == clock.now());
  CHECK(clock.now() == new_year_2024);
}

TEST_CASE("manual clock advances forward and backward", "[manual_clock]") {
  ManualClock clock;
  clock.advance(10s);
  CHECK(clock.now() == new_year_2024 + 10s);
  clock.advance(1ns);
  CHECK(clock.now() == new_year_2024 + 10s + 1ns);
  clock.advance(-1h);
  CHECK(clock.now() == new_year_2024 + 10s + 1ns - 1h);
  clock.advance(0s);
  CHECK(clock.now() == new_year_2024 + 10s + 1ns - 1h);
}

TEST_CASE("manual clock is set forward and backward", "[manual_clock]") {
  ManualClock clock;
  clock.set(new_year_2024 + 24h);
  CHECK(clock.now() == new_year_2024 + 24h);
  clock.set(TimePoint{});
  CHECK(clock.now() == TimePoint{});
}

TEST_CASE("manual clock copies share one time", "[manual_clock]") {
  ManualClock clock;
  ManualClock copy = clock;
  copy.advance(5s);
  CHECK(clock.now() == new_year_2024 + 5s);
  clock.set(new_year_2024 - 1s);
  CHECK(copy.now() == new_year_2024 - 1s);
  ManualClock other{TimePoint{}};
  other = clock;
  other.advance(1s);
  CHECK(clock.now() == new_year_2024);
}

TEST_CASE("manual clock returns at once from wait_until when the deadline is reached",
          "[manual_clock]") {
  const ManualClock clock;
  std::mutex mutex;
  std::condition_variable cv;
  std::unique_lock lock{mutex};
  // Nothing notifies cv and nothing moves the clock: a wait here would never end.
  clock.wait_until(lock, cv, clock.now());
  CHECK(lock.owns_lock());
  clock.wait_until(lock, cv, clock.now() - 1h);
  CHECK(lock.owns_lock());
  clock.wait_until(lock, cv, TimePoint::min());
  CHECK(lock.owns_lock());
}

TEST_CASE("manual clock's advance past the deadline wakes a waiting thread",
          "[manual_clock][thread]") {
  ManualClock clock;
  Waiter waiter{clock, clock.now() + 24h};
  waiter.wait_until_blocked();
  clock.advance(25h);
  CHECK(waiter.finished());
  CHECK(waiter.owned_lock_on_return());
}

TEST_CASE("manual clock's set past the deadline wakes a waiting thread", "[manual_clock][thread]") {
  ManualClock clock;
  Waiter waiter{clock, clock.now() + 24h};
  waiter.wait_until_blocked();
  clock.set(clock.now() + 24h);
  CHECK(waiter.finished());
}

TEST_CASE("manual clock moved in steps wakes a waiting thread once the deadline is reached",
          "[manual_clock][thread]") {
  ManualClock clock;
  Waiter waiter{clock, clock.now() + 3h};
  for (int step = 0; step < 3; ++step) {
    waiter.wait_until_blocked();
    clock.advance(1h);
  }
  CHECK(waiter.finished());
}

TEST_CASE("manual clock's advance wakes every waiting thread", "[manual_clock][thread]") {
  ManualClock clock;
  Waiter first{clock, clock.now() + 1h};
  Waiter second{clock, clock.now() + 2h};
  first.wait_until_blocked();
  second.wait_until_blocked();
  clock.advance(2h);
  CHECK(first.finished());
  CHECK(second.finished());
}

TEST_CASE("manual clock's wait_until also returns when the condition variable is notified",
          "[manual_clock][thread]") {
  const ManualClock clock;
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
    const std::lock_guard guard{mutex};
    notified = true;
  }
  cv.notify_all();
  CHECK(woke_future.wait_for(10s) == std::future_status::ready);
  waiter.join();
  CHECK(clock.now() == new_year_2024);
}

TEST_CASE("manual clock is read and moved from many threads at once", "[manual_clock][thread]") {
  ManualClock clock{TimePoint{}};
  constexpr int threads = 4;
  constexpr int steps = 1000;
  std::latch start{threads};
  std::atomic<bool> went_back{false};
  {
    std::jthread workers[threads];
    for (std::jthread& worker : workers) {
      worker = std::jthread{[&clock, &start, &went_back] {
        start.arrive_and_wait();
        for (int i = 0; i < steps; ++i) {
          const TimePoint seen = clock.now();
          clock.advance(1ns);
          if (clock.now() <= seen) {
            went_back = true;
          }
        }
      }};
    }
  }
  CHECK_FALSE(went_back);
  CHECK(clock.now() == TimePoint{} + std::chrono::nanoseconds{threads * steps});
}

TEST_CASE("manual clock calls its observers after every move until unobserved", "[manual_clock]") {
  apsched::ManualClock clock;
  std::vector<apsched::TimePoint> seen;
  auto observation = clock.observe([&] { seen.push_back(clock.now()); });
  const apsched::TimePoint start = clock.now();
  clock.advance(1s);
  clock.set(start + 1h);
  CHECK(seen == std::vector<apsched::TimePoint>{start + 1s, start + 1h});
  auto moved = std::move(observation);
  clock.advance(1s);
  CHECK(seen.size() == 3);
  moved.reset();
  clock.advance(1s);
  CHECK(seen.size() == 3);
}

TEST_CASE("manual clock observers and copies of the clock share one list", "[manual_clock]") {
  apsched::ManualClock clock;
  const apsched::ManualClock copy = clock;
  int calls = 0;
  {
    const auto observation = copy.observe([&] { ++calls; });
    clock.advance(1s);
  }
  clock.advance(1s);
  CHECK(calls == 1);
}

}  // namespace testing_manual_clock_test
