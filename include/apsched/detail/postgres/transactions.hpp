// SPDX-License-Identifier: MIT
// Transactions of a PostgresJobStore: its connection made ready again, statements run inside
// or outside the open batch or round, the rounds and batches themselves with the commits they
// defer, and the fire outcomes written into them.
#pragma once

#include <apsched/clock.hpp>
#include <apsched/detail/durable/engine.hpp>
#include <apsched/detail/durable/outcome.hpp>
#include <apsched/detail/postgres/array_literal.hpp>
#include <apsched/detail/postgres/connection.hpp>
#include <apsched/detail/postgres/store_sql.hpp>
#include <apsched/detail/postgres/store_state.hpp>
#include <apsched/durable_job_store.hpp>
#include <apsched/error.hpp>

#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace apsched::detail::postgres {

/// The transactions of a PostgresJobStore over its State: its connection made ready again
/// after a loss, statements run in the open batch or round or in a transaction of their own,
/// the commits a round defers, the rounds and batches (each member does what the
/// PostgresJobStore member of its name documents), and the writing of fire outcomes.
///
/// Thread safety: not thread-safe (the store's calls are serialised).
class Transactions {
 public:
  using PendingOutcome = durable::PendingOutcome;

  explicit Transactions(std::unique_ptr<State> state) noexcept : state_{std::move(state)} {}

  /// The store's state. @pre the store is not moved from
  [[nodiscard]] State& state() const noexcept { return *state_; }

  /// Whether the store holds a state (it is not moved from).
  [[nodiscard]] bool has_state() const noexcept { return state_ != nullptr; }

  // This store's history_per_job, as the bigint a trim compares with.
  std::int64_t history_per_job() const noexcept {
    return durable::stored_limit(state().settings.history_per_job);
  }

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
    } catch (const PgError& error) {
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
      append_element(ids, commit.id);
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
        append_element(trimmed, commit.id);
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
                        fire_scheduled, fire_states, fire_runs, s.owner, durable::system_now(),
                        trimmed, history_per_job(), retires);
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

  // The set-aside jobs as a PostgreSQL text array of "id:version".
  std::string unusable_array() const {
    std::string array = "{";
    for (const auto& [id, entry] : state().unusable) {
      std::string element = id;
      element += ':';
      detail::json::write_integer(entry.version, element);
      append_element(array, element);
    }
    array += '}';
    return array;
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
      append_element(ids, outcome.id);
      scheduled += separator;
      detail::json::write_integer(outcome.scheduled, scheduled);
      append_element(states, durable::state_text(outcome.state));
      append_element(errors, outcome.error);
      counted += separator;
      counted += outcome.counted ? "t" : "f";
      ran += separator;
      ran += outcome.ran ? "t" : "f";
      last_runs += separator;
      if (outcome.last_run == durable::no_time) {
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
        append_element(trimmed, outcome.id);
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
        "failure_count = failure_count + c.failures, last_run = greatest(j.last_run, "
        "c.last_run), "
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
               durable::system_now(), history_per_job(), trimmed);
  }

  // How many finished fires of a job this store writes between two trims of its history: a
  // tenth of history_per_job, at least 1 (every fire, for a history of up to 19).
  std::size_t trim_every() const noexcept {
    return std::max<std::size_t>(1, state().settings.history_per_job / 10);
  }

  // How soon next_run_time asks again for a due job another scheduler's round holds.
  static constexpr Duration held_job_retry = std::chrono::milliseconds{2};

  // The most jobs whose fires since their last trim the store counts (see apply_outcomes).
  static constexpr std::size_t untrimmed_limit = 100'000;

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
      in_transaction([&] {
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

  void begin_round() noexcept {
    State& s = state();
    s.round = true;
    s.failed = false;
  }

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

  void abort_round() noexcept {
    state().round = false;
    rollback_transaction();
  }

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

  void rollback_batch() noexcept {
    state().batch = false;
    rollback_transaction();
  }

 private:
  std::unique_ptr<State> state_;
};

}  // namespace apsched::detail::postgres
