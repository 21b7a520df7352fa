// SPDX-License-Identifier: MIT
// A BackgroundScheduler with one interval job: the smallest real program of the core.
// Compiled mode: apsched::compiled (the definitions of the named schedulers over the memory store).
#include <apsched/apsched.hpp>

#include <chrono>
#include <cstdio>

int main() {
  apsched::BackgroundScheduler scheduler;
  scheduler.add_job([] { std::puts("tick"); }, apsched::IntervalTrigger{std::chrono::seconds{1}});
  scheduler.start();
  scheduler.shutdown();
}
