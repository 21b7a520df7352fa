// SPDX-License-Identifier: MIT
// PostgresDialect: the statements of PostgreSQL for the durable engine, on a PostgresJobStore's
// connection.
#pragma once

#include <apsched/clock.hpp>
#include <apsched/detail/durable/dialect.hpp>
#include <apsched/detail/durable/engine.hpp>
#include <apsched/detail/durable/outcome.hpp>
#include <apsched/detail/postgres/array_literal.hpp>
#include <apsched/detail/postgres/connection.hpp>
#include <apsched/detail/postgres/store_sql.hpp>
#include <apsched/detail/postgres/store_state.hpp>
#include <apsched/detail/postgres/transactions.hpp>
#include <apsched/detail/postgres/view_queries.hpp>
#include <apsched/durable_job_store.hpp>

#include <fmt/core.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace apsched::detail::postgres {

/// PostgreSQL's statements of the shared engine (see durable::Dialect), on a PostgresJobStore's
/// connection. Times are by the database clock: the engine's `now` is not used.
///
/// Thread safety: not thread-safe (a handle on the store's connection).
struct PostgresDialect {
  static constexpr std::string_view store_name = "PostgresJobStore";

  [[nodiscard]] const durable::ErrorLabel& error_label() const noexcept {
    return store.state().db.error_label();
  }

  // Leaves `row` out of the due queries at its version, and reports it once.
  void set_aside(const durable::JobRow& row, std::string_view cause, bool unknown_task) {
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

  [[nodiscard]] std::optional<durable::JobRow> retired_row(const std::string& id) {
    static const std::string sql =
        fmt::format("SELECT {} FROM apsched_retired_jobs WHERE id = $1", job_columns);
    const auto rows = store.state().db.query(sql, id);
    if (rows.rows() == 0) {
      return std::nullopt;
    }
    return read_row(rows, 0);
  }

  [[nodiscard]] std::vector<durable::LeaseRow> owner_rows(std::int64_t /*now*/) {
    State& s = store.state();
    const auto rows = store.run([&] {
      return s.db.query(fmt::format("SELECT owner, host, pid, lease_until, lease_until < {} "
                                    "FROM apsched_owners WHERE owner <> $1",
                                    db_now),
                        s.owner);
    });
    std::vector<durable::LeaseRow> owners;
    for (int i = 0; i < rows.rows(); ++i) {
      owners.push_back(durable::LeaseRow{.owner = std::string{rows.text(i, 0)},
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

  [[nodiscard]] std::vector<durable::InFlightFire> in_flight_fires(const std::string& owner) {
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
    std::vector<durable::InFlightFire> fires;
    for (int i = 0; i < rows.rows(); ++i) {
      fires.push_back(durable::InFlightFire{.job_id = std::string{rows.text(i, 0)},
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
        job_id, scheduled, error, release_retired, durable::state_text(fire_state));
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

  [[nodiscard]] std::vector<durable::FireRow> fire_rows(std::string_view job_id,
                                                        std::int64_t limit) {
    static const std::string sql = fmt::format(
        "SELECT {} FROM apsched_fires WHERE job_id = $1 ORDER BY scheduled DESC LIMIT $2",
        durable::view_fire_columns);
    State& s = store.state();
    const auto rows = store.run([&] { return s.db.query(sql, job_id, limit); });
    std::vector<durable::FireRow> fires;
    for (int i = 0; i < rows.rows(); ++i) {
      fires.push_back(read_view_fire(rows, i));
    }
    return fires;
  }

  [[nodiscard]] std::optional<std::int64_t> update_job(const JobRecord& stored,
                                                       const std::string& trigger) {
    constexpr std::string_view call = "PostgresJobStore::update";
    State& s = store.state();
    const std::string options = durable::encode_record_options_text(stored);
    const std::int64_t next_fire = durable::to_stored_time(call, stored.next_fire);
    const std::int64_t next_run = durable::to_stored_time(call, stored.next_run);
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

  bool commit_due(const durable::DueCommit& commit) {
    State& s = store.state();
    const std::string& id = commit.job.id;
    if (s.round && s.open && !s.failed && s.claimed_ids.contains(id)) {
      // Claimed by this round: its row is locked since, so the version still holds. Written
      // with the round's other commits in one statement, before its next query.
      s.commits.push_back(DeferredCommit{id, commit.version, commit.remove, commit.retire,
                                         commit.next_fire, commit.next_run, commit.missed,
                                         commit.finished});
      for (std::size_t i = 0; i < commit.fires.size(); ++i) {
        append_element(s.fire_ids, id);
        s.fire_scheduled += s.fire_scheduled.size() > 1 ? "," : "";
        detail::json::write_integer(commit.scheduled[i], s.fire_scheduled);
        append_element(s.fire_states, durable::state_text(commit.fires[i].state));
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
      states += durable::state_text(commit.fires[i].state);
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
          id, commit.version, commit.next_fire, commit.next_run, commit.missed, s.owner, scheduled,
          states, durable::system_now(), runs);
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

  void write_outcomes(std::span<const durable::PendingOutcome> outcomes) {
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

  const Transactions& store;
};
static_assert(durable::Dialect<PostgresDialect>);

}  // namespace apsched::detail::postgres
