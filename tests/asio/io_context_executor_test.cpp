// SPDX-License-Identifier: MIT
// IoContextExecutor: job runs as handlers posted to an io_context.
#include <apsched/asio/io_context_executor.hpp>

#include "support/catch.hpp"
#include "support/work_probe.hpp"

#include <thread>

namespace asio_io_context_executor_test {

// Standalone Asio, or Boost.Asio with APSCHED_USE_BOOST_ASIO, as the part is built.
namespace net = apsched::detail::net;

TEST_CASE("io_context executor satisfies RestartableExecutor", "[executor][asio][concept]") {
  STATIC_REQUIRE(apsched::RestartableExecutor<apsched::IoContextExecutor>);
}

TEST_CASE("io_context executor runs work items when the context runs its handlers",
          "[executor][asio]") {
  net::io_context io;
  apsched::IoContextExecutor executor{io};
  CHECK(&executor.context() == &io);
  apsched::test::WorkCounts counts;
  executor.submit(apsched::test::probe_work(counts));
  executor.submit(apsched::test::probe_work(counts));
  CHECK(counts.runs == 0);
  CHECK(io.poll() == 2);
  CHECK(counts.runs == 2);
  CHECK(counts.drops == 0);
}

TEST_CASE("io_context executor runs queued work items after shutdown with wait",
          "[executor][asio]") {
  net::io_context io;
  apsched::IoContextExecutor executor{io};
  apsched::test::WorkCounts counts;
  executor.submit(apsched::test::probe_work(counts));
  executor.shutdown(true);
  io.poll();
  CHECK(counts.runs == 1);
  CHECK(counts.drops == 0);
}

TEST_CASE("io_context executor drops queued work items after shutdown without wait",
          "[executor][asio]") {
  net::io_context io;
  apsched::IoContextExecutor executor{io};
  apsched::test::WorkCounts counts;
  executor.submit(apsched::test::probe_work(counts));
  executor.shutdown(false);
  io.poll();
  CHECK(counts.runs == 0);
  CHECK(counts.drops == 1);
}

TEST_CASE("io_context executor refuses work items after shutdown until started again",
          "[executor][asio]") {
  net::io_context io;
  apsched::IoContextExecutor executor{io};
  executor.shutdown(true);
  apsched::test::WorkCounts counts;
  REQUIRE_THROWS_AS(executor.submit(apsched::test::probe_work(counts)),
                    apsched::ExecutorShutdownError);
  REQUIRE_THROWS_WITH(executor.submit(apsched::test::probe_work(counts)),
                      "IoContextExecutor::submit: the executor is shut down");
  CHECK(counts.drops == 2);
  executor.start();
  executor.submit(apsched::test::probe_work(counts));
  io.poll();
  CHECK(counts.runs == 1);
}

TEST_CASE("io_context executor drops its queued work items when destroyed before the context runs",
          "[executor][asio]") {
  apsched::test::WorkCounts counts;
  net::io_context io;
  {
    apsched::IoContextExecutor executor{io};
    executor.submit(apsched::test::probe_work(counts));
  }
  CHECK(counts.drops == 1);
  // The handler still queued in the context finds nothing to run.
  CHECK(io.poll() == 1);
  CHECK(counts.runs == 0);
}

TEST_CASE("io_context executor takes work items from several threads", "[executor][asio][thread]") {
  net::io_context io;
  apsched::IoContextExecutor executor{io};
  apsched::test::WorkCounts counts;
  {
    std::jthread a{[&] {
      for (int i = 0; i < 100; ++i) {
        executor.submit(apsched::test::probe_work(counts));
      }
    }};
    std::jthread b{[&] {
      for (int i = 0; i < 100; ++i) {
        executor.submit(apsched::test::probe_work(counts));
      }
    }};
  }
  io.poll();
  CHECK(counts.runs == 200);
}

}  // namespace asio_io_context_executor_test
