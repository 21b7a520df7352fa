// SPDX-License-Identifier: MIT
// Jobs that take a JobContext: their run's times and a stop token, honoured on timeout.
#include <apsched/apsched.hpp>

#include <fmt/core.h>

#include <chrono>
#include <thread>

int main() {
  using namespace std::chrono_literals;
  apsched::BackgroundScheduler scheduler;
  scheduler.add_listener(
      [](const apsched::Event& event) { fmt::print("{} timed out\n", event.job_id); },
      static_cast<apsched::EventMask>(apsched::EventType::job_timeout));
  scheduler.add_job(
      [](const apsched::JobContext& context, int chunks) {
        const auto late = std::chrono::duration_cast<std::chrono::microseconds>(
            context.started_at - context.scheduled_run_time);
        fmt::print("{} started {} us late\n", context.job_id, late.count());
        for (int chunk = 0; chunk < chunks; ++chunk) {
          if (context.stop_token.stop_requested()) {
            fmt::print("{} stopped after {} of {} chunks\n", context.job_id, chunk, chunks);
            return;
          }
          std::this_thread::sleep_for(100ms);  // a slow piece of work
        }
      },
      apsched::DateTrigger{std::chrono::system_clock::now()}, {.id = "import", .timeout = 350ms},
      10);
  scheduler.start();
  std::this_thread::sleep_for(1s);
  scheduler.shutdown();
}
