// SPDX-License-Identifier: MIT
// The README's first program: a background scheduler with an interval job and a one-off job.
#include <apsched/apsched.hpp>

#include <fmt/core.h>

#include <chrono>
#include <thread>

int main() {
  using namespace std::chrono_literals;
  apsched::BackgroundScheduler scheduler;
  scheduler.add_job([] { fmt::print("tick\n"); }, apsched::IntervalTrigger{1s}, {.id = "tick"});
  scheduler.add_job([] { fmt::print("once, 2.5 s after start\n"); },
                    apsched::DateTrigger{std::chrono::system_clock::now() + 2500ms});
  scheduler.start();
  std::this_thread::sleep_for(3500ms);  // the application's own work
  scheduler.shutdown();
}
