// SPDX-License-Identifier: MIT
#include <apsched/executor.hpp>
#include <apsched/executors/inline.hpp>
#include <apsched/executors/thread_pool.hpp>
#include <apsched/testing/manual_executor.hpp>

#include "support/catch.hpp"
#include "support/work_probe.hpp"

#include <cstddef>
#include <memory>
#include <type_traits>
#include <utility>

namespace executor_test {

using apsched::Executor;
using apsched::RestartableExecutor;
using apsched::RoomReportingExecutor;
using apsched::Work;
using apsched::test::WorkCounts;
using apsched::test::WorkProbe;

namespace {

// A user executor with only the required members: runs each work item at once.
struct RunAtOnce {
  void submit(Work&& work) {
    Work owned = std::move(work);
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
  void submit(Work&&) {}
  void start() {}
};
struct SubmitByLvalueReference {
  void submit(Work&) {}
  void shutdown(bool) {}
};
struct ShutdownWithoutFlag {
  void submit(Work&&) {}
  void shutdown() {}
};
struct SubmitWrongType {
  void submit(int) {}
  void shutdown(bool) {}
};

}  // namespace

TEST_CASE("default-constructed work is empty and running it does nothing", "[executor][work]") {
  Work work;
  CHECK_FALSE(static_cast<bool>(work));
  work.run();
  CHECK_FALSE(static_cast<bool>(work));
}

TEST_CASE("work runs its work once, and a second run does nothing", "[executor][work]") {
  int runs = 0;
  Work work{[&runs] { ++runs; }};
  CHECK(static_cast<bool>(work));
  work.run();
  CHECK(runs == 1);
  CHECK_FALSE(static_cast<bool>(work));
  work.run();
  CHECK(runs == 1);
}

TEST_CASE("work destroys its callable right after running it", "[executor][work]") {
  WorkCounts counts;
  auto alive = std::make_shared<int>(0);
  std::weak_ptr<int> watch = alive;
  Work work{[held = std::move(alive), probe = WorkProbe{counts}]() mutable { probe(); }};
  CHECK_FALSE(watch.expired());
  work.run();
  CHECK(watch.expired());
  CHECK(counts.runs == 1);
  CHECK(counts.drops == 0);
}

TEST_CASE("destroying work that never ran destroys its callable without running it",
          "[executor][work]") {
  WorkCounts counts;
  {
    const Work work = apsched::test::probe_work(counts);
    CHECK(counts.drops == 0);
  }
  CHECK(counts.runs == 0);
  CHECK(counts.drops == 1);
}

TEST_CASE("work is move-only and moving transfers its work", "[executor][work]") {
  STATIC_REQUIRE_FALSE(std::is_copy_constructible_v<Work>);
  STATIC_REQUIRE_FALSE(std::is_copy_assignable_v<Work>);
  STATIC_REQUIRE(std::is_nothrow_move_constructible_v<Work>);
  STATIC_REQUIRE(std::is_nothrow_move_assignable_v<Work>);
  WorkCounts counts;
  Work source = apsched::test::probe_work(counts);
  Work moved{std::move(source)};
  CHECK_FALSE(static_cast<bool>(source));  // NOLINT(bugprone-use-after-move): checks the state
  CHECK(static_cast<bool>(moved));
  CHECK(counts.drops == 0);
  moved.run();
  CHECK(counts.runs == 1);
}

TEST_CASE("move-assigning over unrun work drops the replaced work", "[executor][work]") {
  WorkCounts replaced;
  WorkCounts kept;
  Work work = apsched::test::probe_work(replaced);
  work = apsched::test::probe_work(kept);
  CHECK(replaced.drops == 1);
  CHECK(kept.drops == 0);
  work.run();
  CHECK(kept.runs == 1);
  CHECK(replaced.runs == 0);
}

TEST_CASE("work holds move-only callables and copies lvalue callables", "[executor][work]") {
  auto value = std::make_unique<int>(41);
  int seen = 0;
  Work move_only{[value = std::move(value), &seen] { seen = *value + 1; }};
  move_only.run();
  CHECK(seen == 42);

  int calls = 0;
  auto count = [&calls] { ++calls; };
  Work first{count};
  Work second{count};
  first.run();
  second.run();
  count();
  CHECK(calls == 3);
  STATIC_REQUIRE_FALSE(std::is_constructible_v<Work, int>);
  STATIC_REQUIRE_FALSE(std::is_convertible_v<void (*)(), Work>);
}

TEST_CASE("the shipped executors and a minimal user executor satisfy Executor",
          "[executor][concept]") {
  STATIC_REQUIRE(RestartableExecutor<apsched::InlineExecutor>);
  STATIC_REQUIRE(RestartableExecutor<apsched::ThreadPoolExecutor>);
  STATIC_REQUIRE(RestartableExecutor<apsched::ManualExecutor>);
  STATIC_REQUIRE(Executor<RunAtOnce>);
  STATIC_REQUIRE_FALSE(RestartableExecutor<RunAtOnce>);
  STATIC_REQUIRE(RestartableExecutor<RunAtOnceRestartable>);
  WorkCounts counts;
  RunAtOnce executor;
  executor.submit(apsched::test::probe_work(counts));
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
