// SPDX-License-Identifier: MIT
// The loop's wake-up: which changes wake a sleeping loop, requests to step and to plan again,
// the application's wake-up handler and its errors, and the background loop's thread.
#include <apsched/detail/scheduler/wakeup.hpp>

#include <apsched/testing/manual_clock.hpp>

#include "support/catch.hpp"

#include <chrono>
#include <latch>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace detail_scheduler_wakeup_test {

using namespace std::chrono_literals;
using apsched::LogLevel;
using apsched::TimePoint;
using apsched::detail::ListenerRegistry;

const TimePoint t0 = TimePoint{} + std::chrono::hours{24 * 365 * 50};

struct Fixture {
  std::vector<std::string> logged;
  ListenerRegistry listeners{
      [this](LogLevel, std::string_view message) { logged.emplace_back(message); }};
};

TEST_CASE("a change wakes the loop only when it is due before the instant the loop sleeps until",
          "[wakeup]") {
  Fixture fixture;
  apsched::detail::Wakeup<false> wakeup{fixture.listeners};
  // Working (between sleeps), the loop reads the stores anew anyway.
  CHECK_FALSE(wakeup.wants_locked(t0));
  CHECK_FALSE(wakeup.take_request_locked());

  wakeup.set_waiting_locked(t0 + 10s);
  CHECK_FALSE(wakeup.wants_locked(t0 + 10s));
  CHECK_FALSE(wakeup.wants_locked(t0 + 11s));
  CHECK_FALSE(wakeup.requested_locked());
  CHECK(wakeup.wants_locked(t0 + 9s));
  CHECK(wakeup.requested_locked());
  CHECK(wakeup.take_request_locked());
  CHECK_FALSE(wakeup.take_request_locked());

  wakeup.request_locked();
  CHECK(wakeup.take_request_locked());
}

TEST_CASE("an outcome to write before the loop wakes asks it to plan again, not to step",
          "[wakeup]") {
  Fixture fixture;
  apsched::detail::Wakeup<false> wakeup{fixture.listeners};
  wakeup.set_waiting_locked(t0 + 10s);
  CHECK_FALSE(wakeup.replan_locked(t0 + 20s));
  CHECK_FALSE(wakeup.take_replan_locked());
  CHECK(wakeup.replan_locked(t0 + 5s));
  CHECK_FALSE(wakeup.requested_locked());
  CHECK(wakeup.take_replan_locked());
  CHECK_FALSE(wakeup.take_replan_locked());
}

TEST_CASE("a wait past its deadline returns at once, and the loop counts as working after it",
          "[wakeup]") {
  Fixture fixture;
  apsched::detail::Wakeup<false> wakeup{fixture.listeners};
  const apsched::ManualClock clock{t0};
  std::mutex mutex;
  std::unique_lock lock{mutex};
  wakeup.wait_locked(lock, clock, t0, t0);
  CHECK(lock.owns_lock());
  CHECK_FALSE(wakeup.wants_locked(t0 - 1s));  // waiting until min() again
}

TEST_CASE("in callback mode a wake-up calls the handler, and a handler that throws is logged",
          "[wakeup]") {
  Fixture fixture;
  apsched::detail::Wakeup<true> wakeup{fixture.listeners};
  wakeup.notify();  // no handler yet
  int calls = 0;
  wakeup.set_handler([&] { ++calls; });
  wakeup.notify();
  wakeup.notify();
  CHECK(calls == 2);

  wakeup.set_handler([] { throw std::runtime_error{"loop gone"}; });
  CHECK_NOTHROW(wakeup.notify());
  wakeup.set_handler([] { throw 42; });
  CHECK_NOTHROW(wakeup.notify());
  REQUIRE(fixture.logged.size() == 2);
  CHECK(fixture.logged[0] == "the wake-up handler threw: loop gone");
  CHECK(fixture.logged[1] == "the wake-up handler threw a non-std exception");

  wakeup.set_handler(nullptr);
  wakeup.notify();
  CHECK(fixture.logged.size() == 2);
}

TEST_CASE("without a handler a wake-up calls nothing", "[wakeup]") {
  Fixture fixture;
  apsched::detail::Wakeup<false> wakeup{fixture.listeners};
  int calls = 0;
  wakeup.set_handler([&] { ++calls; });
  wakeup.notify();
  CHECK(calls == 0);
}

TEST_CASE("the loop thread runs the loop, joins an earlier one, and is not joined from itself",
          "[wakeup][thread]") {
  apsched::detail::LoopThread thread;
  thread.join();  // nothing started: nothing to join

  std::latch first_ran{1};
  thread.start([&] { first_ran.count_down(); });
  first_ran.wait();

  // A loop that joins its own thread (a job shutting the scheduler down) returns from join.
  std::latch second_joined{1};
  std::thread::id loop_id;
  thread.start([&] {
    loop_id = std::this_thread::get_id();
    thread.join();
    second_joined.count_down();
  });
  second_joined.wait();
  thread.join();  // from outside: waits for the loop to end
  CHECK(loop_id != std::this_thread::get_id());
}

}  // namespace detail_scheduler_wakeup_test
