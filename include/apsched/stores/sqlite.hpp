// SPDX-License-Identifier: MIT
// SqliteJobStore: a durable job store in an SQLite file, which schedulers in several processes
// may share.
#pragma once

#include <apsched/clock.hpp>
#include <apsched/detail/sqlite/database.hpp>
#include <apsched/detail/sqlite/error.hpp>
#include <apsched/detail/sqlite/migrate.hpp>
#include <apsched/detail/sqlite/record_cache.hpp>
#include <apsched/detail/sqlite/set_aside.hpp>
#include <apsched/detail/sqlite/statement.hpp>
#include <apsched/detail/sqlite/store_schema.hpp>
#include <apsched/error.hpp>
#include <apsched/job_store.hpp>
#include <apsched/json/task_registry.hpp>
#include <apsched/json/trigger_codec.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cassert>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <random>
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
  /// The most finished fires (not `submitted`) kept per job in the fire history.
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
};

/// One recorded fire of a job, as SqliteJobStore::fire_history returns it.
///
/// Thread safety: not thread-safe (a plain value).
struct FireRecord {
  /// The fire's scheduled time (with jitter).
  TimePoint scheduled;
  FireState state = FireState::submitted;
  /// With `missed`: how many fire times were missed from `scheduled` on; else 1.
  std::uint64_t runs = 1;
  /// The token of the store object (scheduler process) that recorded the fire.
  std::string owner;
  /// When it was recorded, by the system clock.
  TimePoint recorded_at;
  /// When its end was recorded; empty while it is submitted.
  std::optional<TimePoint> finished_at;
  /// The error text of a failed run; empty otherwise.
  std::string error;
  /// 1 for a first run; higher for a run repeated after its process died.
  unsigned attempt = 1;
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
/// scheduler.add_job(apsched::task("report"), apsched::CronTrigger{"0 9 * * *"},
///                   {.id = "daily-report", .replace_existing = true}, "ops@example.com");
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
  /// @throws StoreError (detail::sqlite::SqliteError) naming "open", the path and SQLite's
  /// message when the file cannot be opened or is not an SQLite database:
  /// `open: "jobs.db": file is not a database`
  /// @throws SchemaVersionError when the file was written by a newer apsched:
  /// `open: "jobs.db" has schema version 2 of apsched_jobs, this apsched supports up to version 1`
  explicit SqliteJobStore(const std::filesystem::path& file, SqliteStoreOptions options = {})
      : state_{std::make_unique<State>(
            detail::sqlite::Database::open(file, database_options(options)), std::move(options))} {
    detail::sqlite::Database& db = state_->db;
    detail::sqlite::migrate(db, detail::sqlite::store_schema_name,
                            std::span{detail::sqlite::store_migrations});
    detail::sqlite::SetAsideJobs::create_table(db);
  }

  SqliteJobStore(SqliteJobStore&&) noexcept = default;
  SqliteJobStore& operator=(SqliteJobStore&&) noexcept = default;
  SqliteJobStore(const SqliteJobStore&) = delete;
  SqliteJobStore& operator=(const SqliteJobStore&) = delete;
  ~SqliteJobStore() = default;

  /// See JobStore. Stores the job, which must name a task (JobExtras::task), in one
  /// transaction that also deletes fire history left by an earlier job with the same id.
  /// @throws InvalidArgumentError for a record without a task (a closure job cannot be stored)
  /// @throws SerializationError if its trigger has no codec
  /// @throws StoreError if the database fails
  JobRecord* insert(JobRecord&& record) {
    constexpr std::string_view call = "SqliteJobStore::insert";
    State& s = state();
    if (!record.extras || !record.extras->task) {
      throw InvalidArgumentError{fmt::format(
          "{}: job \"{}\" has no task; a closure job cannot be stored durably, expected a task "
          "registered by name (apsched::task)",
          call, record.id)};
    }
    const std::string trigger = s.codecs->encode(record.trigger).dump();
    const std::string options = detail::sqlite::encode_record_options(record).dump();
    auto insert = s.db.prepare_cached(
        "INSERT INTO jobs (id, task, arguments, trigger, options, next_fire, next_run, paused, "
        "last_run, run_count, failure_count, last_outcome, version) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 1) "
        "ON CONFLICT (id) DO NOTHING");
    insert->bind_all(record.id, record.extras->task->name, record.extras->task->arguments, trigger,
                     options, detail::sqlite::to_stored_time(call, record.next_fire),
                     detail::sqlite::to_stored_time(call, record.next_run), record.paused);
    if (record.last_run == TimePoint::min()) {
      insert->bind_null(9);
    } else {
      insert->bind(9, detail::sqlite::to_stored_time(call, record.last_run));
    }
    insert->bind(10, static_cast<std::int64_t>(record.run_count));
    insert->bind(11, std::int64_t{record.failure_count});
    insert->bind(12, detail::sqlite::outcome_text(record.last_outcome));
    bool inserted = false;
    write([&] {
      inserted = insert->execute() > 0;
      if (inserted) {
        // Fires left by an earlier job with this id would collide with this job's.
        auto fires = s.db.prepare_cached("DELETE FROM fires WHERE job_id = ?1");
        fires->bind(1, record.id);
        fires->execute();
      }
    });
    if (!inserted) {
      return nullptr;
    }
    s.set_aside.forget(s.db, record.id);
    return s.cache.put(std::move(record), 1);
  }

  /// See JobStore. Returns the stored job, loading it when it is not in memory or another
  /// process changed it since; nullptr for a job that is not stored or cannot be used.
  /// @throws StoreError if the database fails
  [[nodiscard]] JobRecord* find(std::string_view id) {
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

  /// See JobStore. Deletes the job and its fire history in one transaction.
  /// @throws StoreError if the database fails
  bool erase(std::string_view id) {
    State& s = state();
    bool erased = false;
    write([&] {
      auto fires = s.db.prepare_cached("DELETE FROM fires WHERE job_id = ?1");
      fires->bind(1, id);
      fires->execute();
      auto jobs = s.db.prepare_cached("DELETE FROM jobs WHERE id = ?1");
      jobs->bind(1, id);
      erased = jobs->execute() > 0;
    });
    s.cache.erase(id);
    s.set_aside.forget(s.db, id);
    return erased;
  }

  /// See JobStore. Deletes every job, usable or not, and the fire history, in one transaction.
  /// @throws StoreError if the database fails
  void clear() {
    State& s = state();
    write([&] {
      s.db.exec("DELETE FROM fires");
      s.db.exec("DELETE FROM jobs");
    });
    s.cache.clear();
    s.set_aside.clear(s.db);
  }

  /// See JobStore. Writes the job's next fire and run time, paused flag, trigger and options
  /// (not its counters), so other processes reload it.
  /// @throws SerializationError if the trigger has no codec
  /// @throws StoreError if the database fails; the record is then reloaded before it is handed
  /// out again
  void update(JobRecord& stored) {
    constexpr std::string_view call = "SqliteJobStore::update";
    State& s = state();
    detail::sqlite::CachedRecord* entry = s.cache.holding(stored);
    try {
      const std::string trigger = s.codecs->encode(stored.trigger).dump();
      const std::string options = detail::sqlite::encode_record_options(stored).dump();
      auto write = s.db.prepare_cached(
          "UPDATE jobs SET next_fire = ?2, next_run = ?3, paused = ?4, trigger = ?5, "
          "options = ?6, version = version + 1 WHERE id = ?1 RETURNING version");
      write->bind_all(stored.id, detail::sqlite::to_stored_time(call, stored.next_fire),
                      detail::sqlite::to_stored_time(call, stored.next_run), stored.paused, trigger,
                      options);
      if (write->step()) {
        const std::int64_t row_version = write->column_int64(0);
        write->execute();
        if (entry != nullptr) {
          entry->version = row_version;
        }
      } else if (entry != nullptr) {
        entry->stale = true;  // deleted by another process: find() forgets it
      }
    } catch (...) {
      if (entry != nullptr) {
        entry->stale = true;
      }
      throw;
    }
  }

  /// See JobStore. One indexed query; jobs set aside as unusable are left out.
  /// @throws StoreError if the database fails
  [[nodiscard]] std::optional<TimePoint> next_run_time() const {
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
    State& s = state();
    const std::int64_t until = detail::sqlite::to_stored_time("SqliteJobStore::first_due", now);
    for (;;) {
      std::string id;
      std::int64_t row_version = 0;
      {
        auto select = s.db.prepare_cached(
            "SELECT id, version FROM jobs WHERE paused = 0 AND next_run <= ?1 AND NOT EXISTS "
            "(SELECT 1 FROM temp.apsched_unusable AS u WHERE u.id = jobs.id AND "
            "u.version = jobs.version) ORDER BY next_run LIMIT 1");
        select->bind(1, until);
        if (!select->step()) {
          return nullptr;
        }
        id = select->column_text(0);
        row_version = select->column_int64(1);
      }
      if (JobRecord* job = hand_out(id, row_version)) {
        return job;
      }
    }
  }

  /// See JobStore: the number of stored jobs, usable or not.
  /// @throws StoreError if the database fails
  [[nodiscard]] std::size_t size() const {
    auto count = state().db.prepare_cached("SELECT count(*) FROM jobs");
    count->step();
    return static_cast<std::size_t>(count->column_int64(0));
  }

  /// See JobStore. Visits every usable stored job (reading them all: for listings, not for
  /// finding due jobs); jobs it cannot use are set aside and reported instead.
  /// @throws StoreError if the database fails; whatever `visit` throws
  template <class F>
  void for_each(F&& visit) const {
    State& s = state();
    std::vector<detail::sqlite::JobRow> rows;
    {
      auto select =
          s.db.prepare_cached(fmt::format("SELECT {} FROM jobs", detail::sqlite::job_columns));
      while (select->step()) {
        rows.push_back(detail::sqlite::read_job_row(*select));
      }
    }
    auto* self = const_cast<SqliteJobStore*>(this);
    for (const detail::sqlite::JobRow& row : rows) {
      if (detail::sqlite::CachedRecord* entry = s.cache.find(row.id)) {
        if (JobRecord* cached = self->refresh(*entry, row)) {
          std::invoke(visit, std::as_const(*cached));
        }
        continue;
      }
      if (std::optional<JobRecord> loaded = self->build(row)) {
        loaded->store = s.index;
        std::invoke(visit, std::as_const(*loaded));
      }
    }
  }

  /// See DurableJobStore: in one transaction, advances (or with `remove`, deletes) the stored
  /// job provided it is still the version handed out, and records `fires`; then trims the job's
  /// fire history to SqliteStoreOptions::history_per_job finished fires.
  /// @returns false, having recorded nothing, when another process changed or processed the job
  /// (the record is reloaded before it is handed out again)
  /// @throws InvalidArgumentError if `job` was not handed out by this store
  /// @throws StoreError if the database fails; nothing is recorded then either
  bool commit_due(JobRecord& job, std::span<const FireDecision> fires, bool remove) {
    constexpr std::string_view call = "SqliteJobStore::commit_due";
    State& s = state();
    detail::sqlite::CachedRecord* entry = s.cache.holding(job);
    if (entry == nullptr) {
      throw InvalidArgumentError{fmt::format(
          "{}: job \"{}\" is not a record this store handed out; expected one from first_due "
          "or find",
          call, job.id)};
    }
    bool committed = false;
    try {
      detail::sqlite::Transaction tx{s.db};
      if (remove) {
        auto erase = s.db.prepare_cached("DELETE FROM jobs WHERE id = ?1 AND version = ?2");
        erase->bind_all(job.id, entry->version);
        committed = erase->execute() > 0;
      } else {
        bool missed = false;
        for (const FireDecision& fire : fires) {
          missed = missed || fire.state == FireState::missed;
        }
        auto advance = s.db.prepare_cached(
            "UPDATE jobs SET next_fire = ?3, next_run = ?4, version = version + 1, "
            "last_outcome = CASE WHEN ?5 THEN 'missed' ELSE last_outcome END "
            "WHERE id = ?1 AND version = ?2");
        advance->bind_all(job.id, entry->version,
                          detail::sqlite::to_stored_time(call, job.next_fire),
                          detail::sqlite::to_stored_time(call, job.next_run), missed);
        committed = advance->execute() > 0;
      }
      if (committed) {
        const std::int64_t recorded_at = detail::sqlite::system_now();
        auto insert = s.db.prepare_cached(
            "INSERT INTO fires (job_id, scheduled, state, runs, owner, recorded_at, finished_at) "
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (job_id, scheduled) DO NOTHING");
        for (const FireDecision& fire : fires) {
          insert->bind_all(job.id, detail::sqlite::to_stored_time(call, fire.scheduled),
                           detail::sqlite::state_text(fire.state), fire.runs, s.owner, recorded_at);
          insert->bind(7, fire.state == FireState::submitted ? std::optional<std::int64_t>{}
                                                             : std::optional{recorded_at});
          if (insert->execute() == 0) {
            committed = false;  // recorded already: another scheduler took this fire
            break;
          }
        }
      }
      if (!committed) {
        tx.rollback();
        entry->stale = true;
        return false;
      }
      trim_history(job.id);
      tx.commit();
    } catch (...) {
      entry->stale = true;
      throw;
    }
    if (remove) {
      s.cache.erase(job.id);
    } else {
      ++entry->version;
    }
    return true;
  }

  /// See DurableJobStore: records how a fire recorded as submitted ended (`succeeded`, `failed`
  /// with `error`, `dropped`) and, with `record`, adds the run to the job's stored counters (in
  /// SQL, so runs recorded by other processes add up). The job's version is kept: other
  /// processes' copies stay valid. The history of a job no longer stored is kept
  /// (until a job with its id is added).
  /// @throws StoreError if the database fails
  void record_outcome(std::string_view id, const JobRecord* record, TimePoint scheduled,
                      FireState fire_state, std::string_view error) {
    constexpr std::string_view call = "SqliteJobStore::record_outcome";
    State& s = state();
    const std::int64_t at = detail::sqlite::to_stored_time(call, scheduled);
    write([&] {
      auto finish = s.db.prepare_cached(
          "UPDATE fires SET state = ?3, finished_at = ?4, error = ?5 "
          "WHERE job_id = ?1 AND scheduled = ?2");
      finish->bind_all(id, at, detail::sqlite::state_text(fire_state),
                       detail::sqlite::system_now());
      finish->bind(5, error.empty() ? std::optional<std::string_view>{} : std::optional{error});
      finish->execute();
      if (record != nullptr) {
        const bool ran = fire_state == FireState::succeeded || fire_state == FireState::failed;
        auto count = s.db.prepare_cached(
            "UPDATE jobs SET run_count = run_count + ?2, failure_count = failure_count + ?3, "
            "last_run = CASE WHEN ?4 IS NULL THEN last_run WHEN last_run IS NULL OR "
            "last_run < ?4 THEN ?4 ELSE last_run END, last_outcome = ?5 WHERE id = ?1");
        count->bind_all(id, std::int64_t{ran ? 1 : 0},
                        std::int64_t{fire_state == FireState::failed ? 1 : 0});
        // Plain branches rather than an optional: GCC 12 -O3 reports a false
        // maybe-uninitialized on an optional<int64_t> bound here.
        if (ran && record->last_run != TimePoint::min()) {
          count->bind(4, detail::sqlite::to_stored_time(call, record->last_run));
        } else {
          count->bind_null(4);
        }
        count->bind(5, detail::sqlite::outcome_text(detail::sqlite::outcome_of(fire_state)));
        count->execute();
      }
      trim_history(id);
    });
  }

  /// See DurableJobStore: the reports about stored jobs set aside since the last call.
  [[nodiscard]] std::vector<StoreReport> take_reports() noexcept {
    return state().set_aside.take_reports();
  }

  /// See DurableJobStore: the jobs set aside for naming `task`, unknown then, are tried again.
  /// @throws StoreError if the database fails
  void task_registered(std::string_view task) {
    State& s = state();
    s.set_aside.retry_unknown_task(s.db, task);
  }

  /// See DurableJobStore: SqliteStoreOptions::poll_interval.
  [[nodiscard]] Duration poll_interval() const noexcept { return state().options.poll_interval; }

  /// See DurableJobStore: the registry job bodies are built from, and the store's index in its
  /// scheduler. Until it is called, every stored job names an unknown task.
  /// @throws StoreError if the database fails
  void attach(std::shared_ptr<const TaskRegistry> tasks, std::uint8_t index) {
    State& s = state();
    s.tasks = std::move(tasks);
    s.index = index;
    s.cache.for_each([index](JobRecord& record) { record.store = index; });
    // Jobs set aside for want of a registry may be usable with this one.
    s.set_aside.retry_unknown_task(s.db, {});
  }

  /// See DurableJobStore: opens a batch, one transaction holding every write until
  /// commit_batch or rollback_batch (each write stays atomic on its own, as a savepoint).
  /// @pre no batch is open
  /// @throws StoreError if the write lock cannot be taken (BusyPolicy)
  void begin_batch() {
    State& s = state();
    assert(!s.batch && "begin_batch: a batch is open already");
    s.batch.emplace(s.db);
  }

  /// See DurableJobStore: makes the writes of the batch durable at once.
  /// @pre a batch is open
  /// @throws StoreError if COMMIT fails; the batch is then rolled back, as by rollback_batch
  void commit_batch() {
    State& s = state();
    assert(s.batch && "commit_batch: no batch is open");
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
    State& s = state();
    auto select = s.db.prepare_cached(
        "SELECT scheduled, state, runs, owner, recorded_at, finished_at, error, attempt "
        "FROM fires WHERE job_id = ?1 ORDER BY scheduled DESC LIMIT ?2");
    select->bind_all(
        job_id, static_cast<std::int64_t>(std::min<std::size_t>(
                    limit, static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max()))));
    std::vector<FireRecord> history;
    while (select->step()) {
      const std::string_view state_name = select->column_text_view(1);
      const std::optional<FireState> fire_state =
          detail::sqlite::enum_from_name(detail::sqlite::fire_state_names, state_name);
      if (!fire_state) {
        throw StoreError{fmt::format(
            "SqliteJobStore::fire_history: a fire of job \"{}\" in \"{}\" has state \"{}\"; "
            "expected submitted, succeeded, failed, missed, skipped, dropped or abandoned",
            job_id, s.db.path(), state_name)};
      }
      const std::optional<std::int64_t> finished = select->column<std::optional<std::int64_t>>(5);
      history.push_back(FireRecord{
          .scheduled = detail::sqlite::from_stored_time(select->column_int64(0)),
          .state = *fire_state,
          .runs = static_cast<std::uint64_t>(std::max<std::int64_t>(select->column_int64(2), 0)),
          .owner = select->column_text(3),
          .recorded_at = detail::sqlite::from_stored_time(select->column_int64(4)),
          .finished_at =
              finished ? std::optional{detail::sqlite::from_stored_time(*finished)} : std::nullopt,
          .error = select->column_text(6),
          .attempt = static_cast<unsigned>(std::clamp<std::int64_t>(
              select->column_int64(7), 0, std::numeric_limits<unsigned>::max()))});
    }
    return history;
  }

  /// Every stored job, usable or not, exactly as stored, ordered by id: `{"format":
  /// "apsched-sqlite-jobs", "version": 1, "jobs": [{"id", "task", "arguments", "trigger", "options"
  /// (the JSON texts of those columns, as strings), "next_fire", "next_run", "last_run"
  /// (integer nanoseconds since the epoch; last_run may be null), "paused", "run_count",
  /// "failure_count", "last_outcome" (string or null), "version"}]}`. Fire history is not
  /// exported.
  /// @throws StoreError if the database fails
  [[nodiscard]] nlohmann::json export_jobs() const {
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
      if (detail::sqlite::CachedRecord* entry = s.cache.find(row.id)) {
        entry->stale = true;
      }
      s.set_aside.forget(s.db, row.id);
    }
  }

  /// The job records the store holds in memory now (see SqliteStoreOptions::cache_size).
  [[nodiscard]] std::size_t cached_count() const noexcept { return state().cache.size(); }

  /// The path of the database file, as UTF-8.
  [[nodiscard]] const std::string& path() const noexcept { return state().db.path(); }

 private:
  struct State {
    State(detail::sqlite::Database database, SqliteStoreOptions store_options)
        : db{std::move(database)},
          options{std::move(store_options)},
          codecs{options.codecs != nullptr ? options.codecs : &TriggerCodecs::builtin()},
          owner{random_token()},
          cache{options.cache_size} {}

    detail::sqlite::Database db;
    SqliteStoreOptions options;
    const TriggerCodecs* codecs;
    // Identifies this store object in the fires it records.
    std::string owner;
    std::shared_ptr<const TaskRegistry> tasks;
    std::uint8_t index = 0;
    // Numbers the records loaded from the database, for their generation.
    std::uint32_t loaded = 0;
    detail::sqlite::RecordCache cache;
    detail::sqlite::SetAsideJobs set_aside;
    // The transaction of the open batch, if any.
    std::optional<detail::sqlite::Transaction> batch;
  };

  static detail::sqlite::Options database_options(const SqliteStoreOptions& options) {
    detail::sqlite::Options result;
    result.synchronous = options.synchronous;
    result.busy = options.busy;
    return result;
  }

  static std::string random_token() {
    std::random_device random;
    return fmt::format("{:08x}{:08x}", random(), random());
  }

  [[nodiscard]] State& state() const noexcept {
    assert(state_ && "use of a moved-from SqliteJobStore");
    return *state_;
  }

  // Runs `body`, a group of writes, atomically: in a transaction of its own, or inside an open
  // batch as a savepoint, so that a failing write leaves the batch as it was.
  template <class F>
  void write(F&& body) {
    State& s = state();
    if (!s.batch) {
      s.db.transaction(body);
      return;
    }
    s.db.prepare_cached("SAVEPOINT apsched_write")->execute();
    try {
      body();
    } catch (...) {
      try {
        s.db.prepare_cached("ROLLBACK TO apsched_write")->execute();
        s.db.prepare_cached("RELEASE apsched_write")->execute();
      } catch (...) {  // NOLINT(bugprone-empty-catch): the batch fails at commit_batch then
      }
      throw;
    }
    s.db.prepare_cached("RELEASE apsched_write")->execute();
  }

  // The record of job `id`, whose row has `row_version`: the cached one, reloaded if stale or
  // changed, else loaded now. nullptr when the row is gone or cannot be used.
  JobRecord* hand_out(std::string_view id, std::int64_t row_version) {
    State& s = state();
    detail::sqlite::CachedRecord* cached = s.cache.find(id);
    if (cached != nullptr && !cached->stale && cached->version == row_version) {
      return &cached->record;
    }
    if (s.set_aside.holds(id, row_version)) {
      return nullptr;
    }
    std::optional<detail::sqlite::JobRow> row;
    {
      auto select = s.db.prepare_cached(
          fmt::format("SELECT {} FROM jobs WHERE id = ?1", detail::sqlite::job_columns));
      select->bind(1, id);
      if (select->step()) {
        row = detail::sqlite::read_job_row(*select);
      }
    }
    if (!row) {
      s.cache.drop_if_idle(id);
      return nullptr;
    }
    if (cached != nullptr) {
      return refresh(*cached, *row);
    }
    std::optional<JobRecord> loaded = build(*row);
    if (!loaded) {
      return nullptr;
    }
    loaded->generation = 0x8000'0000U | (s.loaded++ & 0x7FFF'FFFFU);
    loaded->store = s.index;
    return s.cache.put(std::move(*loaded), row->version);
  }

  // Brings `entry` up to `row` when it is stale or the row changed, keeping the scheduler's
  // process-local state. Returns the record, or nullptr (dropping an idle entry) when the row
  // cannot be used now.
  JobRecord* refresh(detail::sqlite::CachedRecord& entry, const detail::sqlite::JobRow& row) {
    if (!entry.stale && entry.version == row.version) {
      return &entry.record;
    }
    std::optional<JobRecord> loaded = build(row);
    if (!loaded) {
      state().cache.drop_if_idle(row.id);
      return nullptr;
    }
    JobRecord& record = entry.record;
    loaded->generation = record.generation;
    loaded->running = record.running;
    loaded->store = record.store;
    if (record.extras && !record.extras->queued_runs.empty()) {
      loaded->extra().queued_runs = std::move(record.extras->queued_runs);
    }
    record = std::move(*loaded);
    entry.version = row.version;
    entry.stale = false;
    return &record;
  }

  // The record `row` describes, or empty when it cannot be used: then it is set aside and
  // reported.
  std::optional<JobRecord> build(const detail::sqlite::JobRow& row) {
    State& s = state();
    try {
      return detail::sqlite::record_from_row(row, s.tasks.get(), *s.codecs);
    } catch (const UnknownTaskError& error) {
      s.set_aside.add(s.db, row, error.what(), true);
    } catch (const InvalidArgumentError& error) {
      s.set_aside.add(s.db, row, error.what(), false);
    } catch (const nlohmann::json::exception& error) {
      s.set_aside.add(s.db, row, error.what(), false);
    }
    return std::nullopt;
  }

  // Keeps the newest history_per_job finished fires of job `id`.
  void trim_history(std::string_view id) {
    State& s = state();
    auto trim = s.db.prepare_cached(
        "DELETE FROM fires WHERE job_id = ?1 AND state <> 'submitted' AND scheduled IN "
        "(SELECT scheduled FROM fires WHERE job_id = ?1 AND state <> 'submitted' "
        "ORDER BY scheduled DESC LIMIT -1 OFFSET ?2)");
    trim->bind_all(id, static_cast<std::int64_t>(std::min<std::size_t>(
                           s.options.history_per_job,
                           static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max()))));
    trim->execute();
  }

  std::unique_ptr<State> state_;
};

static_assert(DurableJobStore<SqliteJobStore>);

}  // namespace apsched
