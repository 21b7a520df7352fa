// SPDX-License-Identifier: MIT
// AsioScheduler: the scheduler on an io_context, with coroutine jobs; driven by poll().
#include <apsched/asio/scheduler.hpp>
#include <apsched/testing/manual_clock.hpp>
#include <apsched/triggers/date.hpp>
#include <apsched/triggers/interval.hpp>

#include "support/catch.hpp"
#include "support/event_log.hpp"

#include <atomic>
#include <chrono>
#include <future>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace asio_scheduler_test {

// Standalone Asio, or Boost.Asio with APSCHED_USE_BOOST_ASIO, as the part is built.
namespace net = apsched::detail::net;
using namespace std::chrono_literals;

namespace {

using Scheduler = apsched::AsioScheduler<apsched::MemoryJobStore, apsched::ThreadPoolExecutor,
                                         apsched::ManualClock>;

// A coroutine that waits on a real timer far in the future: it ends only when cancelled.
net::awaitable<void> wait_forever() {
  net::steady_timer timer{co_await net::this_coro::executor, 24h};
  co_await timer.async_wait(net::use_awaitable);
}

struct Fixture {
  apsched::ManualClock clock;
  apsched::test::EventLog log;
  net::io_context io;
  Scheduler scheduler{io, {}, {}, clock};
  Fixture() { scheduler.add_listener(log.listener()); }
};

}  // namespace

TEST_CASE("an asio scheduler runs due jobs when its context polls", "[asio]") {
  Fixture f;
  int runs = 0;
  f.scheduler.add_job([&] { ++runs; }, apsched::IntervalTrigger{10s}, {.id = "tick"});
  f.scheduler.start();
  f.io.poll();
  CHECK(runs == 0);
  f.clock.advance(10s);
  f.io.poll();
  CHECK(runs == 1);
  f.clock.advance(5s);
  f.io.poll();
  CHECK(runs == 1);
  f.clock.advance(5s);
  f.io.poll();
  CHECK(runs == 2);
  f.scheduler.shutdown();
  f.io.poll();
  CHECK(f.log.count(apsched::EventType::job_executed) == 2);
}

TEST_CASE("jobs added, modified or removed from another thread re-arm the timer", "[asio]") {
  Fixture f;
  std::vector<std::string> ran;
  f.scheduler.start();
  f.io.poll();
  std::thread{[&] {
    f.scheduler.add_job([&] { ran.emplace_back("now"); }, apsched::DateTrigger{f.clock.now()});
    f.scheduler.add_job([&] { ran.emplace_back("later"); },
                        apsched::DateTrigger{f.clock.now() + 1h}, {.id = "later"});
    f.scheduler.add_job([&] { ran.emplace_back("removed"); },
                        apsched::DateTrigger{f.clock.now() + 1min}, {.id = "removed"});
  }}.join();
  f.io.poll();
  CHECK(ran == std::vector<std::string>{"now"});
  std::thread{[&] {
    f.scheduler.reschedule_job("later", apsched::DateTrigger{f.clock.now() + 30s});
    f.scheduler.remove_job("removed");
  }}.join();
  f.io.poll();
  f.clock.advance(30s);
  f.io.poll();
  CHECK(ran == std::vector<std::string>{"now", "later"});
  f.clock.advance(1h);
  f.io.poll();
  CHECK(ran == std::vector<std::string>{"now", "later"});
}

TEST_CASE("a coroutine job runs on the context and reports like a plain job", "[asio][coroutine]") {
  Fixture f;
  int runs = 0;
  f.scheduler.add_job(
      [&](const apsched::JobContext& context, int step) -> net::awaitable<void> {
        CHECK(context.job_id == "coro");
        net::steady_timer timer{co_await net::this_coro::executor, 0s};
        co_await timer.async_wait(net::use_awaitable);
        runs += step;
      },
      apsched::IntervalTrigger{1min}, {.id = "coro"}, 2);
  f.scheduler.start();
  f.clock.advance(1min);
  f.io.poll();
  CHECK(runs == 2);
  CHECK(f.log.names(apsched::test::run_events) ==
        std::vector<std::string>{"job_submitted", "job_started", "job_executed"});
  const auto info = f.scheduler.get_job("coro");
  REQUIRE(info);
  CHECK(info->run_count == 1);
  CHECK(info->running_instances == 0);
}

TEST_CASE("a coroutine job that throws reports job_error with its exception", "[asio][coroutine]") {
  Fixture f;
  f.scheduler.add_job(
      []() -> net::awaitable<void> {
        co_await net::post(co_await net::this_coro::executor, net::use_awaitable);
        throw std::runtime_error{"disk full"};
      },
      apsched::DateTrigger{f.clock.now()});
  f.scheduler.start();
  f.io.poll();
  const auto errors = f.log.of(apsched::EventType::job_error);
  REQUIRE(errors.size() == 1);
  REQUIRE_THROWS_WITH(std::rethrow_exception(errors[0].exception), "disk full");
}

TEST_CASE("a coroutine job past its timeout is cancelled through its cancellation slot",
          "[asio][coroutine]") {
  Fixture f;
  f.scheduler.add_job(wait_forever, apsched::IntervalTrigger{1h},
                      {.id = "slow", .next_run_time = f.clock.now(), .timeout = 10s});
  f.scheduler.start();
  f.io.poll();
  REQUIRE(f.scheduler.get_job("slow"));
  CHECK(f.scheduler.get_job("slow")->running_instances == 1);
  CHECK(f.log.count(apsched::EventType::job_error) == 0);
  f.clock.advance(10s);
  f.io.poll();
  CHECK(f.log.count(apsched::EventType::job_timeout) == 1);
  const auto errors = f.log.of(apsched::EventType::job_error);
  REQUIRE(errors.size() == 1);
  try {
    std::rethrow_exception(errors[0].exception);
  } catch (const apsched::detail::SystemError& error) {
    CHECK(error.code() == net::error::operation_aborted);
  }
}

TEST_CASE("max_instances holds for coroutine jobs while they are suspended", "[asio][coroutine]") {
  Fixture f;
  f.scheduler.add_job(wait_forever, apsched::IntervalTrigger{1s}, {.id = "busy"});
  f.scheduler.start();
  f.clock.advance(1s);
  f.io.poll();
  f.clock.advance(1s);
  f.io.poll();
  CHECK(f.log.count(apsched::EventType::job_started) == 1);
  CHECK(f.log.count(apsched::EventType::job_max_instances) == 1);
  f.scheduler.shutdown(false);
  f.io.poll();
  CHECK(f.log.count(apsched::EventType::job_error) == 1);
  CHECK(f.scheduler.get_job("busy"));
}

TEST_CASE("jobs choose the io_context or the thread pool per job", "[asio][thread]") {
  apsched::ManualClock clock;
  net::io_context io;
  Scheduler scheduler{io, {}, apsched::ThreadPoolExecutor{2}, clock};
  std::thread::id on_context;
  std::thread::id on_pool;
  std::promise<void> pooled;
  scheduler.add_job([&] { on_context = std::this_thread::get_id(); },
                    apsched::DateTrigger{clock.now()});
  scheduler.add_job(
      [&] {
        on_pool = std::this_thread::get_id();
        pooled.set_value();
      },
      apsched::DateTrigger{clock.now()}, {.executor = "pool"});
  scheduler.start();
  io.poll();
  // Fails only a hung test.
  REQUIRE(pooled.get_future().wait_for(30s) == std::future_status::ready);
  CHECK(on_context == std::this_thread::get_id());
  CHECK(on_pool != std::this_thread::get_id());
  scheduler.shutdown();
}

TEST_CASE("stopping the context with jobs in flight loses no stored job", "[asio][coroutine]") {
  Fixture f;
  int runs = 0;
  f.scheduler.add_job(
      [&]() -> net::awaitable<void> {
        co_await net::post(co_await net::this_coro::executor, net::use_awaitable);
        ++runs;
      },
      apsched::IntervalTrigger{1s}, {.id = "steady"});
  f.scheduler.start();
  f.clock.advance(1s);
  f.io.stop();
  f.io.poll();
  CHECK(runs == 0);
  f.io.restart();
  f.io.poll();
  CHECK(runs == 1);
  CHECK(f.scheduler.get_job("steady"));
}

TEST_CASE("a scheduler destroyed with coroutine jobs in flight leaves nothing behind",
          "[asio][coroutine]") {
  net::io_context io;
  apsched::ManualClock clock;
  {
    Scheduler scheduler{io, {}, {}, clock};
    scheduler.add_job(wait_forever, apsched::DateTrigger{clock.now()});
    scheduler.start();
    io.poll();
  }
  // The cancelled coroutine ends here, after its scheduler; its completion is discarded.
  io.poll();
  clock.advance(1h);
  io.poll();
  SUCCEED("no handler touched the destroyed scheduler (checked by the sanitizers)");
}

TEST_CASE("a scheduler destroyed with runs queued on the context drops them", "[asio]") {
  net::io_context io;
  apsched::ManualClock clock;
  int runs = 0;
  {
    Scheduler scheduler{io, {}, {}, clock};
    scheduler.add_job([&] { ++runs; }, apsched::DateTrigger{clock.now()});
    scheduler.start();
    // The first handler is the scheduler's step, which queues the run on the context.
    REQUIRE(io.run_one() == 1);
    CHECK(runs == 0);
  }
  io.poll();
  CHECK(runs == 0);
}

TEST_CASE("jobs added from several threads while the context runs all run once", "[asio][thread]") {
  constexpr int threads = 4;
  constexpr int per_thread = 50;
  net::io_context io;
  apsched::AsioScheduler<> scheduler{io};
  std::atomic<int> runs{0};
  std::promise<void> all_ran;
  scheduler.start();
  std::thread runner{[&] { io.run(); }};
  std::vector<std::thread> adders;
  for (int t = 0; t < threads; ++t) {
    adders.emplace_back([&] {
      for (int i = 0; i < per_thread; ++i) {
        scheduler.add_job(
            [&] {
              if (runs.fetch_add(1) + 1 == threads * per_thread) {
                all_ran.set_value();
              }
            },
            apsched::DateTrigger{std::chrono::system_clock::now()});
      }
    });
  }
  for (std::thread& adder : adders) {
    adder.join();
  }
  // Fails only a hung test.
  REQUIRE(all_ran.get_future().wait_for(30s) == std::future_status::ready);
  scheduler.shutdown();
  runner.join();
  CHECK(runs.load() == threads * per_thread);
}

}  // namespace asio_scheduler_test
