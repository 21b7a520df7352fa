// SPDX-License-Identifier: MIT
#include <apsched/executors/inline.hpp>

#include "support/catch.hpp"
#include "support/work_probe.hpp"

#include <thread>
#include <utility>

namespace executors_inline_test {

using apsched::ExecutorShutdownError;
using apsched::InlineExecutor;
using apsched::Work;
using apsched::test::probe_work;
using apsched::test::WorkCounts;

TEST_CASE("inline executor is a restartable Executor", "[executor][inline][concept]") {
  STATIC_REQUIRE(apsched::RestartableExecutor<InlineExecutor>);
}

TEST_CASE("inline executor runs work at once in the calling thread", "[executor][inline]") {
  InlineExecutor executor;
  std::thread::id ran_on;
  bool ran = false;
  executor.submit(Work{[&] {
    ran = true;
    ran_on = std::this_thread::get_id();
  }});
  CHECK(ran);
  CHECK(ran_on == std::this_thread::get_id());
  WorkCounts counts;
  Work work = probe_work(counts);
  executor.submit(std::move(work));
  CHECK(counts.runs == 1);
  CHECK(counts.drops == 0);
}

TEST_CASE("inline executor runs work submitted by running work before returning",
          "[executor][inline]") {
  InlineExecutor executor;
  WorkCounts counts;
  bool inner_ran_first = false;
  executor.submit(Work{[&] {
    executor.submit(probe_work(counts));
    inner_ran_first = counts.runs == 1;
  }});
  CHECK(inner_ran_first);
}

TEST_CASE("inline executor refuses work items after shutdown", "[executor][inline][error]") {
  for (const bool wait : {true, false}) {
    INFO("wait = " << wait);
    InlineExecutor executor;
    executor.shutdown(wait);
    WorkCounts counts;
    REQUIRE_THROWS_AS(executor.submit(probe_work(counts)), ExecutorShutdownError);
    REQUIRE_THROWS_WITH(executor.submit(probe_work(counts)),
                        "InlineExecutor::submit: the executor is shut down");
    // The refused work items did not run and were destroyed.
    CHECK(counts.runs == 0);
    CHECK(counts.drops == 2);
    executor.shutdown(wait);
    CHECK_THROWS_AS(executor.submit(Work{}), ExecutorShutdownError);
  }
}

TEST_CASE("inline executor accepts work items again after start", "[executor][inline]") {
  InlineExecutor executor;
  executor.start();
  executor.shutdown(true);
  executor.start();
  WorkCounts counts;
  executor.submit(probe_work(counts));
  CHECK(counts.runs == 1);
}

TEST_CASE("inline executor keeps its shut-down state when moved", "[executor][inline]") {
  InlineExecutor stopped;
  stopped.shutdown(false);
  InlineExecutor moved{std::move(stopped)};
  CHECK_THROWS_AS(moved.submit(Work{}), ExecutorShutdownError);
  InlineExecutor running;
  InlineExecutor moved_running{std::move(running)};
  WorkCounts counts;
  moved_running.submit(probe_work(counts));
  CHECK(counts.runs == 1);
}

}  // namespace executors_inline_test
