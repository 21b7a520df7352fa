// SPDX-License-Identifier: MIT
// SqliteJobStore: a durable job store in an SQLite file, which schedulers in several processes
// may share.
#pragma once

#include <apsched/clock.hpp>
#include <apsched/detail/durable/dialect.hpp>
#include <apsched/detail/durable/engine.hpp>
#include <apsched/detail/durable/host.hpp>
#include <apsched/detail/durable/outcome.hpp>
#include <apsched/detail/durable/record_cache.hpp>
#include <apsched/detail/json/write.hpp>
#include <apsched/detail/sqlite/database.hpp>
#include <apsched/detail/sqlite/error.hpp>
#include <apsched/detail/sqlite/migrate.hpp>
#include <apsched/detail/sqlite/set_aside.hpp>
#include <apsched/detail/sqlite/statement.hpp>
#include <apsched/detail/sqlite/store_schema.hpp>
#include <apsched/detail/sqlite/view_queries.hpp>
#include <apsched/durable_job_store.hpp>
#include <apsched/error.hpp>
#include <apsched/json/task_registry.hpp>
#include <apsched/json/trigger_codec.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace apsched {

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
  /// Must outlive the store.
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
  explicit SqliteJobStore(const std::filesystem::path& file, SqliteStoreOptions options = {})
      : state_{std::make_unique<State>(
            detail::sqlite::Database::open(file, database_options(options)), std::move(options))} {
    const auto operation = state_->db.operation("open");
    detail::sqlite::Database& db = state_->db;
    detail::sqlite::migrate(db, detail::sqlite::store_schema_name,
                            std::span{detail::sqlite::store_migrations});
    detail::sqlite::SetAsideJobs::create_table(db);
    db.exec(fmt::format("PRAGMA cache_size = -{}",
                        std::min<std::size_t>(state_->options.page_cache_kib, 1U << 30U)));
    if (state_->options.lease_duration <= Duration::zero() ||
        state_->options.lease_duration <= state_->options.poll_interval) {
      throw InvalidArgumentError{fmt::format(
          "SqliteJobStore: lease_duration is {} ns; expected more than poll_interval ({} ns)",
          state_->options.lease_duration.count(), state_->options.poll_interval.count())};
    }
    renew_lease(detail::sqlite::system_now());
  }

  SqliteJobStore(SqliteJobStore&&) noexcept = default;
  /// Releases this store's lease (see ~SqliteJobStore) and takes `other`'s.
  SqliteJobStore& operator=(SqliteJobStore&& other) noexcept {
    if (this != &other) {
      release_lease();
      state_ = std::move(other.state_);
    }
    return *this;
  }
  SqliteJobStore(const SqliteJobStore&) = delete;
  SqliteJobStore& operator=(const SqliteJobStore&) = delete;
  /// Closes the file. The store's lease is given up: its row goes when it left no fire
  /// recorded as claimed or submitted, else it lapses at once, so that the next scheduler to
  /// poll takes those fires over. Errors are ignored (the lease then lapses in time).
  ~SqliteJobStore() { release_lease(); }

  /// See JobStore. Stores the job, which must name a task (JobExtras::task), and deletes fire
  /// history left by an earlier job with the same id, in one transaction (inside an open batch
  /// or round: as part of it). The record stays in memory while fewer than
  /// SqliteStoreOptions::cache_size are; else it is loaded again when it is due.
  /// @throws InvalidArgumentError for a record without a task (a closure job cannot be stored)
  /// @throws SerializationError if its trigger has no codec
  /// @throws StoreError if the database fails
  JobRecord* insert(JobRecord&& record) {
    const auto operation = state().db.operation("add job");
    constexpr std::string_view call = "SqliteJobStore::insert";
    State& s = state();
    const detail::durable::StoredDefinition stored =
        detail::durable::stored_definition(call, record, *s.codecs);
    const bool ran = record.last_run != TimePoint::min();
    const std::int64_t last_run = ran ? detail::sqlite::to_stored_time(call, record.last_run) : 0;
    const bool inserted = write_direct([&] {
      auto insert = s.db.prepare_cached(
          "INSERT INTO jobs (id, task, arguments, trigger, options, next_fire, next_run, paused, "
          "last_run, run_count, failure_count, last_outcome, version) "
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 1) "
          "ON CONFLICT (id) DO NOTHING");
      // The texts outlive the handle, which clears the bindings.
      insert->bind_static(1, record.id);
      insert->bind_static(2, record.extras->task->name);
      insert->bind_static(3, record.extras->task->arguments);
      insert->bind_static(4, stored.trigger);
      insert->bind_static(5, stored.options);
      insert->bind(6, stored.next_fire);
      insert->bind(7, stored.next_run);
      insert->bind(8, record.paused);
      if (ran) {
        insert->bind(9, last_run);
      } else {
        insert->bind_null(9);
      }
      insert->bind(10, static_cast<std::int64_t>(record.run_count));
      insert->bind(11, std::int64_t{record.failure_count});
      insert->bind(12, detail::sqlite::outcome_text(record.last_outcome));
      if (insert->execute() == 0) {
        return false;
      }
      // A new job starts a history of its own: fires of an earlier job with its id would
      // collide with its fires. There are none to delete when no fire is stored at all.
      if (!fires_known_empty()) {
        auto clear = s.db.prepare_cached("DELETE FROM fires WHERE job_id = ?1");
        clear->bind_static(1, record.id);
        clear->execute();
      }
      return true;
    });
    if (!inserted) {
      return nullptr;
    }
    s.set_aside.forget(s.db, record.id);
    return s.cache.add_new(std::move(record), s.inserted);
  }

  /// See DurableJobStore (requirement 9). In one statement (inside an open batch or round: as
  /// part of it), stores the definition of `record` (task, arguments, trigger, options) under
  /// its id, adding the job if none has it. The stored job's counters and fire history stay;
  /// its next fire and run time and paused flag stay too when `keep_schedule` and the stored
  /// trigger text equals the new one (`paused` is then set if `record` is paused). Returns the
  /// record then held, reloaded, as find does.
  /// @throws InvalidArgumentError for a record without a task
  /// @throws SerializationError if its trigger has no codec
  /// @throws StoreError if the database fails
  JobRecord* replace(JobRecord&& record, bool keep_schedule) {
    const auto operation = state().db.operation("replace job");
    constexpr std::string_view call = "SqliteJobStore::replace";
    State& s = state();
    const detail::durable::StoredDefinition stored =
        detail::durable::stored_definition(call, record, *s.codecs);
    write_direct([&] {
      // Every expression of the SET reads the row as it was (jobs.trigger is the old one).
      auto put = s.db.prepare_cached(
          "INSERT INTO jobs (id, task, arguments, trigger, options, next_fire, next_run, paused, "
          "version) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1) ON CONFLICT (id) DO UPDATE SET "
          "task = excluded.task, arguments = excluded.arguments, options = excluded.options, "
          "next_fire = CASE WHEN ?9 AND trigger = excluded.trigger THEN next_fire "
          "ELSE excluded.next_fire END, "
          "next_run = CASE WHEN ?9 AND trigger = excluded.trigger THEN next_run "
          "ELSE excluded.next_run END, "
          "paused = CASE WHEN ?9 AND trigger = excluded.trigger THEN paused OR excluded.paused "
          "ELSE excluded.paused END, "
          "trigger = excluded.trigger, version = version + 1");
      put->bind_static(1, record.id);
      put->bind_static(2, record.extras->task->name);
      put->bind_static(3, record.extras->task->arguments);
      put->bind_static(4, stored.trigger);
      put->bind_static(5, stored.options);
      put->bind(6, stored.next_fire);
      put->bind(7, stored.next_run);
      put->bind(8, record.paused);
      put->bind(9, keep_schedule);
      put->execute();
      return true;
    });
    s.set_aside.forget(s.db, record.id);
    return find(record.id);
  }

  /// See JobStore. Returns the stored job, loading it when it is not in memory or another
  /// process changed it since; nullptr for a job that is not stored or cannot be used.
  /// @throws StoreError if the database fails
  [[nodiscard]] JobRecord* find(std::string_view id) {
    const auto operation = state().db.operation("find job");
    State& s = state();
    std::optional<std::int64_t> row_version;
    {
      auto select = s.db.prepare_cached("SELECT version FROM jobs WHERE id = ?1");
      select->bind(1, id);
      if (select->step()) {
        row_version = select->column_int64(0);
      }
    }
    if (!row_version) {
      s.cache.drop_if_idle(id);
      return nullptr;
    }
    return hand_out(id, *row_version);
  }

  /// See JobStore. Deletes the job, its fire history and the job kept under its id for a rerun
  /// (see commit_due), in one transaction.
  /// @throws StoreError if the database fails
  bool erase(std::string_view id) {
    const auto operation = state().db.operation("remove job");
    return engine().erase(id);
  }

  /// See JobStore. Deletes every job, usable, retired (see commit_due) or not, and the fire
  /// history, in one transaction.
  /// @throws StoreError if the database fails
  void clear() {
    const auto operation = state().db.operation("remove all jobs");
    engine().clear();
  }

  /// See JobStore. Writes the job's next fire and run time, paused flag, trigger and options
  /// (not its counters), so other processes reload it.
  /// @throws SerializationError if the trigger has no codec
  /// @throws StoreError if the database fails; the record is then reloaded before it is handed
  /// out again
  void update(JobRecord& stored) {
    const auto operation = state().db.operation("update job");
    engine().update(stored);
  }

  /// See JobStore. One indexed query; jobs set aside as unusable are left out.
  /// @throws StoreError if the database fails
  [[nodiscard]] std::optional<TimePoint> next_run_time() const {
    const auto operation = state().db.operation("read next run time");
    State& s = state();
    auto select = s.db.prepare_cached(
        "SELECT next_run FROM jobs WHERE paused = 0 AND NOT EXISTS (SELECT 1 FROM "
        "temp.apsched_unusable AS u WHERE u.id = jobs.id AND u.version = jobs.version) "
        "ORDER BY next_run LIMIT 1");
    if (!select->step()) {
      return std::nullopt;
    }
    return detail::sqlite::from_stored_time(select->column_int64(0));
  }

  /// See JobStore. One indexed query per call (more when it meets jobs it cannot use, which it
  /// sets aside and reports).
  /// @throws StoreError if the database fails
  [[nodiscard]] JobRecord* first_due(TimePoint now) {
    const auto operation = state().db.operation("read due jobs");
    State& s = state();
    const std::int64_t until = detail::sqlite::to_stored_time("SqliteJobStore::first_due", now);
    for (;;) {
      // The whole row at once: a job not cached (or changed) is built without a second query.
      std::optional<detail::sqlite::JobRow> row;
      {
        static const std::string sql = fmt::format(
            "SELECT {} FROM jobs WHERE paused = 0 AND next_run <= ?1 AND NOT EXISTS "
            "(SELECT 1 FROM temp.apsched_unusable AS u WHERE u.id = jobs.id AND "
            "u.version = jobs.version) ORDER BY next_run LIMIT 1",
            detail::sqlite::job_columns);
        auto select = s.db.prepare_cached(sql);
        select->bind(1, until);
        if (!select->step()) {
          return nullptr;
        }
        if (s.round && !s.batch) {
          // Something is due: take the write lock for the round now and read again under it,
          // so that no other process changes what this round decides on.
          select->reset();
          s.batch.emplace(s.db);
          continue;
        }
        row = detail::sqlite::read_job_row(*select);
      }
      if (JobRecord* job = hand_out(row->id, row->version, &*row)) {
        count_running_elsewhere(*job);
        return job;
      }
    }
  }

  /// See JobStore: the number of stored jobs, usable or not.
  /// @throws StoreError if the database fails
  [[nodiscard]] std::size_t size() const {
    const auto operation = state().db.operation("count jobs");
    auto count = state().db.prepare_cached("SELECT count(*) FROM jobs");
    count->step();
    return static_cast<std::size_t>(count->column_int64(0));
  }

  /// See JobStore. Visits every usable stored job (reading them all: for listings, not for
  /// finding due jobs); jobs it cannot use are set aside and reported instead.
  /// @throws StoreError if the database fails; whatever `visit` throws
  template <class F>
  void for_each(F&& visit) const {
    const auto operation = state().db.operation("list jobs");
    State& s = state();
    std::vector<detail::sqlite::JobRow> rows;
    {
      auto select =
          s.db.prepare_cached(fmt::format("SELECT {} FROM jobs", detail::sqlite::job_columns));
      while (select->step()) {
        rows.push_back(detail::sqlite::read_job_row(*select));
      }
    }
    for (const detail::sqlite::JobRow& row : rows) {
      if (detail::durable::CachedRecord* entry = s.cache.find(row.id)) {
        if (JobRecord* cached = engine().refresh(*entry, row)) {
          std::invoke(visit, std::as_const(*cached));
        }
        continue;
      }
      if (std::optional<JobRecord> loaded = engine().build(row)) {
        loaded->store = s.index;
        std::invoke(visit, std::as_const(*loaded));
      }
    }
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
  bool commit_due(JobRecord& job, std::span<const FireDecision> fires, bool remove) {
    const auto operation = state().db.operation("record fire");
    return engine().commit_due(job, fires, remove, "SqliteJobStore::commit_due");
  }

  /// See DurableJobStore, requirement 10: in one transaction (of its own, or of the open batch),
  /// records each claim's fire submitted if it is still recorded claimed by this store and
  /// fewer than the claim's max_instances fires of its job are recorded submitted, by any
  /// process on the file.
  /// @returns one verdict per claim, in order
  /// @throws SerializationError if a time is out of range; StoreError if the database fails
  /// (nothing is recorded then)
  std::vector<ClaimVerdict> start_claimed(std::span<const ClaimedFire> claims) {
    const auto operation = state().db.operation("start claimed fires");
    constexpr std::string_view call = "SqliteJobStore::start_claimed";
    State& s = state();
    std::vector<std::int64_t> times;
    times.reserve(claims.size());
    for (const ClaimedFire& claim : claims) {
      times.push_back(detail::sqlite::to_stored_time(call, claim.scheduled));
    }
    std::vector<ClaimVerdict> verdicts;
    write([&] {
      verdicts.clear();
      const std::int64_t now = detail::sqlite::system_now();
      for (std::size_t i = 0; i < claims.size(); ++i) {
        auto mine = s.db.prepare_cached(
            "SELECT 1 FROM fires WHERE job_id = ?1 AND scheduled = ?2 AND owner = ?3 AND "
            "state = 'claimed'");
        mine->bind_all(claims[i].job_id, times[i], s.owner);
        const bool claimed = mine->step();
        mine->reset();
        if (!claimed) {
          verdicts.push_back(ClaimVerdict::lost);
          continue;
        }
        auto start = s.db.prepare_cached(
            "UPDATE fires SET state = 'submitted', recorded_at = ?3 WHERE job_id = ?1 AND "
            "scheduled = ?2 AND (SELECT count(*) FROM fires WHERE job_id = ?1 AND "
            "state = 'submitted') < ?4");
        start->bind_all(claims[i].job_id, times[i], now, std::int64_t{claims[i].max_instances});
        verdicts.push_back(start->execute() > 0 ? ClaimVerdict::started : ClaimVerdict::busy);
      }
    });
    return verdicts;
  }

  /// See DurableJobStore: records how a fire recorded as submitted ended (`succeeded`, `failed`
  /// with `error`, `dropped`) and, with `record`, adds the run to the job's stored counters (in
  /// SQL, so runs recorded by other processes add up). The job's version is kept: other
  /// processes' copies stay valid. The history of a job no longer stored is kept
  /// (until a job with its id is added).
  /// @throws StoreError if the database fails
  void record_outcome(std::string_view id, const JobRecord* record, TimePoint scheduled,
                      FireState fire_state, std::string_view error) {
    const auto operation = state().db.operation("record fire outcome");
    engine().record_outcome(id, record, scheduled, fire_state, error,
                            "SqliteJobStore::record_outcome");
  }

  /// As record_outcome, but kept in memory until the scheduler's next step writes it, with the
  /// other outcomes and fires of that step, in one transaction (see end_round and
  /// flush_outcomes): one commit for many runs instead of one each. An outcome not yet written
  /// when the process dies leaves its fire recorded as submitted; the next scheduler on the file
  /// treats it as abandoned (see take_abandoned). Reads through this store (fire_history,
  /// export_jobs) write the pending outcomes first.
  /// @returns whether it is the only pending outcome (the scheduler then wakes its loop)
  /// @throws std::bad_alloc; SerializationError if `scheduled` is out of range
  bool defer_outcome(std::string_view id, const JobRecord* record, TimePoint scheduled,
                     FireState fire_state, std::string_view error) {
    return engine().defer_outcome(id, record, scheduled, fire_state, error,
                                  "SqliteJobStore::defer_outcome");
  }

  /// Writes the outcomes defer_outcome holds, in one transaction (inside an open batch or round:
  /// as part of it).
  /// @throws StoreError if the database fails; the outcomes are kept, to be written later
  void flush_outcomes() const {
    const auto operation = state().db.operation("write fire outcomes");
    State& s = state();
    if (s.pending.empty() || s.round) {
      return;  // a round writes them at its end
    }
    write([&] { apply_outcomes(s.pending); });
    s.pending.clear();
  }

  /// Opens a round: until end_round or abort_round, commit_due and every other write of the
  /// store go into one transaction, opened at the first write (so a round that writes nothing
  /// takes no lock). Each write is atomic on its own (a savepoint; commit_due and insert, the
  /// frequent ones, check their values first instead, and one that the database fails partway
  /// makes the round fail at its end, rolled back whole). The scheduler brackets each
  /// pass over the store's due jobs with a round, and runs the fires only after end_round.
  /// @pre no batch or round is open
  void begin_round() noexcept {
    State& s = state();
    assert(!s.batch && !s.round && "begin_round: a batch or round is open");
    s.round = true;
    s.others_running.reset();
  }

  /// Writes the pending outcomes into the round and commits it.
  /// @throws StoreError if a write or COMMIT fails: the round is rolled back as by abort_round
  void end_round() {
    const auto operation = state().db.operation("commit round of due jobs");
    State& s = state();
    try {
      if (!s.pending.empty()) {
        write([&] { apply_outcomes(s.pending); });
      }
      s.round = false;
      if (s.batch) {
        commit_batch();
      }
    } catch (...) {
      abort_round();
      throw;
    }
    s.pending.clear();
  }

  /// Rolls the round back: nothing of it stays, and the records it changed are reloaded before
  /// they are handed out again. Pending outcomes are kept.
  void abort_round() noexcept {
    state().round = false;
    rollback_batch();
  }

  /// See DurableJobStore: the reports about stored jobs set aside since the last call.
  [[nodiscard]] std::vector<StoreReport> take_reports() noexcept {
    return state().set_aside.take_reports();
  }

  /// See DurableJobStore: the jobs set aside for naming `task`, unknown then, are tried again.
  /// @throws StoreError if the database fails
  void task_registered(std::string_view task) {
    const auto operation = state().db.operation("retry jobs of a registered task");
    dialect().retry_unknown_task(task);
  }

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
  [[nodiscard]] std::vector<AbandonedFire> take_abandoned() {
    const auto operation = state().db.operation("take over abandoned fires");
    State& s = state();
    const std::int64_t now = detail::sqlite::system_now();
    if (s.batch || now < s.next_lease_check) {
      return {};
    }
    const std::int64_t poll =
        std::chrono::duration_cast<std::chrono::nanoseconds>(s.options.poll_interval).count();
    s.next_lease_check = now + std::max<std::int64_t>(poll, 1);
    const detail::durable::LapsedOwners lapsed = engine().lapsed_owners(now);
    if (!lapsed.listed) {
      s.lease_renewed = 0;  // another store took this one for dead: register again at once
    }
    renew_lease(now);
    std::vector<AbandonedFire> taken;
    for (const detail::durable::LapsedOwner& owner : lapsed.dead) {
      engine().take_over(owner, now, taken);
    }
    return taken;
  }

  /// See DurableJobStore: SqliteStoreOptions::poll_interval.
  [[nodiscard]] Duration poll_interval() const noexcept { return state().options.poll_interval; }

  /// See DurableJobStore: the registry job bodies are built from, and the store's index in its
  /// scheduler. Until it is called, every stored job names an unknown task.
  /// @throws StoreError if the database fails
  void attach(std::shared_ptr<const TaskRegistry> tasks, std::uint8_t index) {
    const auto operation = state().db.operation("attach to scheduler");
    engine().attach(std::move(tasks), index);
  }

  /// See DurableJobStore: opens a batch, one transaction holding every write until
  /// commit_batch or rollback_batch. Each write stays atomic on its own, as for begin_round: a
  /// write refused before it starts (a bad argument, a conflicting id) leaves the batch as it
  /// was; one that the database fails partway makes commit_batch roll the batch back and throw.
  /// @pre no batch is open
  /// @throws StoreError if the write lock cannot be taken (BusyPolicy)
  void begin_batch() {
    const auto operation = state().db.operation("begin batch");
    State& s = state();
    assert(!s.batch && "begin_batch: a batch is open already");
    s.batch.emplace(s.db);
  }

  /// See DurableJobStore: makes the writes of the batch durable at once.
  /// @pre a batch is open
  /// @throws StoreError if COMMIT fails; the batch is then rolled back, as by rollback_batch
  void commit_batch() {
    const auto operation = state().db.operation("commit batch");
    State& s = state();
    assert(s.batch && "commit_batch: no batch is open");
    if (s.batch_failed) {
      rollback_batch();
      throw StoreError{s.db.error_message(
          "a write of the batch or round failed partway; expected every write to succeed or "
          "leave nothing, so it was rolled back")};
    }
    try {
      s.batch->commit();
    } catch (...) {
      rollback_batch();
      throw;
    }
    s.batch.reset();
  }

  /// See DurableJobStore: undoes the writes of the batch. Records in memory are reloaded
  /// before they are handed out again (idle ones are dropped).
  void rollback_batch() noexcept {
    State& s = state();
    s.batch_failed = false;
    if (s.batch) {
      if (s.batch->active()) {
        s.batch->rollback();
      }
      s.batch.reset();
    }
    s.cache.drop_all_idle();
    // The temporary table took part in the transaction.
    s.set_aside.restore(s.db);
  }

  /// The recorded fires of job `job_id`, newest (latest scheduled) first, at most `limit`.
  /// @throws StoreError if the database fails, or a row holds a state this apsched does not know
  [[nodiscard]] std::vector<FireRecord> fire_history(std::string_view job_id,
                                                     std::size_t limit = 100) const {
    const auto operation = state().db.operation("read fire history");
    flush_outcomes();
    return engine().fire_history(job_id, limit);
  }

  /// Every stored job, usable or not, exactly as stored, ordered by id: `{"format":
  /// "apsched-sqlite-jobs", "version": 1, "jobs": [{"id", "task", "arguments", "trigger", "options"
  /// (the JSON texts of those columns, as strings), "next_fire", "next_run", "last_run"
  /// (integer nanoseconds since the epoch; last_run may be null), "paused", "run_count",
  /// "failure_count", "last_outcome" (string or null), "version"}]}`. Fire history is not
  /// exported.
  /// @throws StoreError if the database fails
  [[nodiscard]] nlohmann::json export_jobs() const {
    const auto operation = state().db.operation("export");
    State& s = state();
    nlohmann::json jobs = nlohmann::json::array();
    auto select = s.db.prepare_cached(
        fmt::format("SELECT {} FROM jobs ORDER BY id", detail::sqlite::job_columns));
    while (select->step()) {
      jobs.push_back(detail::sqlite::job_row_json(detail::sqlite::read_job_row(*select)));
    }
    return nlohmann::json{
        {"format", detail::sqlite::job_export_format}, {"version", 1}, {"jobs", std::move(jobs)}};
  }

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
  void import_jobs(const nlohmann::json& document, bool replace_existing = false) {
    const auto operation = state().db.operation("import");
    std::vector<detail::sqlite::JobRow> rows = detail::sqlite::read_job_export(document);
    State& s = state();
    write([&] {
      auto insert = s.db.prepare_cached(
          "INSERT INTO jobs (id, task, arguments, trigger, options, next_fire, next_run, paused, "
          "last_run, run_count, failure_count, last_outcome, version) VALUES (?1, ?2, ?3, ?4, "
          "?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) ON CONFLICT (id) DO UPDATE SET "
          "task = excluded.task, arguments = excluded.arguments, trigger = excluded.trigger, "
          "options = excluded.options, next_fire = excluded.next_fire, "
          "next_run = excluded.next_run, paused = excluded.paused, last_run = excluded.last_run, "
          "run_count = excluded.run_count, failure_count = excluded.failure_count, "
          "last_outcome = excluded.last_outcome, "
          "version = max(excluded.version, jobs.version + 1) WHERE ?14");
      for (const detail::sqlite::JobRow& row : rows) {
        insert->bind_all(row.id, row.task, row.arguments, row.trigger, row.options, row.next_fire,
                         row.next_run, row.paused, row.last_run, row.run_count, row.failure_count,
                         row.last_outcome, row.version, replace_existing);
        if (insert->execute() == 0) {
          throw ConflictingIdError{fmt::format(
              "import_jobs: a job with id \"{}\" is already stored in \"{}\"; expected a new id, "
              "or replace_existing = true",
              row.id, s.db.path())};
        }
        // Fires recorded for a job of this id would collide with the imported job's.
        auto fires = s.db.prepare_cached("DELETE FROM fires WHERE job_id = ?1");
        fires->bind(1, row.id);
        fires->execute();
      }
    });
    for (const detail::sqlite::JobRow& row : rows) {
      if (detail::durable::CachedRecord* entry = s.cache.find(row.id)) {
        entry->stale = true;
      }
      s.set_aside.forget(s.db, row.id);
    }
  }

  /// The record of job `id` the store holds in memory, without reading the database (which may
  /// be unreachable), or nullptr. A job with a run outstanding or queued is always held, so the
  /// scheduler finds it here when a run ends.
  [[nodiscard]] JobRecord* find_cached(std::string_view id) const {
    return engine().find_cached(id);
  }

  /// The job records the store holds in memory now (see SqliteStoreOptions::cache_size).
  [[nodiscard]] std::size_t cached_count() const noexcept { return state().cache.size(); }

  /// The path of the database file, as UTF-8.
  [[nodiscard]] const std::string& path() const noexcept { return state().db.path(); }

  /// Who this store object is in the fires it records and in the file's table of owners
  /// (FireRecord::owner, StoreOwner::owner).
  [[nodiscard]] FireOwner owner() const { return FireOwner::parse(state().owner); }

 private:
  // An outcome of record_outcome or defer_outcome, ready to be written.
  using PendingOutcome = detail::durable::PendingOutcome;

  // Whether the fires table was empty in transaction `transaction` (Database::transactions_begun)
  // of the store's connection, as of `changes` (Database::total_changes).
  struct FiresSeen {
    std::uint64_t transaction = 0;
    std::int64_t changes = 0;
    bool empty = false;
  };

  // What the engine shares (owner, registry, record cache, pending outcomes: see
  // detail::durable::EngineState), and the connection with what only SQLite needs.
  struct State : detail::durable::EngineState {
    State(detail::sqlite::Database database, SqliteStoreOptions store_options)
        : EngineState{store_options.codecs, store_options.cache_size},
          db{std::move(database)},
          options{std::move(store_options)} {}

    detail::sqlite::Database db;
    SqliteStoreOptions options;
    // When take_abandoned looks at the leases next (system clock, nanoseconds).
    std::int64_t next_lease_check = 0;
    // When this store's lease was last written (system clock, nanoseconds).
    std::int64_t lease_renewed = 0;
    // Whether a round is open (see begin_round); its transaction is `batch`, opened lazily.
    bool round = false;
    // Whether other processes have fires recorded submitted, as read once per round under its
    // write lock (empty until read).
    std::optional<bool> others_running;
    detail::sqlite::SetAsideJobs set_aside;
    // The transaction of the open batch, if any.
    std::optional<detail::sqlite::Transaction> batch;
    // Whether a write inside the open batch or round failed partway (see write_direct).
    bool batch_failed = false;
    // What insert saw of the fires table (see fires_known_empty).
    FiresSeen fires_seen;
  };

  static detail::sqlite::Options database_options(const SqliteStoreOptions& options) {
    detail::sqlite::Options result;
    result.synchronous = options.synchronous;
    result.busy = options.busy;
    result.store = "SqliteJobStore";
    return result;
  }

  // Writes this store's lease (again, should another store have taken it over for dead) when a
  // third of it has passed since the last write.
  void renew_lease(std::int64_t now) {
    State& s = state();
    const std::int64_t lease =
        std::chrono::duration_cast<std::chrono::nanoseconds>(s.options.lease_duration).count();
    if (s.lease_renewed != 0 && now - s.lease_renewed < lease / 3) {
      return;
    }
    auto upsert = s.db.prepare_cached(
        "INSERT INTO owners (owner, host, pid, started_at, lease_until, history_per_job) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
        "ON CONFLICT (owner) DO UPDATE SET lease_until = excluded.lease_until");
    upsert->bind_all(s.owner, detail::durable::host_name(), detail::durable::process_id(), now,
                     now > std::numeric_limits<std::int64_t>::max() - lease
                         ? std::numeric_limits<std::int64_t>::max()
                         : now + lease,
                     detail::durable::stored_limit(s.options.history_per_job));
    upsert->execute();
    s.lease_renewed = now;
  }

  // Gives up this store's lease: see ~SqliteJobStore.
  void release_lease() noexcept {
    if (state_) {
      engine().release_lease();
    }
  }

  [[nodiscard]] State& state() const noexcept {
    assert(state_ && "use of a moved-from SqliteJobStore");
    return *state_;
  }

  // Runs `body`, a group of writes, atomically: in a transaction of its own, or inside an open
  // batch or round as a savepoint, so that a failing write leaves the batch as it was.
  template <class F>
  void write(F&& body) const {
    write_if([&] {
      body();
      return true;
    });
  }

  // Whether writes go into the transaction of an open batch or round (opening the round's at
  // its first write) rather than into one of their own.
  bool in_shared_transaction() const {
    State& s = state();
    if (s.round && !s.batch) {
      s.batch.emplace(s.db);
    }
    return s.batch.has_value();
  }

  // Runs `body` in a transaction of its own, kept when `body` returns true.
  template <class F>
  bool write_alone(F& body) const {
    detail::sqlite::Transaction tx{state().db};
    if (!body()) {
      tx.rollback();
      return false;
    }
    tx.commit();
    return true;
  }

  // As write, for a `body` returning whether to keep its writes: on false they are undone.
  // Returns body's result.
  template <class F>
  bool write_if(F&& body) const {
    State& s = state();
    if (!in_shared_transaction()) {
      return write_alone(body);
    }
    s.db.prepare_cached("SAVEPOINT apsched_write")->execute();
    bool keep = false;
    try {
      keep = body();
    } catch (...) {
      undo_savepoint();
      throw;
    }
    if (!keep) {
      undo_savepoint();
      return false;
    }
    s.db.prepare_cached("RELEASE apsched_write")->execute();
    return true;
  }

  // As write_if, for the hot writes (insert, commit_due) without a savepoint, which costs more
  // than such a write: inside an open batch or round, `body` writes into its transaction
  // directly. So `body` must compute every value it binds before its first write, and return
  // false only before that write or after marking the batch failed (fail_batch). When it throws
  // there, its writes may be half done: the batch or round is marked failed, and its commit
  // rolls it back and throws. Outside a batch or round, `body` runs in a transaction of its own.
  template <class F>
  bool write_direct(F&& body) const {
    State& s = state();
    if (!in_shared_transaction()) {
      return write_alone(body);
    }
    try {
      return body();
    } catch (...) {
      s.batch_failed = true;
      throw;
    }
  }

  // Inside write_direct's `body`, after a write: undoes it, by marking the open batch or round
  // failed (outside one, write_direct rolls back when `body` returns false).
  void fail_batch() const noexcept {
    State& s = state();
    if (s.batch) {
      s.batch_failed = true;
    }
  }

  // Rolls back to the savepoint of write_if and releases it.
  void undo_savepoint() const noexcept {
    State& s = state();
    try {
      s.db.prepare_cached("ROLLBACK TO apsched_write")->execute();
      s.db.prepare_cached("RELEASE apsched_write")->execute();
    } catch (...) {  // NOLINT(bugprone-empty-catch): the batch or round fails at its commit then
    }
  }

  // Writes outcomes, trimming each job's history once.
  void apply_outcomes(std::span<const PendingOutcome> outcomes) const {
    for (const PendingOutcome& outcome : outcomes) {
      apply_outcome(outcome);
    }
    std::vector<std::string_view> ids;
    ids.reserve(outcomes.size());
    for (const PendingOutcome& outcome : outcomes) {
      ids.push_back(outcome.id);
    }
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    for (const std::string_view id : ids) {
      trim_history(id);
    }
  }

  // Writes one outcome: the fire's end (if this store owns it) and the job's counters.
  void apply_outcome(const PendingOutcome& outcome) const {
    State& s = state();
    auto finish = s.db.prepare_cached(
        "UPDATE fires SET state = ?3, finished_at = ?4, error = ?5 "
        "WHERE job_id = ?1 AND scheduled = ?2 AND owner = ?6");
    finish->bind_all(outcome.id, outcome.scheduled, detail::sqlite::state_text(outcome.state),
                     detail::sqlite::system_now());
    if (outcome.error.empty()) {
      finish->bind_null(5);
    } else {
      finish->bind(5, std::string_view{outcome.error});
    }
    finish->bind(6, s.owner);
    finish->execute();
    bool job_stored = false;
    if (outcome.counted) {
      auto count = s.db.prepare_cached(
          "UPDATE jobs SET run_count = run_count + ?2, failure_count = failure_count + ?3, "
          "last_run = CASE WHEN ?4 IS NULL THEN last_run WHEN last_run IS NULL OR "
          "last_run < ?4 THEN ?4 ELSE last_run END, last_outcome = ?5 WHERE id = ?1");
      count->bind_all(outcome.id, std::int64_t{outcome.ran ? 1 : 0},
                      std::int64_t{outcome.state == FireState::failed ? 1 : 0});
      // Plain branches rather than an optional: GCC 12 -O3 reports a false
      // maybe-uninitialized on an optional<int64_t> bound here.
      if (outcome.last_run != detail::durable::no_time) {
        count->bind(4, outcome.last_run);
      } else {
        count->bind_null(4);
      }
      count->bind(5, detail::sqlite::outcome_text(detail::sqlite::outcome_of(outcome.state)));
      job_stored = count->execute() > 0;
    }
    if (!job_stored) {
      // The job is gone: a row kept to run its last fire is not needed once no fire of it is
      // in flight (whichever scheduler's outcome is the last).
      auto release = s.db.prepare_cached(
          "DELETE FROM retired_jobs WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM fires "
          "WHERE job_id = ?1 AND state IN ('submitted', 'claimed'))");
      release->bind(1, outcome.id);
      release->execute();
    }
  }

  // Sets the running_elsewhere of `job`, handed out as due: the fires of it other processes
  // recorded submitted. Inside a round the write lock is held since the due job was read, so
  // the count stays true until the round commits what the scheduler decides on it.
  // One query per round answers for every job while no other process runs anything.
  void count_running_elsewhere(JobRecord& job) const {
    State& s = state();
    if (s.round && s.batch) {
      if (!s.others_running) {
        auto any = s.db.prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM fires WHERE state = 'submitted' AND owner <> ?1)");
        any->bind(1, s.owner);
        any->step();
        s.others_running = any->column_int64(0) != 0;
        any->reset();
      }
      if (!*s.others_running) {
        job.running_elsewhere = 0;
        return;
      }
    }
    auto count = s.db.prepare_cached(
        "SELECT count(*) FROM fires WHERE job_id = ?1 AND state = 'submitted' AND owner <> ?2");
    count->bind_all(job.id, s.owner);
    count->step();
    job.running_elsewhere = static_cast<std::uint16_t>(std::clamp<std::int64_t>(
        count->column_int64(0), 0, std::numeric_limits<std::uint16_t>::max()));
    count->reset();
  }

  // The record of job `id`, whose row has `row_version`: the cached one, reloaded if stale or
  // changed, else loaded now. nullptr when the row is gone or cannot be used. A job set aside at
  // that version is not read again.
  JobRecord* hand_out(std::string_view id, std::int64_t row_version,
                      const detail::sqlite::JobRow* read = nullptr) {
    State& s = state();
    detail::durable::CachedRecord* cached = s.cache.find(id);
    if (cached != nullptr && !cached->stale && cached->version == row_version) {
      return &cached->record;
    }
    if (s.set_aside.holds(id, row_version)) {
      return nullptr;
    }
    std::optional<detail::sqlite::JobRow> row;
    if (read != nullptr) {
      row = *read;
    } else {
      static const std::string sql =
          fmt::format("SELECT {} FROM jobs WHERE id = ?1", detail::sqlite::job_columns);
      auto select = s.db.prepare_cached(sql);
      select->bind(1, id);
      if (select->step()) {
        row = detail::sqlite::read_job_row(*select);
      }
    }
    if (!row) {
      s.cache.drop_if_idle(id);
      return nullptr;
    }
    return engine().hand_out(*row);
  }

  // For insert, just after its INSERT added a job: whether the fires table holds no row, so that
  // none can name that job. Known only inside the transaction of an open batch or round, whose
  // write lock keeps other connections from writing: the table is read once per transaction, at
  // its first insert, and stays known empty while every row changed on the connection since is a
  // job an insert added (one change each). Any other change, or a failed batch, ends that.
  bool fires_known_empty() const {
    State& s = state();
    if (!s.batch || s.batch_failed || !s.db.in_transaction()) {
      return false;
    }
    FiresSeen& seen = s.fires_seen;
    const std::uint64_t transaction = s.db.transactions_begun();
    const std::int64_t changes = s.db.total_changes();
    if (seen.transaction == transaction) {
      seen.empty = seen.empty && changes == seen.changes + 1;
    } else {
      seen.transaction = transaction;
      auto any = s.db.prepare_cached("SELECT EXISTS (SELECT 1 FROM fires)");
      any->step();
      seen.empty = any->column_int64(0) == 0;
    }
    seen.changes = changes;
    return seen.empty;
  }

  // Keeps the newest finished fires of job `id` (see SqliteDialect::trim_history).
  void trim_history(std::string_view id) const { dialect().trim_history(id); }

  // SQLite's statements of the shared engine (see detail::durable::Dialect), on the store's
  // connection. Times are by the system clock: the engine passes the take-over's `now`.
  struct SqliteDialect {
    static constexpr std::string_view store_name = "SqliteJobStore";

    [[nodiscard]] const detail::durable::ErrorLabel& error_label() const noexcept {
      return s.db.error_label();
    }

    void set_aside(const detail::sqlite::JobRow& row, std::string_view cause, bool unknown_task) {
      s.set_aside.add(s.db, row, cause, unknown_task);
    }

    [[nodiscard]] std::optional<detail::sqlite::JobRow> retired_row(const std::string& id) {
      static const std::string sql =
          fmt::format("SELECT {} FROM retired_jobs WHERE id = ?1", detail::sqlite::job_columns);
      auto select = s.db.prepare_cached(sql);
      select->bind(1, id);
      if (!select->step()) {
        return std::nullopt;
      }
      return detail::sqlite::read_job_row(*select);
    }

    [[nodiscard]] std::vector<detail::durable::LeaseRow> owner_rows(std::int64_t now) {
      std::vector<detail::durable::LeaseRow> rows;
      auto select = s.db.prepare_cached("SELECT owner, host, pid, lease_until FROM owners");
      while (select->step()) {
        const std::int64_t lease_until = select->column_int64(3);
        rows.push_back(detail::durable::LeaseRow{.owner = select->column_text(0),
                                                 .host = select->column_text(1),
                                                 .pid = select->column_int64(2),
                                                 .lease_until = lease_until,
                                                 .lapsed = lease_until < now});
      }
      return rows;
    }

    [[nodiscard]] std::vector<std::string> orphan_owners() {
      std::vector<std::string> owners;
      auto orphans = s.db.prepare_cached(
          "SELECT DISTINCT owner FROM fires WHERE state IN ('submitted', 'claimed') AND owner IS "
          "NOT NULL AND owner NOT IN (SELECT owner FROM owners)");
      while (orphans->step()) {
        owners.push_back(orphans->column_text(0));
      }
      return owners;
    }

    template <class F>
    void atomically(F&& body) {
      s.db.transaction(std::forward<F>(body));
    }

    bool release_owner(const std::string& owner, std::int64_t lease_until) {
      auto release =
          s.db.prepare_cached("DELETE FROM owners WHERE owner = ?1 AND lease_until = ?2");
      release->bind_all(owner, lease_until);
      return release->execute() > 0;
    }

    [[nodiscard]] std::vector<detail::durable::InFlightFire> in_flight_fires(
        const std::string& owner) {
      std::vector<detail::durable::InFlightFire> fires;
      // A job's last fire finds its job in retired_jobs (see commit_due).
      auto select = s.db.prepare_cached(
          "SELECT f.job_id, f.scheduled, f.attempt, CASE WHEN f.state = 'claimed' THEN "
          "j.id IS NOT NULL OR r.id IS NOT NULL ELSE ifnull(json_extract(coalesce(j.options, "
          "r.options), '$.abandoned') = 'rerun', 0) END, "
          "j.id IS NULL, f.state = 'submitted' FROM fires f LEFT JOIN jobs j ON j.id = f.job_id "
          "LEFT JOIN retired_jobs r ON r.id = f.job_id "
          "WHERE f.owner = ?1 AND f.state IN ('submitted', 'claimed')");
      select->bind(1, owner);
      while (select->step()) {
        fires.push_back(detail::durable::InFlightFire{.job_id = select->column_text(0),
                                                      .scheduled = select->column_int64(1),
                                                      .attempt = select->column_int64(2),
                                                      .rerun = select->column_int64(3) != 0,
                                                      .job_gone = select->column_int64(4) != 0,
                                                      .started = select->column_int64(5) != 0});
      }
      return fires;
    }

    void take_fire(const std::string& job_id, std::int64_t scheduled, std::int64_t attempt,
                   std::int64_t now) {
      auto rerun = s.db.prepare_cached(
          "UPDATE fires SET owner = ?3, attempt = ?4, recorded_at = ?5 "
          "WHERE job_id = ?1 AND scheduled = ?2");
      rerun->bind_all(job_id, scheduled, s.owner, attempt, now);
      rerun->execute();
    }

    void end_fire(const std::string& job_id, std::int64_t scheduled, FireState fire_state,
                  const std::string& error, bool release_retired, std::int64_t now) {
      auto drop = s.db.prepare_cached(
          "UPDATE fires SET state = ?5, finished_at = ?3, error = ?4 "
          "WHERE job_id = ?1 AND scheduled = ?2");
      drop->bind(5, detail::durable::state_text(fire_state));
      drop->bind_all(job_id, scheduled, now, error);
      drop->execute();
      if (release_retired) {  // kept for a rerun that cannot be
        auto release = s.db.prepare_cached("DELETE FROM retired_jobs WHERE id = ?1");
        release->bind(1, job_id);
        release->execute();
      }
      auto outcome = s.db.prepare_cached("UPDATE jobs SET last_outcome = 'dropped' WHERE id = ?1");
      outcome->bind(1, job_id);
      outcome->execute();
    }

    // Keeps the newest finished fires of job `id`: history_per_job of this store, or more if
    // another store on the file keeps more (its value is in its owners row).
    void trim_history(std::string_view id) const {
      auto trim = s.db.prepare_cached(
          "DELETE FROM fires WHERE job_id = ?1 AND state NOT IN ('submitted', 'claimed') AND "
          "scheduled IN (SELECT scheduled FROM fires WHERE job_id = ?1 AND state NOT IN "
          "('submitted', 'claimed') ORDER BY scheduled DESC LIMIT -1 OFFSET "
          "max(?2, (SELECT ifnull(max(history_per_job), 0) FROM owners)))");
      trim->bind_all(id, detail::durable::stored_limit(s.options.history_per_job));
      trim->execute();
    }

    [[nodiscard]] std::vector<detail::durable::FireRow> fire_rows(std::string_view job_id,
                                                                  std::int64_t limit) {
      static const std::string sql =
          fmt::format("SELECT {} FROM fires WHERE job_id = ?1 ORDER BY scheduled DESC LIMIT ?2",
                      detail::durable::view_fire_columns);
      auto select = s.db.prepare_cached(sql);
      select->bind_all(job_id, limit);
      std::vector<detail::durable::FireRow> rows;
      while (select->step()) {
        rows.push_back(detail::sqlite::read_view_fire(*select));
      }
      return rows;
    }

    [[nodiscard]] std::optional<std::int64_t> update_job(const JobRecord& stored,
                                                         const std::string& trigger) {
      constexpr std::string_view call = "SqliteJobStore::update";
      const std::string options = detail::sqlite::encode_record_options(stored).dump();
      auto write = s.db.prepare_cached(
          "UPDATE jobs SET next_fire = ?2, next_run = ?3, paused = ?4, trigger = ?5, "
          "options = ?6, version = version + 1 WHERE id = ?1 RETURNING version");
      write->bind_all(stored.id, detail::sqlite::to_stored_time(call, stored.next_fire),
                      detail::sqlite::to_stored_time(call, stored.next_run), stored.paused, trigger,
                      options);
      if (!write->step()) {
        return std::nullopt;
      }
      const std::int64_t row_version = write->column_int64(0);
      write->execute();
      return row_version;
    }

    bool erase_job(std::string_view id) {
      bool erased = false;
      store.write([&] {
        auto fires = s.db.prepare_cached("DELETE FROM fires WHERE job_id = ?1");
        fires->bind(1, id);
        fires->execute();
        auto jobs = s.db.prepare_cached("DELETE FROM jobs WHERE id = ?1");
        jobs->bind(1, id);
        erased = jobs->execute() > 0;
        auto retired = s.db.prepare_cached("DELETE FROM retired_jobs WHERE id = ?1");
        retired->bind(1, id);
        retired->execute();
      });
      return erased;
    }

    void clear_jobs() {
      store.write([&] {
        s.db.exec("DELETE FROM fires");
        s.db.exec("DELETE FROM jobs");
        s.db.exec("DELETE FROM retired_jobs");
      });
    }

    void prepare_release() {
      s.round = false;
      store.flush_outcomes();
    }

    bool drop_lease() {
      auto release = s.db.prepare_cached(
          "DELETE FROM owners WHERE owner = ?1 AND NOT EXISTS "
          "(SELECT 1 FROM fires WHERE owner = ?1 AND state IN ('submitted', 'claimed'))");
      release->bind(1, s.owner);
      return release->execute() != 0;
    }

    void lapse_lease() {
      auto lapse = s.db.prepare_cached("UPDATE owners SET lease_until = 0 WHERE owner = ?1");
      lapse->bind(1, s.owner);
      lapse->execute();
    }

    // Every value of `commit` is checked already, as write_direct needs.
    bool commit_due(const detail::durable::DueCommit& commit) {
      return store.write_direct([&] {
        const std::string& id = commit.job.id;
        bool done = false;
        if (commit.retire) {
          // Kept for a rerun of its last fire, until that fire's outcome is written.
          static const std::string sql = fmt::format(
              "INSERT OR REPLACE INTO retired_jobs ({0}) SELECT {0} FROM jobs "
              "WHERE id = ?1 AND version = ?2",
              detail::sqlite::job_columns);
          auto keep = s.db.prepare_cached(sql);
          keep->bind_all(id, commit.version);
          keep->execute();
        }
        if (commit.remove) {
          auto erase = s.db.prepare_cached("DELETE FROM jobs WHERE id = ?1 AND version = ?2");
          erase->bind_all(id, commit.version);
          done = erase->execute() > 0;
        } else {
          auto advance = s.db.prepare_cached(
              "UPDATE jobs SET next_fire = ?3, next_run = ?4, version = version + 1, "
              "last_outcome = CASE WHEN ?5 THEN 'missed' ELSE last_outcome END "
              "WHERE id = ?1 AND version = ?2");
          advance->bind_all(id, commit.version, commit.next_fire, commit.next_run, commit.missed);
          done = advance->execute() > 0;
        }
        if (!done) {
          return false;
        }
        const std::int64_t recorded_at = detail::sqlite::system_now();
        auto insert = s.db.prepare_cached(
            "INSERT INTO fires (job_id, scheduled, state, runs, owner, recorded_at, finished_at) "
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (job_id, scheduled) DO NOTHING");
        for (std::size_t i = 0; i < commit.fires.size(); ++i) {
          const FireDecision& fire = commit.fires[i];
          insert->bind_all(id, commit.scheduled[i], detail::sqlite::state_text(fire.state),
                           fire.runs, s.owner, recorded_at);
          insert->bind(7, detail::durable::in_flight(fire.state) ? std::optional<std::int64_t>{}
                                                                 : std::optional{recorded_at});
          if (insert->execute() == 0) {
            store.fail_batch();  // undoes the advance
            return false;        // recorded already: another scheduler took this fire
          }
        }
        if (commit.finished) {
          trim_history(id);  // only finished fires count towards history_per_job
        }
        return true;
      });
    }

    void write_outcomes(std::span<const PendingOutcome> outcomes) {
      store.write([&] { store.apply_outcomes(outcomes); });
    }

    void forget_set_aside(std::string_view id) { s.set_aside.forget(s.db, id); }
    void forget_all_set_aside() { s.set_aside.clear(s.db); }
    void retry_unknown_task(std::string_view task) { s.set_aside.retry_unknown_task(s.db, task); }

    State& s;
    const SqliteJobStore& store;
  };
  static_assert(detail::durable::Dialect<SqliteDialect>);

  [[nodiscard]] SqliteDialect dialect() const noexcept { return SqliteDialect{state(), *this}; }
  [[nodiscard]] detail::durable::Engine<SqliteDialect> engine() const noexcept {
    return {state(), dialect()};
  }

  std::unique_ptr<State> state_;
};

static_assert(DurableJobStore<SqliteJobStore>);
static_assert(AbandonedFireSource<SqliteJobStore>);
static_assert(RoundStore<SqliteJobStore>);
static_assert(DeferredOutcomeStore<SqliteJobStore>);
static_assert(CachedRecordStore<SqliteJobStore>);
static_assert(FireHistoryStore<SqliteJobStore>);

}  // namespace apsched
