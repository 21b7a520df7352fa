// SPDX-License-Identifier: MIT
// PostgresJobStore: durable jobs in a PostgreSQL database shared by schedulers in several
// processes and on several machines; due jobs are claimed with row locks that skip locked rows.
#pragma once

#include <apsched/clock.hpp>
#include <apsched/detail/durable/dialect.hpp>
#include <apsched/detail/durable/engine.hpp>
#include <apsched/detail/durable/host.hpp>
#include <apsched/detail/durable/job_row.hpp>
#include <apsched/detail/durable/outcome.hpp>
#include <apsched/detail/durable/record_cache.hpp>
#include <apsched/detail/postgres/array_literal.hpp>
#include <apsched/detail/postgres/claims.hpp>
#include <apsched/detail/postgres/connection.hpp>
#include <apsched/detail/postgres/listener.hpp>
#include <apsched/detail/postgres/migrate.hpp>
#include <apsched/detail/postgres/schema.hpp>
#include <apsched/detail/postgres/view_queries.hpp>
#include <apsched/durable_job_store.hpp>
#include <apsched/error.hpp>
#include <apsched/json/task_registry.hpp>
#include <apsched/json/trigger_codec.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace apsched {

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
  /// The trigger codecs for the stored triggers; null: TriggerCodecs::builtin().
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
  explicit PostgresJobStore(std::string conninfo, PostgresStoreOptions options = {})
      : state_{std::make_unique<State>(
            detail::postgres::Connection::open(conninfo, "PostgresJobStore", session_settings),
            std::move(options))} {
    const auto operation = state_->db.operation("open");
    const PostgresStoreOptions& o = state_->options;
    if (o.lease_duration <= o.poll_interval) {
      throw InvalidArgumentError{fmt::format(
          "PostgresJobStore: lease_duration is {} ns; expected more than poll_interval ({} ns)",
          std::chrono::nanoseconds{o.lease_duration}.count(),
          std::chrono::nanoseconds{o.poll_interval}.count())};
    }
    detail::postgres::migrate(state_->db, schema_name, detail::postgres::store_migrations);
    state_->conninfo = std::move(conninfo);
    state_->channel = channel_name(state_->db.query("SELECT current_schema()").text(0, 0));
    renew_lease();
  }

  PostgresJobStore(PostgresJobStore&&) noexcept = default;
  PostgresJobStore& operator=(PostgresJobStore&& other) noexcept {
    if (this != &other) {
      release_lease();
      state_ = std::move(other.state_);
    }
    return *this;
  }
  PostgresJobStore(const PostgresJobStore&) = delete;
  PostgresJobStore& operator=(const PostgresJobStore&) = delete;
  /// Writes the outcomes still pending (reconnecting once if the connection was lost) and
  /// closes the connection. The store's lease is given up: its row goes when it left no fire in
  /// flight (recorded claimed or submitted), else it lapses at once and the other schedulers
  /// are notified, so that they take those fires over. Errors are ignored (the lease then
  /// lapses in time).
  ~PostgresJobStore() { release_lease(); }

  /// The schema name recorded in apsched_schema.
  static constexpr std::string_view schema_name = "apsched_jobs";

  /// See JobStore. Stores the job, which must name a task, deletes fire history left by an
  /// earlier job with its id and notifies the other schedulers, in one statement (inside an open
  /// batch: as part of it).
  /// @throws InvalidArgumentError for a record without a task (a closure job cannot be stored)
  /// @throws SerializationError if its trigger has no codec
  /// @throws StoreError if the database fails
  JobRecord* insert(JobRecord&& record) {
    const auto operation = state().db.operation("add job");
    constexpr std::string_view call = "PostgresJobStore::insert";
    State& s = ready();
    const detail::durable::StoredDefinition stored =
        detail::durable::stored_definition(call, record, *s.codecs);
    const std::optional<std::int64_t> last_run =
        record.last_run == TimePoint::min()
            ? std::nullopt
            : std::optional{detail::durable::to_stored_time(call, record.last_run)};
    const std::optional<std::string_view> outcome =
        detail::durable::outcome_text(record.last_outcome);
    const auto inserted = run([&] {
      return s.db
          .query(
              "WITH added AS (INSERT INTO apsched_jobs (id, task, arguments, trigger, options, "
              "next_fire, next_run, paused, last_run, run_count, failure_count, last_outcome, "
              "version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 1) "
              "ON CONFLICT (id) DO NOTHING RETURNING id), "
              "cleared AS (DELETE FROM apsched_fires USING added "
              "WHERE apsched_fires.job_id = added.id) "
              // Delivered when the transaction commits; the same one once per transaction.
              "SELECT count(*) FROM (SELECT pg_notify($13, $14) FROM added) AS notified",
              record.id, record.extras->task->name, record.extras->task->arguments, stored.trigger,
              stored.options, stored.next_fire, stored.next_run, record.paused, last_run,
              static_cast<std::int64_t>(record.run_count), std::int64_t{record.failure_count},
              outcome ? detail::postgres::Param{*outcome} : std::nullopt, s.channel, s.owner)
          .int64(0, 0);
    });
    if (inserted == 0) {
      return nullptr;
    }
    s.unusable.erase(record.id);
    record.store = s.index;
    return s.cache.add_new(std::move(record), s.inserted);
  }

  /// See DurableJobStore (requirement 9). In one statement (inside an open batch: as part of
  /// it), stores the definition of `record` (task, arguments, trigger, options) under its id,
  /// adding the job if none has it, and notifies the other schedulers. The stored job's
  /// counters and fire history stay; its next fire and run time and paused flag stay too when
  /// `keep_schedule` and the stored trigger text equals the new one (`paused` is then set if
  /// `record` is paused). Returns the record then held, reloaded, as find does.
  /// @throws InvalidArgumentError for a record without a task
  /// @throws SerializationError if its trigger has no codec
  /// @throws StoreError if the database fails
  JobRecord* replace(JobRecord&& record, bool keep_schedule) {
    const auto operation = state().db.operation("replace job");
    constexpr std::string_view call = "PostgresJobStore::replace";
    State& s = ready();
    const detail::durable::StoredDefinition stored =
        detail::durable::stored_definition(call, record, *s.codecs);
    run([&] {
      // Every expression of the SET reads the row as it was (apsched_jobs.trigger is the old one).
      return s.db.query(
          "WITH put AS (INSERT INTO apsched_jobs (id, task, arguments, trigger, options, "
          "next_fire, next_run, paused, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1) "
          "ON CONFLICT (id) DO UPDATE SET task = excluded.task, arguments = excluded.arguments, "
          "options = excluded.options, "
          "next_fire = CASE WHEN $9 AND apsched_jobs.trigger = excluded.trigger "
          "THEN apsched_jobs.next_fire ELSE excluded.next_fire END, "
          "next_run = CASE WHEN $9 AND apsched_jobs.trigger = excluded.trigger "
          "THEN apsched_jobs.next_run ELSE excluded.next_run END, "
          "paused = CASE WHEN $9 AND apsched_jobs.trigger = excluded.trigger "
          "THEN apsched_jobs.paused OR excluded.paused ELSE excluded.paused END, "
          "trigger = excluded.trigger, version = apsched_jobs.version + 1 RETURNING id) "
          "SELECT count(*) FROM (SELECT pg_notify($10, $11) FROM put) AS notified",
          record.id, record.extras->task->name, record.extras->task->arguments, stored.trigger,
          stored.options, stored.next_fire, stored.next_run, record.paused, keep_schedule,
          s.channel, s.owner);
    });
    s.unusable.erase(record.id);
    return find(record.id);
  }

  /// See JobStore. Returns the stored job, loading it when it is not in memory or another
  /// scheduler changed it since; nullptr for a job that is not stored or cannot be used.
  /// @throws StoreError if the database fails
  [[nodiscard]] JobRecord* find(std::string_view id) {
    const auto operation = state().db.operation("find job");
    State& s = ready();
    const auto row = run([&] { return s.db.query(select_sql("WHERE id = $1", 2), id, s.owner); });
    if (row.rows() == 0) {
      s.cache.drop_if_idle(id);
      return nullptr;
    }
    return hand_out(read_row(row, 0));
  }

  /// See JobStore. Deletes the job, its fire history and the job kept under its id for a rerun
  /// (see commit_due), in one statement.
  /// @throws StoreError if the database fails
  bool erase(std::string_view id) {
    const auto operation = state().db.operation("remove job");
    ready();
    return engine().erase(id);
  }

  /// See JobStore. Deletes every job, usable, retired (see commit_due) or not, and the fire
  /// history, in one statement.
  /// @throws StoreError if the database fails
  void clear() {
    const auto operation = state().db.operation("remove all jobs");
    ready();
    engine().clear();
  }

  /// See JobStore. Writes the job's next fire and run time, paused flag, trigger and options
  /// (not its counters), so other schedulers reload it, and notifies them.
  /// @throws SerializationError if the trigger has no codec
  /// @throws StoreError if the database fails; the record is then reloaded before it is handed
  /// out again
  void update(JobRecord& stored) {
    const auto operation = state().db.operation("update job");
    ready();
    engine().update(stored);
  }

  /// See JobStore. One indexed query; jobs set aside as unusable are left out. A job that was
  /// due when a round last found no job it could claim (another scheduler's round holds it) is
  /// reported due 2 ms after that time, not at once.
  /// @throws StoreError if the database fails
  [[nodiscard]] std::optional<TimePoint> next_run_time() const {
    const auto operation = state().db.operation("read next run time");
    State& s = ready();
    const auto row = run([&] {
      return s.db.query(
          "SELECT next_run FROM apsched_jobs WHERE NOT paused AND "
          "NOT ((id || ':' || version) = ANY($1::text[])) ORDER BY next_run LIMIT 1",
          unusable_array());
    });
    if (row.rows() == 0) {
      return std::nullopt;
    }
    const std::int64_t next = row.int64(0, 0);
    if (next <= s.none_due_at) {
      // Due when a round found none it could claim: another scheduler's round holds the job,
      // and will have advanced it by its end. Asked again shortly rather than at once, so that
      // the schedulers waiting for that round do not spin on the database meanwhile.
      return detail::durable::from_stored_time(s.none_due_at) + held_job_retry;
    }
    return detail::durable::from_stored_time(next);
  }

  /// See JobStore. One indexed query per call; inside a round, one per 64 due jobs: the round
  /// claims them at once, locking them until it ends, and skips jobs other schedulers' rounds
  /// hold (FOR UPDATE SKIP LOCKED). Jobs a round claimed and did not hand out go back with it.
  /// A round claims at most 256 jobs; then first_due returns nullptr, and the scheduler's next
  /// step goes on with the rest.
  /// @throws StoreError if the database fails
  [[nodiscard]] JobRecord* first_due(TimePoint now) {
    const auto operation = state().db.operation("read due jobs");
    State& s = ready();
    const std::int64_t until = detail::durable::to_stored_time("PostgresJobStore::first_due", now);
    if (s.round) {
      open_shared();
    }
    for (;;) {
      if (s.round) {
        // Claimed a batch at a time: the rows stay locked, and due, until the round ends.
        if (s.claimed.empty() || s.claimed.front().next_run > until) {
          s.claimed.clear();
          if (s.claimed_ids.size() >= round_claims) {
            return nullptr;  // the round ends, its runs start, and the next round goes on
          }
          write_commits();  // so that the query sees the jobs this round advanced
          const auto rows = run([&] {
            return s.db.query(
                select_sql("WHERE NOT paused AND next_run <= $1 AND NOT ((id || ':' || version) "
                           "= ANY($2::text[])) ORDER BY next_run LIMIT $3 FOR UPDATE SKIP LOCKED",
                           4),
                until, unusable_array(), std::int64_t{claim_batch}, s.owner);
          });
          for (int i = 0; i < rows.rows(); ++i) {
            s.claimed.push_back(read_row(rows, i));
            s.claimed_ids.insert(s.claimed.back().id);
          }
          if (s.claimed.empty()) {
            s.none_due_at = until;  // jobs due by then are another's round's (see next_run_time)
            return nullptr;
          }
        }
        const detail::durable::JobRow row = std::move(s.claimed.front());
        s.claimed.pop_front();
        if (JobRecord* job = hand_out(row)) {
          return job;
        }
        continue;
      }
      const auto row = run([&] {
        return s.db.query(
            select_sql("WHERE NOT paused AND next_run <= $1 AND NOT ((id || ':' || version) = "
                       "ANY($2::text[])) ORDER BY next_run LIMIT 1",
                       3),
            until, unusable_array(), s.owner);
      });
      if (row.rows() == 0) {
        return nullptr;
      }
      if (JobRecord* job = hand_out(read_row(row, 0))) {
        return job;
      }
    }
  }

  /// See JobStore: the number of stored jobs, usable or not.
  /// @throws StoreError if the database fails
  [[nodiscard]] std::size_t size() const {
    const auto operation = state().db.operation("count jobs");
    State& s = ready();
    return static_cast<std::size_t>(
        run([&] { return s.db.query("SELECT count(*) FROM apsched_jobs").int64(0, 0); }));
  }

  /// See JobStore. Visits every usable stored job (reading them all: for listings, not for
  /// the scheduler's loop).
  /// @throws StoreError if the database fails
  template <class F>
  void for_each(F&& visit) const {
    const auto operation = state().db.operation("list jobs");
    State& s = ready();
    const auto rows = run([&] { return s.db.query(select_sql("ORDER BY id")); });
    for (int i = 0; i < rows.rows(); ++i) {
      const detail::durable::JobRow row = read_row(rows, i);
      if (detail::durable::CachedRecord* cached = s.cache.find(row.id);
          cached != nullptr && !cached->stale && cached->version == row.version) {
        std::invoke(visit, std::as_const(cached->record));
        continue;
      }
      if (std::optional<JobRecord> loaded = engine().build(row)) {
        loaded->store = s.index;
        std::invoke(visit, std::as_const(*loaded));
      }
    }
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
  bool commit_due(JobRecord& job, std::span<const FireDecision> fires, bool remove) {
    const auto operation = state().db.operation("record fire");
    ready();
    return engine().commit_due(job, fires, remove, "PostgresJobStore::commit_due");
  }

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
  std::vector<ClaimVerdict> start_claimed(std::span<const ClaimedFire> claims) {
    const auto operation = state().db.operation("start claimed fires");
    State& s = ready();
    if (claims.empty()) {
      return {};
    }
    const detail::postgres::ClaimArrays arrays =
        detail::postgres::claim_arrays(claims, "PostgresJobStore::start_claimed");
    flush_outcomes();
    const auto start = [&] {
      return detail::postgres::read_claim_answer(
          s.db.query(detail::postgres::start_claimed_sql, arrays.ids, arrays.scheduled,
                     arrays.max_instances, s.owner, detail::durable::system_now()),
          claims.size(), s.db);
    };
    if (!s.open && !s.batch && !s.round) {
      detail::postgres::ClaimAnswer answer = run(start);
      if (!answer.raced) {
        return std::move(answer.verdicts);
      }
    }
    // Locked before the statement's snapshot is taken, the rows cannot change under it.
    std::vector<ClaimVerdict> verdicts;
    in_transaction([&] {
      s.db.query(detail::postgres::lock_jobs_sql, arrays.ids);
      verdicts = start().verdicts;
      return true;
    });
    return verdicts;
  }

  /// See DurableJobStore: records how a fire recorded as claimed or submitted ended
  /// (`succeeded`, `failed` with `error`, `dropped`; `missed` for a claimed one that waited too
  /// long) and, with `record`, adds the run to the job's stored counters (in SQL, so runs
  /// recorded by other schedulers add up). The history of a job no longer stored is kept (until
  /// a job with its id is added).
  /// @throws StoreError if the database fails
  void record_outcome(std::string_view id, const JobRecord* record, TimePoint scheduled,
                      FireState fire_state, std::string_view error) {
    const auto operation = state().db.operation("record fire outcome");
    ready();
    engine().record_outcome(id, record, scheduled, fire_state, error,
                            "PostgresJobStore::record_outcome");
  }

  /// As record_outcome, but kept in memory until the scheduler's next step writes it with the
  /// other outcomes of that step in one transaction (see flush_outcomes).
  /// @returns whether it is the only pending outcome (the scheduler then wakes its loop)
  /// @throws std::bad_alloc; SerializationError if `scheduled` is out of range
  bool defer_outcome(std::string_view id, const JobRecord* record, TimePoint scheduled,
                     FireState fire_state, std::string_view error) {
    return engine().defer_outcome(id, record, scheduled, fire_state, error,
                                  "PostgresJobStore::defer_outcome");
  }

  /// Writes the outcomes defer_outcome holds, in one transaction (inside an open batch: as part
  /// of it; while a round is open: not yet).
  /// @throws StoreError if the database fails; the outcomes are kept, to be written later
  void flush_outcomes() const {
    const auto operation = state().db.operation("write fire outcomes");
    State& s = state();
    if (s.pending.empty() || s.round) {
      return;
    }
    ready();
    // In one order, so that schedulers writing outcomes of the same jobs at once take the
    // jobs' row locks in the same order and cannot deadlock.
    std::sort(s.pending.begin(), s.pending.end(), [](const auto& a, const auto& b) {
      return std::tie(a.id, a.scheduled) < std::tie(b.id, b.scheduled);
    });
    if (s.open || s.batch) {
      const_cast<PostgresJobStore*>(this)->in_transaction([&] {
        apply_outcomes(s.pending);
        return true;
      });
    } else {
      // One statement, atomic alone: no BEGIN and COMMIT round trips, and the rows it locks
      // are free again as soon as it ends.
      run([&] {
        apply_outcomes(s.pending);
        return true;
      });
    }
    s.pending.clear();
  }

  /// Opens a round: until end_round or abort_round, the store's reads and writes go into one
  /// transaction, begun at the first first_due, whose row locks keep the jobs it claims from
  /// other schedulers. A failing statement fails the whole round (PostgreSQL aborts the
  /// transaction): end_round then rolls it back and throws.
  /// @pre no batch or round is open
  void begin_round() noexcept {
    State& s = state();
    s.round = true;
    s.failed = false;
  }

  /// Commits the round. Pending outcomes are left for flush_outcomes: written inside the round,
  /// they would lock jobs other schedulers' rounds hold, and the rounds could deadlock.
  /// @throws StoreError if COMMIT fails, or a statement of the round failed: the round is rolled
  /// back as by abort_round
  void end_round() {
    const auto operation = state().db.operation("commit round of due jobs");
    State& s = state();
    try {
      if (s.open && !s.failed) {
        write_commits();
      }
      s.round = false;
      commit_transaction("PostgresJobStore::end_round");
    } catch (...) {
      abort_round();
      throw;
    }
  }

  /// Rolls the round back: nothing of it stays, and the records it changed are reloaded before
  /// they are handed out again. Pending outcomes are kept.
  void abort_round() noexcept {
    state().round = false;
    rollback_transaction();
  }

  /// See DurableJobStore: opens a batch, one transaction holding every write until
  /// commit_batch or rollback_batch. A statement that fails inside it fails the whole batch
  /// (PostgreSQL aborts the transaction); commit_batch then rolls back and throws.
  /// @pre no batch or round is open
  /// @throws StoreError if the database fails
  void begin_batch() {
    const auto operation = state().db.operation("begin batch");
    State& s = ready();
    s.batch = true;
    s.failed = false;
    try {
      begin_transaction();
    } catch (...) {
      s.batch = false;
      throw;
    }
  }

  /// See DurableJobStore: makes the writes of the batch durable at once.
  /// @throws StoreError if COMMIT fails or a write of the batch failed; the batch is then rolled
  /// back, as by rollback_batch
  void commit_batch() {
    const auto operation = state().db.operation("commit batch");
    State& s = state();
    s.batch = false;
    try {
      commit_transaction("PostgresJobStore::commit_batch");
    } catch (...) {
      rollback_transaction();
      throw;
    }
  }

  /// See DurableJobStore: undoes the writes of the batch. Records in memory are reloaded
  /// before they are handed out again (idle ones are dropped).
  void rollback_batch() noexcept {
    state().batch = false;
    rollback_transaction();
  }

  /// See DurableJobStore: the reports about stored jobs set aside since the last call.
  [[nodiscard]] std::vector<StoreReport> take_reports() noexcept {
    return std::exchange(state().reports, {});
  }

  /// See DurableJobStore: the jobs set aside for naming `task`, unknown then, are tried again.
  void task_registered(std::string_view task) { dialect().retry_unknown_task(task); }

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
  [[nodiscard]] std::vector<AbandonedFire> take_abandoned() {
    const auto operation = state().db.operation("take over abandoned fires");
    State& s = ready();
    const auto now = std::chrono::steady_clock::now();
    if (s.batch || s.round) {
      return {};
    }
    // A scheduler that gave up its lease with fires left in flight notified: look at once.
    const bool released = s.owners_changed.exchange(false);
    if (now < s.next_lease_check && !released) {
      return {};
    }
    s.next_lease_check = now + s.options.poll_interval;
    renew_lease();
    std::vector<AbandonedFire> taken;
    // Leases are compared and fires stamped by the database clock: no time of this host.
    constexpr std::int64_t unused_now = 0;
    for (const detail::durable::LapsedOwner& owner : engine().lapsed_owners(unused_now).dead) {
      engine().take_over(owner, unused_now, taken);
    }
    return taken;
  }

  /// Optional hook of DurableJobStore: `wake` (callable from any thread) wakes the scheduler's
  /// loop. While it is set and PostgresStoreOptions::listen holds, a listener (a connection and
  /// thread of its own) calls it when another scheduler adds or changes a job or gives up its
  /// lease with fires left in flight, and after each (re)connection of the listener. An empty
  /// `wake` stops the listener, waiting for a call of `wake` in progress to return.
  /// Thread safety: not to be called while a call of the previous `wake` waits for a lock the
  /// caller holds (the scheduler calls it from its constructor and destructor only).
  /// @throws std::system_error if the listener's thread cannot be started
  void set_waker(std::function<void()> wake) {
    State& s = state();
    s.listener.reset();  // joins its thread: no call of the old waker is left
    {
      const std::lock_guard lock{s.wake_mutex};
      s.waker = std::move(wake);
    }
    if (!s.waker || !s.options.listen) {
      return;
    }
    s.listener = std::make_unique<detail::postgres::Listener>(
        s.conninfo, s.channel, [&s](std::optional<std::string_view> payload) {
          if (payload && *payload == s.owner) {
            return;  // this store's own change
          }
          if (!payload || payload->starts_with(released_prefix)) {
            s.owners_changed = true;
          }
          const std::lock_guard lock{s.wake_mutex};
          if (s.waker) {
            s.waker();
          }
        });
  }

  /// Optional hook for the scheduler: `now` reads the scheduler's clock (from the scheduler's
  /// thread). With PostgresStoreOptions::database_clock, the store measures the database
  /// clock's offset from it now and at each lease renewal (see clock_offset).
  /// If the database fails now, the offset is measured at the next renewal.
  void set_clock(std::function<TimePoint()> now) {
    const auto operation = state().db.operation("renew lease");
    State& s = state();
    s.clock = s.options.database_clock ? std::move(now) : nullptr;
    s.offset_known = false;
    s.clock_offset = 0;
    if (s.clock) {
      try {
        ready();
        renew_lease();
      } catch (const StoreError&) {  // NOLINT(bugprone-empty-catch): measured at the renewal
      }
    }
  }

  /// The database server's time minus the scheduler's clock, as last measured (zero before,
  /// and without PostgresStoreOptions::database_clock).
  /// Thread safety: thread-safe (any thread may read it while the scheduler measures it).
  [[nodiscard]] Duration clock_offset() const noexcept {
    return std::chrono::duration_cast<Duration>(
        std::chrono::nanoseconds{state().clock_offset.load(std::memory_order_relaxed)});
  }

  /// See DurableJobStore: PostgresStoreOptions::poll_interval.
  [[nodiscard]] Duration poll_interval() const noexcept { return state().options.poll_interval; }

  /// See DurableJobStore: the registry job bodies are built from, and the store's index in its
  /// scheduler.
  void attach(std::shared_ptr<const TaskRegistry> tasks, std::uint8_t index) {
    engine().attach(std::move(tasks), index);
  }

  /// The recorded fires of job `job_id`, newest first, at most `limit`; pending outcomes are
  /// written first.
  /// @throws StoreError if the database fails or holds a fire state this version does not know
  [[nodiscard]] std::vector<FireRecord> fire_history(std::string_view job_id,
                                                     std::size_t limit = 100) const {
    const auto operation = state().db.operation("read fire history");
    ready();
    flush_outcomes();
    return engine().fire_history(job_id, limit);
  }

  /// Who this store object is in the fires it records and in apsched_owners
  /// (FireRecord::owner, StoreOwner::owner); `owner().text()` is the stored text.
  [[nodiscard]] FireOwner owner() const { return FireOwner::parse(state().owner); }

  /// The record of job `id` the store holds in memory, without reading the database (which may
  /// be unreachable), or nullptr. A job with a run outstanding or queued is always held, so the
  /// scheduler finds it here when a run ends.
  [[nodiscard]] JobRecord* find_cached(std::string_view id) const {
    return engine().find_cached(id);
  }

  /// The job records the store holds in memory now (see PostgresStoreOptions::cache_size).
  [[nodiscard]] std::size_t cached_count() const noexcept { return state().cache.size(); }

 private:
  // How many due jobs a round claims (locks) per query, and in all: a longer round would
  // hold its runs back until it commits, and make other schedulers skip more locked rows.
  static constexpr int claim_batch = 64;
  static constexpr std::size_t round_claims = 256;

  // The payload of the notification of a lease given up with fires left in flight, before the
  // owner; any other payload is the owner that added or changed a job.
  static constexpr std::string_view released_prefix = "released:";

  // The notification channel of the schema: "apsched:" and its name, cut to the 63 bytes of a
  // PostgreSQL identifier (at a character boundary).
  // Every statement of the store finds its rows through an index. Its statements are prepared
  // (planned once per session), and a plan made while a table was small (a new database, before
  // autovacuum's first ANALYZE) would scan the whole table for as long as the session lasts.
  // Without JIT: the cost of a plan with a seq scan left (of apsched_owners, say) is then large
  // enough for PostgreSQL to compile it, which takes a second, for queries that take 0.1 ms.
  static constexpr std::string_view session_settings = "SET enable_seqscan = off; SET jit = off";

  static std::string channel_name(std::string_view schema) {
    std::string channel = "apsched:";
    channel += schema;
    if (channel.size() > 63) {
      std::size_t end = 63;
      while (end > 0 && (static_cast<unsigned char>(channel[end]) & 0xC0U) == 0x80U) {
        --end;  // a continuation byte: cut before its character
      }
      channel.resize(end);
    }
    return channel;
  }

  // The columns of apsched_jobs and apsched_retired_jobs, in the order read_row reads them.
  static constexpr std::string_view job_columns =
      "id, task, arguments, trigger, options, next_fire, next_run, paused, last_run, run_count, "
      "failure_count, last_outcome, version";

  // Keeps the rows of `source` (a CTE of removed job rows) in apsched_retired_jobs, replacing
  // one of the same id.
  static std::string retire_sql(std::string_view source, std::string_view where) {
    return fmt::format(
        "INSERT INTO apsched_retired_jobs ({0}) SELECT {0} FROM {1} {2} ON CONFLICT (id) DO "
        "UPDATE SET (task, arguments, trigger, options, next_fire, next_run, paused, last_run, "
        "run_count, failure_count, last_outcome, version) = (EXCLUDED.task, EXCLUDED.arguments, "
        "EXCLUDED.trigger, EXCLUDED.options, EXCLUDED.next_fire, EXCLUDED.next_run, "
        "EXCLUDED.paused, EXCLUDED.last_run, EXCLUDED.run_count, EXCLUDED.failure_count, "
        "EXCLUDED.last_outcome, EXCLUDED.version)",
        job_columns, source, where);
  }

  // Now by the database's clock, in nanoseconds since the epoch (microsecond precision).
  static constexpr std::string_view db_now =
      "(extract(epoch FROM clock_timestamp()) * 1e9)::bigint";

  // How many finished fires per job a trim keeps: the largest history_per_job in use, this
  // store's (parameter `param`) or one in apsched_owners (see PostgresStoreOptions).
  static std::string history_limit(int param) {
    return fmt::format("greatest(${}::bigint, (SELECT max(history_per_job) FROM apsched_owners))",
                       param);
  }

  // This store's history_per_job, as the bigint a trim compares with.
  std::int64_t history_per_job() const noexcept {
    return detail::durable::stored_limit(state().options.history_per_job);
  }

  using PendingOutcome = detail::durable::PendingOutcome;

  // A commit_due of a job the open round claimed, written at the round's next query.
  struct DeferredCommit {
    std::string id;
    std::int64_t version = 0;
    bool remove = false;
    bool retire = false;  // see detail::durable::retires
    std::int64_t next_fire = 0;
    std::int64_t next_run = 0;
    bool missed = false;
    bool finished = false;
  };

  struct Unusable {
    std::string task;
    bool unknown_task = false;
    std::int64_t version = 0;
  };

  // What the engine shares (owner, registry, record cache, pending outcomes: see
  // detail::durable::EngineState), and the connection with what only PostgreSQL needs.
  struct State : detail::durable::EngineState {
    State(detail::postgres::Connection connection, PostgresStoreOptions store_options)
        : EngineState{store_options.codecs, store_options.cache_size},
          db{std::move(connection)},
          options{std::move(store_options)} {}

    detail::postgres::Connection db;
    PostgresStoreOptions options;
    // Due rows the open round has locked and not yet handed out, by next_run; the ids of all
    // it has locked.
    std::deque<detail::durable::JobRow> claimed;
    std::unordered_set<std::string> claimed_ids;
    // The commits of claimed jobs not yet written, and their fires as array literals.
    std::vector<DeferredCommit> commits;
    std::string fire_ids = "{";
    std::string fire_scheduled = "{";
    std::string fire_states = "{";
    std::string fire_runs = "{";
    std::size_t fire_count = 0;
    // Unusable jobs by id, and the reports about them not yet taken; each job reported once.
    std::map<std::string, Unusable, std::less<>> unusable;
    std::vector<StoreReport> reports;
    std::map<std::string, std::string, std::less<>> reported;
    // Whether a batch or round is open, whether its transaction is, and whether a statement
    // of it failed.
    bool batch = false;
    bool round = false;
    bool open = false;
    bool failed = false;
    // When take_abandoned renews the lease and looks at the others' next.
    std::chrono::steady_clock::time_point next_lease_check{};
    // When a lost connection may be tried again, and the next back-off.
    std::chrono::steady_clock::time_point retry_at{};
    std::chrono::milliseconds backoff{100};
    // The connection string (the listener opens a connection of its own) and the
    // notification channel.
    std::string conninfo;
    std::string channel;
    // Set by the listener when a lease was given up (or notifications may have been lost):
    // take_abandoned looks at the other owners at its next call.
    std::atomic<bool> owners_changed{false};
    // Guards waker, which the listener calls.
    std::mutex wake_mutex;
    std::function<void()> waker;
    // The scheduler's clock (with PostgresStoreOptions::database_clock), and the database
    // clock's offset from it in nanoseconds, read by any thread.
    std::function<TimePoint()> clock;
    bool offset_known = false;
    std::atomic<std::int64_t> clock_offset{0};
    // The time (stored form) up to which a round last found no due job it could claim.
    std::int64_t none_due_at = std::numeric_limits<std::int64_t>::min();
    // Per job, the finished fires this store wrote since it last trimmed the job's history.
    std::unordered_map<std::string, std::uint32_t> untrimmed;
    // Last: destroyed first, joining its thread before what it uses goes.
    std::unique_ptr<detail::postgres::Listener> listener;
  };

  [[nodiscard]] State& state() const noexcept { return *state_; }

  // The state, with the connection open again if it was lost (no sooner than the back-off).
  State& ready() const {
    State& s = state();
    if (s.db.connected()) {
      return s;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now < s.retry_at) {
      throw StoreError{s.db.error_message(
          fmt::format("the connection to the server is lost; trying again in {} ms",
                      std::chrono::ceil<std::chrono::milliseconds>(s.retry_at - now).count()))};
    }
    try {
      s.db.reconnect();
    } catch (...) {
      s.retry_at = now + s.backoff;
      s.backoff = std::min<std::chrono::milliseconds>(s.backoff * 2, std::chrono::seconds{5});
      throw;
    }
    s.backoff = std::chrono::milliseconds{100};
    return s;
  }

  // Runs `query`; a failure inside an open transaction fails it (PostgreSQL aborted it), and a
  // lost connection ends it.
  template <class F>
  auto run(F&& query) const -> decltype(query()) {
    State& s = state();
    try {
      return query();
    } catch (const detail::postgres::PgError& error) {
      if (s.open) {
        s.failed = true;
      }
      if (error.connection_lost()) {
        s.open = false;
      }
      throw;
    }
  }

  // Runs `body` (returning whether to keep its writes) in the open batch or round, or else in a
  // transaction of its own. Inside a batch or round, false after a write must have set failed.
  template <class F>
  bool in_transaction(F&& body) const {
    State& s = state();
    if (s.open || s.batch || s.round) {
      open_shared();
      write_commits();
      return run(body);
    }
    begin_transaction();
    bool keep = false;
    try {
      keep = run(body);
    } catch (...) {
      rollback_transaction(false);
      throw;
    }
    if (!keep) {
      rollback_transaction(false);
      return false;
    }
    commit_transaction("PostgresJobStore");
    return true;
  }

  void begin_transaction() const {
    State& s = state();
    run([&] { return s.db.exec("BEGIN"); });
    s.open = true;
  }

  // Forgets the claims of the round and its commits not written (the round ends).
  void forget_claims() const noexcept {
    State& s = state();
    s.claimed.clear();
    s.claimed_ids.clear();
    forget_commits();
  }

  // Writes the deferred commits of the round in one statement. Their rows are locked by the
  // round, so every one applies; if one did not, or a fire was recorded already, the round
  // fails (its end rolls it back).
  void write_commits() const {
    State& s = state();
    if (s.commits.empty()) {
      return;
    }
    std::string ids = "{";
    std::string versions = "{";
    std::string removes = "{";
    std::string retires = "{";
    std::string next_fires = "{";
    std::string next_runs = "{";
    std::string misses = "{";
    std::string trimmed = "{";
    for (const DeferredCommit& commit : s.commits) {
      const char* separator = ids.size() > 1 ? "," : "";
      detail::postgres::append_element(ids, commit.id);
      versions += separator;
      detail::json::write_integer(commit.version, versions);
      removes += separator;
      removes += commit.remove ? "t" : "f";
      retires += separator;
      retires += commit.retire ? "t" : "f";
      next_fires += separator;
      detail::json::write_integer(commit.next_fire, next_fires);
      next_runs += separator;
      detail::json::write_integer(commit.next_run, next_runs);
      misses += separator;
      misses += commit.missed ? "t" : "f";
      if (commit.finished) {
        detail::postgres::append_element(trimmed, commit.id);
      }
    }
    for (std::string* array :
         {&ids, &versions, &removes, &retires, &next_fires, &next_runs, &misses, &trimmed}) {
      *array += '}';
    }
    const std::size_t expected_commits = s.commits.size();
    const std::size_t expected_fires = s.fire_count;
    // Moved out and closed with '}' (not `s.fire_ids + "}"`: GCC 12 -O3 warns falsely of an
    // overlapping copy in that operator+).
    std::string fire_ids = std::move(s.fire_ids);
    std::string fire_scheduled = std::move(s.fire_scheduled);
    std::string fire_states = std::move(s.fire_states);
    std::string fire_runs = std::move(s.fire_runs);
    for (std::string* array : {&fire_ids, &fire_scheduled, &fire_states, &fire_runs}) {
      array->push_back('}');
    }
    forget_commits();
    // The same text every round: built once.
    static const std::string sql =
        "WITH c AS (SELECT * FROM unnest($1::text[], $2::bigint[], $3::boolean[], "
        "$4::bigint[], $5::bigint[], $6::boolean[], $15::boolean[]) AS c(id, version, remove, "
        "next_fire, next_run, missed, retire)), "
        "removed AS (DELETE FROM apsched_jobs j USING c WHERE c.remove AND j.id = c.id AND "
        "j.version = c.version RETURNING j.*, c.retire), "
        // Kept for a rerun of their last fire, until that fire's outcome is written.
        "kept AS (" +
        retire_sql("removed", "WHERE retire") +
        "), "
        "advanced AS (UPDATE apsched_jobs j SET next_fire = c.next_fire, next_run = c.next_run, "
        "version = j.version + 1, last_outcome = CASE WHEN c.missed THEN 'missed' ELSE "
        "j.last_outcome END FROM c WHERE NOT c.remove AND j.id = c.id AND "
        "j.version = c.version RETURNING 1), "
        "fired AS (INSERT INTO apsched_fires (job_id, scheduled, state, runs, owner, "
        "recorded_at, finished_at) SELECT f.job_id, f.scheduled, f.state, f.runs, $11, $12, "
        "CASE WHEN f.state IN ('submitted', 'claimed') THEN NULL ELSE $12::bigint END FROM "
        "unnest($7::text[], $8::bigint[], $9::text[], $10::bigint[]) AS f(job_id, scheduled, "
        "state, runs) ON CONFLICT (job_id, scheduled) DO NOTHING RETURNING 1), "
        // Older finished fires past history_per_job (the ones written here count next time).
        "old AS (SELECT job_id, scheduled, row_number() OVER (PARTITION BY job_id ORDER BY "
        "scheduled DESC) AS n FROM apsched_fires WHERE job_id = ANY($13::text[]) AND "
        "state NOT IN ('submitted', 'claimed')), "
        "trimmed AS (DELETE FROM apsched_fires f USING old WHERE f.job_id = old.job_id AND "
        "f.scheduled = old.scheduled AND old.n > " +
        history_limit(14) +
        " RETURNING 1) "
        "SELECT (SELECT count(*) FROM removed) + (SELECT count(*) FROM advanced), "
        "(SELECT count(*) FROM fired)";
    const auto counts = run([&] {
      return s.db.query(sql, ids, versions, removes, next_fires, next_runs, misses, fire_ids,
                        fire_scheduled, fire_states, fire_runs, s.owner,
                        detail::durable::system_now(), trimmed, history_per_job(), retires);
    });
    if (counts.int64(0, 0) != static_cast<std::int64_t>(expected_commits) ||
        counts.int64(0, 1) != static_cast<std::int64_t>(expected_fires)) {
      s.failed = true;
      throw StoreError{s.db.error_message(
          fmt::format("{} of {} claimed jobs advanced and {} of {} fires recorded; expected all "
                      "(a fire recorded already?), so the round is rolled back",
                      counts.int64(0, 0), expected_commits, counts.int64(0, 1), expected_fires),
          "commit round of due jobs")};
    }
  }

  // Forgets the deferred commits (written, or about to be).
  void forget_commits() const noexcept {
    State& s = state();
    s.commits.clear();
    for (std::string* array : {&s.fire_ids, &s.fire_scheduled, &s.fire_states, &s.fire_runs}) {
      array->clear();
      array->push_back('{');
    }
    s.fire_count = 0;
  }

  // Opens the transaction of the open batch or round at its first statement. A batch or round
  // whose transaction failed (a statement failed, or the connection was lost with it) stays
  // failed until it ends: its writes are gone, so nothing more may be added to it.
  void open_shared() const {
    State& s = state();
    if (s.failed) {
      throw StoreError{
          s.db.error_message("an earlier statement of this batch or round failed; expected the "
                             "scheduler to end it (it is rolled back)")};
    }
    if (!s.open) {
      begin_transaction();
    }
  }

  void commit_transaction(std::string_view call) const {
    State& s = state();
    forget_claims();
    if (!s.open) {
      if (s.failed) {
        s.failed = false;
        throw StoreError{s.db.error_message(
            "the connection was lost during the transaction; nothing of it was written", call)};
      }
      return;
    }
    if (s.failed) {
      rollback_transaction();
      throw StoreError{s.db.error_message(
          "a statement of the transaction failed; expected every statement to succeed, so it "
          "was rolled back",
          call)};
    }
    s.open = false;
    run([&] { return s.db.exec("COMMIT"); });
  }

  // Rolls back the open transaction. `forget_records`: the transaction was a batch or round,
  // whose writes the cached records may show: idle ones are dropped, the others reloaded
  // before they are handed out again. A transaction of one write changed no record before it
  // committed.
  void rollback_transaction(bool forget_records = true) const noexcept {
    State& s = state();
    forget_claims();
    s.failed = false;
    if (s.open) {
      s.open = false;
      try {
        s.db.exec("ROLLBACK");
      } catch (...) {  // NOLINT(bugprone-empty-catch): a lost connection rolled it back
      }
    }
    if (forget_records) {
      s.cache.drop_all_idle();
    }
  }

  // Writes this store's lease, until now + lease_duration by the database clock, with its
  // history_per_job (which no trim goes below), and measures the clock offset when the
  // scheduler gave its clock.
  void renew_lease() const {
    State& s = state();
    const std::int64_t lease =
        std::chrono::duration_cast<std::chrono::nanoseconds>(s.options.lease_duration).count();
    const TimePoint sent = s.clock ? s.clock() : TimePoint{};
    const auto renewed = run([&] {
      return s.db.query(fmt::format("INSERT INTO apsched_owners (owner, host, pid, started_at, "
                                    "lease_until, history_per_job) VALUES ($1, $2, $3, {0}, "
                                    "{0} + $4, $5) ON CONFLICT (owner) DO UPDATE SET "
                                    "lease_until = excluded.lease_until, history_per_job = "
                                    "excluded.history_per_job RETURNING lease_until - $4",
                                    db_now),
                        s.owner, detail::durable::host_name(), s.owner_pid, lease,
                        history_per_job());
    });
    if (s.clock) {
      const TimePoint received = s.clock();
      const Duration round_trip = received - sent;
      if (!s.offset_known || round_trip <= std::chrono::milliseconds{50}) {
        const TimePoint midpoint = sent + round_trip / 2;
        s.clock_offset.store(
            renewed.int64(0, 0) - detail::durable::to_stored_time("PostgresJobStore", midpoint),
            std::memory_order_relaxed);
        s.offset_known = true;
      }
    }
  }

  // Gives up this store's lease: see ~PostgresJobStore.
  void release_lease() noexcept {
    if (state_) {
      engine().release_lease();
    }
  }

  // The query of job rows; with `owner_param`, the number of the parameter holding this
  // store's owner, each row counts the job's fires other owners recorded submitted (started:
  // not the ones they only claimed) too.
  static std::string select_sql(std::string_view where, int owner_param = 0) {
    return fmt::format(
        "SELECT {}{} FROM apsched_jobs {}", job_columns,
        owner_param == 0
            ? std::string{}
            : fmt::format(", (SELECT count(*) FROM apsched_fires f WHERE f.job_id = "
                          "apsched_jobs.id AND f.state = 'submitted' AND f.owner <> ${})",
                          owner_param),
        where);
  }

  static detail::durable::JobRow read_row(const detail::postgres::Result& rows, int i) {
    return detail::durable::JobRow{
        .id = std::string{rows.text(i, 0)},
        .task = std::string{rows.text(i, 1)},
        .arguments = std::string{rows.text(i, 2)},
        .trigger = std::string{rows.text(i, 3)},
        .options = std::string{rows.text(i, 4)},
        .next_fire = rows.int64(i, 5),
        .next_run = rows.int64(i, 6),
        .paused = rows.text(i, 7) == "t",
        .last_run = rows.is_null(i, 8) ? std::nullopt : std::optional{rows.int64(i, 8)},
        .run_count = rows.int64(i, 9),
        .failure_count = rows.int64(i, 10),
        .last_outcome =
            rows.is_null(i, 11) ? std::nullopt : std::optional{std::string{rows.text(i, 11)}},
        .version = rows.int64(i, 12),
        .running_elsewhere = rows.columns() > 13 ? rows.int64(i, 13) : 0};
  }

  // The set-aside jobs as a PostgreSQL text array of "id:version".
  std::string unusable_array() const {
    std::string array = "{";
    for (const auto& [id, entry] : state().unusable) {
      std::string element = id;
      element += ':';
      detail::json::write_integer(entry.version, element);
      detail::postgres::append_element(array, element);
    }
    array += '}';
    return array;
  }

  // The record of `row`, with its count of runs in flight elsewhere.
  JobRecord* hand_out(const detail::durable::JobRow& row) {
    JobRecord* record = engine().hand_out(row);
    if (record != nullptr) {
      record->running_elsewhere = static_cast<std::uint16_t>(std::clamp<std::int64_t>(
          row.running_elsewhere, 0, std::numeric_limits<std::uint16_t>::max()));
    }
    return record;
  }

  // Writes `outcomes` in one statement: each fire's end (if this store owns it), each job's
  // counters, and the trimmed history of the jobs whose fires ended.
  void apply_outcomes(std::span<const PendingOutcome> outcomes) const {
    State& s = state();
    std::string ids = "{";
    std::string scheduled = "{";
    std::string states = "{";
    std::string errors = "{";
    std::string counted = "{";
    std::string ran = "{";
    std::string last_runs = "{";
    for (const PendingOutcome& outcome : outcomes) {
      const char* separator = ids.size() > 1 ? "," : "";
      detail::postgres::append_element(ids, outcome.id);
      scheduled += separator;
      detail::json::write_integer(outcome.scheduled, scheduled);
      detail::postgres::append_element(states, detail::durable::state_text(outcome.state));
      detail::postgres::append_element(errors, outcome.error);
      counted += separator;
      counted += outcome.counted ? "t" : "f";
      ran += separator;
      ran += outcome.ran ? "t" : "f";
      last_runs += separator;
      if (outcome.last_run == detail::durable::no_time) {
        last_runs += "NULL";
      } else {
        detail::json::write_integer(outcome.last_run, last_runs);
      }
    }
    // The jobs whose history to trim: each at every trim_every-th finished fire this store
    // writes for it, so that a trim, which reads the job's whole history, is not paid per fire.
    const std::size_t every = trim_every();
    std::string trimmed = "{";
    for (const PendingOutcome& outcome : outcomes) {
      std::uint32_t& count = s.untrimmed[outcome.id];
      if (++count >= every) {
        s.untrimmed.erase(outcome.id);
        detail::postgres::append_element(trimmed, outcome.id);
      }
    }
    if (s.untrimmed.size() > untrimmed_limit) {
      s.untrimmed.clear();  // bounded: those jobs are trimmed a little later
    }
    for (std::string* array :
         {&ids, &scheduled, &states, &errors, &counted, &ran, &last_runs, &trimmed}) {
      *array += '}';
    }
    // The same text every time: built once.
    static const std::string sql =
        "WITH u AS (SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], "
        "$5::boolean[], $6::boolean[], $7::bigint[]) AS u(id, scheduled, state, error, counted, "
        "ran, last_run)), "
        "finished AS (UPDATE apsched_fires f SET state = u.state, finished_at = $9, "
        "error = NULLIF(u.error, '') FROM u WHERE f.job_id = u.id AND f.scheduled = u.scheduled "
        "AND f.owner = $8 RETURNING 1), "
        "counts AS (SELECT id, sum(ran::int) AS runs, sum((state = 'failed')::int) AS failures, "
        "max(last_run) AS last_run, (array_agg(state ORDER BY scheduled DESC))[1] AS last_state "
        "FROM u WHERE counted GROUP BY id), "
        "jobs AS (UPDATE apsched_jobs j SET run_count = run_count + c.runs, "
        "failure_count = failure_count + c.failures, last_run = greatest(j.last_run, c.last_run), "
        "last_outcome = CASE c.last_state WHEN 'succeeded' THEN 'success' WHEN 'failed' THEN "
        "'error' WHEN 'missed' THEN 'missed' ELSE 'dropped' END FROM counts c WHERE j.id = c.id "
        "RETURNING 1), "
        // The row kept for a rerun of a removed job's last fire goes once none of the job's
        // fires is in flight but the ones this statement ends, whichever store ends the last
        // (another store's may end after the last fire, with its record of the job).
        "released AS (DELETE FROM apsched_retired_jobs r USING u WHERE r.id = u.id AND NOT "
        "EXISTS (SELECT 1 FROM apsched_fires f WHERE f.job_id = r.id AND "
        "f.state IN ('submitted', 'claimed') AND NOT (f.owner = $8 AND EXISTS (SELECT 1 FROM u "
        "AS e WHERE e.id = f.job_id AND e.scheduled = f.scheduled))) RETURNING 1), "
        // The snapshot of this statement still shows the fires it ends in flight: they count
        // towards the next trim.
        "old AS (SELECT job_id, scheduled, row_number() OVER (PARTITION BY job_id ORDER BY "
        "scheduled DESC) AS n FROM apsched_fires WHERE job_id = ANY($11::text[]) AND "
        "state NOT IN ('submitted', 'claimed')) "
        "DELETE FROM apsched_fires f USING old WHERE f.job_id = old.job_id AND "
        "f.scheduled = old.scheduled AND old.n > " +
        history_limit(10);
    s.db.query(sql, ids, scheduled, states, errors, counted, ran, last_runs, s.owner,
               detail::durable::system_now(), history_per_job(), trimmed);
  }

  // How many finished fires of a job this store writes between two trims of its history: a
  // tenth of history_per_job, at least 1 (every fire, for a history of up to 19).
  std::size_t trim_every() const noexcept {
    return std::max<std::size_t>(1, state().options.history_per_job / 10);
  }

  // How soon next_run_time asks again for a due job another scheduler's round holds.
  static constexpr Duration held_job_retry = std::chrono::milliseconds{2};

  // The most jobs whose fires since their last trim the store counts (see apply_outcomes).
  static constexpr std::size_t untrimmed_limit = 100'000;

  // Keeps the newest finished fires of job `id` (see PostgresDialect::trim_history).
  void trim_history(std::string_view id) const { dialect().trim_history(id); }

  // PostgreSQL's statements of the shared engine (see detail::durable::Dialect), on the store's
  // connection. Times are by the database clock: the engine's `now` is not used.
  struct PostgresDialect {
    static constexpr std::string_view store_name = "PostgresJobStore";

    [[nodiscard]] const detail::durable::ErrorLabel& error_label() const noexcept {
      return store.state().db.error_label();
    }

    // Leaves `row` out of the due queries at its version, and reports it once.
    void set_aside(const detail::durable::JobRow& row, std::string_view cause, bool unknown_task) {
      State& s = store.state();
      s.unusable.insert_or_assign(row.id, Unusable{row.task, unknown_task, row.version});
      std::string message = fmt::format(
          "PostgresJobStore {}: stored job \"{}\" (task \"{}\") cannot be used and is left "
          "unchanged until its task is registered or the store is opened again: {}",
          s.db.error_label().database, row.id, row.task, cause);
      if (s.reported.emplace(row.id, message).second) {
        s.reports.push_back(StoreReport{row.id, std::move(message)});
      }
    }

    [[nodiscard]] std::optional<detail::durable::JobRow> retired_row(const std::string& id) {
      static const std::string sql =
          fmt::format("SELECT {} FROM apsched_retired_jobs WHERE id = $1", job_columns);
      const auto rows = store.state().db.query(sql, id);
      if (rows.rows() == 0) {
        return std::nullopt;
      }
      return read_row(rows, 0);
    }

    [[nodiscard]] std::vector<detail::durable::LeaseRow> owner_rows(std::int64_t /*now*/) {
      State& s = store.state();
      const auto rows = store.run([&] {
        return s.db.query(fmt::format("SELECT owner, host, pid, lease_until, lease_until < {} "
                                      "FROM apsched_owners WHERE owner <> $1",
                                      db_now),
                          s.owner);
      });
      std::vector<detail::durable::LeaseRow> owners;
      for (int i = 0; i < rows.rows(); ++i) {
        owners.push_back(detail::durable::LeaseRow{.owner = std::string{rows.text(i, 0)},
                                                   .host = std::string{rows.text(i, 1)},
                                                   .pid = rows.int64(i, 2),
                                                   .lease_until = rows.int64(i, 3),
                                                   .lapsed = rows.text(i, 4) == "t"});
      }
      return owners;
    }

    [[nodiscard]] std::vector<std::string> orphan_owners() {
      State& s = store.state();
      const auto orphans = store.run([&] {
        return s.db.query(
            "SELECT DISTINCT owner FROM apsched_fires WHERE (state = 'submitted' OR "
            "state = 'claimed') AND owner IS NOT NULL AND owner NOT IN (SELECT owner FROM "
            "apsched_owners)");
      });
      std::vector<std::string> owners;
      for (int i = 0; i < orphans.rows(); ++i) {
        owners.emplace_back(orphans.text(i, 0));
      }
      return owners;
    }

    template <class F>
    void atomically(F&& body) {
      store.in_transaction([&] {
        body();
        return true;
      });
    }

    bool release_owner(const std::string& owner, std::int64_t lease_until) {
      return store.state()
                 .db
                 .query("DELETE FROM apsched_owners WHERE owner = $1 AND lease_until = $2", owner,
                        lease_until)
                 .affected() != 0;
    }

    [[nodiscard]] std::vector<detail::durable::InFlightFire> in_flight_fires(
        const std::string& owner) {
      // A job's last fire finds its job in apsched_retired_jobs (see commit_due), kept for a
      // claimed fire whatever its Abandoned policy. Each in-flight state has an index by owner.
      const auto rows = store.state().db.query(
          "SELECT f.job_id, f.scheduled, f.attempt, CASE WHEN f.state = 'claimed' THEN "
          "j.id IS NOT NULL OR r.id IS NOT NULL ELSE coalesce(coalesce(j.options, "
          "r.options)::jsonb ->> 'abandoned', '') = 'rerun' END, j.id IS NULL, "
          "f.state = 'submitted' FROM apsched_fires f LEFT JOIN apsched_jobs j ON j.id = f.job_id "
          "LEFT JOIN apsched_retired_jobs r ON r.id = f.job_id "
          "WHERE f.owner = $1 AND (f.state = 'submitted' OR f.state = 'claimed') "
          "ORDER BY f.job_id, f.scheduled FOR UPDATE OF f",
          owner);
      std::vector<detail::durable::InFlightFire> fires;
      for (int i = 0; i < rows.rows(); ++i) {
        fires.push_back(detail::durable::InFlightFire{.job_id = std::string{rows.text(i, 0)},
                                                      .scheduled = rows.int64(i, 1),
                                                      .attempt = rows.int64(i, 2),
                                                      .rerun = rows.text(i, 3) == "t",
                                                      .job_gone = rows.text(i, 4) == "t",
                                                      .started = rows.text(i, 5) == "t"});
      }
      return fires;
    }

    void take_fire(const std::string& job_id, std::int64_t scheduled, std::int64_t attempt,
                   std::int64_t /*now*/) {
      State& s = store.state();
      s.db.query(fmt::format("UPDATE apsched_fires SET owner = $3, attempt = $4, recorded_at = "
                             "{} WHERE job_id = $1 AND scheduled = $2",
                             db_now),
                 job_id, scheduled, s.owner, attempt);
    }

    // Also releases the job's retired row when no other fire of it is in flight.
    void end_fire(const std::string& job_id, std::int64_t scheduled, FireState fire_state,
                  const std::string& error, bool release_retired, std::int64_t /*now*/) {
      store.state().db.query(
          fmt::format("WITH ended AS (UPDATE apsched_fires SET state = $5, "
                      "finished_at = {}, error = $3 WHERE job_id = $1 AND scheduled = "
                      "$2), released AS (DELETE FROM apsched_retired_jobs WHERE id = $1 AND "
                      "($4 OR NOT EXISTS (SELECT 1 FROM apsched_fires WHERE job_id = $1 AND "
                      "scheduled <> $2 AND state IN ('submitted', 'claimed')))) "
                      "UPDATE apsched_jobs SET last_outcome = 'dropped' WHERE id = $1",
                      db_now),
          job_id, scheduled, error, release_retired, detail::durable::state_text(fire_state));
    }

    // Keeps the newest finished fires of job `id`, as many as the largest history_per_job in
    // use.
    void trim_history(std::string_view id) const {
      static const std::string sql =
          "DELETE FROM apsched_fires WHERE job_id = $1 AND state NOT IN ('submitted', "
          "'claimed') AND scheduled IN (SELECT scheduled FROM apsched_fires WHERE job_id = $1 "
          "AND state NOT IN ('submitted', 'claimed') ORDER BY scheduled DESC OFFSET " +
          history_limit(2) + ")";
      store.state().db.query(sql, id, store.history_per_job());
    }

    [[nodiscard]] std::vector<detail::durable::FireRow> fire_rows(std::string_view job_id,
                                                                  std::int64_t limit) {
      static const std::string sql = fmt::format(
          "SELECT {} FROM apsched_fires WHERE job_id = $1 ORDER BY scheduled DESC LIMIT $2",
          detail::durable::view_fire_columns);
      State& s = store.state();
      const auto rows = store.run([&] { return s.db.query(sql, job_id, limit); });
      std::vector<detail::durable::FireRow> fires;
      for (int i = 0; i < rows.rows(); ++i) {
        fires.push_back(detail::postgres::read_view_fire(rows, i));
      }
      return fires;
    }

    [[nodiscard]] std::optional<std::int64_t> update_job(const JobRecord& stored,
                                                         const std::string& trigger) {
      constexpr std::string_view call = "PostgresJobStore::update";
      State& s = store.state();
      const std::string options = detail::durable::encode_record_options_text(stored);
      const std::int64_t next_fire = detail::durable::to_stored_time(call, stored.next_fire);
      const std::int64_t next_run = detail::durable::to_stored_time(call, stored.next_run);
      const auto written = store.run([&] {
        return s.db.query(
            "UPDATE apsched_jobs SET next_fire = $2, next_run = $3, paused = $4, trigger = $5, "
            "options = $6, version = version + 1 WHERE id = $1 "
            "RETURNING version, pg_notify($7, $8)",
            stored.id, next_fire, next_run, stored.paused, trigger, options, s.channel, s.owner);
      });
      if (written.rows() != 1) {
        return std::nullopt;
      }
      return written.int64(0, 0);
    }

    bool erase_job(std::string_view id) {
      State& s = store.state();
      return store.run([&] {
        return s.db
            .query(
                "WITH fires AS (DELETE FROM apsched_fires WHERE job_id = $1), retired AS "
                "(DELETE FROM apsched_retired_jobs WHERE id = $1) "
                "DELETE FROM apsched_jobs WHERE id = $1",
                id)
            .affected();
      }) > 0;
    }

    void clear_jobs() {
      State& s = store.state();
      store.run([&] {
        return s.db.exec(
            "WITH fires AS (DELETE FROM apsched_fires), retired AS (DELETE FROM "
            "apsched_retired_jobs) DELETE FROM apsched_jobs");
      });
    }

    void prepare_release() {
      State& s = store.state();
      store.rollback_transaction();
      s.round = false;
      s.batch = false;
      if (!s.db.connected()) {
        s.db.reconnect();  // once, back-off or not: the outcomes of runs that ended are kept
      }
      store.flush_outcomes();
    }

    bool drop_lease() {
      State& s = store.state();
      return s.db.query(
                     "DELETE FROM apsched_owners WHERE owner = $1 AND NOT EXISTS (SELECT 1 "
                     "FROM apsched_fires WHERE owner = $1 AND (state = 'submitted' OR "
                     "state = 'claimed'))",
                     s.owner)
                 .affected() != 0;
    }

    // Fires left in flight: the other schedulers, notified, take them over at once.
    void lapse_lease() {
      State& s = store.state();
      s.db.query(
          "UPDATE apsched_owners SET lease_until = 0 WHERE owner = $1 "
          "RETURNING pg_notify($2, $3)",
          s.owner, s.channel, std::string{released_prefix} + s.owner);
    }

    bool commit_due(const detail::durable::DueCommit& commit) {
      State& s = store.state();
      const std::string& id = commit.job.id;
      if (s.round && s.open && !s.failed && s.claimed_ids.contains(id)) {
        // Claimed by this round: its row is locked since, so the version still holds. Written
        // with the round's other commits in one statement, before its next query.
        s.commits.push_back(DeferredCommit{id, commit.version, commit.remove, commit.retire,
                                           commit.next_fire, commit.next_run, commit.missed,
                                           commit.finished});
        for (std::size_t i = 0; i < commit.fires.size(); ++i) {
          detail::postgres::append_element(s.fire_ids, id);
          s.fire_scheduled += s.fire_scheduled.size() > 1 ? "," : "";
          detail::json::write_integer(commit.scheduled[i], s.fire_scheduled);
          detail::postgres::append_element(s.fire_states,
                                           detail::durable::state_text(commit.fires[i].state));
          s.fire_runs += s.fire_runs.size() > 1 ? "," : "";
          detail::json::write_integer(commit.fires[i].runs, s.fire_runs);
          ++s.fire_count;
        }
        return true;
      }
      std::string scheduled = "{";
      std::string states = "{";
      std::string runs = "{";
      for (std::size_t i = 0; i < commit.fires.size(); ++i) {
        const char* separator = i > 0 ? "," : "";
        scheduled += separator;
        detail::json::write_integer(commit.scheduled[i], scheduled);
        states += separator;
        states += detail::durable::state_text(commit.fires[i].state);
        runs += separator;
        detail::json::write_integer(commit.fires[i].runs, runs);
      }
      scheduled += '}';
      states += '}';
      runs += '}';
      return store.in_transaction([&] {
        const auto counts = s.db.query(
            // Every parameter is typed here: the DELETE leaves $3 .. $5 unused.
            "WITH input AS (SELECT $3::bigint AS next_fire, $4::bigint AS next_run, "
            "$5::boolean AS missed), changed AS (" +
                std::string{commit.remove
                                ? "DELETE FROM apsched_jobs WHERE id = $1 AND version = $2 "
                                  "RETURNING *"
                                : "UPDATE apsched_jobs SET next_fire = input.next_fire, "
                                  "next_run = input.next_run, version = version + 1, "
                                  "last_outcome = CASE WHEN input.missed THEN 'missed' ELSE "
                                  "last_outcome END FROM input "
                                  "WHERE id = $1 AND version = $2 RETURNING id"} +
                // Kept for a rerun of its last fire, until that fire's outcome is written.
                (commit.retire ? "), kept AS (" + retire_sql("changed", "") : std::string{}) +
                "), fired AS (INSERT INTO apsched_fires (job_id, scheduled, state, runs, owner, "
                "recorded_at, finished_at) SELECT changed.id, f.scheduled, f.state, f.runs, $6, "
                "$9, CASE WHEN f.state IN ('submitted', 'claimed') THEN NULL ELSE $9::bigint END "
                "FROM changed, unnest($7::bigint[], $8::text[], $10::bigint[]) "
                "AS f(scheduled, state, runs) ON CONFLICT (job_id, scheduled) DO NOTHING "
                "RETURNING 1) "
                "SELECT (SELECT count(*) FROM changed), (SELECT count(*) FROM fired)",
            id, commit.version, commit.next_fire, commit.next_run, commit.missed, s.owner,
            scheduled, states, detail::durable::system_now(), runs);
        if (counts.int64(0, 0) == 0) {
          return false;  // changed or processed by another scheduler: nothing was written
        }
        if (counts.int64(0, 1) != static_cast<std::int64_t>(commit.fires.size())) {
          s.failed = s.round || s.batch;  // recorded already: undo the advance
          return false;
        }
        if (commit.finished) {
          trim_history(id);
        }
        return true;
      });
    }

    void write_outcomes(std::span<const PendingOutcome> outcomes) {
      store.in_transaction([&] {
        store.apply_outcomes(outcomes);
        return true;
      });
    }

    void forget_set_aside(std::string_view id) { store.state().unusable.erase(std::string{id}); }
    void forget_all_set_aside() { store.state().unusable.clear(); }
    void retry_unknown_task(std::string_view task) {
      std::erase_if(store.state().unusable, [&](const auto& entry) {
        return entry.second.unknown_task && (task.empty() || entry.second.task == task);
      });
    }

    const PostgresJobStore& store;
  };
  static_assert(detail::durable::Dialect<PostgresDialect>);

  [[nodiscard]] PostgresDialect dialect() const noexcept { return PostgresDialect{*this}; }
  [[nodiscard]] detail::durable::Engine<PostgresDialect> engine() const noexcept {
    return {state(), dialect()};
  }

  std::unique_ptr<State> state_;
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
