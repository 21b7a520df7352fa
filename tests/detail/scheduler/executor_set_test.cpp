// SPDX-License-Identifier: MIT
// The executor set alone: work goes to the executor by index; start, shutdown and the free
// workers reach each executor that has them.
#include <apsched/detail/scheduler/executor_set.hpp>

#include "support/catch.hpp"

#include <array>
#include <cstddef>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace detail_scheduler_executor_set_test {

// What an executor was asked, shared with the test after the executor moved into the set.
struct Log {
  std::vector<std::string> calls;
};

// An executor that runs work at once and logs each call under its name.
struct LoggingExecutor {
  std::shared_ptr<Log> log;
  std::string name;
  void submit(apsched::Work&& work) {
    log->calls.push_back(name + ".submit");
    work.run();
  }
  void shutdown(bool wait) {
    log->calls.push_back(name + (wait ? ".shutdown(wait)" : ".shutdown"));
  }
};

// A LoggingExecutor that restarts and reports its free workers.
struct PoolLike : LoggingExecutor {
  std::size_t free = 3;
  void start() { log->calls.push_back(name + ".start"); }
  [[nodiscard]] std::size_t available() const { return free; }
};
static_assert(apsched::RestartableExecutor<PoolLike>);
static_assert(apsched::RoomReportingExecutor<PoolLike>);
static_assert(!apsched::RestartableExecutor<LoggingExecutor>);

TEST_CASE("executor set: work goes to the executor of its index; start and shutdown reach all",
          "[scheduler][executor_set]") {
  const auto log = std::make_shared<Log>();
  apsched::detail::ExecutorSet<LoggingExecutor, PoolLike> set{std::tuple<LoggingExecutor, PoolLike>{
      LoggingExecutor{log, "inline"}, PoolLike{{log, "pool"}}}};
  int ran = 0;
  set.submit(1, apsched::Work{[&]() noexcept { ++ran; }});
  set.submit(0, apsched::Work{[&]() noexcept { ++ran; }});
  CHECK(ran == 2);
  set.start();
  set.shutdown(true);
  CHECK(log->calls == std::vector<std::string>{"pool.submit", "inline.submit", "pool.start",
                                               "inline.shutdown(wait)", "pool.shutdown(wait)"});
  CHECK(std::get<1>(set.all()).name == "pool");
}

TEST_CASE("executor set: each executor's free workers, unlimited for one that does not say",
          "[scheduler][executor_set]") {
  const auto log = std::make_shared<Log>();
  apsched::detail::ExecutorSet<LoggingExecutor, PoolLike> set{std::tuple<LoggingExecutor, PoolLike>{
      LoggingExecutor{log, "inline"}, PoolLike{{log, "pool"}}}};
  std::get<1>(set.all()).free = 2;
  const std::array<std::size_t, 2> room = set.room();
  CHECK(room[0] == apsched::detail::ExecutorRoom<2>::unlimited);
  CHECK(room[1] == 2);
}

}  // namespace detail_scheduler_executor_set_test
