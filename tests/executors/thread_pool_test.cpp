// SPDX-License-Identifier: MIT
#include <apsched/executors/thread_pool.hpp>

#include "support/catch.hpp"
#include "support/work_probe.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <future>
#include <latch>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <utility>
#include <vector>

namespace executors_thread_pool_test {

using namespace std::chrono_literals;
using apsched::ExecutorShutdownError;
using apsched::ThreadPoolExecutor;
using apsched::Work;
using apsched::test::probe_work;
using apsched::test::WorkCounts;

namespace {

// A generous bound that only fails a hung test.
constexpr auto hang_timeout = 10s;

bool ready(std::future<void>& future) {
  return future.wait_for(hang_timeout) == std::future_status::ready;
}

}  // namespace

TEST_CASE("thread pool is a restartable Executor", "[executor][thread_pool][concept]") {
  STATIC_REQUIRE(apsched::RestartableExecutor<ThreadPoolExecutor>);
}

TEST_CASE("thread pool reports its size", "[executor][thread_pool]") {
  CHECK(ThreadPoolExecutor{}.size() == ThreadPoolExecutor::default_workers);
  CHECK(ThreadPoolExecutor::default_workers == 10);
  CHECK(ThreadPoolExecutor{3}.size() == 3);
  ThreadPoolExecutor original{5};
  const ThreadPoolExecutor moved{std::move(original)};
  CHECK(moved.size() == 5);
}

TEST_CASE("thread pool rejects zero workers", "[executor][thread_pool][error]") {
  REQUIRE_THROWS_AS(ThreadPoolExecutor{0}, apsched::InvalidArgumentError);
  REQUIRE_THROWS_WITH(ThreadPoolExecutor{0},
                      "ThreadPoolExecutor: workers is 0; expected at least one worker thread");
}

TEST_CASE("thread pool runs every work item exactly once, off the calling thread",
          "[executor][thread_pool][thread]") {
  constexpr int task_count = 200;
  ThreadPoolExecutor pool{4};
  std::vector<std::atomic<int>> runs(task_count);
  std::latch done{task_count};
  std::mutex mutex;
  std::set<std::thread::id> threads;
  for (int i = 0; i < task_count; ++i) {
    pool.submit(Work{[&, i] {
      runs[static_cast<std::size_t>(i)].fetch_add(1);
      {
        const std::lock_guard guard{mutex};
        threads.insert(std::this_thread::get_id());
      }
      done.count_down();
    }});
  }
  done.wait();
  pool.shutdown(true);
  for (const std::atomic<int>& count : runs) {
    REQUIRE(count.load() == 1);
  }
  CHECK(threads.count(std::this_thread::get_id()) == 0);
  CHECK(threads.size() <= 4);
}

TEST_CASE("thread pool runs work items on all of its workers concurrently",
          "[executor][thread_pool][thread]") {
  constexpr std::size_t workers = 3;
  ThreadPoolExecutor pool{workers};
  // Each work waits for all the others: they can finish only if each has a thread of its own.
  std::latch all_running{workers};
  std::latch done{workers};
  std::mutex mutex;
  std::set<std::thread::id> threads;
  for (std::size_t i = 0; i < workers; ++i) {
    pool.submit(Work{[&] {
      {
        const std::lock_guard guard{mutex};
        threads.insert(std::this_thread::get_id());
      }
      all_running.arrive_and_wait();
      done.count_down();
    }});
  }
  done.wait();
  pool.shutdown(true);
  CHECK(threads.size() == workers);
}

TEST_CASE("thread pool's submit does not block when every worker is busy",
          "[executor][thread_pool][thread]") {
  ThreadPoolExecutor pool{2};
  std::latch busy{2};
  std::latch release{1};
  for (int i = 0; i < 2; ++i) {
    pool.submit(Work{[&] {
      busy.count_down();
      release.wait();
    }});
  }
  busy.wait();
  WorkCounts counts;
  std::future<void> submitted = std::async(std::launch::async, [&] {
    for (int i = 0; i < 100; ++i) {
      pool.submit(probe_work(counts));
    }
  });
  const bool returned = ready(submitted);
  release.count_down();
  CHECK(returned);
  submitted.wait();
  pool.shutdown(true);
  CHECK(counts.runs == 100);
  CHECK(counts.drops == 0);
}

TEST_CASE("thread pool's room counts the work items its workers hold and the queued ones",
          "[executor][thread_pool][thread]") {
  ThreadPoolExecutor pool{2};
  CHECK(pool.available() == 2);  // not started: all of it
  std::latch first_started{1};
  std::latch second_started{1};
  std::latch release{1};
  pool.submit(Work{[&] {
    first_started.count_down();
    release.wait();
  }});
  first_started.wait();
  CHECK(pool.available() == 1);
  pool.submit(Work{[&] {
    second_started.count_down();
    release.wait();
  }});
  second_started.wait();
  CHECK(pool.available() == 0);
  WorkCounts counts;
  pool.submit(probe_work(counts));  // queued: no worker is free
  CHECK(pool.available() == 0);
  release.count_down();
  pool.shutdown(true);
  CHECK(counts.runs == 1);
  CHECK(pool.available() == 2);  // shut down: a start would have every worker free
}

TEST_CASE("thread pool's shutdown(true) runs every queued work item before returning",
          "[executor][thread_pool][thread]") {
  ThreadPoolExecutor pool{1};
  std::latch busy{1};
  std::latch release{1};
  pool.submit(Work{[&] {
    busy.count_down();
    release.wait();
  }});
  busy.wait();
  WorkCounts counts;
  for (int i = 0; i < 50; ++i) {
    pool.submit(probe_work(counts));
  }
  // shutdown(true) starts while the worker is still blocked (most likely: nothing orders the two
  // threads), and must not return before all 50 queued work items ran.
  std::future<void> shut_down = std::async(std::launch::async, [&] { pool.shutdown(true); });
  release.count_down();
  REQUIRE(ready(shut_down));
  CHECK(counts.runs == 50);
  CHECK(counts.drops == 0);
}

TEST_CASE(
    "thread pool's shutdown(false) destroys queued work items and does not wait for running ones",
    "[executor][thread_pool][thread]") {
  WorkCounts running_counts;
  WorkCounts queued_counts;
  std::latch busy{1};
  std::latch release{1};
  {
    ThreadPoolExecutor pool{1};
    pool.submit(Work{[&, probe = apsched::test::WorkProbe{running_counts}]() mutable {
      busy.count_down();
      release.wait();
      probe();
    }});
    busy.wait();
    for (int i = 0; i < 10; ++i) {
      pool.submit(probe_work(queued_counts));
    }
    // shutdown(false) must return although the running work is blocked until `release` opens.
    pool.shutdown(false);
    CHECK(queued_counts.drops == 10);
    CHECK(queued_counts.runs == 0);
    CHECK(running_counts.runs == 0);
    CHECK_THROWS_AS(pool.submit(Work{}), ExecutorShutdownError);
    release.count_down();
  }
  // The destructor waited for the running work.
  CHECK(running_counts.runs == 1);
  CHECK(running_counts.drops == 0);
}

TEST_CASE("thread pool's destructor destroys queued work items",
          "[executor][thread_pool][thread]") {
  constexpr int queued = 5;
  std::atomic<int> drops{0};
  std::atomic<int> runs{0};
  std::promise<void> all_dropped;
  std::future<void> all_dropped_future = all_dropped.get_future();
  // Counts its destruction without a run, and reports when the last queued one is gone.
  struct DropSignal {
    std::atomic<int>* drops;
    std::atomic<int>* runs;
    std::promise<void>* all_dropped;
    bool ran = false;
    DropSignal(std::atomic<int>& d, std::atomic<int>& r, std::promise<void>& p)
        : drops{&d}, runs{&r}, all_dropped{&p} {}
    DropSignal(DropSignal&& other) noexcept
        : drops{std::exchange(other.drops, nullptr)},
          runs{other.runs},
          all_dropped{other.all_dropped},
          ran{other.ran} {}
    DropSignal(const DropSignal&) = delete;
    DropSignal& operator=(const DropSignal&) = delete;
    DropSignal& operator=(DropSignal&&) = delete;
    ~DropSignal() {
      if (drops != nullptr && !ran && drops->fetch_add(1) + 1 == queued) {
        all_dropped->set_value();
      }
    }
    void operator()() {
      ran = true;
      runs->fetch_add(1);
    }
  };
  std::latch busy{1};
  std::latch release{1};
  auto pool = std::make_unique<ThreadPoolExecutor>(1);
  pool->submit(Work{[&] {
    busy.count_down();
    release.wait();
  }});
  busy.wait();
  for (int i = 0; i < queued; ++i) {
    pool->submit(Work{DropSignal{drops, runs, all_dropped}});
  }
  std::future<void> destroyed =
      std::async(std::launch::async, [pool = std::move(pool)]() mutable { pool.reset(); });
  // The destructor drops the queued work items before it waits for the running one.
  const bool dropped_while_running =
      all_dropped_future.wait_for(hang_timeout) == std::future_status::ready;
  release.count_down();
  REQUIRE(ready(destroyed));
  CHECK(dropped_while_running);
  CHECK(drops == queued);
  CHECK(runs == 0);
}

TEST_CASE("thread pool refuses work items after shutdown", "[executor][thread_pool][error]") {
  for (const bool wait : {true, false}) {
    INFO("wait = " << wait);
    ThreadPoolExecutor pool{2};
    pool.shutdown(wait);
    WorkCounts counts;
    REQUIRE_THROWS_AS(pool.submit(probe_work(counts)), ExecutorShutdownError);
    REQUIRE_THROWS_WITH(pool.submit(probe_work(counts)),
                        "ThreadPoolExecutor::submit: the executor is shut down");
    CHECK(counts.runs == 0);
    CHECK(counts.drops == 2);
    pool.shutdown(wait);
  }
}

TEST_CASE("thread pool runs work items again after start", "[executor][thread_pool][thread]") {
  ThreadPoolExecutor pool{2};
  WorkCounts counts;
  pool.submit(probe_work(counts));
  pool.shutdown(true);
  CHECK(counts.runs == 1);
  pool.start();
  std::latch done{1};
  pool.submit(Work{[&] { done.count_down(); }});
  done.wait();
  pool.shutdown(false);
  pool.start();
  pool.submit(probe_work(counts));
  pool.shutdown(true);
  CHECK(counts.runs == 2);
}

TEST_CASE("thread pool started explicitly runs submitted work items",
          "[executor][thread_pool][thread]") {
  ThreadPoolExecutor pool{2};
  pool.start();
  WorkCounts counts;
  pool.submit(probe_work(counts));
  pool.shutdown(true);
  CHECK(counts.runs == 1);
}

TEST_CASE("thread pool's start on a running pool does nothing", "[executor][thread_pool][thread]") {
  ThreadPoolExecutor pool{2};
  pool.start();
  std::future<void> restarted = std::async(std::launch::async, [&] { pool.start(); });
  const bool returned = ready(restarted);
  if (!returned) {
    // Unblock the hung start() so the test can end: stopping the pool lets its workers exit.
    pool.shutdown(false);
  }
  restarted.wait();
  CHECK(returned);
  WorkCounts counts;
  if (returned) {
    pool.submit(probe_work(counts));
    pool.shutdown(true);
    CHECK(counts.runs == 1);
  }
}

TEST_CASE("thread pool shut down by one of its own work items does not deadlock",
          "[executor][thread_pool][thread]") {
  WorkCounts counts;
  std::promise<void> shut_down;
  std::future<void> shut_down_future = shut_down.get_future();
  {
    ThreadPoolExecutor pool{2};
    pool.submit(Work{[&] {
      pool.shutdown(true);
      shut_down.set_value();
    }});
    REQUIRE(ready(shut_down_future));
    CHECK_THROWS_AS(pool.submit(probe_work(counts)), ExecutorShutdownError);
  }
  CHECK(counts.runs == 0);
  CHECK(counts.drops == 1);
}

TEST_CASE("thread pool shut down by its own work still runs the queued work items",
          "[executor][thread_pool][thread]") {
  WorkCounts counts;
  std::promise<void> shut_down;
  std::future<void> shut_down_future = shut_down.get_future();
  {
    ThreadPoolExecutor pool{1};
    std::latch release{1};
    pool.submit(Work{[&] {
      release.wait();
      pool.shutdown(true);
      shut_down.set_value();
    }});
    for (int i = 0; i < 5; ++i) {
      pool.submit(probe_work(counts));
    }
    release.count_down();
    REQUIRE(ready(shut_down_future));
  }
  // The single worker ran the queued work items after its own work returned.
  CHECK(counts.runs == 5);
  CHECK(counts.drops == 0);
}

}  // namespace executors_thread_pool_test
