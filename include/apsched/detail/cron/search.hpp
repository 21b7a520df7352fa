// SPDX-License-Identifier: MIT
// The next fire time of a compiled cron expression in a time zone, with the gap and fold rules.
#pragma once

#include <apsched/clock.hpp>
#include <apsched/detail/cron/spec.hpp>
#include <apsched/detail/cron/zone.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>

namespace apsched::detail::cron {

/// How a cron search treats daylight-saving changes.
struct DstRules {
  /// A wall time skipped by a gap fires once at the first instant after the gap.
  bool shift_gaps = true;
  /// Wall times repeated by a fold fire only in their first pass.
  bool fold_once = true;
};

/// The first UTC second at or after `from` at which `spec` fires in `zone`, or empty.
///
/// The zone's offset is constant within a segment, where local time runs in step with UTC; the
/// search looks for the first local match in each segment in turn. Entering a segment after a
/// gap it fires at the segment's first second if the gap swallowed a match (`shift_gaps`); in a
/// segment after a fold it ignores the repeated local times (`fold_once`). The number of
/// segments bounds the walk.
[[nodiscard]] inline std::optional<std::int64_t> next_fire_second(const CronSpec& spec,
                                                                  const ZoneTable& zone,
                                                                  DstRules rules,
                                                                  std::int64_t from) noexcept {
  if (zone.fixed()) {
    const std::int64_t offset = zone.offsets[0];
    const std::optional<std::int64_t> local = spec.next_local(from + offset);
    return local ? std::optional{*local - offset} : std::nullopt;
  }
  // The last search's answer, valid for any later start at or before it (local time only moves
  // backwards inside a fold, which the check below catches).
  std::optional<std::int64_t> known;
  std::int64_t known_from = 0;
  for (std::size_t k = zone.segment_of(from); k < zone.starts.size(); ++k) {
    const std::int64_t begin = zone.starts[k];
    const std::int64_t end = zone.segment_end(k);
    const std::int64_t offset = zone.offsets[k];
    const std::int64_t start = std::max(from, begin);
    std::int64_t local_from = start + offset;
    if (k > 0) {
      const std::int64_t previous_offset = zone.offsets[k - 1];
      if (offset > previous_offset && start == begin && rules.shift_gaps) {
        const std::optional<std::int64_t> skipped = spec.next_local(begin + previous_offset);
        if (skipped && *skipped < begin + offset) {
          return begin;
        }
      }
      if (offset < previous_offset && rules.fold_once) {
        local_from = std::max(local_from, begin + previous_offset);
      }
    }
    if (local_from >= end + offset) {
      continue;
    }
    if (!(known && known_from <= local_from && local_from <= *known)) {
      known = spec.next_local(local_from);
      known_from = local_from;
      if (!known) {
        return std::nullopt;
      }
    }
    if (*known - offset < end) {
      return *known - offset;
    }
  }
  return std::nullopt;
}

/// The last UTC second at or before `to` at which `spec` fires in `zone`, or empty: the largest
/// second at or before `to` among those next_fire_second returns, whatever second it starts from.
///
/// The mirror of next_fire_second, walking the segments backwards: in a segment the fires are
/// the local matches from its first local second (or, after a fold with `fold_once`, from the
/// end of the repeated local times) to its end, and its first second when a gap before it
/// swallowed a match (`shift_gaps`).
[[nodiscard]] inline std::optional<std::int64_t> previous_fire_second(const CronSpec& spec,
                                                                      const ZoneTable& zone,
                                                                      DstRules rules,
                                                                      std::int64_t to) noexcept {
  if (zone.fixed()) {
    const std::int64_t offset = zone.offsets[0];
    const std::optional<std::int64_t> local = spec.previous_local(to + offset);
    return local ? std::optional{*local - offset} : std::nullopt;
  }
  // previous_local(known_to), which also answers any earlier query down to the match it found.
  std::optional<std::int64_t> known;
  std::int64_t known_to = 0;
  bool searched = false;
  for (std::size_t k = zone.segment_of(to) + 1; k-- > 0;) {
    const std::int64_t begin = zone.starts[k];
    const std::int64_t offset = zone.offsets[k];
    std::int64_t local_floor = begin + offset;
    bool shifted = false;
    if (k > 0) {
      const std::int64_t previous_offset = zone.offsets[k - 1];
      if (offset > previous_offset && rules.shift_gaps) {
        const std::optional<std::int64_t> skipped = spec.next_local(begin + previous_offset);
        shifted = skipped && *skipped < begin + offset;
      }
      if (offset < previous_offset && rules.fold_once) {
        local_floor = std::max(local_floor, begin + previous_offset);
      }
    }
    const std::int64_t query = std::min(to, zone.segment_end(k) - 1) + offset;
    if (query >= local_floor) {
      if (!(searched && query <= known_to && (!known || *known <= query))) {
        known = spec.previous_local(query);
        known_to = query;
        searched = true;
      }
      if (known && *known >= local_floor) {
        return *known - offset;
      }
    }
    if (shifted) {
      return begin;
    }
  }
  return std::nullopt;
}

/// `t` rounded down to a whole second, as seconds since the epoch.
[[nodiscard]] inline std::int64_t floor_seconds(TimePoint t) noexcept {
  return std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count();
}

/// `t` rounded up to a whole second, as seconds since the epoch.
[[nodiscard]] inline std::int64_t ceil_seconds(TimePoint t) noexcept {
  const auto seconds = std::chrono::ceil<std::chrono::seconds>(t.time_since_epoch());
  return seconds.count();
}

/// UTC second `s` as a TimePoint, or empty past the end of TimePoint.
[[nodiscard]] inline std::optional<TimePoint> second_to_time_point(std::int64_t s) noexcept {
  if (s > max_seconds || s < min_seconds) {
    return std::nullopt;
  }
  return TimePoint{std::chrono::seconds{s}};
}

/// The earliest instant a trigger may fire at: not before `now` or `start`, and strictly after
/// `previous`; empty when `previous` is TimePoint::max().
[[nodiscard]] inline std::optional<TimePoint> earliest_allowed(std::optional<TimePoint> previous,
                                                               TimePoint now,
                                                               TimePoint start) noexcept {
  TimePoint at_least = std::max(now, start);
  if (previous && *previous >= at_least) {
    if (*previous == TimePoint::max()) {
      return std::nullopt;
    }
    at_least = *previous + Duration{1};
  }
  return at_least;
}

}  // namespace apsched::detail::cron
