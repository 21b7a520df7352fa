// SPDX-License-Identifier: MIT
#include <apsched/executors/inline.hpp>

#include "support/catch.hpp"
#include "support/task_probe.hpp"

#include <thread>
#include <utility>

namespace executors_inline_test {

using apsched::ExecutorShutdownError;
using apsched::InlineExecutor;
using apsched::Task;
using apsched::test::probe_task;
using apsched::test::TaskCounts;

TEST_CASE("inline executor is a restartable Executor", "[executor][inline][concept]") {
  STATIC_REQUIRE(apsched::RestartableExecutor<InlineExecutor>);
}

TEST_CASE("inline executor runs a task at once in the calling thread", "[executor][inline]") {
  InlineExecutor executor;
  std::thread::id ran_on;
  bool ran = false;
  executor.submit(Task{[&] {
    ran = true;
    ran_on = std::this_thread::get_id();
  }});
  CHECK(ran);
  CHECK(ran_on == std::this_thread::get_id());
  TaskCounts counts;
  Task task = probe_task(counts);
  executor.submit(std::move(task));
  CHECK(counts.runs == 1);
  CHECK(counts.drops == 0);
}

TEST_CASE("inline executor runs a task submitted by a running task before returning",
          "[executor][inline]") {
  InlineExecutor executor;
  TaskCounts counts;
  bool inner_ran_first = false;
  executor.submit(Task{[&] {
    executor.submit(probe_task(counts));
    inner_ran_first = counts.runs == 1;
  }});
  CHECK(inner_ran_first);
}

TEST_CASE("inline executor refuses tasks after shutdown", "[executor][inline][error]") {
  for (const bool wait : {true, false}) {
    INFO("wait = " << wait);
    InlineExecutor executor;
    executor.shutdown(wait);
    TaskCounts counts;
    REQUIRE_THROWS_AS(executor.submit(probe_task(counts)), ExecutorShutdownError);
    REQUIRE_THROWS_WITH(executor.submit(probe_task(counts)),
                        "InlineExecutor::submit: the executor is shut down");
    // The refused tasks did not run and were destroyed.
    CHECK(counts.runs == 0);
    CHECK(counts.drops == 2);
    executor.shutdown(wait);
    CHECK_THROWS_AS(executor.submit(Task{}), ExecutorShutdownError);
  }
}

TEST_CASE("inline executor accepts tasks again after start", "[executor][inline]") {
  InlineExecutor executor;
  executor.start();
  executor.shutdown(true);
  executor.start();
  TaskCounts counts;
  executor.submit(probe_task(counts));
  CHECK(counts.runs == 1);
}

TEST_CASE("inline executor keeps its shut-down state when moved", "[executor][inline]") {
  InlineExecutor stopped;
  stopped.shutdown(false);
  InlineExecutor moved{std::move(stopped)};
  CHECK_THROWS_AS(moved.submit(Task{}), ExecutorShutdownError);
  InlineExecutor running;
  InlineExecutor moved_running{std::move(running)};
  TaskCounts counts;
  moved_running.submit(probe_task(counts));
  CHECK(counts.runs == 1);
}

}  // namespace executors_inline_test
