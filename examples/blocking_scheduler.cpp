// SPDX-License-Identifier: MIT
// A program that only runs jobs: BlockingScheduler::start() returns once a job shuts it down,
// or earlier on Ctrl-C (SIGINT) or SIGTERM.
#include <apsched/apsched.hpp>

#include <fmt/core.h>

#include <chrono>
#include <csignal>

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
  // A signal shuts the scheduler down, letting a running job finish; a second one kills.
  const auto guard = apsched::stop_on_signals(scheduler, {SIGINT, SIGTERM});
  scheduler.start();
  fmt::print("done\n");
}
