// SPDX-License-Identifier: MIT
// The consumer program of both packaging tests: exits 0 only if the installed headers work.
#if __has_include(<apsched/apsched.hpp>)
#include <apsched/apsched.hpp>
#else
#include <apsched/triggers/date.hpp>
#include <apsched/triggers/interval.hpp>
#include <apsched/version.hpp>
#endif

#include <chrono>
#include <cstdio>
#include <optional>

int main() {
  using namespace std::chrono_literals;
  const apsched::TimePoint now = std::chrono::system_clock::now();

  const apsched::IntervalTrigger every_ten_seconds{std::chrono::seconds{10}};
  const std::optional<apsched::TimePoint> first =
      every_ten_seconds.next_fire_time(std::nullopt, now);
  const bool interval_ok =
      first && *first == now + 10s && every_ten_seconds.next_fire_time(first, now) == *first + 10s;

  const apsched::DateTrigger once{now + 1h};
  const bool date_ok = once.next_fire_time(std::nullopt, now) == now + 1h &&
                       !once.next_fire_time(now + 1h, now).has_value();

  std::printf("apsched %d: interval trigger %s, date trigger %s\n", apsched::version,
              interval_ok ? "ok" : "WRONG", date_ok ? "ok" : "WRONG");
  return interval_ok && date_ok ? 0 : 1;
}
