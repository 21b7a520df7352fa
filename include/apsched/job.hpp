// SPDX-License-Identifier: MIT
// What a job is made of: its options, the context a run receives, and the snapshot callers see.
#pragma once

#include <apsched/any_trigger.hpp>
#include <apsched/clock.hpp>
#include <apsched/detail/enum_format.hpp>
#include <apsched/detail/format_time.hpp>

#include <concepts>
#include <cstdint>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <type_traits>

namespace apsched {

/// What to do with the runs a job missed (downtime, a paused scheduler, a clock step) when it
/// catches up.
enum class Coalesce : std::uint8_t {
  earliest,  ///< run once, as the earliest missed run
  latest,    ///< run once, as the latest missed run (the default, like APScheduler's coalesce)
  all,       ///< run every missed run; each counts against max_instances like any run
};

/// What to do with a run that is due while `max_instances` runs of the job are outstanding.
enum class Overlap : std::uint8_t {
  skip,   ///< do not run it; emit a job_max_instances event (APScheduler 3)
  queue,  ///< run it once an outstanding run finishes (APScheduler 4); at most `max_instances`
          ///< runs wait, further ones are skipped as above
};

/// What happens to a run of a durable job that was running when its process died (found at the
/// next start, or by another scheduler once the dead one's lease expired).
enum class Abandoned : std::uint8_t {
  drop,   ///< record it as abandoned and emit job_abandoned; the schedule continues (the default)
  rerun,  ///< run it again now, with JobContext::attempt one higher; job_abandoned is emitted too;
          ///< a job's last fire too (a one-shot job, no longer listed, is kept until it ends)
};

/// What `add_job` does when a job with the same id is stored already (APScheduler 4's
/// ConflictPolicy).
enum class ConflictPolicy : std::uint8_t {
  /// Throw ConflictingIdError; nothing changes (the default).
  error,
  /// Keep the stored job as it is and return its id; the new definition is dropped and no event
  /// is emitted. The start-up idiom: `{.id = "report", .on_conflict = ConflictPolicy::keep}`
  /// adds the job on the first start and leaves it, with its schedule, counters and history, on
  /// every later one.
  keep,
  /// Store the new definition (callable or task and arguments, trigger, options) under the id.
  /// What the job did is kept: its run and failure counts, last run and outcome, fire history
  /// and runs in flight. A durable store also keeps its schedule (next run time, and the paused
  /// flag unless the new options pause it) when the new trigger is the stored one (equal stored
  /// encoding) and no `next_run_time` is given, so that runs missed while no scheduler ran are
  /// handled by its misfire rules; otherwise the schedule starts from the new trigger. Emits
  /// job_modified (job_added when no job had the id).
  replace,
};

/// How a job's last run ended.
enum class JobOutcome : std::uint8_t {
  none,     ///< it has not run yet
  success,  ///< it returned
  error,    ///< it threw
  missed,   ///< its last due run was missed (misfire grace time exceeded)
  dropped,  ///< its last run was discarded by an executor shutting down
};

/// The name of `value`, as written in C++ and in stored jobs: "earliest", "latest", "all".
[[nodiscard]] constexpr std::string_view to_string(Coalesce value) noexcept {
  switch (value) {
    case Coalesce::earliest:
      return "earliest";
    case Coalesce::latest:
      return "latest";
    case Coalesce::all:
      return "all";
  }
  return "unknown";
}

/// The name of `value`: "skip", "queue".
[[nodiscard]] constexpr std::string_view to_string(Overlap value) noexcept {
  switch (value) {
    case Overlap::skip:
      return "skip";
    case Overlap::queue:
      return "queue";
  }
  return "unknown";
}

/// The name of `value`: "drop", "rerun".
[[nodiscard]] constexpr std::string_view to_string(Abandoned value) noexcept {
  switch (value) {
    case Abandoned::drop:
      return "drop";
    case Abandoned::rerun:
      return "rerun";
  }
  return "unknown";
}

/// The name of `value`: "error", "keep", "replace".
[[nodiscard]] constexpr std::string_view to_string(ConflictPolicy value) noexcept {
  switch (value) {
    case ConflictPolicy::error:
      return "error";
    case ConflictPolicy::keep:
      return "keep";
    case ConflictPolicy::replace:
      return "replace";
  }
  return "unknown";
}

/// The name of `value`: "none", "success", "error", "missed", "dropped".
[[nodiscard]] constexpr std::string_view to_string(JobOutcome value) noexcept {
  switch (value) {
    case JobOutcome::none:
      return "none";
    case JobOutcome::success:
      return "success";
    case JobOutcome::error:
      return "error";
    case JobOutcome::missed:
      return "missed";
    case JobOutcome::dropped:
      return "dropped";
  }
  return "unknown";
}

/// A job's duration settings as people write them: `30s`, `2min`, `1500ms`, `36h` (the largest
/// unit that divides `d` exactly; JobInfo durations print in listings this way).
///
/// Thread safety: thread-safe (a pure function).
[[nodiscard]] inline std::string to_string(Duration d) { return detail::format_duration(d); }

/// What a durable job runs: a task registered by name and its arguments, which a durable store
/// keeps instead of a closure.
///
/// Thread safety: not thread-safe (a plain value; shared immutable once in a JobRecord).
struct TaskCall {
  /// The name the task is registered under.
  std::string name;
  /// The arguments as the text of a JSON array, one element per task parameter.
  std::string arguments;
};

/// Options of `add_job`, named as in APScheduler where it has the option.
/// Designated initialisers must follow this order: `{.id = "x", .on_conflict = ...}`.
///
/// Thread safety: not thread-safe (a plain value).
struct JobOptions {
  /// The job's unique id; empty: a random 15-character one is generated.
  std::string id;
  /// A human-readable name for listings; empty: the id.
  std::string name;
  /// What happens when a job with this id is stored already (see ConflictPolicy).
  ConflictPolicy on_conflict = ConflictPolicy::error;
  /// How late a run may start and still run; empty: no limit (the default).
  std::optional<Duration> misfire_grace_time;
  /// How missed runs collapse when the job catches up.
  Coalesce coalesce = Coalesce::latest;
  /// How many runs of the job may be outstanding (submitted or running) at once; at least 1.
  unsigned max_instances = 1;
  /// What happens to a run that would exceed `max_instances`.
  Overlap overlap = Overlap::skip;
  /// The first run time, instead of the trigger's first fire time.
  std::optional<TimePoint> next_run_time;
  /// Add the job paused: it keeps its schedule but does not run until resumed.
  bool paused = false;
  /// The alias of the executor that runs the job; empty: the first executor ("default").
  std::string executor;
  /// The alias of the store that keeps the job; empty: the first store ("default").
  std::string store;
  /// A run still going this long after it started is asked to stop through its stop token, and
  /// a job_timeout event is emitted. Threads are never killed. Empty: no timeout.
  std::optional<Duration> timeout;
  /// What happens to a run of a durable job whose process died while it ran.
  Abandoned abandoned = Abandoned::drop;
};

/// Changes for `modify_job`: each field that holds a value replaces the job's setting.
///
/// Thread safety: not thread-safe (a plain value).
struct JobChanges {
  std::optional<std::string> name;
  /// An empty inner optional removes the limit.
  std::optional<std::optional<Duration>> misfire_grace_time;
  std::optional<Coalesce> coalesce;
  std::optional<unsigned> max_instances;
  std::optional<Overlap> overlap;
  /// Moves the next run to this time (the schedule continues from it).
  std::optional<TimePoint> next_run_time;
  std::optional<std::string> executor;
  /// An empty inner optional removes the timeout.
  std::optional<std::optional<Duration>> timeout;
  std::optional<Abandoned> abandoned;
};

/// What a running job may know about its run; jobs that take a `JobContext` parameter get it.
///
/// Thread safety: not thread-safe; valid only during the run it was passed to.
struct JobContext {
  /// The job's id.
  std::string_view job_id;
  /// The instant this run was scheduled for (including jitter).
  TimePoint scheduled_run_time;
  /// The instant this run actually started.
  TimePoint started_at;
  /// Stop is requested when the run times out or the scheduler shuts down without waiting.
  std::stop_token stop_token;
  /// 1 for a first attempt; higher when a run is repeated after a failure of its process.
  unsigned attempt = 1;
};

/// A consistent snapshot of one job, as `get_job` and `get_jobs` return it.
///
/// Thread safety: not thread-safe (a plain value).
struct JobInfo {
  std::string id;
  std::string name;
  AnyTrigger trigger;
  /// Empty while the job is paused.
  std::optional<TimePoint> next_run_time;
  std::optional<Duration> misfire_grace_time;
  Coalesce coalesce = Coalesce::latest;
  unsigned max_instances = 1;
  Overlap overlap = Overlap::skip;
  std::string executor;
  std::string store;
  std::optional<Duration> timeout;
  Abandoned abandoned = Abandoned::drop;
  /// The start time of the latest run.
  std::optional<TimePoint> last_run_time;
  JobOutcome last_outcome = JobOutcome::none;
  /// Finished runs (successful or not).
  std::uint64_t run_count = 0;
  /// Runs that threw.
  std::uint64_t failure_count = 0;
  /// Runs submitted or running now.
  unsigned running_instances = 0;
  /// Runs waiting for a free instance (Overlap::queue).
  unsigned queued_runs = 0;
  /// The task and arguments of a task job (added with apsched::task); null for a closure.
  std::shared_ptr<const TaskCall> task;
};

/// A callable that can be a job with bound arguments `Args`: invocable as `f(context, args...)`
/// with a `const JobContext&`, or as `f(args...)`. Bound arguments are passed as const lvalues,
/// since every run receives the same ones.
template <class F, class... Args>
concept JobFunction = std::move_constructible<std::decay_t<F>> &&
    (std::invocable<std::decay_t<F>&, const JobContext&, const std::decay_t<Args>&...> ||
     std::invocable<std::decay_t<F>&, const std::decay_t<Args>&...>);

}  // namespace apsched

namespace apsched::detail {
template <>
inline constexpr bool named_enum<Coalesce> = true;
template <>
inline constexpr bool named_enum<Overlap> = true;
template <>
inline constexpr bool named_enum<Abandoned> = true;
template <>
inline constexpr bool named_enum<ConflictPolicy> = true;
template <>
inline constexpr bool named_enum<JobOutcome> = true;
}  // namespace apsched::detail
