// SPDX-License-Identifier: MIT
// A cron job in a scheduler: every second (six fields: seconds first), in Berlin wall time.
#include <apsched/apsched.hpp>
#include <apsched/cron/cron_trigger.hpp>

#include <fmt/core.h>

#include <chrono>
#include <thread>

int main() {
  using namespace std::chrono_literals;
  apsched::BackgroundScheduler scheduler;
  scheduler.add_job(
      [] { fmt::print("every second\n"); },
      apsched::CronTrigger::from_crontab("* * * * * *", {.timezone = "Europe/Berlin"}),
      {.id = "cron"});
  scheduler.add_job(
      [] { fmt::print("weekdays at 09:30 Berlin time\n"); },
      apsched::CronTrigger::from_crontab("30 9 * * MON-FRI", {.timezone = "Europe/Berlin"}),
      {.id = "standup"});
  scheduler.start();
  std::this_thread::sleep_for(2500ms);
  scheduler.shutdown();
  scheduler.print_jobs();
}
