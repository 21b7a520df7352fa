// SPDX-License-Identifier: MIT
#include "jobs.hpp"

#include <chrono>
#include <string>

std::string add_counting_job(apsched::BlockingScheduler<>& scheduler, std::atomic<int>& runs) {
  return scheduler.add_job(
      [&runs, &scheduler] {
        if (++runs == 3) {
          scheduler.shutdown(false);
        }
      },
      apsched::IntervalTrigger{std::chrono::milliseconds{10}}, {.id = "counting"});
}
