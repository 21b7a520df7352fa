// SPDX-License-Identifier: MIT
// BackgroundScheduler with real threads: the loop thread sleeps on the clock and wakes for
// changes; jobs run on a thread pool. Latches synchronise; time-outs only fail a hung test.
#include <apsched/background_scheduler.hpp>
#include <apsched/executors/thread_pool.hpp>
#include <apsched/stores/memory.hpp>
#include <apsched/testing/manual_clock.hpp>
#include <apsched/triggers/date.hpp>
#include <apsched/triggers/interval.hpp>

#include "support/catch.hpp"
#include "support/event_log.hpp"

#include <atomic>
#include <chrono>
#include <future>
#include <latch>
#include <stop_token>

namespace background_scheduler_test {

using namespace std::chrono_literals;
using apsched::DateTrigger;
using apsched::EventType;
using apsched::IntervalTrigger;
using apsched::JobContext;

namespace {

using ManualBackground =
    apsched::BackgroundScheduler<apsched::MemoryJobStore, apsched::ThreadPoolExecutor,
                                 apsched::ManualClock>;

constexpr auto hang_limit = 10s;

bool arrives(std::future<void>& done) {
  return done.wait_for(hang_limit) == std::future_status::ready;
}

}  // namespace

TEST_CASE("advancing the manual clock wakes the loop to run due jobs",
          "[scheduler][background][thread]") {
  apsched::ManualClock clock;
  ManualBackground scheduler{apsched::MemoryJobStore{}, apsched::ThreadPoolExecutor{2}, clock};
  std::promise<void> ran;
  std::atomic<int> runs{0};
  scheduler.add_job(
      [&] {
        if (++runs == 1) {
          ran.set_value();
        }
      },
      IntervalTrigger{1h});
  scheduler.start();
  auto done = ran.get_future();
  clock.advance(1h);
  REQUIRE(arrives(done));
  scheduler.shutdown();
  CHECK(runs == 1);
}

TEST_CASE("adding an earlier job wakes a sleeping loop", "[scheduler][background][thread]") {
  apsched::ManualClock clock;
  ManualBackground scheduler{apsched::MemoryJobStore{}, apsched::ThreadPoolExecutor{2}, clock};
  scheduler.add_job([] {}, IntervalTrigger{24h});
  scheduler.start();
  std::promise<void> ran;
  scheduler.add_job([&] { ran.set_value(); }, DateTrigger{clock.now()});
  auto done = ran.get_future();
  REQUIRE(arrives(done));
}

TEST_CASE("the system clock drives a background scheduler", "[scheduler][background][thread]") {
  apsched::BackgroundScheduler scheduler;
  std::promise<void> ran;
  scheduler.add_job([&] { ran.set_value(); }, DateTrigger{std::chrono::system_clock::now() + 20ms});
  scheduler.start();
  auto done = ran.get_future();
  REQUIRE(arrives(done));
  scheduler.shutdown();
}

TEST_CASE("shutdown with wait lets running jobs finish", "[scheduler][background][thread]") {
  apsched::ManualClock clock;
  apsched::test::EventLog log;  // outlives the scheduler, which may still emit events
  ManualBackground scheduler{apsched::MemoryJobStore{}, apsched::ThreadPoolExecutor{2}, clock};
  scheduler.add_listener(log.listener());
  std::latch started{1};
  std::latch release{1};
  scheduler.add_job(
      [&] {
        started.count_down();
        release.wait();
      },
      DateTrigger{clock.now()});
  scheduler.start();
  started.wait();
  auto stopping = std::async(std::launch::async, [&] { scheduler.shutdown(true); });
  CHECK(stopping.wait_for(0s) != std::future_status::ready);
  release.count_down();
  REQUIRE(stopping.wait_for(hang_limit) == std::future_status::ready);
  CHECK(log.count(EventType::job_executed) == 1);
}

TEST_CASE("shutdown without wait asks running jobs to stop", "[scheduler][background][thread]") {
  apsched::ManualClock clock;
  ManualBackground scheduler{apsched::MemoryJobStore{}, apsched::ThreadPoolExecutor{2}, clock};
  std::latch started{1};
  std::promise<void> stopped;
  scheduler.add_job(
      [&](const JobContext& context) {
        std::promise<void> requested;
        const std::stop_callback on_stop{context.stop_token, [&] { requested.set_value(); }};
        started.count_down();
        if (requested.get_future().wait_for(hang_limit) == std::future_status::ready) {
          stopped.set_value();
        }
      },
      DateTrigger{clock.now()});
  scheduler.start();
  started.wait();
  scheduler.shutdown(false);
  auto done = stopped.get_future();
  REQUIRE(arrives(done));
}

TEST_CASE("a run past its timeout is asked to stop and reported",
          "[scheduler][background][thread]") {
  apsched::ManualClock clock;
  apsched::test::EventLog log;  // outlives the scheduler, which may still emit events
  ManualBackground scheduler{apsched::MemoryJobStore{}, apsched::ThreadPoolExecutor{2}, clock};
  scheduler.add_listener(log.listener());
  std::latch started{1};
  std::promise<void> finished;
  scheduler.add_job(
      [&](const JobContext& context) {
        std::promise<void> requested;
        const std::stop_callback on_stop{context.stop_token, [&] { requested.set_value(); }};
        started.count_down();
        static_cast<void>(requested.get_future().wait_for(hang_limit));
        finished.set_value();
      },
      DateTrigger{clock.now()}, {.id = "slow", .timeout = 30s});
  scheduler.start();
  started.wait();
  clock.advance(31s);
  auto done = finished.get_future();
  REQUIRE(arrives(done));
  scheduler.shutdown(true);
  const auto timeouts = log.of(EventType::job_timeout);
  REQUIRE(timeouts.size() == 1);
  CHECK(timeouts[0].job_id == "slow");
  CHECK(log.names(apsched::test::run_events) ==
        std::vector<std::string>{"job_submitted", "job_started", "job_timeout", "job_executed"});
}

TEST_CASE("jobs on pool threads may manage the scheduler", "[scheduler][background][thread]") {
  apsched::ManualClock clock;
  ManualBackground scheduler{apsched::MemoryJobStore{}, apsched::ThreadPoolExecutor{2}, clock};
  std::promise<void> second;
  scheduler.add_job(
      [&] {
        scheduler.pause_job("first");
        scheduler.add_job([&] { second.set_value(); }, DateTrigger{clock.now()});
      },
      IntervalTrigger{1s}, {.id = "first"});
  scheduler.start();
  clock.advance(1s);
  auto done = second.get_future();
  REQUIRE(arrives(done));
  scheduler.shutdown();
  CHECK_FALSE(scheduler.get_job("first")->next_run_time);
}

TEST_CASE("a job may shut its scheduler down", "[scheduler][background][thread]") {
  std::promise<void> down;  // outlives the scheduler, which may still emit events
  apsched::ManualClock clock;
  ManualBackground scheduler{apsched::MemoryJobStore{}, apsched::ThreadPoolExecutor{2}, clock};
  scheduler.add_listener([&](const apsched::Event&) { down.set_value(); },
                         static_cast<apsched::EventMask>(EventType::scheduler_shutdown));
  scheduler.add_job([&] { scheduler.shutdown(true); }, DateTrigger{clock.now()});
  scheduler.start();
  auto done = down.get_future();
  REQUIRE(arrives(done));
  CHECK(scheduler.state() == apsched::SchedulerState::stopped);
}

TEST_CASE("jobs added from several threads all run", "[scheduler][background][thread]") {
  apsched::ManualClock clock;
  ManualBackground scheduler{apsched::MemoryJobStore{}, apsched::ThreadPoolExecutor{4}, clock};
  constexpr int per_thread = 200;
  std::latch all_ran{4 * per_thread};
  scheduler.start();
  {
    std::vector<std::jthread> adders;
    for (int t = 0; t < 4; ++t) {
      adders.emplace_back([&, t] {
        for (int i = 0; i < per_thread; ++i) {
          scheduler.add_job([&] { all_ran.count_down(); },
                            DateTrigger{clock.now() + std::chrono::milliseconds{(i * 7 + t) % 50}});
        }
      });
    }
  }
  clock.advance(1s);
  auto waiter = std::async(std::launch::async, [&] { all_ran.wait(); });
  REQUIRE(waiter.wait_for(hang_limit) == std::future_status::ready);
  CHECK(scheduler.get_jobs().empty());
}

TEST_CASE("the destructor stops the loop and waits for running jobs",
          "[scheduler][background][thread]") {
  std::atomic<bool> finished{false};
  std::latch started{1};
  {
    apsched::ManualClock clock;
    ManualBackground scheduler{apsched::MemoryJobStore{}, apsched::ThreadPoolExecutor{1}, clock};
    scheduler.add_job(
        [&](const JobContext& context) {
          started.count_down();
          std::promise<void> requested;
          const std::stop_callback on_stop{context.stop_token, [&] { requested.set_value(); }};
          static_cast<void>(requested.get_future().wait_for(hang_limit));
          finished = true;
        },
        DateTrigger{clock.now()});
    scheduler.start();
    started.wait();
  }
  CHECK(finished);
}

}  // namespace background_scheduler_test
