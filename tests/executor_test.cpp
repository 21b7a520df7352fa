// SPDX-License-Identifier: MIT
#include <apsched/executor.hpp>
#include <apsched/executors/inline.hpp>
#include <apsched/executors/thread_pool.hpp>
#include <apsched/testing/manual_executor.hpp>

#include "support/catch.hpp"
#include "support/task_probe.hpp"

#include <cstddef>
#include <memory>
#include <type_traits>
#include <utility>

namespace executor_test {

using apsched::Executor;
using apsched::RestartableExecutor;
using apsched::RoomReportingExecutor;
using apsched::Task;
using apsched::test::TaskCounts;
using apsched::test::TaskProbe;

namespace {

// A user executor with only the required members: runs each task at once.
struct RunAtOnce {
  void submit(Task&& task) {
    Task owned = std::move(task);
    owned.run();
  }
  void shutdown(bool /*wait*/) {}
};
struct RunAtOnceRestartable : RunAtOnce {
  void start() {}
};
struct RunAtOnceWithRoom : RunAtOnce {
  [[nodiscard]] std::size_t available() const { return 1; }
};
// Negative models of RoomReportingExecutor: a misspelt member, a count that is not a number.
struct MisspeltAvailable : RunAtOnce {
  [[nodiscard]] std::size_t availabe() const { return 1; }
};
struct AvailableAsText : RunAtOnce {
  [[nodiscard]] const char* available() const { return "1"; }
};

// One negative model per requirement of Executor.
struct MissingSubmit {
  void shutdown(bool) {}
  void start() {}
};
struct MissingShutdown {
  void submit(Task&&) {}
  void start() {}
};
struct SubmitByLvalueReference {
  void submit(Task&) {}
  void shutdown(bool) {}
};
struct ShutdownWithoutFlag {
  void submit(Task&&) {}
  void shutdown() {}
};
struct SubmitWrongType {
  void submit(int) {}
  void shutdown(bool) {}
};

}  // namespace

TEST_CASE("a default task is empty and running it does nothing", "[executor][task]") {
  Task task;
  CHECK_FALSE(static_cast<bool>(task));
  task.run();
  CHECK_FALSE(static_cast<bool>(task));
}

TEST_CASE("a task runs its work once, and a second run does nothing", "[executor][task]") {
  int runs = 0;
  Task task{[&runs] { ++runs; }};
  CHECK(static_cast<bool>(task));
  task.run();
  CHECK(runs == 1);
  CHECK_FALSE(static_cast<bool>(task));
  task.run();
  CHECK(runs == 1);
}

TEST_CASE("a task destroys its callable right after running it", "[executor][task]") {
  TaskCounts counts;
  auto alive = std::make_shared<int>(0);
  std::weak_ptr<int> watch = alive;
  Task task{[held = std::move(alive), probe = TaskProbe{counts}]() mutable { probe(); }};
  CHECK_FALSE(watch.expired());
  task.run();
  CHECK(watch.expired());
  CHECK(counts.runs == 1);
  CHECK(counts.drops == 0);
}

TEST_CASE("destroying a task that never ran destroys its callable without running it",
          "[executor][task]") {
  TaskCounts counts;
  {
    const Task task = apsched::test::probe_task(counts);
    CHECK(counts.drops == 0);
  }
  CHECK(counts.runs == 0);
  CHECK(counts.drops == 1);
}

TEST_CASE("a task is move-only and moving transfers its work", "[executor][task]") {
  STATIC_REQUIRE_FALSE(std::is_copy_constructible_v<Task>);
  STATIC_REQUIRE_FALSE(std::is_copy_assignable_v<Task>);
  STATIC_REQUIRE(std::is_nothrow_move_constructible_v<Task>);
  STATIC_REQUIRE(std::is_nothrow_move_assignable_v<Task>);
  TaskCounts counts;
  Task source = apsched::test::probe_task(counts);
  Task moved{std::move(source)};
  CHECK_FALSE(static_cast<bool>(source));  // NOLINT(bugprone-use-after-move): checks the state
  CHECK(static_cast<bool>(moved));
  CHECK(counts.drops == 0);
  moved.run();
  CHECK(counts.runs == 1);
}

TEST_CASE("move-assigning over an unrun task drops the replaced work", "[executor][task]") {
  TaskCounts replaced;
  TaskCounts kept;
  Task task = apsched::test::probe_task(replaced);
  task = apsched::test::probe_task(kept);
  CHECK(replaced.drops == 1);
  CHECK(kept.drops == 0);
  task.run();
  CHECK(kept.runs == 1);
  CHECK(replaced.runs == 0);
}

TEST_CASE("a task holds move-only callables and copies lvalue callables", "[executor][task]") {
  auto value = std::make_unique<int>(41);
  int seen = 0;
  Task move_only{[value = std::move(value), &seen] { seen = *value + 1; }};
  move_only.run();
  CHECK(seen == 42);

  int calls = 0;
  auto count = [&calls] { ++calls; };
  Task first{count};
  Task second{count};
  first.run();
  second.run();
  count();
  CHECK(calls == 3);
  STATIC_REQUIRE_FALSE(std::is_constructible_v<Task, int>);
  STATIC_REQUIRE_FALSE(std::is_convertible_v<void (*)(), Task>);
}

TEST_CASE("the shipped executors and a minimal user executor satisfy Executor",
          "[executor][concept]") {
  STATIC_REQUIRE(RestartableExecutor<apsched::InlineExecutor>);
  STATIC_REQUIRE(RestartableExecutor<apsched::ThreadPoolExecutor>);
  STATIC_REQUIRE(RestartableExecutor<apsched::ManualExecutor>);
  STATIC_REQUIRE(Executor<RunAtOnce>);
  STATIC_REQUIRE_FALSE(RestartableExecutor<RunAtOnce>);
  STATIC_REQUIRE(RestartableExecutor<RunAtOnceRestartable>);
  TaskCounts counts;
  RunAtOnce executor;
  executor.submit(apsched::test::probe_task(counts));
  CHECK(counts.runs == 1);
}

TEST_CASE("types breaking an Executor requirement are not Executors", "[executor][concept]") {
  STATIC_REQUIRE_FALSE(Executor<MissingSubmit>);
  STATIC_REQUIRE_FALSE(RestartableExecutor<MissingSubmit>);
  STATIC_REQUIRE_FALSE(Executor<MissingShutdown>);
  STATIC_REQUIRE_FALSE(RestartableExecutor<MissingShutdown>);
  STATIC_REQUIRE_FALSE(Executor<SubmitByLvalueReference>);
  STATIC_REQUIRE_FALSE(Executor<ShutdownWithoutFlag>);
  STATIC_REQUIRE_FALSE(Executor<SubmitWrongType>);
  STATIC_REQUIRE_FALSE(Executor<int>);
}

TEST_CASE("executors that report their free workers model RoomReportingExecutor",
          "[executor][concept]") {
  STATIC_REQUIRE(RoomReportingExecutor<apsched::ThreadPoolExecutor>);
  STATIC_REQUIRE(RoomReportingExecutor<apsched::ManualExecutor>);
  STATIC_REQUIRE_FALSE(RoomReportingExecutor<apsched::InlineExecutor>);
  STATIC_REQUIRE(RoomReportingExecutor<RunAtOnceWithRoom>);
  STATIC_REQUIRE_FALSE(RoomReportingExecutor<RunAtOnce>);
  STATIC_REQUIRE_FALSE(RoomReportingExecutor<MisspeltAvailable>);
  STATIC_REQUIRE_FALSE(RoomReportingExecutor<AvailableAsText>);
  STATIC_REQUIRE_FALSE(RoomReportingExecutor<MissingSubmit>);
}

}  // namespace executor_test
