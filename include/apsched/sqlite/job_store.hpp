// SPDX-License-Identifier: MIT
// SqliteJobStore: a durable job store in an SQLite file, which schedulers in several processes
// may share.
#pragma once

#include <apsched/clock.hpp>
#include <apsched/config.hpp>
#include <apsched/detail/durable/core_ptr.hpp>
#include <apsched/detail/durable/record_visitor.hpp>
#include <apsched/detail/sqlite/policies.hpp>
#include <apsched/durable_job_store.hpp>
#include <apsched/json/task_registry.hpp>

#include <nlohmann/json_fwd.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace apsched {

namespace detail::sqlite {
class StoreCore;
}  // namespace detail::sqlite

class TriggerCodecs;

/// How often SQLite waits for the disk; see SqliteStoreOptions::synchronous.
using SqliteSynchronous = detail::sqlite::Synchronous;
/// How an operation on a database locked by another process is retried (see the type's doc).
using SqliteBusyPolicy = detail::sqlite::BusyPolicy;

/// How a SqliteJobStore opens its file and keeps its jobs.
///
/// Thread safety: not thread-safe (a plain value).
struct SqliteStoreOptions {
  /// How often the scheduler looks for due jobs that other processes added or changed.
  Duration poll_interval = std::chrono::seconds{1};
  /// The most finished fires (not claimed or submitted) kept per job in the fire history. The
  /// history is shared by every scheduler on the file: none trims it below the largest value
  /// of the schedulers registered on the file (their lease rows), so a process with a small
  /// value never cuts the history another keeps.
  std::size_t history_per_job = 100;
  /// `normal`: a power loss may lose the last commits but never corrupts the file (WAL);
  /// `full`: every commit is on disk when it returns.
  SqliteSynchronous synchronous = SqliteSynchronous::normal;
  /// How long and how often an operation on a locked database is retried.
  SqliteBusyPolicy busy{};
  /// The trigger codecs to store and rebuild triggers with; null: TriggerCodecs::builtin().
  /// Must outlive the store. (This header declares TriggerCodecs only: include
  /// <apsched/json/trigger_codec.hpp> to make one.)
  const TriggerCodecs* codecs = nullptr;
  /// The most job records kept in memory: beyond it, records of jobs that are neither running
  /// nor have queued runs are dropped (and loaded again when needed).
  std::size_t cache_size = 10'000;
  /// How long a scheduler's claim on the fires it runs lasts without renewal. The store renews
  /// it at every poll (the scheduler's loop); once it has lapsed, another scheduler on the file
  /// takes over the fires it left claimed or submitted (see take_abandoned). A scheduler on the
  /// same host whose process is gone is taken over at once, without waiting for its lease. Must
  /// exceed poll_interval, and outlast any stall of the scheduler's loop (a blocking scheduler
  /// running a long job inline does not poll).
  Duration lease_duration = std::chrono::seconds{30};
  /// SQLite's page cache of the store's connection, in KiB (PRAGMA cache_size): a large batch
  /// or round whose pages fit is written once, at commit.
  std::size_t page_cache_kib = 16 * 1024;
};

/// A DurableJobStore in an SQLite file: jobs survive restarts, and schedulers in several
/// processes may share one file, each running every due fire at most once between them (each
/// fire is recorded, keyed by job and scheduled time, in the transaction that advances the job).
/// Jobs name a task of the scheduler's TaskRegistry and keep their arguments as JSON; triggers
/// are stored through TriggerCodecs.
///
/// The store reads due jobs through an index and keeps in memory only the records it handed out
/// (at most SqliteStoreOptions::cache_size idle ones), so it copes with millions of stored jobs.
/// A stored job it cannot use (its task is not registered, its arguments, trigger or options do
/// not decode) is set aside, reported once (take_reports) and never changed or deleted; it is
/// tried again when its task is registered or the store is opened again.
///
/// @code
/// apsched::BackgroundScheduler<apsched::SqliteJobStore> scheduler{
///     apsched::SqliteJobStore{"jobs.db"}};
/// scheduler.register_task("report", [](std::string to) { send_report(to); });
/// scheduler.add_job(apsched::task("report"), apsched::CronTrigger::from_crontab("0 9 * * *"),
///                   {.id = "daily-report", .on_conflict = apsched::ConflictPolicy::keep},
///                   "ops@example.com");
/// @endcode
///
/// Thread safety: not thread-safe (the scheduler serialises every call; see JobStore). Two
/// store objects on one file, in one process or several, are safe: SQLite locks the file.
class SqliteJobStore {
 public:
  /// This store keeps jobs beyond the process (see DurableJobStore).
  static constexpr bool durable = true;
  /// The registry the store rebuilds job bodies from.
  using Tasks = TaskRegistry;

  /// Opens the database `file`, creating it (and its tables) when it does not exist.
  /// @throws StoreError naming the store, the path, "open",
  /// SQLite's message and what the file system tells of the cause when the file cannot be
  /// opened, written or is not an SQLite database:
  /// `SqliteJobStore "/srv/jobs.db": open: file is not a database (SQL: SELECT ...)`,
  /// `SqliteJobStore "/srv/x/jobs.db": open: unable to open database file; directory "/srv/x"
  /// does not exist`
  /// @throws SchemaVersionError when the file was written by a newer apsched:
  /// `SqliteJobStore "jobs.db": open: the file has schema version 5 of apsched_jobs, this
  /// apsched supports up to version 4`
  APSCHED_INLINE explicit SqliteJobStore(const std::filesystem::path& file,
                                         SqliteStoreOptions options = {});

  APSCHED_INLINE SqliteJobStore(SqliteJobStore&& other) noexcept;
  /// Releases this store's lease (see ~SqliteJobStore) and takes `other`'s.
  APSCHED_INLINE SqliteJobStore& operator=(SqliteJobStore&& other) noexcept;
  SqliteJobStore(const SqliteJobStore&) = delete;
  SqliteJobStore& operator=(const SqliteJobStore&) = delete;
  /// Closes the file. The store's lease is given up: its row goes when it left no fire
  /// recorded as claimed or submitted, else it lapses at once, so that the next scheduler to
  /// poll takes those fires over. Errors are ignored (the lease then lapses in time).
  APSCHED_INLINE ~SqliteJobStore();

  /// See JobStore. Stores the job, which must name a task (JobExtras::task), and deletes fire
  /// history left by an earlier job with the same id, in one transaction (inside an open batch
  /// or round: as part of it). The record stays in memory while fewer than
  /// SqliteStoreOptions::cache_size are; else it is loaded again when it is due.
  /// @throws InvalidArgumentError for a record without a task (a closure job cannot be stored)
  /// @throws SerializationError if its trigger has no codec
  /// @throws StoreError if the database fails
  APSCHED_INLINE JobRecord* insert(JobRecord&& record);

  /// See DurableJobStore (requirement 9). In one statement (inside an open batch or round: as
  /// part of it), stores the definition of `record` (task, arguments, trigger, options) under
  /// its id, adding the job if none has it. The stored job's counters and fire history stay;
  /// its next fire and run time and paused flag stay too when `keep_schedule` and the stored
  /// trigger text equals the new one (`paused` is then set if `record` is paused). Returns the
  /// record then held, reloaded, as find does.
  /// @throws InvalidArgumentError for a record without a task
  /// @throws SerializationError if its trigger has no codec
  /// @throws StoreError if the database fails
  APSCHED_INLINE JobRecord* replace(JobRecord&& record, bool keep_schedule);

  /// See JobStore. Returns the stored job, loading it when it is not in memory or another
  /// process changed it since; nullptr for a job that is not stored or cannot be used.
  /// @throws StoreError if the database fails
  [[nodiscard]] APSCHED_INLINE JobRecord* find(std::string_view id);

  /// See JobStore. Deletes the job, its fire history and the job kept under its id for a rerun
  /// (see commit_due), in one transaction.
  /// @throws StoreError if the database fails
  APSCHED_INLINE bool erase(std::string_view id);

  /// See JobStore. Deletes every job, usable, retired (see commit_due) or not, and the fire
  /// history, in one transaction.
  /// @throws StoreError if the database fails
  APSCHED_INLINE void clear();

  /// See JobStore. Writes the job's next fire and run time, paused flag, trigger and options
  /// (not its counters), so other processes reload it.
  /// @throws SerializationError if the trigger has no codec
  /// @throws StoreError if the database fails; the record is then reloaded before it is handed
  /// out again
  APSCHED_INLINE void update(JobRecord& stored);

  /// See JobStore. One indexed query; jobs set aside as unusable are left out.
  /// @throws StoreError if the database fails
  [[nodiscard]] APSCHED_INLINE std::optional<TimePoint> next_run_time() const;

  /// See JobStore. One indexed query per call (more when it meets jobs it cannot use, which it
  /// sets aside and reports).
  /// @throws StoreError if the database fails
  [[nodiscard]] APSCHED_INLINE JobRecord* first_due(TimePoint now);

  /// See JobStore: the number of stored jobs, usable or not.
  /// @throws StoreError if the database fails
  [[nodiscard]] APSCHED_INLINE std::size_t size() const;

  /// See JobStore. Visits every usable stored job (reading them all: for listings, not for
  /// finding due jobs); jobs it cannot use are set aside and reported instead.
  /// @throws StoreError if the database fails; whatever `visit` throws
  template <class F>
  void for_each(F&& visit) const {
    visit_jobs(detail::durable::RecordVisitor{visit});
  }

  /// See DurableJobStore: atomically (a transaction of its own, or as part of the open round or
  /// batch), advances (or with `remove`, deletes) the stored job provided it is still the
  /// version handed out, and records `fires`; a job removed with queued runs, a fire claimed,
  /// or a fire submitted whose Abandoned policy is rerun is kept out of listings (table
  /// retired_jobs) until no fire of it is in flight, for take_abandoned; when some of them are
  /// finished, trims the job's
  /// fire history to SqliteStoreOptions::history_per_job finished fires.
  /// @returns false, having recorded nothing, when another process changed or processed the job
  /// (the record is reloaded before it is handed out again), or when one of `fires` is recorded
  /// already (inside a round or batch, that marks it failed: its commit rolls it back)
  /// @throws InvalidArgumentError if `job` was not handed out by this store
  /// @throws SerializationError if a time is out of range; nothing is written then
  /// @throws StoreError if the database fails; nothing is recorded then either (inside a round
  /// or batch, its commit rolls it back)
  APSCHED_INLINE bool commit_due(JobRecord& job, std::span<const FireDecision> fires, bool remove);

  /// See DurableJobStore, requirement 10: in one transaction (of its own, or of the open batch),
  /// records each claim's fire submitted if it is still recorded claimed by this store and
  /// fewer than the claim's max_instances fires of its job are recorded submitted, by any
  /// process on the file.
  /// @returns one verdict per claim, in order
  /// @throws SerializationError if a time is out of range; StoreError if the database fails
  /// (nothing is recorded then)
  APSCHED_INLINE std::vector<ClaimVerdict> start_claimed(std::span<const ClaimedFire> claims);

  /// See DurableJobStore: records how a fire recorded as submitted ended (`succeeded`, `failed`
  /// with `error`, `dropped`) and, with `record`, adds the run to the job's stored counters (in
  /// SQL, so runs recorded by other processes add up). The job's version is kept: other
  /// processes' copies stay valid. The history of a job no longer stored is kept
  /// (until a job with its id is added).
  /// @throws StoreError if the database fails
  APSCHED_INLINE void record_outcome(std::string_view id, const JobRecord* record,
                                     TimePoint scheduled, FireState fire_state,
                                     std::string_view error);

  /// As record_outcome, but kept in memory until the scheduler's next step writes it, with the
  /// other outcomes and fires of that step, in one transaction (see end_round and
  /// flush_outcomes): one commit for many runs instead of one each. An outcome not yet written
  /// when the process dies leaves its fire recorded as submitted; the next scheduler on the file
  /// treats it as abandoned (see take_abandoned). Reads through this store (fire_history,
  /// export_jobs) write the pending outcomes first.
  /// @returns whether it is the only pending outcome (the scheduler then wakes its loop)
  /// @throws std::bad_alloc; SerializationError if `scheduled` is out of range
  APSCHED_INLINE bool defer_outcome(std::string_view id, const JobRecord* record,
                                    TimePoint scheduled, FireState fire_state,
                                    std::string_view error);

  /// Writes the outcomes defer_outcome holds, in one transaction (inside an open batch or round:
  /// as part of it).
  /// @throws StoreError if the database fails; the outcomes are kept, to be written later
  APSCHED_INLINE void flush_outcomes() const;

  /// Opens a round: until end_round or abort_round, commit_due and every other write of the
  /// store go into one transaction, opened at the first write (so a round that writes nothing
  /// takes no lock). Each write is atomic on its own (a savepoint; commit_due and insert, the
  /// frequent ones, check their values first instead, and one that the database fails partway
  /// makes the round fail at its end, rolled back whole). The scheduler brackets each
  /// pass over the store's due jobs with a round, and runs the fires only after end_round.
  /// @pre no batch or round is open
  APSCHED_INLINE void begin_round() noexcept;

  /// Writes the pending outcomes into the round and commits it.
  /// @throws StoreError if a write or COMMIT fails: the round is rolled back as by abort_round
  APSCHED_INLINE void end_round();

  /// Rolls the round back: nothing of it stays, and the records it changed are reloaded before
  /// they are handed out again. Pending outcomes are kept.
  APSCHED_INLINE void abort_round() noexcept;

  /// See DurableJobStore: the reports about stored jobs set aside since the last call.
  [[nodiscard]] APSCHED_INLINE std::vector<StoreReport> take_reports() noexcept;

  /// See DurableJobStore: the jobs set aside for naming `task`, unknown then, are tried again.
  /// @throws StoreError if the database fails
  APSCHED_INLINE void task_registered(std::string_view task);

  /// See DurableJobStore: the fires that schedulers which stopped without finishing them had
  /// recorded as claimed or submitted, taken over by this store since the last call. At most
  /// once per poll interval, the store renews its own lease and looks for other owners whose
  /// lease has lapsed, or whose process on this host is gone; in one transaction per such owner
  /// it deletes the owner and, per fire: a claimed one (it never started) it takes over as its
  /// own with the same attempt (`started` false), or records `dropped` when its job is gone; a
  /// submitted one it records as `abandoned` or (Abandoned::rerun, the job still stored, or
  /// kept as retired: see commit_due) takes over as its own with the next attempt number. Two
  /// stores never take the same fire: the owner's row is deleted in the transaction that takes its
  /// fires.
  /// @throws StoreError if the database fails; nothing is taken over then
  [[nodiscard]] APSCHED_INLINE std::vector<AbandonedFire> take_abandoned();

  /// See DurableJobStore: SqliteStoreOptions::poll_interval.
  [[nodiscard]] APSCHED_INLINE Duration poll_interval() const noexcept;

  /// See DurableJobStore: the registry job bodies are built from, and the store's index in its
  /// scheduler. Until it is called, every stored job names an unknown task.
  /// @throws StoreError if the database fails
  APSCHED_INLINE void attach(std::shared_ptr<const TaskRegistry> tasks, std::uint8_t index);

  /// See DurableJobStore: opens a batch, one transaction holding every write until
  /// commit_batch or rollback_batch. Each write stays atomic on its own, as for begin_round: a
  /// write refused before it starts (a bad argument, a conflicting id) leaves the batch as it
  /// was; one that the database fails partway makes commit_batch roll the batch back and throw.
  /// @pre no batch is open
  /// @throws StoreError if the write lock cannot be taken (BusyPolicy)
  APSCHED_INLINE void begin_batch();

  /// See DurableJobStore: makes the writes of the batch durable at once.
  /// @pre a batch is open
  /// @throws StoreError if COMMIT fails; the batch is then rolled back, as by rollback_batch
  APSCHED_INLINE void commit_batch();

  /// See DurableJobStore: undoes the writes of the batch. Records in memory are reloaded
  /// before they are handed out again (idle ones are dropped).
  APSCHED_INLINE void rollback_batch() noexcept;

  /// The recorded fires of job `job_id`, newest (latest scheduled) first, at most `limit`.
  /// @throws StoreError if the database fails, or a row holds a state this apsched does not know
  [[nodiscard]] APSCHED_INLINE std::vector<FireRecord> fire_history(std::string_view job_id,
                                                                    std::size_t limit = 100) const;

  /// Every stored job, usable or not, exactly as stored, ordered by id: `{"format":
  /// "apsched-sqlite-jobs", "version": 1, "jobs": [{"id", "task", "arguments", "trigger", "options"
  /// (the JSON texts of those columns, as strings), "next_fire", "next_run", "last_run"
  /// (integer nanoseconds since the epoch; last_run may be null), "paused", "run_count",
  /// "failure_count", "last_outcome" (string or null), "version"}]}`. Fire history is not
  /// exported.
  /// @throws StoreError if the database fails
  [[nodiscard]] APSCHED_INLINE nlohmann::json export_jobs() const;

  /// Stores the jobs of `document` (as export_jobs of a SqliteJobStore writes it) in one
  /// transaction, each with its state as exported. Their JSON columns are not decoded here: a job
  /// this store cannot use is set aside when it is met, as any stored job. Jobs in memory with an
  /// imported id are reloaded before they are handed out again.
  /// @param replace_existing overwrite a stored job with the same id instead of failing
  /// @throws SerializationError if `document` is not such a document, naming the member, its
  /// value and what was expected; nothing is imported then
  /// @throws ConflictingIdError if a job with an imported id is stored and not
  /// `replace_existing`; nothing is imported then
  /// @throws StoreError if the database fails
  APSCHED_INLINE void import_jobs(const nlohmann::json& document, bool replace_existing = false);

  /// The record of job `id` the store holds in memory, without reading the database (which may
  /// be unreachable), or nullptr. A job with a run outstanding or queued is always held, so the
  /// scheduler finds it here when a run ends.
  [[nodiscard]] APSCHED_INLINE JobRecord* find_cached(std::string_view id) const;

  /// The job records the store holds in memory now (see SqliteStoreOptions::cache_size).
  [[nodiscard]] APSCHED_INLINE std::size_t cached_count() const noexcept;

  /// The path of the database file, as UTF-8.
  [[nodiscard]] APSCHED_INLINE const std::string& path() const noexcept;

  /// Who this store object is in the fires it records and in the file's table of owners
  /// (FireRecord::owner, StoreOwner::owner).
  [[nodiscard]] APSCHED_INLINE FireOwner owner() const;

 private:
  // for_each's work, compiled once for every visitor.
  APSCHED_INLINE void visit_jobs(detail::durable::RecordVisitor visit) const;

  detail::durable::CorePtr<detail::sqlite::StoreCore> core_;
};

static_assert(DurableJobStore<SqliteJobStore>);
static_assert(AbandonedFireSource<SqliteJobStore>);
static_assert(RoundStore<SqliteJobStore>);
static_assert(DeferredOutcomeStore<SqliteJobStore>);
static_assert(CachedRecordStore<SqliteJobStore>);
static_assert(FireHistoryStore<SqliteJobStore>);

}  // namespace apsched

#if !APSCHED_SEPARATE_COMPILATION
#include <apsched/impl/sqlite/job_store.hpp>
#endif
