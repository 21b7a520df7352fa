// SPDX-License-Identifier: MIT
// The settings of a cron trigger that choose between dialects: daylight-saving rules and the
// numbering of weekdays, with their names.
#pragma once

#include <apsched/detail/enum_format.hpp>

#include <string_view>

namespace apsched {

/// What a cron-family trigger does with a wall time that a daylight-saving change skips (the
/// hour the clock springs forward over).
enum class GapPolicy {
  /// Fire once at the first instant after the gap if the gap swallowed one or more fire times
  /// (cron(8) for fixed-time jobs): a daily 02:30 job in Europe/Berlin fires at 03:00 CEST on
  /// the last Sunday of March. This applies whatever the hour field says, so `30 * * * *` fires
  /// at 03:00 and 03:30 that night. The default.
  shift,
  /// Do not fire for skipped wall times (APScheduler 4, Spring, robfig/cron).
  skip,
};

/// What a cron-family trigger does with a wall time that a daylight-saving change repeats (the
/// hour the clock falls back over).
enum class FoldPolicy {
  /// A job whose hour field is restricted (does not name all 24 hours) fires once, in the first
  /// pass (systemd, cron(8)); a job whose hour field allows every hour fires in both passes,
  /// because both hours really elapse (`*/15 * * * *` keeps firing every 15 minutes). The
  /// default.
  once,
  /// Every job fires in both passes (APScheduler, robfig/cron): `30 1 * * *` fires twice on
  /// the night a 01:00-02:00 hour repeats.
  both,
};

/// Whether a cron trigger takes its daylight-saving rules from GapPolicy and FoldPolicy or from
/// cron(8)'s own rule, which decides both from how the minute and hour fields are written.
enum class DstPolicy {
  /// CronOptions::gap_policy and CronOptions::fold_policy apply, each on its own. The default.
  separate,
  /// cron(8)'s split rule (Vixie cron, cronie; croniter and Dagster follow it). A *fixed-time*
  /// job, whose minute and hour fields both start with something other than `*` (`30 2 * * *`,
  /// `0,30 1-3 * * *`, `@daily`), fires once: at the first instant after a gap that swallowed
  /// its time (as GapPolicy::shift), and in a fold only in the first pass, whatever hours it
  /// names. A *wildcard* job, whose minute or hour field starts with `*` (`*/5 2 * * *`,
  /// `30 * * * *`, `@hourly`), follows the new wall clock: no fire for the times a gap skips
  /// (as GapPolicy::skip) and fires in both passes of a fold (as FoldPolicy::both). Only the
  /// first character counts, as in cronie: `*/5` and `*,7` are wildcards, `7,*/5` and `0-59`
  /// are not. A CronFields field that is not given counts as the text it defaults to: `*` when
  /// it is more significant than the least significant field given (`{.minute = "30"}` is a
  /// wildcard job), its minimum when less (`{.hour = "2"}` fires at 02:00:00, a fixed time).
  /// The second field does not count. cron(8) treats a clock change of more than three hours
  /// as a clock reset and runs nothing it skipped; apsched applies the split rule to every
  /// gap and fold.
  cron,
};

/// How numeric day-of-week values are read. Names (`SUN`-`SAT`, any case) mean the same in both.
enum class WeekdayNumbering {
  /// cron(5), APScheduler 4: 0 or 7 = Sunday, 1 = Monday, ..., 6 = Saturday. The default.
  cron,
  /// Quartz: 1 = Sunday, 2 = Monday, ..., 7 = Saturday.
  quartz,
};

/// The name of `value`: "shift", "skip".
[[nodiscard]] constexpr std::string_view to_string(GapPolicy value) noexcept {
  switch (value) {
    case GapPolicy::shift:
      return "shift";
    case GapPolicy::skip:
      return "skip";
  }
  return "unknown";
}

/// The name of `value`: "once", "both".
[[nodiscard]] constexpr std::string_view to_string(FoldPolicy value) noexcept {
  switch (value) {
    case FoldPolicy::once:
      return "once";
    case FoldPolicy::both:
      return "both";
  }
  return "unknown";
}

/// The name of `value`: "separate", "cron".
[[nodiscard]] constexpr std::string_view to_string(DstPolicy value) noexcept {
  switch (value) {
    case DstPolicy::separate:
      return "separate";
    case DstPolicy::cron:
      return "cron";
  }
  return "unknown";
}

/// The name of `value`: "cron", "quartz".
[[nodiscard]] constexpr std::string_view to_string(WeekdayNumbering value) noexcept {
  switch (value) {
    case WeekdayNumbering::cron:
      return "cron";
    case WeekdayNumbering::quartz:
      return "quartz";
  }
  return "unknown";
}

}  // namespace apsched

namespace apsched::detail {
template <>
inline constexpr bool named_enum<GapPolicy> = true;
template <>
inline constexpr bool named_enum<FoldPolicy> = true;
template <>
inline constexpr bool named_enum<DstPolicy> = true;
template <>
inline constexpr bool named_enum<WeekdayNumbering> = true;
}  // namespace apsched::detail
