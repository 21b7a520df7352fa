// SPDX-License-Identifier: MIT
// StoreCore: what a SqliteJobStore does with its connection: opening the file, writing and
// reading jobs, handing out records, starting claimed fires, the lease and the take-over.
#pragma once

#include <apsched/clock.hpp>
#include <apsched/detail/durable/engine.hpp>
#include <apsched/detail/durable/host.hpp>
#include <apsched/detail/durable/outcome.hpp>
#include <apsched/detail/durable/record_cache.hpp>
#include <apsched/detail/sqlite/database.hpp>
#include <apsched/detail/sqlite/dialect.hpp>
#include <apsched/detail/sqlite/migrate.hpp>
#include <apsched/detail/sqlite/set_aside.hpp>
#include <apsched/detail/sqlite/statement.hpp>
#include <apsched/detail/sqlite/store_schema.hpp>
#include <apsched/detail/sqlite/store_state.hpp>
#include <apsched/detail/sqlite/transactions.hpp>
#include <apsched/durable_job_store.hpp>
#include <apsched/error.hpp>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <algorithm>
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

namespace apsched::detail::sqlite {

/// The machinery of a SqliteJobStore over its connection: each public member does what the
/// SqliteJobStore member of its name documents, the rounds and batches are its Transactions',
/// and the algorithm both database stores share is the durable Engine's, over SqliteDialect.
///
/// Thread safety: not thread-safe (the store's calls are serialised).
class StoreCore : public Transactions {
 public:
  /// Opens (and creates or migrates) the database `file`, and registers the store's lease.
  /// @throws StoreError, SchemaVersionError, InvalidArgumentError as SqliteJobStore's constructor
  StoreCore(const std::filesystem::path& file, const Options& database, const Settings& settings)
      : Transactions{std::make_unique<State>(Database::open(file, database), settings)} {
    const auto operation = state().db.operation("open");
    Database& db = state().db;
    migrate(db, store_schema_name, std::span{store_migrations});
    SetAsideJobs::create_table(db);
    db.exec(fmt::format("PRAGMA cache_size = -{}",
                        std::min<std::size_t>(state().settings.page_cache_kib, 1U << 30U)));
    if (settings.lease_duration <= Duration::zero() ||
        settings.lease_duration <= settings.poll_interval) {
      throw InvalidArgumentError{fmt::format(
          "SqliteJobStore: lease_duration is {} ns; expected more than poll_interval ({} ns)",
          settings.lease_duration.count(), settings.poll_interval.count())};
    }
    renew_lease(system_now());
  }

  JobRecord* insert(JobRecord&& record) {
    const auto operation = state().db.operation("add job");
    constexpr std::string_view call = "SqliteJobStore::insert";
    State& s = state();
    const durable::StoredDefinition stored = durable::stored_definition(call, record, s.codecs);
    const bool ran = record.last_run != TimePoint::min();
    const std::int64_t last_run = ran ? to_stored_time(call, record.last_run) : 0;
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
      insert->bind(12, outcome_text(record.last_outcome));
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

  JobRecord* replace(JobRecord&& record, bool keep_schedule) {
    const auto operation = state().db.operation("replace job");
    constexpr std::string_view call = "SqliteJobStore::replace";
    State& s = state();
    const durable::StoredDefinition stored = durable::stored_definition(call, record, s.codecs);
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

  bool erase(std::string_view id) {
    const auto operation = state().db.operation("remove job");
    return engine().erase(id);
  }

  void clear() {
    const auto operation = state().db.operation("remove all jobs");
    engine().clear();
  }

  void update(JobRecord& stored) {
    const auto operation = state().db.operation("update job");
    engine().update(stored);
  }

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
    return from_stored_time(select->column_int64(0));
  }

  [[nodiscard]] JobRecord* first_due(TimePoint now) {
    const auto operation = state().db.operation("read due jobs");
    State& s = state();
    const std::int64_t until = to_stored_time("SqliteJobStore::first_due", now);
    for (;;) {
      // The whole row at once: a job not cached (or changed) is built without a second query.
      std::optional<JobRow> row;
      {
        static const std::string sql = fmt::format(
            "SELECT {} FROM jobs WHERE paused = 0 AND next_run <= ?1 AND NOT EXISTS "
            "(SELECT 1 FROM temp.apsched_unusable AS u WHERE u.id = jobs.id AND "
            "u.version = jobs.version) ORDER BY next_run LIMIT 1",
            job_columns);
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
        row = read_job_row(*select);
      }
      if (JobRecord* job = hand_out(row->id, row->version, &*row)) {
        count_running_elsewhere(*job);
        return job;
      }
    }
  }

  [[nodiscard]] std::size_t size() const {
    const auto operation = state().db.operation("count jobs");
    auto count = state().db.prepare_cached("SELECT count(*) FROM jobs");
    count->step();
    return static_cast<std::size_t>(count->column_int64(0));
  }

  template <class F>
  void for_each(F&& visit) const {
    const auto operation = state().db.operation("list jobs");
    State& s = state();
    std::vector<JobRow> rows;
    {
      auto select = s.db.prepare_cached(fmt::format("SELECT {} FROM jobs", job_columns));
      while (select->step()) {
        rows.push_back(read_job_row(*select));
      }
    }
    for (const JobRow& row : rows) {
      if (durable::CachedRecord* entry = s.cache.find(row.id)) {
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

  bool commit_due(JobRecord& job, std::span<const FireDecision> fires, bool remove) {
    const auto operation = state().db.operation("record fire");
    return engine().commit_due(job, fires, remove, "SqliteJobStore::commit_due");
  }

  std::vector<ClaimVerdict> start_claimed(std::span<const ClaimedFire> claims) {
    const auto operation = state().db.operation("start claimed fires");
    constexpr std::string_view call = "SqliteJobStore::start_claimed";
    State& s = state();
    std::vector<std::int64_t> times;
    times.reserve(claims.size());
    for (const ClaimedFire& claim : claims) {
      times.push_back(to_stored_time(call, claim.scheduled));
    }
    std::vector<ClaimVerdict> verdicts;
    write([&] {
      verdicts.clear();
      const std::int64_t now = system_now();
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

  void record_outcome(std::string_view id, const JobRecord* record, TimePoint scheduled,
                      FireState fire_state, std::string_view error) {
    const auto operation = state().db.operation("record fire outcome");
    engine().record_outcome(id, record, scheduled, fire_state, error,
                            "SqliteJobStore::record_outcome");
  }

  bool defer_outcome(std::string_view id, const JobRecord* record, TimePoint scheduled,
                     FireState fire_state, std::string_view error) {
    return engine().defer_outcome(id, record, scheduled, fire_state, error,
                                  "SqliteJobStore::defer_outcome");
  }

  [[nodiscard]] std::vector<StoreReport> take_reports() noexcept {
    return state().set_aside.take_reports();
  }

  void task_registered(std::string_view task) {
    const auto operation = state().db.operation("retry jobs of a registered task");
    dialect().retry_unknown_task(task);
  }

  [[nodiscard]] std::vector<AbandonedFire> take_abandoned() {
    const auto operation = state().db.operation("take over abandoned fires");
    State& s = state();
    const std::int64_t now = system_now();
    if (s.batch || now < s.next_lease_check) {
      return {};
    }
    const std::int64_t poll =
        std::chrono::duration_cast<std::chrono::nanoseconds>(s.settings.poll_interval).count();
    s.next_lease_check = now + std::max<std::int64_t>(poll, 1);
    const durable::LapsedOwners lapsed = engine().lapsed_owners(now);
    if (!lapsed.listed) {
      s.lease_renewed = 0;  // another store took this one for dead: register again at once
    }
    renew_lease(now);
    std::vector<AbandonedFire> taken;
    for (const durable::LapsedOwner& owner : lapsed.dead) {
      engine().take_over(owner, now, taken);
    }
    return taken;
  }

  [[nodiscard]] Duration poll_interval() const noexcept { return state().settings.poll_interval; }

  void attach(durable::AnyTaskRegistry tasks, std::uint8_t index) {
    const auto operation = state().db.operation("attach to scheduler");
    engine().attach(std::move(tasks), index);
  }

  [[nodiscard]] std::vector<FireRecord> fire_history(std::string_view job_id,
                                                     std::size_t limit = 100) const {
    const auto operation = state().db.operation("read fire history");
    flush_outcomes();
    return engine().fire_history(job_id, limit);
  }

  [[nodiscard]] nlohmann::json export_jobs() const {
    const auto operation = state().db.operation("export");
    State& s = state();
    nlohmann::json jobs = nlohmann::json::array();
    auto select = s.db.prepare_cached(fmt::format("SELECT {} FROM jobs ORDER BY id", job_columns));
    while (select->step()) {
      jobs.push_back(job_row_json(read_job_row(*select)));
    }
    return nlohmann::json{{"format", job_export_format}, {"version", 1}, {"jobs", std::move(jobs)}};
  }

  void import_jobs(const nlohmann::json& document, bool replace_existing = false) {
    const auto operation = state().db.operation("import");
    std::vector<JobRow> rows = read_job_export(document);
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
      for (const JobRow& row : rows) {
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
    for (const JobRow& row : rows) {
      if (durable::CachedRecord* entry = s.cache.find(row.id)) {
        entry->stale = true;
      }
      s.set_aside.forget(s.db, row.id);
    }
  }

  [[nodiscard]] JobRecord* find_cached(std::string_view id) const {
    return engine().find_cached(id);
  }

  [[nodiscard]] std::size_t cached_count() const noexcept { return state().cache.size(); }

  [[nodiscard]] const std::string& path() const noexcept { return state().db.path(); }

  [[nodiscard]] FireOwner owner() const { return FireOwner::parse(state().owner); }

  // Gives up this store's lease: see ~SqliteJobStore.
  void release_lease() noexcept {
    if (has_state()) {
      engine().release_lease();
    }
  }

 private:
  // Writes this store's lease (again, should another store have taken it over for dead) when a
  // third of it has passed since the last write.
  void renew_lease(std::int64_t now) {
    State& s = state();
    const std::int64_t lease =
        std::chrono::duration_cast<std::chrono::nanoseconds>(s.settings.lease_duration).count();
    if (s.lease_renewed != 0 && now - s.lease_renewed < lease / 3) {
      return;
    }
    auto upsert = s.db.prepare_cached(
        "INSERT INTO owners (owner, host, pid, started_at, lease_until, history_per_job) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
        "ON CONFLICT (owner) DO UPDATE SET lease_until = excluded.lease_until");
    upsert->bind_all(s.owner, durable::host_name(), durable::process_id(), now,
                     now > std::numeric_limits<std::int64_t>::max() - lease
                         ? std::numeric_limits<std::int64_t>::max()
                         : now + lease,
                     durable::stored_limit(s.settings.history_per_job));
    upsert->execute();
    s.lease_renewed = now;
  }

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
  JobRecord* hand_out(std::string_view id, std::int64_t row_version, const JobRow* read = nullptr) {
    State& s = state();
    durable::CachedRecord* cached = s.cache.find(id);
    if (cached != nullptr && !cached->stale && cached->version == row_version) {
      return &cached->record;
    }
    if (s.set_aside.holds(id, row_version)) {
      return nullptr;
    }
    std::optional<JobRow> row;
    if (read != nullptr) {
      row = *read;
    } else {
      static const std::string sql = fmt::format("SELECT {} FROM jobs WHERE id = ?1", job_columns);
      auto select = s.db.prepare_cached(sql);
      select->bind(1, id);
      if (select->step()) {
        row = read_job_row(*select);
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

  [[nodiscard]] SqliteDialect dialect() const noexcept { return SqliteDialect{state(), *this}; }
  [[nodiscard]] durable::Engine<SqliteDialect> engine() const noexcept {
    return {state(), dialect()};
  }
};

}  // namespace apsched::detail::sqlite
