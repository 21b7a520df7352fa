// SPDX-License-Identifier: MIT
// Starting claimed fires on PostgreSQL (DurableJobStore requirement 10): the statement that
// records a store's claimed fires submitted while their jobs have an instance free, and its
// verdicts.
#pragma once

#include <apsched/detail/durable/job_row.hpp>
#include <apsched/detail/postgres/array_literal.hpp>
#include <apsched/detail/postgres/connection.hpp>
#include <apsched/durable_job_store.hpp>
#include <apsched/error.hpp>

#include <fmt/core.h>

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace apsched::detail::postgres {

/// The claims of one start_claimed call as PostgreSQL array literals, in claim order.
///
/// Thread safety: not thread-safe (a plain value).
struct ClaimArrays {
  std::string ids = "{";
  std::string scheduled = "{";
  std::string max_instances = "{";
};

/// `claims` as ClaimArrays; `call` names the store member in errors.
/// @throws SerializationError if a scheduled time does not fit 64-bit nanoseconds
///
/// Thread safety: thread-safe (it touches only its arguments).
[[nodiscard]] inline ClaimArrays claim_arrays(std::span<const ClaimedFire> claims,
                                              std::string_view call) {
  ClaimArrays arrays;
  for (const ClaimedFire& claim : claims) {
    append_element(arrays.ids, claim.job_id);
    append_integer(arrays.scheduled, durable::to_stored_time(call, claim.scheduled));
    append_integer(arrays.max_instances, claim.max_instances);
  }
  for (std::string* array : {&arrays.ids, &arrays.scheduled, &arrays.max_instances}) {
    *array += '}';
  }
  return arrays;
}

/// Locks the rows of the jobs named in $1 (a text array) for the transaction, in id order, so
/// that schedulers locking some of the same jobs cannot deadlock.
inline constexpr std::string_view lock_jobs_sql =
    "SELECT count(*) FROM (SELECT 1 FROM apsched_jobs WHERE id = ANY($1::text[]) ORDER BY id "
    "FOR UPDATE) AS locked";

/// Starts claimed fires, given the ClaimArrays ($1 ids, $2 scheduled times, $3 max_instances),
/// the store's owner ($4) and now ($5, system clock nanoseconds); one row per claim, in claim
/// order: whether the statement raced, and the verdict's name.
///
/// The k-th claim of a job (in claim order, among the claims of it the owner still holds
/// recorded claimed) starts when the job's fires recorded submitted, plus k, are at most its
/// max_instances. Every writer that records more of a job's fires submitted changes the job's
/// row (commit_due advances or removes it; this statement rewrites it unchanged for each job
/// whose fire it starts) while holding its row lock, so the statement locks the claims' jobs
/// (in id order) before it counts. It counts by the snapshot it began with, though, which misses
/// what another scheduler committed while it waited for a lock: so when a locked row is not the
/// version that snapshot shows (changed or removed since), the statement has raced, starts
/// nothing and answers `busy` for every claim still held. Run again after lock_jobs_sql in the
/// same transaction, it cannot race: the rows stay locked, and its snapshot is newer.
inline constexpr std::string_view start_claimed_sql =
    "WITH c AS (SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[]) WITH ORDINALITY "
    "AS c(job_id, scheduled, max_instances, n)), "
    // xmin names the transaction that wrote a row version: the locked row differs from the
    // snapshot's when a transaction that committed since rewrote it.
    "seen AS (SELECT id, xmin::text AS written FROM apsched_jobs WHERE id = ANY($1::text[])), "
    "locked AS (SELECT id, xmin::text AS written FROM apsched_jobs WHERE id = ANY($1::text[]) "
    "ORDER BY id FOR UPDATE), "
    // count(*) reads (and so locks) every row of locked before any fire is changed.
    "raced AS (SELECT (SELECT count(*) FROM locked) <> (SELECT count(*) FROM seen) OR EXISTS "
    "(SELECT 1 FROM seen JOIN locked ON locked.id = seen.id WHERE locked.written <> "
    "seen.written) AS raced), "
    "held AS (SELECT c.job_id, c.scheduled, c.max_instances, c.n, f.job_id IS NOT NULL AS held "
    "FROM c LEFT JOIN apsched_fires f ON f.job_id = c.job_id AND f.scheduled = c.scheduled AND "
    "f.owner = $4 AND f.state = 'claimed'), "
    "ranked AS (SELECT job_id, scheduled, max_instances, n, row_number() OVER (PARTITION BY "
    "job_id ORDER BY n) AS k FROM held WHERE held), "
    "go AS (SELECT r.job_id, r.scheduled, r.n FROM ranked r WHERE NOT (SELECT raced FROM raced) "
    "AND r.k + (SELECT count(*) FROM apsched_fires f WHERE f.job_id = r.job_id AND "
    "f.state = 'submitted') <= r.max_instances), "
    "started AS (UPDATE apsched_fires f SET state = 'submitted', recorded_at = $5 FROM go "
    "WHERE f.job_id = go.job_id AND f.scheduled = go.scheduled RETURNING go.job_id, go.n), "
    // A new row version (the same values: the job's version holds, and so do the copies other
    // schedulers hold), which a start racing this one finds.
    "touched AS (UPDATE apsched_jobs j SET version = j.version WHERE j.id IN (SELECT job_id FROM "
    "started)) "
    "SELECT (SELECT raced FROM raced), CASE WHEN s.n IS NOT NULL THEN 'started' WHEN h.held "
    "THEN 'busy' ELSE 'lost' END FROM held h LEFT JOIN started s ON s.n = h.n ORDER BY h.n";

/// What one run of start_claimed_sql answered.
///
/// Thread safety: not thread-safe (a plain value).
struct ClaimAnswer {
  /// One per claim, in claim order.
  std::vector<ClaimVerdict> verdicts;
  /// Whether it raced (and so started nothing): see start_claimed_sql.
  bool raced = false;
};

/// The answer in `rows`, a result of start_claimed_sql for `count` claims, read through `db`
/// (for the messages of errors).
/// @throws StoreError if it does not hold one row per claim
///
/// Thread safety: const-thread-safe (it only reads `rows` and `db`).
[[nodiscard]] inline ClaimAnswer read_claim_answer(const Result& rows, std::size_t count,
                                                   const Connection& db) {
  if (rows.rows() < 0 || static_cast<std::size_t>(rows.rows()) != count) {
    throw StoreError{db.error_message(
        fmt::format("{} verdicts for {} claimed fires; expected one each", rows.rows(), count))};
  }
  ClaimAnswer answer;
  answer.verdicts.reserve(count);
  for (int i = 0; i < rows.rows(); ++i) {
    answer.raced = answer.raced || rows.text(i, 0) == "t";
    const std::string_view verdict = rows.text(i, 1);
    answer.verdicts.push_back(verdict == "started" ? ClaimVerdict::started
                              : verdict == "busy"  ? ClaimVerdict::busy
                                                   : ClaimVerdict::lost);
  }
  return answer;
}

}  // namespace apsched::detail::postgres
