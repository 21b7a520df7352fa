// SPDX-License-Identifier: MIT
// CronTrigger speed: next_fire_time chained 1,000,000 times from 2024-01-01 UTC (restarting
// there whenever a chain reaches the end of TimePoint), and parsing: from_crontab of five-field
// forms in the local zone (no timezone option, TZ unset) and in a named zone, and the parse alone.
// Prints markdown tables of medians over several runs. Build in Release.
#include <apsched/cron/cron_trigger.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
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

// Per-call nanoseconds of `f` over `batches` batches of `batch` calls: the mean over the run, and
// that of the fastest batch (one no other process interrupted, on a busy machine).
struct Batched {
  double mean;
  double best;
};

template <class F>
Batched batched_ns(F&& f, int batches, int batch) {
  Batched result{0, 1e300};
  for (int b = 0; b < batches; ++b) {
    const double ns = per_call_ns(f, batch);
    result.mean += ns / batches;
    result.best = std::min(result.best, ns);
  }
  return result;
}

// One cell: the median of the runs' means, and the fastest batch of all runs in parentheses.
std::string cell(const std::vector<Batched>& runs) {
  std::vector<double> means;
  double best = 1e300;
  for (const Batched& run : runs) {
    means.push_back(run.mean);
    best = std::min(best, run.best);
  }
  return fmt::format("{:.0f} ({:.0f})", median(means), best);
}

// from_crontab of five-field forms: in the local zone with no timezone option and TZ unset, in a
// named zone, and the parse alone (no zone, no trigger).
void five_field_table(int runs) {
  constexpr int batches = 200;
  constexpr int batch = 1'000;
  const char* expressions[] = {"*/15 9-17 * * 1-5", "30 2 * * *", "0 12 * * MON-FRI", "0 0 L * *"};
  fmt::print(
      "\n| five-field expression | from_crontab, no timezone, TZ unset ns | from_crontab, "
      "timezone=Europe/Berlin ns | parse only ns |\n");
  fmt::print("|---|---:|---:|---:|\n");
  const apsched::CronOptions named{.timezone = "Europe/Berlin"};
  for (const char* expression : expressions) {
    std::vector<Batched> local;
    std::vector<Batched> zoned;
    std::vector<Batched> parse;
    for (int run = 0; run < runs; ++run) {
      local.push_back(batched_ns(
          [&] {
            const auto t = apsched::CronTrigger::from_crontab(expression);
            sink = sink + static_cast<std::int64_t>(t.expression().size());
          },
          batches, batch));
      zoned.push_back(batched_ns(
          [&] {
            const auto t = apsched::CronTrigger::from_crontab(expression, named);
            sink = sink + static_cast<std::int64_t>(t.expression().size());
          },
          batches, batch));
      parse.push_back(batched_ns(
          [&] {
            const auto spec = apsched::detail::cron::parse_crontab(expression, false);
            sink = sink + static_cast<std::int64_t>(spec.minutes);
          },
          batches, batch));
    }
    fmt::print("| `{}` | {} | {} | {} |\n", expression, cell(local), cell(zoned), cell(parse));
  }
}

}  // namespace

int main() {
  constexpr int calls = 1'000'000;
  constexpr int runs = 7;
  // The local-zone rows measure the zone from the system setting, not from TZ; nothing else runs
  // yet, so no thread reads the environment concurrently.
  unsetenv("TZ");  // NOLINT(concurrency-mt-unsafe)
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
  five_field_table(runs);
  return 0;
}
