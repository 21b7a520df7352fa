// SPDX-License-Identifier: MIT
// CallbackScheduler: the application's loop calls process_due_jobs() and arms its own timer.
#include <apsched/callback_scheduler.hpp>
#include <apsched/triggers/date.hpp>
#include <apsched/triggers/interval.hpp>

#include "support/catch.hpp"

#include <chrono>

namespace callback_scheduler_test {

using namespace std::chrono_literals;

TEST_CASE("a callback scheduler runs jobs inline on the system clock", "[scheduler][callback]") {
  apsched::CallbackScheduler scheduler;
  STATIC_REQUIRE(std::is_same_v<decltype(scheduler), apsched::CallbackScheduler<>>);
  int runs = 0;
  const auto now = std::chrono::system_clock::now();
  scheduler.add_job([&] { ++runs; }, apsched::DateTrigger{now - 1s});
  scheduler.add_job([] {}, apsched::IntervalTrigger{1h});
  scheduler.start();
  const auto next = scheduler.process_due_jobs();
  CHECK(runs == 1);
  REQUIRE(next);
  CHECK(*next > now + 59min);
}

TEST_CASE("process_due_jobs returns nothing while stopped or paused", "[scheduler][callback]") {
  apsched::CallbackScheduler scheduler;
  int runs = 0;
  scheduler.add_job([&] { ++runs; }, apsched::DateTrigger{std::chrono::system_clock::now()});
  CHECK_FALSE(scheduler.process_due_jobs());
  scheduler.start(true);
  CHECK_FALSE(scheduler.process_due_jobs());
  CHECK(runs == 0);
  scheduler.resume();
  scheduler.process_due_jobs();
  CHECK(runs == 1);
}

}  // namespace callback_scheduler_test
