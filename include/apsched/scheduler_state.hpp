// SPDX-License-Identifier: MIT
// The states and modes of a scheduler, and what resume_job does with missed runs, with their
// names.
#pragma once

#include <apsched/detail/enum_format.hpp>

#include <cstdint>
#include <string_view>

namespace apsched {

/// Whether a scheduler runs its due jobs.
enum class SchedulerState : std::uint8_t {
  stopped,  ///< not started, or shut down
  running,  ///< running due jobs
  paused,   ///< started, but not running due jobs until resumed
};

/// Which thread drives a scheduler's loop.
enum class SchedulerMode : std::uint8_t {
  blocking,    ///< `start()` runs the loop in the calling thread until `shutdown()`
  background,  ///< `start()` runs the loop on a thread of its own and returns
  callback,    ///< the application's event loop calls `process_due_jobs()` (the callback model)
};

/// What `resume_job` does with the runs a job would have had while it was paused.
enum class MissedRuns : std::uint8_t {
  skip,  ///< continue with the first fire time from now on (the default)
  run,   ///< treat them as missed runs: misfire grace time and coalescing decide
};

/// The name of `value`: "stopped", "running", "paused".
[[nodiscard]] constexpr std::string_view to_string(SchedulerState value) noexcept {
  switch (value) {
    case SchedulerState::stopped:
      return "stopped";
    case SchedulerState::running:
      return "running";
    case SchedulerState::paused:
      return "paused";
  }
  return "unknown";
}

/// The name of `value`: "blocking", "background", "callback".
[[nodiscard]] constexpr std::string_view to_string(SchedulerMode value) noexcept {
  switch (value) {
    case SchedulerMode::blocking:
      return "blocking";
    case SchedulerMode::background:
      return "background";
    case SchedulerMode::callback:
      return "callback";
  }
  return "unknown";
}

/// The name of `value`: "skip", "run".
[[nodiscard]] constexpr std::string_view to_string(MissedRuns value) noexcept {
  switch (value) {
    case MissedRuns::skip:
      return "skip";
    case MissedRuns::run:
      return "run";
  }
  return "unknown";
}

}  // namespace apsched

namespace apsched::detail {
template <>
inline constexpr bool named_enum<SchedulerState> = true;
template <>
inline constexpr bool named_enum<SchedulerMode> = true;
template <>
inline constexpr bool named_enum<MissedRuns> = true;
}  // namespace apsched::detail
