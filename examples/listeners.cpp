// SPDX-License-Identifier: MIT
// Listening to events: every run reports submitted, started, then executed or error; a failing
// job is reported and the scheduler keeps going.
#include <apsched/apsched.hpp>

#include <fmt/core.h>

#include <chrono>
#include <stdexcept>
#include <thread>

int main() {
  using namespace std::chrono_literals;
  apsched::BackgroundScheduler scheduler;
  scheduler.add_listener(
      [](const apsched::Event& event) {
        if (event.type == apsched::EventType::job_error) {
          try {
            std::rethrow_exception(event.exception);
          } catch (const std::exception& error) {
            fmt::print("{:>14} {} threw: {}\n", apsched::to_string(event.type), event.job_id,
                       error.what());
          }
          return;
        }
        fmt::print("{:>14} {}\n", apsched::to_string(event.type), event.job_id);
      },
      apsched::EventType::job_executed | apsched::EventType::job_error |
          apsched::EventType::job_missed);
  int attempt = 0;
  scheduler.add_job(
      [&attempt] {
        if (++attempt == 2) {
          throw std::runtime_error{"the report server is down"};
        }
      },
      apsched::IntervalTrigger{500ms}, {.id = "report"});
  scheduler.start();
  std::this_thread::sleep_for(1700ms);
  scheduler.shutdown();
  const auto job = scheduler.get_job("report");
  fmt::print("runs: {}, failures: {}\n", job->run_count, job->failure_count);
}
