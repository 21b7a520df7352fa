// SPDX-License-Identifier: MIT
// Cron triggers: prints the next five fire times of a few expressions, in UTC and Berlin time.
#include <apsched/cron/cron_trigger.hpp>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <chrono>
#include <optional>

int main() {
  const apsched::TimePoint now = std::chrono::system_clock::now();
  apsched::CronOptions berlin;
  berlin.timezone = "Europe/Berlin";
  const apsched::CronTrigger triggers[] = {
      apsched::CronTrigger::from_crontab("*/15 9-17 * * MON-FRI", berlin),
      apsched::CronTrigger::from_crontab("0 0 12 L * ?", berlin),
      apsched::CronTrigger::from_crontab("@daily", berlin),
      apsched::CronTrigger{apsched::CronFields{.day = "3rd fri", .hour = "9", .minute = "30"},
                           berlin},
  };
  for (const apsched::CronTrigger& trigger : triggers) {
    fmt::print("{}\n", trigger.describe());
    std::optional<apsched::TimePoint> previous;
    for (int i = 0; i < 5; ++i) {
      previous = trigger.next_fire_time(previous, previous.value_or(now));
      if (!previous) {
        break;
      }
      fmt::print("  {:%Y-%m-%d %H:%M:%S} UTC\n",
                 std::chrono::floor<std::chrono::seconds>(*previous));
    }
  }
  return 0;
}
