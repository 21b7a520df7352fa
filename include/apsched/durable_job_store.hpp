// SPDX-License-Identifier: MIT
// The durable protocol: the DurableJobStore concept, one named concept for each optional part of
// it, and the values they pass (fires, their states and owners, reports).
#pragma once

#include <apsched/clock.hpp>
#include <apsched/config.hpp>
#include <apsched/detail/enum_format.hpp>
#include <apsched/job_store.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace apsched {

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
  [[nodiscard]] static FireOwner parse(std::string_view text);

  /// The stored text: "host:pid:token", or `token` alone when `pid` is negative;
  /// `parse(text).text() == text` for every text.
  [[nodiscard]] std::string text() const;

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
/// What a durable store may offer beyond this, the scheduler uses through the concepts below
/// (AbandonedFireSource, RoundStore, DeferredOutcomeStore, WakingStore, DatabaseClockStore,
/// CachedRecordStore, FireHistoryStore); a store states the ones it models with a
/// `static_assert` beside its class, so a misspelt member fails to compile there.
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

/// The registry of tasks a DurableJobStore's jobs name (`S::Tasks`; TaskRegistry in
/// json/task_registry.hpp), through which the scheduler registers functions and makes the calls
/// and bodies of task jobs.
///
/// Requirements, for an `R r`, a `const R cr`, a `std::string name`, a `std::string_view call`,
/// a `TaskCall stored` and a `void (*function)()`:
/// 1. `R` is default-constructible: the scheduler makes one and hands it to each durable store
///    (DurableJobStore requirement 7).
/// 2. `r.add(name, function)` registers `function` (any callable the registry accepts) as the
///    task `name`.
/// 3. `cr.prepare(call, stored)` returns the call `stored` of a registered task, its arguments
///    checked against the task's parameters and made into the job's body (decoded once), as a
///    value the scheduler takes apart; it throws UnknownTaskError or SerializationError
///    naming `call`.
///
/// Every member is called from any thread, concurrently: a registry is thread-safe.
template <class R>
concept DurableTasks = std::default_initializable<R> &&
    requires(R& tasks, const R& const_tasks, std::string name, std::string_view call,
             TaskCall stored, void (*function)()) {
  tasks.add(std::move(name), function);
  const_tasks.prepare(call, std::move(stored));
};

/// A DurableJobStore that takes over the fires of schedulers that died or stopped.
///
/// Requirements, for an `S s`:
/// 1. `s.take_abandoned()` returns and forgets the AbandonedFires the store found since the last
///    call: fires recorded submitted or claimed by a scheduler whose lease lapsed or that gave
///    it up. The store has already recorded each as abandoned or taken it over to run here.
/// 2. The scheduler emits job_abandoned for each started one and runs the ones marked `rerun`,
///    finding the record of one marked `last_fire` through CachedRecordStore's `find_cached`
///    (the job is no longer listed; a store with last fires to hand over models both) and any
///    other through `s.find`.
///
/// Called on the scheduler's loop thread under its lock, at the start of each pass over the
/// store's due jobs. May throw (a store_error event; the pass is skipped).
template <class S>
concept AbandonedFireSource = DurableJobStore<S> && requires(S& store) {
  { store.take_abandoned() } -> std::same_as<std::vector<AbandonedFire>>;
};

/// A DurableJobStore that makes one transaction of each pass over its due jobs (a round), for
/// fewer commits.
///
/// Requirements, for an `S s`:
/// 1. `s.begin_round()` opens the round: until it ends, commit_due and start_claimed write into
///    one transaction, and the store holds what they recorded back from other schedulers.
/// 2. `s.end_round()` commits the round's writes before any of its fires runs; when it throws,
///    it has rolled them back, and the scheduler undoes the round in memory (its runs never
///    start).
/// 3. `s.abort_round()` rolls the round back (the scheduler undoes it in memory); it does not
///    throw.
///
/// Called on the scheduler's loop thread under its lock; one round at a time, never inside a
/// batch (DurableJobStore requirement 8).
template <class S>
concept RoundStore = DurableJobStore<S> && requires(S& store) {
  store.begin_round();
  store.end_round();
  store.abort_round();
};

/// A DurableJobStore that writes the outcomes of ended runs together, at the end of the
/// scheduler's next step, instead of one write per run.
///
/// Requirements, for an `S s` and record_outcome's parameters (DurableJobStore requirement 3):
/// 1. `s.defer_outcome(id, record, scheduled, state, error)` keeps the outcome to write, with
///    the job's counters from `record` as they are now; returns whether it is the only outcome
///    pending (the scheduler then wakes its loop to write it).
/// 2. `s.flush_outcomes()` writes every pending outcome (a round writes them too); when it
///    throws, the outcomes stay pending for the next call.
///
/// defer_outcome is called on the thread whose run ended and flush_outcomes on the loop thread,
/// both under the scheduler's lock. A job with Abandoned::rerun has its outcome written at once
/// (record_outcome), so that a run that returned is run again only if its process dies during
/// that write.
template <class S>
concept DeferredOutcomeStore = DurableJobStore<S> &&
    requires(S& store, std::string_view id, const JobRecord* record, TimePoint scheduled,
             FireState state, std::string_view error) {
  { store.defer_outcome(id, record, scheduled, state, error) } -> std::same_as<bool>;
  store.flush_outcomes();
};

/// A JobStore that learns of other schedulers' changes (PostgreSQL's notifications) and wakes
/// the scheduler's loop for them.
///
/// Requirements, for an `S s` and a `std::function<void()> wake`:
/// 1. `s.set_waker(wake)` keeps `wake`, which the store may call from any thread of its own
///    when a change may have made a job due sooner.
/// 2. The scheduler sets it at construction and empties it (`s.set_waker(nullptr)`), with no
///    lock held, at destruction; the store must not call the old function once set_waker
///    returns, waiting for a call in progress.
template <class S>
concept WakingStore = JobStore<S> && requires(S& store, std::function<void()> wake) {
  store.set_waker(std::move(wake));
};

/// A JobStore whose database has a clock of its own that the scheduler follows.
///
/// Requirements, for an `S s`, a `const S cs` and a `std::function<TimePoint()> now`:
/// 1. `s.set_clock(now)` gives the store a function reading the scheduler's clock; given at
///    construction, only for a clock that follows_real_time.
/// 2. `cs.clock_offset()` returns how far the database's clock is ahead of the scheduler's (a
///    Duration, readable from any thread, never throwing); the scheduler adds the offset of its
///    first such store to its clock (BasicScheduler::now).
template <class S>
concept DatabaseClockStore = JobStore<S> &&
    requires(S& store, const S& const_store, std::function<TimePoint()> now) {
  store.set_clock(std::move(now));
  { const_store.clock_offset() }
  noexcept->std::convertible_to<Duration>;
};

/// A JobStore that can hand out the records it holds in memory without reading its storage.
///
/// Requirements, for a `const S cs` and a `std::string_view id`:
/// 1. `cs.find_cached(id)` returns the record with that id the store holds in memory, or
///    nullptr; it never reads the storage (which may be unreachable when a run ends).
/// 2. A record with a run outstanding or queued is always held.
///
/// Called under the scheduler's lock when a run ends and when the scheduler drains queued runs.
template <class S>
concept CachedRecordStore = JobStore<S> && requires(const S& const_store, std::string_view id) {
  { const_store.find_cached(id) } -> std::same_as<JobRecord*>;
};

/// A JobStore that keeps the history of its jobs' fires (BasicScheduler::get_fire_history).
///
/// Requirements, for a `const S cs`, a `std::string_view id` and a `std::size_t limit`:
/// 1. `cs.fire_history(id, limit)` returns the newest `limit` recorded fires of the job `id`,
///    newest first, also after the job was removed, until a job with that id is added.
/// 2. It may throw a StoreError naming the store and the operation.
///
/// Called under the scheduler's lock from the thread that asks.
template <class S>
concept FireHistoryStore = JobStore<S> &&
    requires(const S& const_store, std::string_view id, std::size_t limit) {
  { const_store.fire_history(id, limit) } -> std::same_as<std::vector<FireRecord>>;
};

}  // namespace apsched

namespace apsched::detail {
template <>
inline constexpr bool named_enum<FireState> = true;
template <>
inline constexpr bool named_enum<ClaimVerdict> = true;
}  // namespace apsched::detail

#if !APSCHED_SEPARATE_COMPILATION
#include <apsched/impl/durable_job_store.hpp>
#endif
