// SPDX-License-Identifier: MIT
// Driving a CallbackScheduler from an application's own loop, here a plain poll() loop: the
// scheduler says when to call it next, and a pipe wakes the loop when a job is added.
#include <apsched/apsched.hpp>

#include <fmt/core.h>

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <thread>

int main() {
  using namespace std::chrono_literals;
  std::array<int, 2> wake_pipe{};
  if (pipe(wake_pipe.data()) != 0) {
    return 1;
  }
  apsched::CallbackScheduler scheduler;
  scheduler.set_wakeup_handler([&] {
    const char byte = 1;
    static_cast<void>(write(wake_pipe[1], &byte, 1));
  });
  int ticks = 0;
  scheduler.add_job([&] { fmt::print("tick {}\n", ++ticks); }, apsched::IntervalTrigger{200ms});
  scheduler.start();
  std::jthread other{[&] {
    std::this_thread::sleep_for(300ms);
    scheduler.add_job([] { fmt::print("added from another thread\n"); },
                      apsched::DateTrigger{std::chrono::system_clock::now()});
  }};
  while (ticks < 5) {
    const auto next = scheduler.process_due_jobs();
    // In the scheduler's time (now()), which a PostgreSQL store corrects to the server's clock.
    const auto wait = next ? std::chrono::ceil<std::chrono::milliseconds>(*next - scheduler.now())
                           : std::chrono::milliseconds{-1};
    pollfd fd{wake_pipe[0], POLLIN, 0};
    if (poll(&fd, 1, next ? static_cast<int>(std::max<long long>(wait.count(), 0)) : -1) > 0) {
      char buffer[64];
      static_cast<void>(read(wake_pipe[0], buffer, sizeof buffer));
    }
  }
  scheduler.shutdown();
  close(wake_pipe[0]);
  close(wake_pipe[1]);
}
