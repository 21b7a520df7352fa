// SPDX-License-Identifier: MIT
#include <apsched/testing/manual_executor.hpp>

#include "support/catch.hpp"
#include "support/task_probe.hpp"

#include <latch>
#include <thread>
#include <utility>
#include <vector>

namespace testing_manual_executor_test {

using apsched::ExecutorShutdownError;
using apsched::ManualExecutor;
using apsched::Task;
using apsched::test::probe_task;
using apsched::test::TaskCounts;

TEST_CASE("manual executor is a restartable Executor", "[executor][manual_executor][concept]") {
  STATIC_REQUIRE(apsched::RestartableExecutor<ManualExecutor>);
}

TEST_CASE("manual executor queues tasks until run_one or run_all", "[executor][manual_executor]") {
  ManualExecutor executor;
  TaskCounts counts;
  CHECK(executor.pending() == 0);
  CHECK_FALSE(executor.run_one());
  CHECK(executor.run_all() == 0);
  for (int i = 0; i < 3; ++i) {
    executor.submit(probe_task(counts));
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

TEST_CASE("manual executor reports room for the workers set, less the queued tasks",
          "[executor][manual_executor]") {
  ManualExecutor executor;
  CHECK(executor.available() == static_cast<std::size_t>(-1));  // unlimited until set
  executor.set_workers(2);
  CHECK(executor.available() == 2);
  TaskCounts counts;
  executor.submit(probe_task(counts));
  CHECK(executor.available() == 1);
  executor.submit(probe_task(counts));
  executor.submit(probe_task(counts));
  CHECK(executor.available() == 0);
  CHECK(executor.run_all() == 3);
  CHECK(executor.available() == 2);
}

TEST_CASE("manual executor runs tasks in submission order", "[executor][manual_executor]") {
  ManualExecutor executor;
  std::vector<int> order;
  for (int i = 0; i < 5; ++i) {
    executor.submit(Task{[&order, i] { order.push_back(i); }});
  }
  CHECK(executor.run_one());
  CHECK(order == std::vector<int>{0});
  CHECK(executor.run_all() == 4);
  CHECK(order == std::vector<int>{0, 1, 2, 3, 4});
}

TEST_CASE("manual executor's run_all also runs tasks queued while it runs",
          "[executor][manual_executor]") {
  ManualExecutor executor;
  std::vector<int> order;
  executor.submit(Task{[&] {
    order.push_back(1);
    executor.submit(Task{[&] {
      order.push_back(3);
      executor.submit(Task{[&] { order.push_back(4); }});
    }});
  }});
  executor.submit(Task{[&] { order.push_back(2); }});
  CHECK(executor.run_all() == 4);
  CHECK(order == std::vector<int>{1, 2, 3, 4});
  CHECK(executor.pending() == 0);
}

TEST_CASE("manual executor's shutdown drops queued tasks and refuses new ones",
          "[executor][manual_executor][error]") {
  for (const bool wait : {true, false}) {
    INFO("wait = " << wait);
    ManualExecutor executor;
    TaskCounts counts;
    executor.submit(probe_task(counts));
    executor.submit(probe_task(counts));
    executor.shutdown(wait);
    CHECK(counts.drops == 2);
    CHECK(counts.runs == 0);
    CHECK(executor.pending() == 0);
    CHECK_FALSE(executor.run_one());
    REQUIRE_THROWS_AS(executor.submit(probe_task(counts)), ExecutorShutdownError);
    REQUIRE_THROWS_WITH(executor.submit(probe_task(counts)),
                        "ManualExecutor::submit: the executor is shut down");
    CHECK(counts.drops == 4);
    CHECK(counts.runs == 0);
    executor.shutdown(wait);
  }
}

TEST_CASE("manual executor accepts tasks again after start", "[executor][manual_executor]") {
  ManualExecutor executor;
  executor.shutdown(false);
  executor.start();
  TaskCounts counts;
  executor.submit(probe_task(counts));
  CHECK(executor.pending() == 1);
  CHECK(executor.run_all() == 1);
  CHECK(counts.runs == 1);
}

TEST_CASE("manual executor's move takes the queue and the shut-down state",
          "[executor][manual_executor]") {
  TaskCounts counts;
  ManualExecutor original;
  original.submit(probe_task(counts));
  ManualExecutor moved{std::move(original)};
  CHECK(moved.pending() == 1);
  CHECK(moved.run_all() == 1);
  CHECK(counts.runs == 1);
  ManualExecutor stopped;
  stopped.shutdown(false);
  ManualExecutor moved_stopped{std::move(stopped)};
  CHECK_THROWS_AS(moved_stopped.submit(Task{}), ExecutorShutdownError);
}

TEST_CASE("manual executor destroys unrun tasks with itself", "[executor][manual_executor]") {
  TaskCounts counts;
  {
    ManualExecutor executor;
    executor.submit(probe_task(counts));
  }
  CHECK(counts.drops == 1);
  CHECK(counts.runs == 0);
}

TEST_CASE("manual executor accepts tasks from several threads at once",
          "[executor][manual_executor][thread]") {
  ManualExecutor executor;
  TaskCounts counts;
  constexpr int threads = 4;
  constexpr int per_thread = 500;
  std::latch start{threads};
  {
    std::vector<std::jthread> submitters;
    for (int t = 0; t < threads; ++t) {
      submitters.emplace_back([&] {
        start.arrive_and_wait();
        for (int i = 0; i < per_thread; ++i) {
          executor.submit(probe_task(counts));
        }
      });
    }
  }
  CHECK(executor.pending() == threads * per_thread);
  CHECK(executor.run_all() == threads * per_thread);
  CHECK(counts.runs == threads * per_thread);
}

}  // namespace testing_manual_executor_test
