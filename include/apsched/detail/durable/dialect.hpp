// SPDX-License-Identifier: MIT
// Dialect: what one SQL database gives the durable engine (its statements over its connection),
// and the plain rows those statements return.
#pragma once

#include <apsched/detail/durable/error_label.hpp>
#include <apsched/detail/durable/job_row.hpp>
#include <apsched/detail/durable/outcome.hpp>
#include <apsched/detail/durable/stored_view.hpp>
#include <apsched/durable_job_store.hpp>
#include <apsched/job_store.hpp>

#include <concepts>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace apsched::detail::durable {

/// The lease of one row of the table of owners (the stores holding a lease), as a dialect
/// reads it for the take-over.
///
/// Thread safety: not thread-safe (a plain value).
struct LeaseRow {
  std::string owner;
  std::string host;
  std::int64_t pid = 0;
  /// The end of its lease, stored form (the dialect's clock).
  std::int64_t lease_until = 0;
  /// Whether the lease ended before now, by the clock the dialect compares leases with.
  bool lapsed = false;
};

/// A fire a dead owner left in flight (recorded claimed or submitted), as a dialect reads it.
///
/// Thread safety: not thread-safe (a plain value).
struct InFlightFire {
  std::string job_id;
  /// Its scheduled time, stored form.
  std::int64_t scheduled = 0;
  std::int64_t attempt = 1;
  /// A claimed fire: its job (or its retired row) is stored. A submitted one: the stored job's
  /// (or retired row's) options say Abandoned::rerun.
  bool rerun = false;
  /// Whether no row of `jobs` holds its job (the fire was the job's last; see commit_due).
  bool job_gone = false;
  /// Whether it was recorded submitted (it started), not only claimed.
  bool started = false;
};

/// What commit_due writes of a job handed out as due: every value checked (times converted)
/// before the first write.
///
/// Thread safety: not thread-safe (a plain value).
struct DueCommit {
  const JobRecord& job;
  /// The row version the record was handed out at (or last written as).
  std::int64_t version = 0;
  /// Whether the job is deleted (its trigger has no time left) rather than advanced.
  bool remove = false;
  /// Whether the deleted job is kept as retired (see retires).
  bool retire = false;
  std::int64_t next_fire = 0;
  std::int64_t next_run = 0;
  std::span<const FireDecision> fires;
  /// The scheduled time of each of `fires`, stored form.
  std::vector<std::int64_t> scheduled;
  /// Whether one of `fires` was missed; whether one is finished (not in flight).
  bool missed = false;
  bool finished = false;
};

/// The database-specific part of a durable store: its statements, run on its connection, for
/// the algorithm the Engine holds once. A dialect is a light handle on the store's connection
/// and database-specific state; every store time it reads or writes is in stored form (integer
/// nanoseconds since the epoch). A dialect `d` of type `D` provides:
///
/// 1. `D::store_name`: the store class's name, a `std::string_view` constant ("SqliteJobStore"),
///    which errors and reports start with.
/// 2. `d.error_label()`: the ErrorLabel of the connection (store, database, operation).
/// 3. `d.set_aside(row, cause, unknown_task)`: `row` cannot be used (for `cause`, an error
///    message; `unknown_task`: its task is not registered): it is left out of the due queries at
///    its version, and reported (DurableJobStore::take_reports) unless reported already. Never
///    changes the stored row.
/// 4. `d.retired_row(id)`: the row kept for a rerun of job `id`'s last fire (table of retired
///    jobs), or empty.
/// 5. `d.owner_rows(now)`: the rows of the owners' table; the store's own may be left out.
///    LeaseRow::lapsed compares with the database's clock, or with `now` (the system clock).
/// 6. `d.orphan_owners()`: the owners of fires in flight that have no row in the owners' table.
/// 7. `d.atomically(body)`: runs `body` (returning void) in a transaction of its own, committed
///    when `body` returns and rolled back when it throws.
/// 8. `d.release_owner(owner, lease_until)`: inside (7), deletes `owner`'s row if its lease
///    still ends at `lease_until`; returns whether it did (otherwise another store took it over,
///    or it renewed its lease: it is alive).
/// 9. `d.in_flight_fires(owner)`: inside (7), the fires `owner` recorded claimed or submitted,
///    locked where the database locks rows.
/// 10. `d.take_fire(job_id, scheduled, attempt, now)`: inside (7), records the fire as this
///     store's, with attempt number `attempt`, recorded at `now` or by the database's clock.
/// 11. `d.end_fire(job_id, scheduled, state, error, release_retired, now)`: inside (7), records
///     the fire ended in `state` (abandoned or dropped) with `error`, finished at `now` or by the
///     database's clock, and the job's last outcome dropped; deletes the job's retired row when
///     `release_retired` (the dialect may also delete it when no other fire of it is in flight).
/// 12. `d.trim_history(job_id)`: deletes the job's oldest finished fires beyond the largest
///     history_per_job of the live owners (this store's included).
/// 13. `d.fire_rows(job_id, limit)`: the recorded fires of the job (FireRow, its job_id set),
///     newest scheduled first, at most `limit`.
/// 14. `d.update_job(record, trigger)`: writes the job's next fire and run time, paused flag,
///     `trigger` (its text) and options (not its counters), counting its row version up;
///     returns the new version, or empty when no job has its id.
/// 15. `d.erase_job(id)`: deletes the job, its fire history and its retired row atomically;
///     returns whether a job was deleted.
/// 16. `d.clear_jobs()`: deletes every job, retired row and fire atomically.
/// 17. `d.prepare_release()`, `d.drop_lease()`, `d.lapse_lease()`: for the store giving up its
///     lease: ends the open round (and what else the dialect must end first) and writes the
///     pending outcomes; deletes the store's row in the owners' table unless a fire it recorded
///     is in flight, returning whether it did; sets its lease to lapse at once.
/// 18. `d.forget_set_aside(id)`: job `id` is no longer set aside (it is tried again when met);
///     `d.forget_all_set_aside()`: no job is (they were all deleted).
/// 19. `d.retry_unknown_task(task)`: the jobs set aside for naming `task` while it was unknown
///     (every such job for an empty `task`) are no longer set aside.
/// 20. `d.commit_due(commit)`: atomically (in a transaction of its own, or as part of the open
///     batch or round), advances the job (or deletes it, keeping it as retired when
///     DueCommit::retire) provided its row is still at DueCommit::version, and records its fires
///     as this store's, the finished ones with their end time; then trims the job's history when
///     one of them is finished. Returns false, having recorded nothing, when the row changed, or
///     when one of the fires is recorded already (inside a batch or round, that marks it failed,
///     so that its end rolls it back). May instead keep the commit, to write it with others
///     before the open round's next statement, when the round holds the job's row locked.
/// 21. `d.write_outcomes(outcomes)`: atomically (in a transaction of its own, or as part of the
///     open batch or round), writes each outcome: the fire's end where this store owns the
///     fire, the run added to the job's counters where PendingOutcome::counted, the job's
///     retired row released once none of its fires is in flight; then trims the history of the
///     outcomes' jobs (a dialect may trim a job's only at every so many of its outcomes).
///
/// Every member but (1) and (2) may throw StoreError when the database fails. All calls come
/// from the thread that uses the store (the scheduler's); a dialect need not be thread-safe.
template <class D>
concept Dialect = requires(D& d, const JobRow& row, JobRecord& record, const DueCommit& commit,
                           const std::string& text, std::string_view id, std::int64_t stored,
                           const std::function<void()>& body,
                           std::span<const PendingOutcome> outcomes) {
  { D::store_name } -> std::convertible_to<std::string_view>;
  { d.error_label() } -> std::convertible_to<const ErrorLabel&>;
  d.set_aside(row, id, true);
  { d.retired_row(text) } -> std::same_as<std::optional<JobRow>>;
  { d.owner_rows(stored) } -> std::same_as<std::vector<LeaseRow>>;
  { d.orphan_owners() } -> std::same_as<std::vector<std::string>>;
  d.atomically(body);
  { d.release_owner(text, stored) } -> std::same_as<bool>;
  { d.in_flight_fires(text) } -> std::same_as<std::vector<InFlightFire>>;
  d.take_fire(text, stored, stored, stored);
  d.end_fire(text, stored, FireState::dropped, text, true, stored);
  d.trim_history(id);
  { d.fire_rows(id, stored) } -> std::same_as<std::vector<FireRow>>;
  { d.update_job(record, text) } -> std::same_as<std::optional<std::int64_t>>;
  { d.erase_job(id) } -> std::same_as<bool>;
  d.clear_jobs();
  d.prepare_release();
  { d.drop_lease() } -> std::same_as<bool>;
  d.lapse_lease();
  d.forget_set_aside(id);
  d.forget_all_set_aside();
  d.retry_unknown_task(id);
  { d.commit_due(commit) } -> std::same_as<bool>;
  d.write_outcomes(outcomes);
};

}  // namespace apsched::detail::durable
