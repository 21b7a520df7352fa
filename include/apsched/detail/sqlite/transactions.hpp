// SPDX-License-Identifier: MIT
// Transactions of a SqliteJobStore: writes on their own or inside an open batch or round, the
// rounds and batches themselves, and the fire outcomes written into them.
#pragma once

#include <apsched/detail/durable/engine.hpp>
#include <apsched/detail/durable/outcome.hpp>
#include <apsched/detail/sqlite/store_state.hpp>
#include <apsched/durable_job_store.hpp>
#include <apsched/error.hpp>

#include <algorithm>
#include <cassert>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace apsched::detail::sqlite {

/// The transactions of a SqliteJobStore over its State: how a group of writes is made atomic
/// (a transaction of its own, or a savepoint of the open batch or round), the rounds and batches
/// (each member does what the SqliteJobStore member of its name documents), and the writing of
/// fire outcomes with the trimming of the fire history.
///
/// Thread safety: not thread-safe (the store's calls are serialised).
class Transactions {
 public:
  using PendingOutcome = durable::PendingOutcome;

  explicit Transactions(std::unique_ptr<State> state) noexcept : state_{std::move(state)} {}

  /// The store's state. @pre the store is not moved from
  [[nodiscard]] State& state() const noexcept {
    assert(state_ && "use of a moved-from SqliteJobStore");
    return *state_;
  }

  /// Whether the store holds a state (it is not moved from).
  [[nodiscard]] bool has_state() const noexcept { return state_ != nullptr; }

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
    Transaction tx{state().db};
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
    finish->bind_all(outcome.id, outcome.scheduled, state_text(outcome.state), system_now());
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
      if (outcome.last_run != durable::no_time) {
        count->bind(4, outcome.last_run);
      } else {
        count->bind_null(4);
      }
      count->bind(5, outcome_text(outcome_of(outcome.state)));
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

  void flush_outcomes() const {
    const auto operation = state().db.operation("write fire outcomes");
    State& s = state();
    if (s.pending.empty() || s.round) {
      return;  // a round writes them at its end
    }
    write([&] { apply_outcomes(s.pending); });
    s.pending.clear();
  }

  void begin_round() noexcept {
    State& s = state();
    assert(!s.batch && !s.round && "begin_round: a batch or round is open");
    s.round = true;
    s.others_running.reset();
  }

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

  void abort_round() noexcept {
    state().round = false;
    rollback_batch();
  }

  void begin_batch() {
    const auto operation = state().db.operation("begin batch");
    State& s = state();
    assert(!s.batch && "begin_batch: a batch is open already");
    s.batch.emplace(s.db);
  }

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

  // Keeps the newest finished fires of job `id`: history_per_job of this store, or more if
  // another store on the file keeps more (its value is in its owners row).
  void trim_history(std::string_view id) const {
    State& s = state();
    auto trim = s.db.prepare_cached(
        "DELETE FROM fires WHERE job_id = ?1 AND state NOT IN ('submitted', 'claimed') AND "
        "scheduled IN (SELECT scheduled FROM fires WHERE job_id = ?1 AND state NOT IN "
        "('submitted', 'claimed') ORDER BY scheduled DESC LIMIT -1 OFFSET "
        "max(?2, (SELECT ifnull(max(history_per_job), 0) FROM owners)))");
    trim->bind_all(id, durable::stored_limit(s.settings.history_per_job));
    trim->execute();
  }

 private:
  std::unique_ptr<State> state_;
};

}  // namespace apsched::detail::sqlite
