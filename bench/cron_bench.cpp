// SPDX-License-Identifier: MIT
// CronTrigger speed: next_fire_time chained 1,000,000 times from 2024-01-01 UTC (restarting
// there whenever a chain reaches the end of TimePoint), and parsing. Prints a markdown table of
// medians over several runs. Build in Release.
#include <apsched/cron/cron_trigger.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

volatile std::int64_t sink = 0;

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

double chained_ns(const apsched::CronTrigger& trigger, int calls) {
  const apsched::TimePoint origin{std::chrono::seconds{1'704'067'200}};  // 2024-01-01T00:00Z
  std::optional<apsched::TimePoint> previous;
  std::int64_t checksum = 0;
  const auto begin = Clock::now();
  for (int i = 0; i < calls; ++i) {
    previous = trigger.next_fire_time(previous, previous.value_or(origin));
    checksum += previous ? previous->time_since_epoch().count() : 1;
  }
  const auto elapsed = Clock::now() - begin;
  sink = sink + checksum;
  return std::chrono::duration<double, std::nano>(elapsed).count() / calls;
}

template <class F>
double per_call_ns(F&& f, int calls) {
  const auto begin = Clock::now();
  for (int i = 0; i < calls; ++i) {
    f();
  }
  return std::chrono::duration<double, std::nano>(Clock::now() - begin).count() / calls;
}

}  // namespace

int main() {
  constexpr int calls = 1'000'000;
  constexpr int runs = 7;
  const char* expressions[] = {"0 */5 * * * *", "0 0 12 * * MON-FRI", "0 0 0 L * *",
                               "*/15 9-17 * * 1-5", "0 30 2 * * *"};
  const char* zones[] = {"UTC", "Europe/Berlin", "America/New_York"};
  fmt::print(
      "| expression | zone | next_fire_time, median ns/call ({} chained calls) | "
      "from_crontab ns | parse only ns |\n",
      calls);
  fmt::print("|---|---|---:|---:|---:|\n");
  for (const char* zone : zones) {
    for (const char* expression : expressions) {
      apsched::CronOptions options;
      options.timezone = zone;
      const apsched::CronTrigger trigger = apsched::CronTrigger::from_crontab(expression, options);
      std::vector<double> next;
      std::vector<double> construct;
      std::vector<double> parse;
      for (int run = 0; run < runs; ++run) {
        next.push_back(chained_ns(trigger, calls));
        construct.push_back(per_call_ns(
            [&] {
              const auto t = apsched::CronTrigger::from_crontab(expression, options);
              sink = sink + static_cast<std::int64_t>(t.expression().size());
            },
            20'000));
        parse.push_back(per_call_ns(
            [&] {
              const auto spec = apsched::detail::cron::parse_crontab(expression, false);
              sink = sink + static_cast<std::int64_t>(spec.minutes);
            },
            20'000));
      }
      fmt::print("| `{}` | {} | {:.1f} | {:.0f} | {:.0f} |\n", expression, zone, median(next),
                 median(construct), median(parse));
    }
  }
  return 0;
}
