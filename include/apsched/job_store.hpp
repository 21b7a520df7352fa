// SPDX-License-Identifier: MIT
// The JobStore concept, and JobRecord: the scheduler's record of one job, which stores keep.
#pragma once

#include <apsched/any_trigger.hpp>
#include <apsched/clock.hpp>
#include <apsched/detail/job_body.hpp>
#include <apsched/job.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace apsched {

struct TaskRef;  // json/task_registry.hpp: names a registered task where add_job takes a function

/// The rarely used parts of a JobRecord, allocated only for jobs that use them.
///
/// Thread safety: not thread-safe (guarded by the scheduler).
struct JobExtras {
  std::string name;
  std::optional<Duration> misfire_grace_time;
  std::optional<Duration> timeout;
  /// Due runs waiting for a free instance (Overlap::queue), oldest first.
  std::deque<TimePoint> queued_runs;
  /// The task of a durable job (null for a closure job).
  std::shared_ptr<const TaskCall> task;
};

/// The scheduler's record of one job. Stores own records; the scheduler reads and changes them
/// only under its lock, and tells the store through `update` when it changed the record's
/// schedule or settings. Kept small (under 160 bytes): a store may hold millions.
///
/// Thread safety: not thread-safe (guarded by the scheduler).
struct JobRecord {
  /// A value meaning "none" for `store_position`.
  static constexpr std::uint32_t no_position = std::numeric_limits<std::uint32_t>::max();

  std::string id;
  detail::BodyRef body;
  AnyTrigger trigger;
  /// The trigger's fire time of the next run (passed back to the trigger as `previous`).
  TimePoint next_fire{};
  /// When the next run is due: `next_fire` plus jitter. Stores order due jobs by this.
  TimePoint next_run{};
  /// The start time of the latest run; TimePoint::min() before the first.
  TimePoint last_run = TimePoint::min();
  /// Name, grace time, timeout, queued runs; null while all are unset.
  std::unique_ptr<JobExtras> extras;
  std::uint64_t run_count = 0;
  std::uint32_t failure_count = 0;
  /// Distinguishes this job from earlier ones with the same id.
  std::uint32_t generation = 0;
  /// Reserved for the store's own bookkeeping (the memory store keeps its heap index here).
  std::uint32_t store_position = no_position;
  std::uint16_t max_instances = 1;
  /// Runs submitted and not yet finished.
  std::uint16_t running = 0;
  /// Runs that other schedulers sharing the job's durable store started and did not finish
  /// (fires they recorded `submitted`, not the ones they only claimed), as the store read them
  /// when it last handed the job out as due; they count towards max_instances with `running`.
  std::uint16_t running_elsewhere = 0;
  Coalesce coalesce = Coalesce::latest;
  Overlap overlap = Overlap::skip;
  Abandoned abandoned = Abandoned::drop;
  JobOutcome last_outcome = JobOutcome::none;
  /// A paused job keeps `next_fire` but is not due; stores leave it out of their due order.
  bool paused = false;
  /// Index of the job's executor among the scheduler's executors.
  std::uint8_t executor = 0;
  /// Index of the job's store among the scheduler's stores.
  std::uint8_t store = 0;

  /// The extras, allocated on first use.
  JobExtras& extra() {
    if (!extras) {
      extras = std::make_unique<JobExtras>();
    }
    return *extras;
  }
};

/// Keeps jobs and finds the due ones.
///
/// Requirements, for an `S s`, a `const S cs`, a `JobRecord&& record`, a
/// `JobRecord& stored` that `s` holds, `std::string_view id` and `TimePoint now`:
/// 1. `s.insert(std::move(record))` takes the record and returns a pointer to it; if the store
///    holds a record with the same id, it returns nullptr and leaves both untouched (the record
///    is not moved from), so one lookup both checks and inserts.
/// 2. `s.find(id)` returns the record with that id, or nullptr.
/// 3. `s.erase(id)` removes the record with that id; returns whether there was one.
/// 4. `s.clear()` removes every record.
/// 5. `s.update(stored)` is called after the scheduler changed any of `stored`'s settings but
///    its counters (`next_fire`, `next_run`, `paused`, the trigger, the options), so the store
///    can reorder it (and a durable store write it).
/// 6. `cs.next_run_time()` returns the smallest `next_run` of the records that are not paused,
///    or empty when there are none.
/// 7. `s.first_due(now)` returns a not-paused record with the smallest `next_run`, if that is at
///    or before `now`; else nullptr. It must take O(log n) or better: it runs once per due run.
/// 8. `cs.size()` returns the number of records; `cs.for_each(f)` calls `f(const JobRecord&)`
///    for each record, in no particular order.
/// References and pointers into the store stay valid until the next call that inserts or erases.
///
/// The scheduler serialises every call to a store under its own lock: a store need not be
/// thread-safe. Calls come from the scheduler's loop thread and from threads that add or change
/// jobs. A call may throw; the scheduler reports a throw from a loop-side call as a store_error
/// event and passes one from a user-side call (add_job, ...) to that caller.
template <class S>
concept JobStore = std::move_constructible<S> &&
    requires(S& store, const S& const_store, JobRecord&& record, JobRecord& stored,
             std::string_view id, TimePoint now, void (*visit)(const JobRecord&)) {
  { store.insert(std::move(record)) } -> std::same_as<JobRecord*>;
  { store.find(id) } -> std::same_as<JobRecord*>;
  { store.erase(id) } -> std::same_as<bool>;
  store.clear();
  store.update(stored);
  { const_store.next_run_time() } -> std::same_as<std::optional<TimePoint>>;
  { store.first_due(now) } -> std::same_as<JobRecord*>;
  { const_store.size() } -> std::convertible_to<std::size_t>;
  const_store.for_each(visit);
};

}  // namespace apsched
