// SPDX-License-Identifier: MIT
// IANA time zones as precomputed tables of UTC offsets, built from the tz database (std::chrono's
// when the standard library has one, else Howard Hinnant's date/tz); zone_cache.hpp caches them.
#pragma once

#include <apsched/clock.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#if defined(__cpp_lib_chrono) && __cpp_lib_chrono >= 201907L && !defined(APSCHED_CRON_USE_DATE_TZ)
#define APSCHED_CRON_STD_TZDB 1
#else
#include <apsched/detail/cron/posix_tz.hpp>
#include <apsched/detail/format_time.hpp>

#include <date/tz.h>
#endif

namespace apsched::detail::cron {

/// The whole seconds a TimePoint can hold, and a sentinel past them.
inline constexpr std::int64_t min_seconds =
    TimePoint::min().time_since_epoch().count() / 1'000'000'000 + 1;
inline constexpr std::int64_t max_seconds =
    TimePoint::max().time_since_epoch().count() / 1'000'000'000;
inline constexpr std::int64_t end_of_time = std::int64_t{1} << 50;

/// A time zone's UTC offsets over the whole TimePoint range: segment k starts at `starts[k]`
/// (UTC seconds; `starts[0]` is before every TimePoint) and has offset `offsets[k]`; adjacent
/// segments differ in offset. Immutable once built, so shared between threads freely.
struct ZoneTable {
  std::string name;
  std::vector<std::int64_t> starts;
  std::vector<std::int32_t> offsets;

  /// The segment that holds UTC second `utc`.
  [[nodiscard]] std::size_t segment_of(std::int64_t utc) const noexcept {
    const auto it = std::upper_bound(starts.begin() + 1, starts.end(), utc);
    return static_cast<std::size_t>(it - starts.begin()) - 1;
  }
  /// The first UTC second after segment `k`.
  [[nodiscard]] std::int64_t segment_end(std::size_t k) const noexcept {
    return k + 1 < starts.size() ? starts[k + 1] : end_of_time;
  }
  /// The UTC offset in seconds at UTC second `utc`.
  [[nodiscard]] std::int32_t offset_at(std::int64_t utc) const noexcept {
    return offsets[segment_of(utc)];
  }
  /// Whether the zone never changes offset.
  [[nodiscard]] bool fixed() const noexcept { return starts.size() == 1; }

  /// How a wall-clock time maps to UTC.
  struct Local {
    enum class Kind { unique, repeated, skipped };
    Kind kind;
    std::int64_t first;   // the (earlier) UTC second; for `skipped`, the end of the gap
    std::int64_t second;  // the later UTC second when `repeated`, else equal to `first`
  };

  /// The UTC seconds at which the wall clock shows local second `local`.
  [[nodiscard]] Local resolve(std::int64_t local) const noexcept {
    constexpr std::int64_t widest_offset = 26 * 3600;
    const std::size_t from = segment_of(local - widest_offset);
    const std::size_t to = segment_of(local + widest_offset);
    std::int64_t found[2] = {0, 0};
    int count = 0;
    for (std::size_t k = from; k <= to; ++k) {
      const std::int64_t utc = local - offsets[k];
      if (utc >= starts[k] && utc < segment_end(k) && count < 2) {
        found[count++] = utc;
      }
    }
    if (count == 1) {
      return {Local::Kind::unique, found[0], found[0]};
    }
    if (count == 2) {
      return {Local::Kind::repeated, found[0], found[1]};
    }
    for (std::size_t k = std::max<std::size_t>(from, 1); k <= to; ++k) {
      if (local >= starts[k] + offsets[k - 1] && local < starts[k] + offsets[k]) {
        return {Local::Kind::skipped, starts[k], starts[k]};
      }
    }
    return {Local::Kind::unique, local - offsets[to], local - offsets[to]};
  }
};

template <class Zone>
[[nodiscard]] ZoneTable build_zone_table(const Zone& zone) {
  ZoneTable table;
  table.name = std::string{zone.name()};
  std::chrono::sys_seconds t{std::chrono::seconds{min_seconds}};
  // A zone has a few hundred transitions at most; the bound only guards against a broken
  // database.
  for (int i = 0; i < 100'000; ++i) {
    const auto info = zone.get_info(t);
    const auto offset = static_cast<std::int32_t>(info.offset.count());
    if (table.offsets.empty() || offset != table.offsets.back()) {
      table.starts.push_back(table.offsets.empty() ? -end_of_time
                                                   : info.begin.time_since_epoch().count());
      table.offsets.push_back(offset);
    }
    if (info.end.time_since_epoch().count() > max_seconds) {
      break;
    }
    t = std::chrono::time_point_cast<std::chrono::seconds>(info.end);
  }
  return table;
}

#ifndef APSCHED_CRON_STD_TZDB
/// Extends `table` past its last transition with the zone's POSIX rule, which date/tz's
/// system-database mode ignores.
inline void extend_with_posix_rule(ZoneTable& table) {
  const char* directory = std::getenv("TZDIR");  // NOLINT(concurrency-mt-unsafe)
  const std::optional<PosixRule> rule = read_posix_rule(
      directory != nullptr && *directory != '\0' ? directory : "/usr/share/zoneinfo", table.name);
  if (!rule) {
    return;
  }
  const std::int64_t last = table.starts.back();
  std::int64_t year =
      table.starts.size() == 1 ? 1970 : civil_from_days(floor_div(last, 86'400)).year;
  for (; year <= 2263; ++year) {
    const auto changes = rule->changes(year);
    for (const auto& [at, offset] : {changes.first, changes.second}) {
      if (at > table.starts.back() && at <= max_seconds && offset != table.offsets.back()) {
        table.starts.push_back(at);
        table.offsets.push_back(static_cast<std::int32_t>(offset));
      }
    }
  }
}
#endif

}  // namespace apsched::detail::cron
