// SPDX-License-Identifier: MIT
// StoreCore: what a PostgresJobStore does with its connection: connecting and migrating,
// writing and reading jobs, claiming due jobs in rounds, starting claimed fires, the listener,
// the clocks, the lease and the take-over.
#pragma once

#include <apsched/clock.hpp>
#include <apsched/detail/durable/engine.hpp>
#include <apsched/detail/durable/host.hpp>
#include <apsched/detail/durable/job_row.hpp>
#include <apsched/detail/durable/outcome.hpp>
#include <apsched/detail/durable/record_cache.hpp>
#include <apsched/detail/postgres/array_literal.hpp>
#include <apsched/detail/postgres/claims.hpp>
#include <apsched/detail/postgres/connection.hpp>
#include <apsched/detail/postgres/dialect.hpp>
#include <apsched/detail/postgres/listener.hpp>
#include <apsched/detail/postgres/migrate.hpp>
#include <apsched/detail/postgres/schema.hpp>
#include <apsched/detail/postgres/store_sql.hpp>
#include <apsched/detail/postgres/store_state.hpp>
#include <apsched/detail/postgres/transactions.hpp>
#include <apsched/durable_job_store.hpp>
#include <apsched/error.hpp>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace apsched::detail::postgres {

/// The machinery of a PostgresJobStore over its connection: each public member does what the
/// PostgresJobStore member of its name documents, the rounds and batches are its
/// Transactions', and the algorithm both database stores share is the durable Engine's, over
/// PostgresDialect.
///
/// Thread safety: not thread-safe (the store's calls are serialised), but for the members the
/// PostgresJobStore documents otherwise (set_waker, clock_offset).
class StoreCore : public Transactions {
 public:
  /// Connects with `conninfo` and brings the schema up to date.
  /// @throws StoreError, SchemaVersionError, InvalidArgumentError as PostgresJobStore's
  /// constructor
  StoreCore(std::string conninfo, const Settings& settings)
      : Transactions{std::make_unique<State>(
            Connection::open(conninfo, "PostgresJobStore", session_settings), settings)} {
    State& s = state();
    const auto operation = s.db.operation("open");
    if (settings.lease_duration <= settings.poll_interval) {
      throw InvalidArgumentError{fmt::format(
          "PostgresJobStore: lease_duration is {} ns; expected more than poll_interval ({} ns)",
          std::chrono::nanoseconds{settings.lease_duration}.count(),
          std::chrono::nanoseconds{settings.poll_interval}.count())};
    }
    migrate(s.db, schema_name, store_migrations);
    s.conninfo = std::move(conninfo);
    s.channel = channel_name(s.db.query("SELECT current_schema()").text(0, 0));
    renew_lease();
  }

  static constexpr std::string_view schema_name = "apsched_jobs";

  JobRecord* insert(JobRecord&& record) {
    const auto operation = state().db.operation("add job");
    constexpr std::string_view call = "PostgresJobStore::insert";
    State& s = ready();
    const durable::StoredDefinition stored = durable::stored_definition(call, record, s.codecs);
    const std::optional<std::int64_t> last_run =
        record.last_run == TimePoint::min()
            ? std::nullopt
            : std::optional{durable::to_stored_time(call, record.last_run)};
    const std::optional<std::string_view> outcome = durable::outcome_text(record.last_outcome);
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
              outcome ? Param{*outcome} : std::nullopt, s.channel, s.owner)
          .int64(0, 0);
    });
    if (inserted == 0) {
      return nullptr;
    }
    s.unusable.erase(record.id);
    record.store = s.index;
    return s.cache.add_new(std::move(record), s.inserted);
  }

  JobRecord* replace(JobRecord&& record, bool keep_schedule) {
    const auto operation = state().db.operation("replace job");
    constexpr std::string_view call = "PostgresJobStore::replace";
    State& s = ready();
    const durable::StoredDefinition stored = durable::stored_definition(call, record, s.codecs);
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

  bool erase(std::string_view id) {
    const auto operation = state().db.operation("remove job");
    ready();
    return engine().erase(id);
  }

  void clear() {
    const auto operation = state().db.operation("remove all jobs");
    ready();
    engine().clear();
  }

  void update(JobRecord& stored) {
    const auto operation = state().db.operation("update job");
    ready();
    engine().update(stored);
  }

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
      return durable::from_stored_time(s.none_due_at) + held_job_retry;
    }
    return durable::from_stored_time(next);
  }

  [[nodiscard]] JobRecord* first_due(TimePoint now) {
    const auto operation = state().db.operation("read due jobs");
    State& s = ready();
    const std::int64_t until = durable::to_stored_time("PostgresJobStore::first_due", now);
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
        const durable::JobRow row = std::move(s.claimed.front());
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

  [[nodiscard]] std::size_t size() const {
    const auto operation = state().db.operation("count jobs");
    State& s = ready();
    return static_cast<std::size_t>(
        run([&] { return s.db.query("SELECT count(*) FROM apsched_jobs").int64(0, 0); }));
  }

  template <class F>
  void for_each(F&& visit) const {
    const auto operation = state().db.operation("list jobs");
    State& s = ready();
    const auto rows = run([&] { return s.db.query(select_sql("ORDER BY id")); });
    for (int i = 0; i < rows.rows(); ++i) {
      const durable::JobRow row = read_row(rows, i);
      if (durable::CachedRecord* cached = s.cache.find(row.id);
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

  bool commit_due(JobRecord& job, std::span<const FireDecision> fires, bool remove) {
    const auto operation = state().db.operation("record fire");
    ready();
    return engine().commit_due(job, fires, remove, "PostgresJobStore::commit_due");
  }

  std::vector<ClaimVerdict> start_claimed(std::span<const ClaimedFire> claims) {
    const auto operation = state().db.operation("start claimed fires");
    State& s = ready();
    if (claims.empty()) {
      return {};
    }
    const ClaimArrays arrays = claim_arrays(claims, "PostgresJobStore::start_claimed");
    flush_outcomes();
    const auto start = [&] {
      return read_claim_answer(s.db.query(start_claimed_sql, arrays.ids, arrays.scheduled,
                                          arrays.max_instances, s.owner, durable::system_now()),
                               claims.size(), s.db);
    };
    if (!s.open && !s.batch && !s.round) {
      ClaimAnswer answer = run(start);
      if (!answer.raced) {
        return std::move(answer.verdicts);
      }
    }
    // Locked before the statement's snapshot is taken, the rows cannot change under it.
    std::vector<ClaimVerdict> verdicts;
    in_transaction([&] {
      s.db.query(lock_jobs_sql, arrays.ids);
      verdicts = start().verdicts;
      return true;
    });
    return verdicts;
  }

  void record_outcome(std::string_view id, const JobRecord* record, TimePoint scheduled,
                      FireState fire_state, std::string_view error) {
    const auto operation = state().db.operation("record fire outcome");
    ready();
    engine().record_outcome(id, record, scheduled, fire_state, error,
                            "PostgresJobStore::record_outcome");
  }

  bool defer_outcome(std::string_view id, const JobRecord* record, TimePoint scheduled,
                     FireState fire_state, std::string_view error) {
    return engine().defer_outcome(id, record, scheduled, fire_state, error,
                                  "PostgresJobStore::defer_outcome");
  }

  [[nodiscard]] std::vector<StoreReport> take_reports() noexcept {
    return std::exchange(state().reports, {});
  }

  void task_registered(std::string_view task) { dialect().retry_unknown_task(task); }

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
    s.next_lease_check = now + s.settings.poll_interval;
    renew_lease();
    std::vector<AbandonedFire> taken;
    // Leases are compared and fires stamped by the database clock: no time of this host.
    constexpr std::int64_t unused_now = 0;
    for (const durable::LapsedOwner& owner : engine().lapsed_owners(unused_now).dead) {
      engine().take_over(owner, unused_now, taken);
    }
    return taken;
  }

  void set_waker(std::function<void()> wake) {
    State& s = state();
    s.listener.reset();  // joins its thread: no call of the old waker is left
    {
      const std::lock_guard lock{s.wake_mutex};
      s.waker = std::move(wake);
    }
    if (!s.waker || !s.settings.listen) {
      return;
    }
    s.listener = std::make_unique<Listener>(
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

  void set_clock(std::function<TimePoint()> now) {
    const auto operation = state().db.operation("renew lease");
    State& s = state();
    s.clock = s.settings.database_clock ? std::move(now) : nullptr;
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

  [[nodiscard]] Duration clock_offset() const noexcept {
    return std::chrono::duration_cast<Duration>(
        std::chrono::nanoseconds{state().clock_offset.load(std::memory_order_relaxed)});
  }

  [[nodiscard]] Duration poll_interval() const noexcept { return state().settings.poll_interval; }

  void attach(durable::AnyTaskRegistry tasks, std::uint8_t index) {
    engine().attach(std::move(tasks), index);
  }

  [[nodiscard]] std::vector<FireRecord> fire_history(std::string_view job_id,
                                                     std::size_t limit = 100) const {
    const auto operation = state().db.operation("read fire history");
    ready();
    flush_outcomes();
    return engine().fire_history(job_id, limit);
  }

  [[nodiscard]] FireOwner owner() const { return FireOwner::parse(state().owner); }

  [[nodiscard]] JobRecord* find_cached(std::string_view id) const {
    return engine().find_cached(id);
  }

  [[nodiscard]] std::size_t cached_count() const noexcept { return state().cache.size(); }

  // Gives up this store's lease: see ~PostgresJobStore.
  void release_lease() noexcept {
    if (has_state()) {
      engine().release_lease();
    }
  }

 private:
  // Writes this store's lease, until now + lease_duration by the database clock, with its
  // history_per_job (which no trim goes below), and measures the clock offset when the
  // scheduler gave its clock.
  void renew_lease() const {
    State& s = state();
    const std::int64_t lease =
        std::chrono::duration_cast<std::chrono::nanoseconds>(s.settings.lease_duration).count();
    const TimePoint sent = s.clock ? s.clock() : TimePoint{};
    const auto renewed = run([&] {
      return s.db.query(fmt::format("INSERT INTO apsched_owners (owner, host, pid, started_at, "
                                    "lease_until, history_per_job) VALUES ($1, $2, $3, {0}, "
                                    "{0} + $4, $5) ON CONFLICT (owner) DO UPDATE SET "
                                    "lease_until = excluded.lease_until, history_per_job = "
                                    "excluded.history_per_job RETURNING lease_until - $4",
                                    db_now),
                        s.owner, durable::host_name(), s.owner_pid, lease, history_per_job());
    });
    if (s.clock) {
      const TimePoint received = s.clock();
      const Duration round_trip = received - sent;
      if (!s.offset_known || round_trip <= std::chrono::milliseconds{50}) {
        const TimePoint midpoint = sent + round_trip / 2;
        s.clock_offset.store(
            renewed.int64(0, 0) - durable::to_stored_time("PostgresJobStore", midpoint),
            std::memory_order_relaxed);
        s.offset_known = true;
      }
    }
  }

  // The record of `row`, with its count of runs in flight elsewhere.
  JobRecord* hand_out(const durable::JobRow& row) {
    JobRecord* record = engine().hand_out(row);
    if (record != nullptr) {
      record->running_elsewhere = static_cast<std::uint16_t>(std::clamp<std::int64_t>(
          row.running_elsewhere, 0, std::numeric_limits<std::uint16_t>::max()));
    }
    return record;
  }

  // Keeps the newest finished fires of job `id` (see PostgresDialect::trim_history).
  void trim_history(std::string_view id) const { dialect().trim_history(id); }

  [[nodiscard]] PostgresDialect dialect() const noexcept { return PostgresDialect{*this}; }
  [[nodiscard]] durable::Engine<PostgresDialect> engine() const noexcept {
    return {state(), dialect()};
  }
};

}  // namespace apsched::detail::postgres
