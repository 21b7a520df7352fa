// SPDX-License-Identifier: MIT
// BlockingScheduler: start() runs the loop in the calling thread until shutdown().
#include <apsched/blocking_scheduler.hpp>
#include <apsched/executors/inline.hpp>
#include <apsched/stores/memory.hpp>
#include <apsched/testing/manual_clock.hpp>
#include <apsched/triggers/date.hpp>
#include <apsched/triggers/interval.hpp>

#include "support/catch.hpp"

#include <chrono>
#include <future>
#include <latch>
#include <thread>

namespace blocking_scheduler_test {

using namespace std::chrono_literals;

TEST_CASE("the default blocking scheduler names its defaults", "[scheduler][blocking]") {
  apsched::BlockingScheduler scheduler;
  STATIC_REQUIRE(std::is_same_v<decltype(scheduler), apsched::BlockingScheduler<>>);
  CHECK(scheduler.state() == apsched::SchedulerState::stopped);
}

TEST_CASE("start returns after a job calls shutdown", "[scheduler][blocking][thread]") {
  apsched::ManualClock clock;
  apsched::BlockingScheduler<apsched::MemoryJobStore, apsched::InlineExecutor, apsched::ManualClock>
      scheduler{apsched::MemoryJobStore{}, apsched::InlineExecutor{}, clock};
  int runs = 0;
  scheduler.add_job(
      [&] {
        if (++runs == 3) {
          scheduler.shutdown();
        }
      },
      apsched::IntervalTrigger{10s, {.start_date = clock.now()}});
  // The loop runs in this thread; a helper moves time until the job has shut it down.
  std::atomic<bool> stop{false};
  std::jthread mover{[&] {
    while (!stop) {
      clock.advance(10s);
      std::this_thread::yield();
    }
  }};
  auto blocked = std::async(std::launch::async, [&] { scheduler.start(); });
  REQUIRE(blocked.wait_for(10s) == std::future_status::ready);
  stop = true;
  CHECK(runs == 3);
  CHECK(scheduler.state() == apsched::SchedulerState::stopped);
}

TEST_CASE("start returns after another thread calls shutdown", "[scheduler][blocking][thread]") {
  apsched::BlockingScheduler scheduler;
  std::latch running{1};
  scheduler.add_listener([&](const apsched::Event&) { running.count_down(); },
                         static_cast<apsched::EventMask>(apsched::EventType::scheduler_started));
  auto blocked = std::async(std::launch::async, [&] { scheduler.start(); });
  running.wait();
  scheduler.shutdown();
  REQUIRE(blocked.wait_for(10s) == std::future_status::ready);
}

}  // namespace blocking_scheduler_test
