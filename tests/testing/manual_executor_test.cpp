// SPDX-License-Identifier: MIT
#include <apsched/testing/manual_executor.hpp>

#include "support/catch.hpp"
#include "support/work_probe.hpp"

#include <latch>
#include <thread>
#include <utility>
#include <vector>

namespace testing_manual_executor_test {

using apsched::ExecutorShutdownError;
using apsched::ManualExecutor;
using apsched::Work;
using apsched::test::probe_work;
using apsched::test::WorkCounts;

TEST_CASE("manual executor is a restartable Executor", "[executor][manual_executor][concept]") {
  STATIC_REQUIRE(apsched::RestartableExecutor<ManualExecutor>);
}

TEST_CASE("manual executor queues work items until run_one or run_all",
          "[executor][manual_executor]") {
  ManualExecutor executor;
  WorkCounts counts;
  CHECK(executor.pending() == 0);
  CHECK_FALSE(executor.run_one());
  CHECK(executor.run_all() == 0);
  for (int i = 0; i < 3; ++i) {
    executor.submit(probe_work(counts));
  }
  CHECK(executor.pending() == 3);
  CHECK(counts.runs == 0);
  CHECK(executor.run_one());
  CHECK(counts.runs == 1);
  CHECK(executor.pending() == 2);
  CHECK(executor.run_all() == 2);
  CHECK(counts.runs == 3);
  CHECK(executor.pending() == 0);
  CHECK_FALSE(executor.run_one());
  CHECK(counts.drops == 0);
}

TEST_CASE("manual executor reports room for the workers set, less the queued work items",
          "[executor][manual_executor]") {
  ManualExecutor executor;
  CHECK(executor.available() == static_cast<std::size_t>(-1));  // unlimited until set
  executor.set_workers(2);
  CHECK(executor.available() == 2);
  WorkCounts counts;
  executor.submit(probe_work(counts));
  CHECK(executor.available() == 1);
  executor.submit(probe_work(counts));
  executor.submit(probe_work(counts));
  CHECK(executor.available() == 0);
  CHECK(executor.run_all() == 3);
  CHECK(executor.available() == 2);
}

TEST_CASE("manual executor runs work items in submission order", "[executor][manual_executor]") {
  ManualExecutor executor;
  std::vector<int> order;
  for (int i = 0; i < 5; ++i) {
    executor.submit(Work{[&order, i] { order.push_back(i); }});
  }
  CHECK(executor.run_one());
  CHECK(order == std::vector<int>{0});
  CHECK(executor.run_all() == 4);
  CHECK(order == std::vector<int>{0, 1, 2, 3, 4});
}

TEST_CASE("manual executor's run_all also runs work items queued while it runs",
          "[executor][manual_executor]") {
  ManualExecutor executor;
  std::vector<int> order;
  executor.submit(Work{[&] {
    order.push_back(1);
    executor.submit(Work{[&] {
      order.push_back(3);
      executor.submit(Work{[&] { order.push_back(4); }});
    }});
  }});
  executor.submit(Work{[&] { order.push_back(2); }});
  CHECK(executor.run_all() == 4);
  CHECK(order == std::vector<int>{1, 2, 3, 4});
  CHECK(executor.pending() == 0);
}

TEST_CASE("manual executor's shutdown drops queued work items and refuses new ones",
          "[executor][manual_executor][error]") {
  for (const bool wait : {true, false}) {
    INFO("wait = " << wait);
    ManualExecutor executor;
    WorkCounts counts;
    executor.submit(probe_work(counts));
    executor.submit(probe_work(counts));
    executor.shutdown(wait);
    CHECK(counts.drops == 2);
    CHECK(counts.runs == 0);
    CHECK(executor.pending() == 0);
    CHECK_FALSE(executor.run_one());
    REQUIRE_THROWS_AS(executor.submit(probe_work(counts)), ExecutorShutdownError);
    REQUIRE_THROWS_WITH(executor.submit(probe_work(counts)),
                        "ManualExecutor::submit: the executor is shut down");
    CHECK(counts.drops == 4);
    CHECK(counts.runs == 0);
    executor.shutdown(wait);
  }
}

TEST_CASE("manual executor accepts work items again after start", "[executor][manual_executor]") {
  ManualExecutor executor;
  executor.shutdown(false);
  executor.start();
  WorkCounts counts;
  executor.submit(probe_work(counts));
  CHECK(executor.pending() == 1);
  CHECK(executor.run_all() == 1);
  CHECK(counts.runs == 1);
}

TEST_CASE("manual executor's move takes the queue and the shut-down state",
          "[executor][manual_executor]") {
  WorkCounts counts;
  ManualExecutor original;
  original.submit(probe_work(counts));
  ManualExecutor moved{std::move(original)};
  CHECK(moved.pending() == 1);
  CHECK(moved.run_all() == 1);
  CHECK(counts.runs == 1);
  ManualExecutor stopped;
  stopped.shutdown(false);
  ManualExecutor moved_stopped{std::move(stopped)};
  CHECK_THROWS_AS(moved_stopped.submit(Work{}), ExecutorShutdownError);
}

TEST_CASE("manual executor destroys unrun work items with itself", "[executor][manual_executor]") {
  WorkCounts counts;
  {
    ManualExecutor executor;
    executor.submit(probe_work(counts));
  }
  CHECK(counts.drops == 1);
  CHECK(counts.runs == 0);
}

TEST_CASE("manual executor accepts work items from several threads at once",
          "[executor][manual_executor][thread]") {
  ManualExecutor executor;
  WorkCounts counts;
  constexpr int threads = 4;
  constexpr int per_thread = 500;
  std::latch start{threads};
  {
    std::vector<std::jthread> submitters;
    for (int t = 0; t < threads; ++t) {
      submitters.emplace_back([&] {
        start.arrive_and_wait();
        for (int i = 0; i < per_thread; ++i) {
          executor.submit(probe_work(counts));
        }
      });
    }
  }
  CHECK(executor.pending() == threads * per_thread);
  CHECK(executor.run_all() == threads * per_thread);
  CHECK(counts.runs == threads * per_thread);
}

}  // namespace testing_manual_executor_test
