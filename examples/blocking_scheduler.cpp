// SPDX-License-Identifier: MIT
// A program that only runs jobs: BlockingScheduler::start() returns once a job shuts it down.
#include <apsched/apsched.hpp>

#include <fmt/core.h>

#include <chrono>

int main() {
  using namespace std::chrono_literals;
  apsched::BlockingScheduler scheduler;
  int countdown = 3;
  scheduler.add_job(
      [&] {
        fmt::print("{}...\n", countdown);
        if (--countdown == 0) {
          scheduler.shutdown(false);
        }
      },
      apsched::IntervalTrigger{300ms}, {.id = "countdown"});
  scheduler.start();
  fmt::print("done\n");
}
