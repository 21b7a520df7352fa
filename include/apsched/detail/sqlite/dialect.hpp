// SPDX-License-Identifier: MIT
// SqliteDialect: the statements of SQLite for the durable engine, on a SqliteJobStore's
// connection.
#pragma once

#include <apsched/clock.hpp>
#include <apsched/detail/durable/dialect.hpp>
#include <apsched/detail/durable/engine.hpp>
#include <apsched/detail/durable/outcome.hpp>
#include <apsched/detail/sqlite/database.hpp>
#include <apsched/detail/sqlite/set_aside.hpp>
#include <apsched/detail/sqlite/statement.hpp>
#include <apsched/detail/sqlite/store_schema.hpp>
#include <apsched/detail/sqlite/store_state.hpp>
#include <apsched/detail/sqlite/transactions.hpp>
#include <apsched/detail/sqlite/view_queries.hpp>
#include <apsched/durable_job_store.hpp>

#include <fmt/core.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace apsched::detail::sqlite {

/// SQLite's statements of the shared engine (see durable::Dialect), on a SqliteJobStore's
/// connection. Times are by the system clock: the engine passes the take-over's `now`.
///
/// Thread safety: not thread-safe (a handle on the store's connection).
struct SqliteDialect {
  static constexpr std::string_view store_name = "SqliteJobStore";

  [[nodiscard]] const durable::ErrorLabel& error_label() const noexcept {
    return s.db.error_label();
  }

  void set_aside(const JobRow& row, std::string_view cause, bool unknown_task) {
    s.set_aside.add(s.db, row, cause, unknown_task);
  }

  [[nodiscard]] std::optional<JobRow> retired_row(const std::string& id) {
    static const std::string sql =
        fmt::format("SELECT {} FROM retired_jobs WHERE id = ?1", job_columns);
    auto select = s.db.prepare_cached(sql);
    select->bind(1, id);
    if (!select->step()) {
      return std::nullopt;
    }
    return read_job_row(*select);
  }

  [[nodiscard]] std::vector<durable::LeaseRow> owner_rows(std::int64_t now) {
    std::vector<durable::LeaseRow> rows;
    auto select = s.db.prepare_cached("SELECT owner, host, pid, lease_until FROM owners");
    while (select->step()) {
      const std::int64_t lease_until = select->column_int64(3);
      rows.push_back(durable::LeaseRow{.owner = select->column_text(0),
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
    auto release = s.db.prepare_cached("DELETE FROM owners WHERE owner = ?1 AND lease_until = ?2");
    release->bind_all(owner, lease_until);
    return release->execute() > 0;
  }

  [[nodiscard]] std::vector<durable::InFlightFire> in_flight_fires(const std::string& owner) {
    std::vector<durable::InFlightFire> fires;
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
      fires.push_back(durable::InFlightFire{.job_id = select->column_text(0),
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
    drop->bind(5, durable::state_text(fire_state));
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

  // Keeps the newest finished fires of job `id` (see Transactions::trim_history).
  void trim_history(std::string_view id) const { store.trim_history(id); }

  [[nodiscard]] std::vector<durable::FireRow> fire_rows(std::string_view job_id,
                                                        std::int64_t limit) {
    static const std::string sql =
        fmt::format("SELECT {} FROM fires WHERE job_id = ?1 ORDER BY scheduled DESC LIMIT ?2",
                    durable::view_fire_columns);
    auto select = s.db.prepare_cached(sql);
    select->bind_all(job_id, limit);
    std::vector<durable::FireRow> rows;
    while (select->step()) {
      rows.push_back(read_view_fire(*select));
    }
    return rows;
  }

  [[nodiscard]] std::optional<std::int64_t> update_job(const JobRecord& stored,
                                                       const std::string& trigger) {
    constexpr std::string_view call = "SqliteJobStore::update";
    const std::string options = encode_record_options(stored).dump();
    auto write = s.db.prepare_cached(
        "UPDATE jobs SET next_fire = ?2, next_run = ?3, paused = ?4, trigger = ?5, "
        "options = ?6, version = version + 1 WHERE id = ?1 RETURNING version");
    write->bind_all(stored.id, to_stored_time(call, stored.next_fire),
                    to_stored_time(call, stored.next_run), stored.paused, trigger, options);
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
  bool commit_due(const durable::DueCommit& commit) {
    return store.write_direct([&] {
      const std::string& id = commit.job.id;
      bool done = false;
      if (commit.retire) {
        // Kept for a rerun of its last fire, until that fire's outcome is written.
        static const std::string sql = fmt::format(
            "INSERT OR REPLACE INTO retired_jobs ({0}) SELECT {0} FROM jobs "
            "WHERE id = ?1 AND version = ?2",
            job_columns);
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
      const std::int64_t recorded_at = system_now();
      auto insert = s.db.prepare_cached(
          "INSERT INTO fires (job_id, scheduled, state, runs, owner, recorded_at, finished_at) "
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (job_id, scheduled) DO NOTHING");
      for (std::size_t i = 0; i < commit.fires.size(); ++i) {
        const FireDecision& fire = commit.fires[i];
        insert->bind_all(id, commit.scheduled[i], state_text(fire.state), fire.runs, s.owner,
                         recorded_at);
        insert->bind(7, durable::in_flight(fire.state) ? std::optional<std::int64_t>{}
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

  void write_outcomes(std::span<const durable::PendingOutcome> outcomes) {
    store.write([&] { store.apply_outcomes(outcomes); });
  }

  void forget_set_aside(std::string_view id) { s.set_aside.forget(s.db, id); }
  void forget_all_set_aside() { s.set_aside.clear(s.db); }
  void retry_unknown_task(std::string_view task) { s.set_aside.retry_unknown_task(s.db, task); }

  State& s;
  const Transactions& store;
};
static_assert(durable::Dialect<SqliteDialect>);

}  // namespace apsched::detail::sqlite
