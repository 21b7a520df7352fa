// SPDX-License-Identifier: MIT
// PostgresJobStore: durable jobs in a PostgreSQL database shared by schedulers in several
// processes and on several machines; due jobs are claimed with row locks that skip locked rows.
#pragma once

#include <apsched/clock.hpp>
#include <apsched/config.hpp>
#include <apsched/detail/durable/core_ptr.hpp>
#include <apsched/detail/durable/record_visitor.hpp>
#include <apsched/durable_job_store.hpp>
#include <apsched/json/task_registry.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace apsched {

namespace detail::postgres {
class StoreCore;
}  // namespace detail::postgres

class TriggerCodecs;

/// Settings of a PostgresJobStore.
///
/// Thread safety: not thread-safe (a plain value).
struct PostgresStoreOptions {
  /// How often the scheduler looks for due jobs when none is due sooner: other schedulers may
  /// have added some.
  Duration poll_interval = std::chrono::seconds{1};
  /// The most job records kept in memory while idle; others are loaded when they are due.
  std::size_t cache_size = 10'000;
  /// How many finished fires (not claimed or submitted) per job the fire history keeps, the
  /// newest. The history is shared by every scheduler on the database, so none trims it below
  /// the largest value in use: a trim keeps as many as the largest of this value and those of
  /// the stores holding a lease (rows of apsched_owners; a dead store's until another takes its
  /// fires over), and a scheduler with a small value never cuts the history another keeps.
  /// A store trims a job's history at every tenth of this value of the job's fires it ends (at
  /// every one for a value under 20), so a history may hold up to that many more per scheduler.
  std::size_t history_per_job = 100;
  /// The trigger codecs for the stored triggers; null: TriggerCodecs::builtin(). (This header
  /// declares TriggerCodecs only: include <apsched/json/trigger_codec.hpp> to make one.)
  const TriggerCodecs* codecs = nullptr;
  /// How long the store's lease lasts after each renewal (at most once per poll interval, by
  /// the database clock). When a scheduler stops renewing it (its process or machine died, or
  /// it lost the database), another takes over the fires it left in flight (claimed or
  /// submitted) once the lease has lapsed (see take_abandoned). A scheduler on the same host
  /// whose process is gone is taken over at once. Must exceed poll_interval, and outlast any
  /// stall of the scheduler's loop (a blocking scheduler running a long job inline does not
  /// poll).
  Duration lease_duration = std::chrono::seconds{30};
  /// Whether a store that a scheduler runs listens (LISTEN/NOTIFY, on a connection and thread
  /// of its own) for jobs other schedulers add, change or release, and wakes its scheduler at
  /// once. Without, or while that connection is lost, they are noticed within poll_interval.
  bool listen = true;
  /// Whether the scheduler's time follows the database server's clock: the store measures the
  /// offset between the scheduler's clock and the server's at each lease renewal (from the
  /// round trip's midpoint; a round trip over 50 ms is not used once an offset is known), and
  /// the scheduler adds it to its clock (BasicScheduler::now), so that a node whose clock is
  /// off decides due times like the others. Only a clock that follows_real_time is corrected.
  bool database_clock = true;
};

/// A DurableJobStore in a PostgreSQL database (tables apsched_jobs, apsched_fires,
/// apsched_owners and apsched_schema in the connection's search_path, created on first use and
/// migrated forward).
/// Schedulers in any number of processes and machines may share the database: each fire is a
/// row keyed by (job id, scheduled time), inserted in the transaction that advances the job, so
/// no fire is recorded twice; a pass over the due jobs (a round) locks the jobs it claims with
/// `FOR UPDATE SKIP LOCKED`, so schedulers passing at once take different jobs rather than
/// waiting for each other.
///
/// Jobs name a task of the scheduler's TaskRegistry and keep their arguments as JSON; triggers
/// are stored through TriggerCodecs, in the same form as SqliteJobStore stores them. A lost
/// connection makes the call that met it throw StoreError (the scheduler reports it and goes
/// on); the next call reconnects. After a failed attempt, calls fail at once until a back-off
/// has passed, which doubles from 100 ms up to 5 s and starts over after a success.
///
/// Each store object holds a lease (table apsched_owners), renewed by the database clock; when
/// a scheduler dies, another takes over the fires it left in flight once its lease lapses: the
/// claimed ones (never started) to run them, the submitted ones per each job's Abandoned policy
/// (see take_abandoned).
///
/// Wake-ups: adding or changing a job, and giving up a lease with fires left in flight, notify
/// the other schedulers of the database (channel "apsched:" followed by the schema's name), whose
/// stores listen when PostgresStoreOptions::listen is set; they still poll every poll_interval,
/// since notifications sent while a listener is disconnected are lost.
///
/// max_instances holds across schedulers: when a job is handed out as due, the store counts its
/// fires other schedulers recorded as submitted (started) and have not finished
/// (JobRecord::running_elsewhere; not the ones they only claimed), and the scheduler adds them
/// to its own runs. The round's row lock on the job keeps two schedulers from deciding its fires
/// at once, and start_claimed takes the same lock before it starts a claimed fire.
///
/// Time: leases are compared by the database clock in SQL; due times by the scheduler's time,
/// which follows the database clock (PostgresStoreOptions::database_clock).
///
/// @code
/// apsched::BackgroundScheduler<apsched::PostgresJobStore> scheduler{
///     apsched::PostgresJobStore{"host=db.internal dbname=app user=scheduler"}};
/// @endcode
///
/// Thread safety: not thread-safe; the scheduler serializes every call.
class PostgresJobStore {
 public:
  static constexpr bool durable = true;
  using Tasks = TaskRegistry;

  /// Connects with `conninfo` (a libpq connection string or URI) and brings the schema up to
  /// date.
  /// @throws StoreError if the server cannot be reached, naming
  /// the store, the database, user and server (never the password), "open" and libpq's message:
  /// `PostgresJobStore database "jobs" (user "app", server db:5432): open: connection to server
  /// at "db" (10.0.0.5), port 5432 failed: FATAL: database "jobs" does not exist`
  /// @throws SchemaVersionError if the database holds a newer apsched schema
  APSCHED_INLINE explicit PostgresJobStore(std::string conninfo, PostgresStoreOptions options = {});

  APSCHED_INLINE PostgresJobStore(PostgresJobStore&& other) noexcept;
  /// Releases this store's lease (see ~PostgresJobStore) and takes `other`'s.
  APSCHED_INLINE PostgresJobStore& operator=(PostgresJobStore&& other) noexcept;
  PostgresJobStore(const PostgresJobStore&) = delete;
  PostgresJobStore& operator=(const PostgresJobStore&) = delete;
  /// Writes the outcomes still pending (reconnecting once if the connection was lost) and
  /// closes the connection. The store's lease is given up: its row goes when it left no fire in
  /// flight (recorded claimed or submitted), else it lapses at once and the other schedulers
  /// are notified, so that they take those fires over. Errors are ignored (the lease then
  /// lapses in time).
  APSCHED_INLINE ~PostgresJobStore();

  /// The schema name recorded in apsched_schema.
  static constexpr std::string_view schema_name = "apsched_jobs";

  /// See JobStore. Stores the job, which must name a task, deletes fire history left by an
  /// earlier job with its id and notifies the other schedulers, in one statement (inside an open
  /// batch: as part of it).
  /// @throws InvalidArgumentError for a record without a task (a closure job cannot be stored)
  /// @throws SerializationError if its trigger has no codec
  /// @throws StoreError if the database fails
  APSCHED_INLINE JobRecord* insert(JobRecord&& record);

  /// See DurableJobStore (requirement 9). In one statement (inside an open batch: as part of
  /// it), stores the definition of `record` (task, arguments, trigger, options) under its id,
  /// adding the job if none has it, and notifies the other schedulers. The stored job's
  /// counters and fire history stay; its next fire and run time and paused flag stay too when
  /// `keep_schedule` and the stored trigger text equals the new one (`paused` is then set if
  /// `record` is paused). Returns the record then held, reloaded, as find does.
  /// @throws InvalidArgumentError for a record without a task
  /// @throws SerializationError if its trigger has no codec
  /// @throws StoreError if the database fails
  APSCHED_INLINE JobRecord* replace(JobRecord&& record, bool keep_schedule);

  /// See JobStore. Returns the stored job, loading it when it is not in memory or another
  /// scheduler changed it since; nullptr for a job that is not stored or cannot be used.
  /// @throws StoreError if the database fails
  [[nodiscard]] APSCHED_INLINE JobRecord* find(std::string_view id);

  /// See JobStore. Deletes the job, its fire history and the job kept under its id for a rerun
  /// (see commit_due), in one statement.
  /// @throws StoreError if the database fails
  APSCHED_INLINE bool erase(std::string_view id);

  /// See JobStore. Deletes every job, usable, retired (see commit_due) or not, and the fire
  /// history, in one statement.
  /// @throws StoreError if the database fails
  APSCHED_INLINE void clear();

  /// See JobStore. Writes the job's next fire and run time, paused flag, trigger and options
  /// (not its counters), so other schedulers reload it, and notifies them.
  /// @throws SerializationError if the trigger has no codec
  /// @throws StoreError if the database fails; the record is then reloaded before it is handed
  /// out again
  APSCHED_INLINE void update(JobRecord& stored);

  /// See JobStore. One indexed query; jobs set aside as unusable are left out. A job that was
  /// due when a round last found no job it could claim (another scheduler's round holds it) is
  /// reported due 2 ms after that time, not at once.
  /// @throws StoreError if the database fails
  [[nodiscard]] APSCHED_INLINE std::optional<TimePoint> next_run_time() const;

  /// See JobStore. One indexed query per call; inside a round, one per 64 due jobs: the round
  /// claims them at once, locking them until it ends, and skips jobs other schedulers' rounds
  /// hold (FOR UPDATE SKIP LOCKED). Jobs a round claimed and did not hand out go back with it.
  /// A round claims at most 256 jobs; then first_due returns nullptr, and the scheduler's next
  /// step goes on with the rest.
  /// @throws StoreError if the database fails
  [[nodiscard]] APSCHED_INLINE JobRecord* first_due(TimePoint now);

  /// See JobStore: the number of stored jobs, usable or not.
  /// @throws StoreError if the database fails
  [[nodiscard]] APSCHED_INLINE std::size_t size() const;

  /// See JobStore. Visits every usable stored job (reading them all: for listings, not for
  /// the scheduler's loop).
  /// @throws StoreError if the database fails
  template <class F>
  void for_each(F&& visit) const {
    visit_jobs(detail::durable::RecordVisitor{visit});
  }

  /// See DurableJobStore: atomically (a transaction of its own, or as part of the open round),
  /// advances (or with `remove`, deletes) the stored job provided it is still the version handed
  /// out, and records `fires` (claimed and submitted ones in flight, without finished_at); a job
  /// removed with a fire claimed, or with a fire submitted whose Abandoned policy is rerun, is
  /// kept out of listings (table apsched_retired_jobs) until that fire's outcome is written, for
  /// take_abandoned; when some of `fires` are finished, trims the job's fire history to
  /// PostgresStoreOptions::history_per_job finished fires (the largest in use). The commit of a
  /// job the open round claimed (its row is locked since, so its version holds) is kept and
  /// written with the round's other such commits in one statement, at the round's next query or
  /// its end; if that statement fails, or finds a job changed or a fire recorded already, the
  /// round fails.
  /// @returns false, having recorded nothing, when another scheduler changed or processed the
  /// job (the record is reloaded before it is handed out again), or when one of `fires` is
  /// recorded already (inside a round, that fails the round: its end rolls it back)
  /// @throws InvalidArgumentError if `job` was not handed out by this store
  /// @throws StoreError if the database fails; nothing is recorded then (inside a round, the
  /// round fails: PostgreSQL aborts its transaction)
  APSCHED_INLINE bool commit_due(JobRecord& job, std::span<const FireDecision> fires, bool remove);

  /// See DurableJobStore (requirement 10): writes the pending outcomes first (their runs ended,
  /// so they no longer count; not while a round is open), then in one statement, a transaction
  /// of its own (inside an open batch or round: as part of it), records each claim's fire
  /// submitted if it is still recorded claimed by this store and, counting the claims of its job
  /// before it in `claims`, fewer than the claim's max_instances fires of the job are recorded
  /// submitted by any scheduler. The statement locks the claims' jobs in id order first, as
  /// rounds do, so that no other scheduler decides or starts fires of those jobs meanwhile; if
  /// one of them committed a change of such a job while the statement waited, the statement
  /// starts nothing and runs again in a transaction that holds the locks from the start.
  /// @returns one verdict per claim, in order: `started`, `busy` (still claimed) or `lost` (not
  /// recorded claimed by this store: another store took it over, or its job was removed)
  /// @throws SerializationError if a scheduled time is out of range
  /// @throws StoreError if the database fails; no fire was started then (inside a batch or
  /// round, it fails: PostgreSQL aborts its transaction)
  APSCHED_INLINE std::vector<ClaimVerdict> start_claimed(std::span<const ClaimedFire> claims);

  /// See DurableJobStore: records how a fire recorded as claimed or submitted ended
  /// (`succeeded`, `failed` with `error`, `dropped`; `missed` for a claimed one that waited too
  /// long) and, with `record`, adds the run to the job's stored counters (in SQL, so runs
  /// recorded by other schedulers add up). The history of a job no longer stored is kept (until
  /// a job with its id is added).
  /// @throws StoreError if the database fails
  APSCHED_INLINE void record_outcome(std::string_view id, const JobRecord* record,
                                     TimePoint scheduled, FireState fire_state,
                                     std::string_view error);

  /// As record_outcome, but kept in memory until the scheduler's next step writes it with the
  /// other outcomes of that step in one transaction (see flush_outcomes).
  /// @returns whether it is the only pending outcome (the scheduler then wakes its loop)
  /// @throws std::bad_alloc; SerializationError if `scheduled` is out of range
  APSCHED_INLINE bool defer_outcome(std::string_view id, const JobRecord* record,
                                    TimePoint scheduled, FireState fire_state,
                                    std::string_view error);

  /// Writes the outcomes defer_outcome holds, in one transaction (inside an open batch: as part
  /// of it; while a round is open: not yet).
  /// @throws StoreError if the database fails; the outcomes are kept, to be written later
  APSCHED_INLINE void flush_outcomes() const;

  /// Opens a round: until end_round or abort_round, the store's reads and writes go into one
  /// transaction, begun at the first first_due, whose row locks keep the jobs it claims from
  /// other schedulers. A failing statement fails the whole round (PostgreSQL aborts the
  /// transaction): end_round then rolls it back and throws.
  /// @pre no batch or round is open
  APSCHED_INLINE void begin_round() noexcept;

  /// Commits the round. Pending outcomes are left for flush_outcomes: written inside the round,
  /// they would lock jobs other schedulers' rounds hold, and the rounds could deadlock.
  /// @throws StoreError if COMMIT fails, or a statement of the round failed: the round is rolled
  /// back as by abort_round
  APSCHED_INLINE void end_round();

  /// Rolls the round back: nothing of it stays, and the records it changed are reloaded before
  /// they are handed out again. Pending outcomes are kept.
  APSCHED_INLINE void abort_round() noexcept;

  /// See DurableJobStore: opens a batch, one transaction holding every write until
  /// commit_batch or rollback_batch. A statement that fails inside it fails the whole batch
  /// (PostgreSQL aborts the transaction); commit_batch then rolls back and throws.
  /// @pre no batch or round is open
  /// @throws StoreError if the database fails
  APSCHED_INLINE void begin_batch();

  /// See DurableJobStore: makes the writes of the batch durable at once.
  /// @throws StoreError if COMMIT fails or a write of the batch failed; the batch is then rolled
  /// back, as by rollback_batch
  APSCHED_INLINE void commit_batch();

  /// See DurableJobStore: undoes the writes of the batch. Records in memory are reloaded
  /// before they are handed out again (idle ones are dropped).
  APSCHED_INLINE void rollback_batch() noexcept;

  /// See DurableJobStore: the reports about stored jobs set aside since the last call.
  [[nodiscard]] APSCHED_INLINE std::vector<StoreReport> take_reports() noexcept;

  /// See DurableJobStore: the jobs set aside for naming `task`, unknown then, are tried again.
  APSCHED_INLINE void task_registered(std::string_view task);

  /// See DurableJobStore: the fires that schedulers which stopped without finishing them had
  /// left in flight (recorded claimed or submitted), taken over by this store since the last
  /// call. At most once per poll interval, the store renews its own lease and looks for other
  /// owners whose lease has lapsed by the database clock, or whose process on this host is gone;
  /// in one transaction per such owner it deletes the owner and, per fire:
  /// - a submitted one (it started) is recorded `abandoned`, or (Abandoned::rerun, the job still
  ///   stored, or kept as retired since this was its last fire: see commit_due) taken over as
  ///   this store's own with the next attempt number;
  /// - a claimed one (it never started) is taken over as this store's own, still claimed and
  ///   with its attempt number, whatever the job's Abandoned policy (`started` false, `rerun`
  ///   true); only when its job is gone (or its kept record cannot be used) is it recorded
  ///   `dropped` instead.
  /// Two stores never take the same fire: deleting the owner's row locks it, and the second
  /// store finds it gone.
  /// @throws StoreError if the database fails; nothing is taken over then
  [[nodiscard]] APSCHED_INLINE std::vector<AbandonedFire> take_abandoned();

  /// Optional hook of DurableJobStore: `wake` (callable from any thread) wakes the scheduler's
  /// loop. While it is set and PostgresStoreOptions::listen holds, a listener (a connection and
  /// thread of its own) calls it when another scheduler adds or changes a job or gives up its
  /// lease with fires left in flight, and after each (re)connection of the listener. An empty
  /// `wake` stops the listener, waiting for a call of `wake` in progress to return.
  /// Thread safety: not to be called while a call of the previous `wake` waits for a lock the
  /// caller holds (the scheduler calls it from its constructor and destructor only).
  /// @throws std::system_error if the listener's thread cannot be started
  APSCHED_INLINE void set_waker(std::function<void()> wake);

  /// Optional hook for the scheduler: `now` reads the scheduler's clock (from the scheduler's
  /// thread). With PostgresStoreOptions::database_clock, the store measures the database
  /// clock's offset from it now and at each lease renewal (see clock_offset).
  /// If the database fails now, the offset is measured at the next renewal.
  APSCHED_INLINE void set_clock(std::function<TimePoint()> now);

  /// The database server's time minus the scheduler's clock, as last measured (zero before,
  /// and without PostgresStoreOptions::database_clock).
  /// Thread safety: thread-safe (any thread may read it while the scheduler measures it).
  [[nodiscard]] APSCHED_INLINE Duration clock_offset() const noexcept;

  /// See DurableJobStore: PostgresStoreOptions::poll_interval.
  [[nodiscard]] APSCHED_INLINE Duration poll_interval() const noexcept;

  /// See DurableJobStore: the registry job bodies are built from, and the store's index in its
  /// scheduler.
  APSCHED_INLINE void attach(std::shared_ptr<const TaskRegistry> tasks, std::uint8_t index);

  /// The recorded fires of job `job_id`, newest first, at most `limit`; pending outcomes are
  /// written first.
  /// @throws StoreError if the database fails or holds a fire state this version does not know
  [[nodiscard]] APSCHED_INLINE std::vector<FireRecord> fire_history(std::string_view job_id,
                                                                    std::size_t limit = 100) const;

  /// Who this store object is in the fires it records and in apsched_owners
  /// (FireRecord::owner, StoreOwner::owner); `owner().text()` is the stored text.
  [[nodiscard]] APSCHED_INLINE FireOwner owner() const;

  /// The record of job `id` the store holds in memory, without reading the database (which may
  /// be unreachable), or nullptr. A job with a run outstanding or queued is always held, so the
  /// scheduler finds it here when a run ends.
  [[nodiscard]] APSCHED_INLINE JobRecord* find_cached(std::string_view id) const;

  /// The job records the store holds in memory now (see PostgresStoreOptions::cache_size).
  [[nodiscard]] APSCHED_INLINE std::size_t cached_count() const noexcept;

 private:
  // for_each's work, compiled once for every visitor.
  APSCHED_INLINE void visit_jobs(detail::durable::RecordVisitor visit) const;

  detail::durable::CorePtr<detail::postgres::StoreCore> core_;
};

static_assert(DurableJobStore<PostgresJobStore>);
static_assert(AbandonedFireSource<PostgresJobStore>);
static_assert(RoundStore<PostgresJobStore>);
static_assert(DeferredOutcomeStore<PostgresJobStore>);
static_assert(WakingStore<PostgresJobStore>);
static_assert(DatabaseClockStore<PostgresJobStore>);
static_assert(CachedRecordStore<PostgresJobStore>);
static_assert(FireHistoryStore<PostgresJobStore>);

}  // namespace apsched

#if !APSCHED_SEPARATE_COMPILATION
#include <apsched/impl/postgres/job_store.hpp>
#endif
