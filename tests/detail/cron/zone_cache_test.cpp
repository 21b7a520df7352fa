// SPDX-License-Identifier: MIT
#include <apsched/detail/cron/zone_cache.hpp>

#include <apsched/cron/cron_trigger.hpp>

#include "support/catch.hpp"
#include "support/cron_time.hpp"

#include <date/tz.h>

#include <cstdlib>
#include <latch>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace detail_cron_zone_cache_test {

using apsched::detail::cron::load_zone;
using apsched::test::contains;
using apsched::test::utc;

namespace {

// Sets TZ for one scope and restores the value it had. The tests run one at a time, and no other
// thread reads the environment meanwhile.
class TzScope {
 public:
  explicit TzScope(const char* value) {
    if (const char* old = std::getenv("TZ")) {  // NOLINT(concurrency-mt-unsafe)
      old_ = old;
    }
    set(value);
  }
  TzScope(const TzScope&) = delete;
  TzScope& operator=(const TzScope&) = delete;
  ~TzScope() { set(old_ ? old_->c_str() : nullptr); }

  static void set(const char* value) {
    if (value == nullptr) {
      ::unsetenv("TZ");  // NOLINT(concurrency-mt-unsafe)
    } else {
      ::setenv("TZ", value, 1);  // NOLINT(concurrency-mt-unsafe)
    }
  }

 private:
  std::optional<std::string> old_;
};

std::string local_zone_name() {
  return apsched::CronTrigger::from_crontab("0 12 * * *").timezone();
}

}  // namespace

TEST_CASE("cron local zone follows TZ on every load, else the system setting", "[cron][zone]") {
  const TzScope scope{"Europe/Berlin"};
  const auto noon = apsched::CronTrigger::from_crontab("0 12 * * *");
  CHECK(noon.timezone() == "Europe/Berlin");
  CHECK(noon.next_fire_time(std::nullopt, utc("2024-01-01")) == utc("2024-01-01 11:00"));
  TzScope::set(":America/New_York");
  CHECK(local_zone_name() == "America/New_York");
  // The trigger made before keeps its zone.
  CHECK(noon.timezone() == "Europe/Berlin");
  TzScope::set("Europe/Berlin");
  CHECK(local_zone_name() == "Europe/Berlin");
  const std::string system = date::current_zone()->name();
  TzScope::set("");
  CHECK(local_zone_name() == system);
  TzScope::set(":");
  CHECK(local_zone_name() == system);
  TzScope::set(nullptr);
  CHECK(local_zone_name() == system);
  CHECK(&load_zone("", "test", "option") == &load_zone(system, "test", "option"));
}

TEST_CASE("cron zone cache names where an unknown zone came from", "[cron][zone][error]") {
  const TzScope scope{"Mars/Olympus_Mons"};
  CHECK_THROWS_AS(local_zone_name(), apsched::UnknownTimeZoneError);
  CHECK_THROWS_WITH(local_zone_name(),
                    R"(from_crontab: unknown time zone "Mars/Olympus_Mons" (from the TZ )"
                    R"(environment variable); expected an IANA name such as "Europe/Berlin" or )"
                    R"("UTC" in CronOptions::timezone)");
  CHECK_THROWS_WITH(load_zone("Mars/Olympus_Mons", "call", "Some::option"),
                    contains(R"(call: unknown time zone "Mars/Olympus_Mons"; expected)"));
  // A failed load caches nothing: the zone fails again, and known zones still load.
  CHECK_THROWS_AS(load_zone("Mars/Olympus_Mons", "call", "o"), apsched::UnknownTimeZoneError);
  CHECK(load_zone("Asia/Tokyo", "call", "o").name == "Asia/Tokyo");
}

TEST_CASE("cron zone cache builds each zone once and shares it between threads",
          "[cron][zone][thread]") {
  const char* zones[] = {"America/Anchorage", "Pacific/Auckland", "Africa/Casablanca",
                         "America/Havana"};
  constexpr int threads = 4;
  std::latch start{threads};
  std::vector<std::vector<const apsched::detail::cron::ZoneTable*>> seen(threads);
  {
    std::vector<std::jthread> workers;
    for (int i = 0; i < threads; ++i) {
      workers.emplace_back([&, i] {
        start.arrive_and_wait();
        // Every thread loads every zone, in a different order, while the others do the same.
        for (int k = 0; k < 4; ++k) {
          const char* zone = zones[(i + k) % 4];
          seen[static_cast<std::size_t>(i)].push_back(&load_zone(zone, "test", "option"));
        }
      });
    }
  }
  for (int i = 0; i < threads; ++i) {
    for (int k = 0; k < 4; ++k) {
      const auto* table = seen[static_cast<std::size_t>(i)][static_cast<std::size_t>(k)];
      CHECK(table == &load_zone(zones[(i + k) % 4], "test", "option"));
      CHECK(table->name == zones[(i + k) % 4]);
    }
  }
}

}  // namespace detail_cron_zone_cache_test
