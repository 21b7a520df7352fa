// SPDX-License-Identifier: MIT
// The JobStore concept, and JobRecord: the scheduler's record of one job, which stores keep.
#pragma once

#include <apsched/any_trigger.hpp>
#include <apsched/clock.hpp>
#include <apsched/detail/job_body.hpp>
#include <apsched/job.hpp>

#include <charconv>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
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

/// What became of one scheduled fire of a job, as a durable store records it.
enum class FireState : std::uint8_t {
  submitted,  ///< handed to its executor, to start at once or within the scheduler's start
              ///< window (see Executor requirement 5); recorded before it runs
  succeeded,  ///< it returned
  failed,     ///< it threw
  missed,     ///< not run: later than the misfire grace time
  skipped,    ///< not run: `max_instances` runs were outstanding
  dropped,    ///< discarded before it started (shutdown without waiting)
  abandoned,  ///< it was running when its process died
  coalesced,  ///< not run: folded into another due run by coalescing (`runs` of them)
  claimed,    ///< taken by a scheduler to run, not started yet: waiting for a free worker of its
              ///< executor, or queued behind a run of the same job (Overlap::queue)
};

/// The name of `value`, as stored: "submitted", "succeeded", "failed", "missed", "skipped",
/// "dropped", "abandoned", "coalesced", "claimed".
[[nodiscard]] constexpr std::string_view to_string(FireState value) noexcept {
  switch (value) {
    case FireState::submitted:
      return "submitted";
    case FireState::succeeded:
      return "succeeded";
    case FireState::failed:
      return "failed";
    case FireState::missed:
      return "missed";
    case FireState::skipped:
      return "skipped";
    case FireState::dropped:
      return "dropped";
    case FireState::abandoned:
      return "abandoned";
    case FireState::coalesced:
      return "coalesced";
    case FireState::claimed:
      return "claimed";
  }
  return "unknown";
}

/// One fire the scheduler decided while processing a due job.
///
/// Thread safety: not thread-safe (a plain value).
struct FireDecision {
  /// The fire's scheduled time (with jitter); with `missed`, the first of the missed ones.
  TimePoint scheduled;
  FireState state = FireState::submitted;
  /// With `missed` or `coalesced`: how many fire times from `scheduled` on; else 1.
  std::uint64_t runs = 1;
};

/// Who recorded a fire of a durable store: the store object (one per scheduler) by its host,
/// process and a random token, stored as the text "host:pid:token".
///
/// @code
/// const auto owner = apsched::FireOwner::parse("node-1:4242:9f86d081884c7d65");
/// // owner.host == "node-1", owner.pid == 4242, owner.token == "9f86d081884c7d65"
/// // owner.text() == "node-1:4242:9f86d081884c7d65"
/// @endcode
///
/// Thread safety: not thread-safe (a plain value).
struct FireOwner {
  /// The host name; empty where the store could not read it.
  std::string host;
  /// The process id; -1 when the stored text is not "host:pid:token" (`token` then holds it).
  std::int64_t pid = -1;
  /// What tells the store objects of one process apart; the whole stored text when that is not
  /// "host:pid:token" (empty for a fire recorded without an owner).
  std::string token;

  /// The owner stored as `text`. "host:pid:token" (split at its last two colons, so the host
  /// may hold colons; pid a decimal number without sign or leading zeros) gives its three parts;
  /// any other text, pid -1 and the whole text in `token`. Never fails on odd text.
  /// @throws std::bad_alloc only
  [[nodiscard]] static FireOwner parse(std::string_view text) {
    const std::size_t last = text.rfind(':');
    const std::size_t middle = last == std::string_view::npos || last == 0
                                   ? std::string_view::npos
                                   : text.rfind(':', last - 1);
    if (middle != std::string_view::npos) {
      const std::string_view digits = text.substr(middle + 1, last - middle - 1);
      std::int64_t pid = 0;
      const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), pid);
      // Canonical digits only, so that text() gives back exactly what was stored.
      if (error == std::errc{} && end == digits.data() + digits.size() && !digits.empty() &&
          digits.front() != '-' && digits.front() != '+' &&
          (digits.front() != '0' || digits.size() == 1)) {
        return FireOwner{.host = std::string{text.substr(0, middle)},
                         .pid = pid,
                         .token = std::string{text.substr(last + 1)}};
      }
    }
    return FireOwner{.host = {}, .pid = -1, .token = std::string{text}};
  }

  /// The stored text: "host:pid:token", or `token` alone when `pid` is negative;
  /// `parse(text).text() == text` for every text.
  [[nodiscard]] std::string text() const {
    if (pid < 0) {
      return token;
    }
    std::string result = host;
    result += ':';
    result += std::to_string(pid);
    result += ':';
    result += token;
    return result;
  }

  /// Whether the stored text was "host:pid:token" (`host` and `pid` are known).
  [[nodiscard]] bool structured() const noexcept { return pid >= 0; }

  friend bool operator==(const FireOwner&, const FireOwner&) = default;
};

/// One recorded fire of a job, as a durable store's `fire_history` and
/// BasicScheduler::get_fire_history return it.
///
/// Thread safety: not thread-safe (a plain value).
struct FireRecord {
  /// The fire's scheduled time (with jitter).
  TimePoint scheduled;
  FireState state = FireState::submitted;
  /// With `missed` or `coalesced`: how many fire times from `scheduled` on; else 1.
  std::uint64_t runs = 1;
  /// The store object (scheduler) that recorded the fire, or that took it over to run it again;
  /// empty (FireOwner{}) for a fire recorded without one.
  FireOwner owner;
  /// When it was recorded, by the system clock.
  TimePoint recorded_at;
  /// When its end was recorded; empty while it is claimed or submitted.
  std::optional<TimePoint> finished_at;
  /// The error text of a failed run; empty otherwise.
  std::string error;
  /// 1 for a first run; higher for a run repeated after its process died.
  unsigned attempt = 1;
};

/// A fire a durable store found left by a scheduler that died or stopped. Recorded as
/// submitted (it started): the store has recorded it as abandoned (`rerun` false) or taken it
/// over to run again (`rerun` true, per the job's Abandoned policy). Recorded as claimed (it
/// never started, `started` false): the store has taken it over for this scheduler to run as
/// its first owner would have, whatever the job's Abandoned policy (`rerun` true).
///
/// Thread safety: not thread-safe (a plain value).
struct AbandonedFire {
  std::string job_id;
  TimePoint scheduled;
  /// The attempt the fire had when its scheduler died (1 for a first run).
  unsigned attempt = 1;
  /// Whether this scheduler is to run it: as attempt `attempt + 1` when it had started, else as
  /// attempt `attempt`.
  bool rerun = false;
  /// Whether the fire had started (recorded submitted) or was only claimed.
  bool started = true;
  /// Whether it was the job's last fire (its trigger had no time left): the job is no longer
  /// listed, and for a rerun the store holds its record (`find_cached`) until the rerun's
  /// outcome is written.
  bool last_fire = false;
};

/// A fire a durable store recorded as claimed by the scheduler, which now has a worker free
/// to start it (DurableJobStore requirement 10).
///
/// Thread safety: not thread-safe (a plain value).
struct ClaimedFire {
  std::string_view job_id;
  TimePoint scheduled;
  /// The job's max_instances: the fire starts only while fewer of the job's fires are recorded
  /// submitted, by any scheduler sharing the store.
  std::uint16_t max_instances = 1;
};

/// What DurableJobStore::start_claimed did with one ClaimedFire.
enum class ClaimVerdict : std::uint8_t {
  started,  ///< recorded submitted: run it now
  busy,     ///< still claimed: `max_instances` of the job's fires are recorded submitted
  lost,     ///< not claimed by this store any more (another took it over): do not run it
};

/// The name of `value`: "started", "busy", "lost".
[[nodiscard]] constexpr std::string_view to_string(ClaimVerdict value) noexcept {
  switch (value) {
    case ClaimVerdict::started:
      return "started";
    case ClaimVerdict::busy:
      return "busy";
    case ClaimVerdict::lost:
      return "lost";
  }
  return "unknown";
}

/// A report of a durable store about a stored job it cannot use (an unknown task, arguments
/// or a trigger it cannot decode): the job stays stored untouched, and the store retries it
/// when the task is registered or the store is opened again.
///
/// Thread safety: not thread-safe (a plain value).
struct StoreReport {
  std::string job_id;
  /// Why the job cannot be used, naming the value and what was expected.
  std::string message;
};

/// A JobStore that keeps jobs beyond the process (a database), shared with other schedulers.
/// Its jobs name a registered task (JobExtras::task) instead of holding a closure; a record it
/// hands out may have been loaded from its storage, and another scheduler may change the
/// stored job at any time. Requirements beyond JobStore, for an `S s`, a `JobRecord& job`
/// that `s` handed out, `std::span<const FireDecision> fires`, `bool remove`,
/// `std::string_view id`, `const JobRecord* record`, `TimePoint scheduled`, `FireState state`,
/// `std::string_view error` and `std::string_view task`:
/// 1. `S::durable` is true.
/// 2. `s.commit_due(job, fires, remove)`: the scheduler processed the due `job`, decided
///    `fires` and advanced `job.next_fire` and `job.next_run` (or, with `remove`, the job's
///    trigger is exhausted and the job goes). In one transaction the store records the fires,
///    keyed by (job id, scheduled time), and the job's new state, provided the stored job is
///    still the one it handed out. Returns false when another scheduler changed or processed
///    it meanwhile: nothing was recorded, and the store reloads (or forgets) its copy before
///    handing it out again, keeping the scheduler's `running` count and queued runs. The
///    scheduler then discards what it decided (no run, no event). A throw means the same.
/// 3. `s.record_outcome(id, record, scheduled, state, error)` records the end of a fire that
///    commit_due recorded as submitted (`succeeded`, `failed` with the error text, `dropped`),
///    with the job's counters from `record` when the job still exists (else null).
/// 4. `s.take_reports()` returns and forgets the reports about unusable stored jobs found
///    since the last call; each job is reported once per store lifetime and cause.
/// 5. `s.task_registered(task)` tells the store that `task` can now be run: jobs it set aside
///    for naming an unknown `task` are tried again.
/// 6. `s.poll_interval()` is how often the scheduler asks for due jobs when none is due
///    sooner: other schedulers may add jobs the store cannot notice otherwise.
/// Optionally, `s.take_abandoned()` returns and forgets the AbandonedFires the store found since
/// the last call (fires recorded as submitted by a scheduler that died); the scheduler emits
/// job_abandoned for each and runs the ones marked `rerun`, finding the record of one marked
/// `last_fire` through `s.find_cached` (the job is no longer listed) and any other through
/// `s.find`.
/// Optionally, for fewer commits: with `s.begin_round()`, `s.end_round()` and
/// `s.abort_round()`, the scheduler brackets each pass over the store's due jobs, and the store
/// makes the pass's writes one transaction that end_round commits (or throws, having rolled it
/// back) before any of its fires runs; on abort_round, or when end_round throws, the scheduler
/// undoes the pass in memory. With `s.defer_outcome(...)` (record_outcome's parameters,
/// returning whether it is the only pending outcome) and `s.flush_outcomes()`, the scheduler
/// hands over outcomes as runs end, wakes its loop for the first, and has them written at the
/// end of its next step (a round writes the pending ones too).
/// Optionally, `s.set_waker(wake)` (a `std::function<void()>`, callable from any thread) lets a
/// store that learns of other schedulers' changes (PostgreSQL's notifications) wake the
/// scheduler's loop; the scheduler sets it at construction and empties it, with no lock held,
/// at destruction; the store must not call the old function once set_waker returns.
/// Optionally, `s.set_clock(now)` (a `std::function<TimePoint()>` reading the scheduler's clock,
/// given only for a clock that follows_real_time) and `s.clock_offset()` (a Duration, readable
/// from any thread) let a store report how far its database's clock is from the scheduler's;
/// the scheduler adds the offset of the first such store to its clock (BasicScheduler::now).
/// Optionally, `s.find_cached(id)` returns the record the store holds in memory without reading
/// its storage (a record with a run outstanding or queued is always held); the scheduler uses it
/// when a run ends and when it drains queued runs, where the storage may be unreachable.
/// 7. `s.attach(tasks, index)` gives the store the scheduler's task registry (a
///    `std::shared_ptr<const typename S::Tasks>`), with which it rebuilds the bodies of jobs it
///    loads, and its index among the scheduler's stores (`std::uint8_t`), which the records it
///    loads carry in JobRecord::store; called once, before any other call.
/// 8. `s.begin_batch()` opens a batch: until `s.commit_batch()` or `s.rollback_batch()`, the
///    store's writes (insert, update, erase, clear, record_outcome) go into one transaction,
///    which commit_batch makes durable at once and rollback_batch undoes (the store then
///    forgets what it cached of the undone writes). The scheduler calls no commit_due while a
///    batch is open. rollback_batch does not throw.
/// 9. `s.replace(std::move(replacement), keep_schedule)` (a `JobRecord&&` naming a task, and a
///    `bool`), called when `s.insert` found the id stored (ConflictPolicy::replace), stores the
///    record's definition (task, arguments, trigger, options) under its id in one write and
///    returns the record it then holds (as `s.find` would), or nullptr if it cannot use it. It
///    keeps what the stored job did: its counters, its fire history and, in memory, its runs
///    in flight and queued. With `keep_schedule`, when the stored trigger's encoding equals the
///    record's, it keeps the stored `next_fire`, `next_run` and `paused` too (`paused` is set
///    if the record is paused).
/// 10. `s.start_claimed(claims)` (a `std::span<const ClaimedFire>`) returns one ClaimVerdict per
///    claim: in one transaction, each fire still recorded `claimed` by this store is recorded
///    `submitted` if fewer than its `max_instances` fires of its job are recorded submitted (by
///    any scheduler, counting the ones this call starts), else left claimed (`busy`); a fire
///    not recorded claimed by this store is `lost`. The scheduler starts a run recorded
///    claimed (one that waited for a free worker or in an Overlap::queue queue) only once this
///    recorded it started, so a fire left claimed by a dead scheduler never started, and
///    take_abandoned hands it to another scheduler to run. A throw means none started.
/// Stores record fires `claimed` (in commit_due) and count the fires other schedulers recorded
/// `submitted` in JobRecord::running_elsewhere when they hand out a due job, read under the
/// same lock or snapshot as the commit_due that follows.
template <class S>
concept DurableJobStore = JobStore<S> && S::durable &&
    requires(S& store, JobRecord& job, std::span<const FireDecision> fires, bool remove,
             std::string_view id, const JobRecord* record, TimePoint scheduled, FireState state,
             std::string_view error, std::shared_ptr<const typename S::Tasks> tasks,
             std::uint8_t index, JobRecord&& replacement, bool keep_schedule,
             std::span<const ClaimedFire> claims) {
  { store.commit_due(job, fires, remove) } -> std::same_as<bool>;
  store.record_outcome(id, record, scheduled, state, error);
  { store.take_reports() } -> std::same_as<std::vector<StoreReport>>;
  store.task_registered(id);
  { store.poll_interval() } -> std::convertible_to<Duration>;
  store.attach(std::move(tasks), index);
  store.begin_batch();
  store.commit_batch();
  store.rollback_batch();
  { store.replace(std::move(replacement), keep_schedule) } -> std::same_as<JobRecord*>;
  { store.start_claimed(claims) } -> std::same_as<std::vector<ClaimVerdict>>;
};

}  // namespace apsched

namespace apsched::detail {
template <>
inline constexpr bool named_enum<FireState> = true;
template <>
inline constexpr bool named_enum<ClaimVerdict> = true;
}  // namespace apsched::detail
