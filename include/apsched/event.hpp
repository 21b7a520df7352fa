// SPDX-License-Identifier: MIT
// Events the scheduler emits to listeners, and the bitmask that selects them.
#pragma once

#include <apsched/clock.hpp>
#include <apsched/detail/enum_format.hpp>

#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <string_view>

namespace apsched {

/// The kind of an event; each is one bit, so kinds combine into an EventMask with `|`.
enum class EventType : std::uint32_t {
  scheduler_started = 1U << 0,
  scheduler_shutdown = 1U << 1,
  scheduler_paused = 1U << 2,
  scheduler_resumed = 1U << 3,
  job_added = 1U << 4,
  job_removed = 1U << 5,
  job_modified = 1U << 6,
  all_jobs_removed = 1U << 7,
  /// A run is being handed to its executor. Always the first event of a run.
  job_submitted = 1U << 8,
  /// A run began, on its executor's thread. Follows job_submitted.
  job_started = 1U << 9,
  /// A run returned. The last event of a successful run.
  job_executed = 1U << 10,
  /// A run threw; `exception` holds what it threw. The last event of a failed run.
  job_error = 1U << 11,
  /// Runs were not started because they were later than the misfire grace time; `runs` counts
  /// them, `scheduled_run_time` is the earliest.
  job_missed = 1U << 12,
  /// A run was not started because `max_instances` runs were outstanding.
  job_max_instances = 1U << 13,
  /// A run exceeded its timeout; stop was requested through its stop token.
  job_timeout = 1U << 14,
  /// A submitted run was discarded by its executor (shutdown without waiting).
  job_dropped = 1U << 15,
  /// A job store failed; `exception` holds the error.
  store_error = 1U << 16,
  /// An executor refused or failed a run; `exception` holds the error.
  executor_error = 1U << 17,
  /// A durable store holds a job it cannot use (unknown task, undecodable arguments or
  /// trigger); the job stays stored untouched. `job_id` names it; `exception` holds a
  /// StoreError whose message says why.
  store_job_unusable = 1U << 18,
  /// A durable job's run was found recorded as started by a scheduler that died. `attempt`
  /// is the attempt that was abandoned; `runs` is 1 if it runs again here (Abandoned::rerun),
  /// else 0.
  job_abandoned = 1U << 19,
};

/// A set of EventTypes.
using EventMask = std::uint32_t;

/// Every event type.
inline constexpr EventMask all_events = 0xFFFFFU;

/// `a | b` as a mask.
[[nodiscard]] constexpr EventMask operator|(EventType a, EventType b) noexcept {
  return static_cast<EventMask>(a) | static_cast<EventMask>(b);
}
/// `mask | b` as a mask.
[[nodiscard]] constexpr EventMask operator|(EventMask mask, EventType b) noexcept {
  return mask | static_cast<EventMask>(b);
}
/// Whether `mask` selects `type`.
[[nodiscard]] constexpr bool selects(EventMask mask, EventType type) noexcept {
  return (mask & static_cast<EventMask>(type)) != 0;
}

/// The event's kind as a lower-case name, e.g. "job_executed".
[[nodiscard]] constexpr std::string_view to_string(EventType type) noexcept {
  switch (type) {
    case EventType::scheduler_started:
      return "scheduler_started";
    case EventType::scheduler_shutdown:
      return "scheduler_shutdown";
    case EventType::scheduler_paused:
      return "scheduler_paused";
    case EventType::scheduler_resumed:
      return "scheduler_resumed";
    case EventType::job_added:
      return "job_added";
    case EventType::job_removed:
      return "job_removed";
    case EventType::job_modified:
      return "job_modified";
    case EventType::all_jobs_removed:
      return "all_jobs_removed";
    case EventType::job_submitted:
      return "job_submitted";
    case EventType::job_started:
      return "job_started";
    case EventType::job_executed:
      return "job_executed";
    case EventType::job_error:
      return "job_error";
    case EventType::job_missed:
      return "job_missed";
    case EventType::job_max_instances:
      return "job_max_instances";
    case EventType::job_timeout:
      return "job_timeout";
    case EventType::job_dropped:
      return "job_dropped";
    case EventType::store_error:
      return "store_error";
    case EventType::executor_error:
      return "executor_error";
    case EventType::store_job_unusable:
      return "store_job_unusable";
    case EventType::job_abandoned:
      return "job_abandoned";
  }
  return "unknown";
}

/// One thing that happened, as listeners receive it. Fields that do not apply to the type are
/// empty.
///
/// Thread safety: not thread-safe (a plain value).
struct Event {
  EventType type{};
  /// When it happened, by the scheduler's clock.
  TimePoint time{};
  /// The job concerned; empty for scheduler-wide events.
  std::string job_id;
  /// The alias of the job's store (job events), or of the store that failed.
  std::string store;
  /// The run concerned (job_submitted ... job_dropped): the instant it was scheduled for.
  std::optional<TimePoint> scheduled_run_time;
  /// When the run started (job_started, job_executed, job_error, job_timeout).
  std::optional<TimePoint> started_at;
  /// job_missed: the number of runs missed. job_submitted: the number of other due runs that
  /// coalescing folded into this one (0 when none).
  std::uint64_t runs = 0;
  /// job_error, store_error, executor_error, store_job_unusable: what was thrown.
  std::exception_ptr exception;
  /// The text of `exception` (its what(), or "a non-std exception"), so that a listener can log
  /// it without rethrowing; empty without an exception.
  std::string message;
  /// The run's attempt (job_submitted ... job_dropped, job_abandoned): 1, or higher for a run
  /// of a durable job repeated because its first scheduler died while it ran.
  unsigned attempt = 1;
};

}  // namespace apsched

namespace apsched::detail {
template <>
inline constexpr bool named_enum<EventType> = true;
}  // namespace apsched::detail
