// SPDX-License-Identifier: MIT
// The StoreView concept: a read-only look at a durable store from outside any scheduler (jobs,
// fires, owners), and the values it returns; models in {sqlite,postgres}/store_view.hpp.
#pragma once

#include <apsched/clock.hpp>
#include <apsched/durable_job_store.hpp>
#include <apsched/job.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace apsched {

/// A job as its durable store keeps it, read without its task: the task is a name, the
/// arguments and trigger are the stored JSON texts, so no code of the job is needed to list it.
///
/// Thread safety: not thread-safe (a plain value).
struct StoredJob {
  std::string id;
  /// JobOptions::name; empty when none was given or the stored options cannot be read.
  std::string name;
  /// The name of the job's task in the scheduler's TaskRegistry.
  std::string task;
  /// The JSON text of the arguments (an array), as stored.
  std::string arguments;
  /// The JSON text of the trigger, as stored (see TriggerCodecs).
  std::string trigger;
  /// What the trigger's describe() says ("interval[0:00:10]"), decoded with the view's trigger
  /// codecs; when it cannot be decoded, `trigger_readable` is false and this says why:
  /// `the trigger could not be read: <reason>`.
  std::string trigger_description;
  bool trigger_readable = true;
  /// The JSON text of the job's other settings (max_instances, coalesce, ...), as stored.
  std::string options;
  /// The trigger's fire time of the next run.
  TimePoint next_fire{};
  /// When the next run is due (next_fire plus jitter); a paused job keeps it but is not due.
  TimePoint next_run{};
  bool paused = false;
  /// The start of the latest run; empty before the first.
  std::optional<TimePoint> last_run;
  std::uint64_t run_count = 0;
  std::uint64_t failure_count = 0;
  /// How the latest run ended; `none` before the first (and for a stored name this version of
  /// apsched does not know).
  JobOutcome last_outcome = JobOutcome::none;
  /// Fires of the job a scheduler claimed and has not started (FireState::claimed).
  std::uint64_t fires_claimed = 0;
  /// Fires of the job handed to an executor and not finished (FireState::submitted).
  std::uint64_t fires_submitted = 0;

  /// The fires of the job in flight: claimed or submitted.
  [[nodiscard]] std::uint64_t fires_in_flight() const noexcept {
    return fires_claimed + fires_submitted;
  }
};

/// Which jobs a StoreView lists, and one page of them: ordered by id (the database's order of
/// text), at most `limit`, after the id `after`.
///
/// Thread safety: not thread-safe (a plain value).
struct JobQuery {
  /// Only jobs whose id or task name contains this text (case-sensitive); empty: every job.
  std::string text;
  /// Only the paused jobs (true) or only the scheduled ones (false); empty: both.
  std::optional<bool> paused;
  /// The most jobs on the page.
  std::size_t limit = 100;
  /// Only jobs whose id comes after this one: the `next` of the previous page; empty: from the
  /// first.
  std::optional<std::string> after;
};

/// One page of jobs (StoreView::jobs(JobQuery)).
///
/// Thread safety: not thread-safe (a plain value).
struct JobPage {
  std::vector<StoredJob> jobs;
  /// What to put in JobQuery::after for the next page; empty on the last page.
  std::optional<std::string> next;
};

/// Where a page of fires ended: its last fire. Pass it back unchanged (FireQuery::after).
///
/// Thread safety: not thread-safe (a plain value).
struct FireCursor {
  /// The scheduled time of the page's last fire as stored: nanoseconds since the epoch (exact,
  /// whatever the precision of TimePoint).
  std::int64_t scheduled = 0;
  /// The job of the page's last fire.
  std::string job_id;

  friend bool operator==(const FireCursor&, const FireCursor&) = default;
};

/// Which fires a StoreView lists, and one page of them: newest (latest scheduled) first, fires
/// scheduled at the same time by job id, descending; at most `limit`, after the cursor `after`.
/// Pages continue where the previous one ended: they neither overlap nor skip a fire, even when
/// fires are recorded meanwhile (newer ones go to the front, which the pages already passed).
///
/// Thread safety: not thread-safe (a plain value).
struct FireQuery {
  /// Only the fires of this job; empty: of every job.
  std::optional<std::string> job_id;
  /// Only fires in one of these states; empty: in any.
  std::vector<FireState> states;
  /// Only fires scheduled at or after this time.
  std::optional<TimePoint> scheduled_from;
  /// Only fires scheduled before this time.
  std::optional<TimePoint> scheduled_before;
  /// The most fires on the page.
  std::size_t limit = 100;
  /// Only fires after this one in the order above: the `next` of the previous page; empty: from
  /// the newest.
  std::optional<FireCursor> after;
};

/// A recorded fire and its job.
///
/// Thread safety: not thread-safe (a plain value).
struct StoredFire {
  std::string job_id;
  FireRecord fire;
};

/// One page of fires (StoreView::fires).
///
/// Thread safety: not thread-safe (a plain value).
struct FirePage {
  std::vector<StoredFire> fires;
  /// What to put in FireQuery::after for the next page; empty on the last page.
  std::optional<FireCursor> next;
};

/// A scheduler (store object) registered on a durable store, with its lease: while the lease is
/// current, no other scheduler takes over the fires it has in flight.
///
/// Thread safety: not thread-safe (a plain value).
struct StoreOwner {
  /// Who it is, as its fires name it (FireRecord::owner).
  FireOwner owner;
  /// When it registered, by its system clock (SQLite) or the database clock (PostgreSQL).
  TimePoint started_at{};
  /// When its lease ends unless renewed; the epoch for a store that gave it up with fires left
  /// in flight (another scheduler takes them over).
  TimePoint lease_until{};
  /// Whether `lease_until` is still ahead, by the reader's system clock (SQLite) or the database
  /// clock (PostgreSQL). A scheduler whose process died keeps a current lease until it ends,
  /// unless another scheduler on its host noticed the death first.
  bool lease_current = false;
  /// Its SqliteStoreOptions::history_per_job or PostgresStoreOptions::history_per_job; 0 for a
  /// scheduler of an apsched version that did not record it.
  std::uint64_t history_per_job = 0;
  /// Its fires claimed and not started (FireState::claimed).
  std::uint64_t fires_claimed = 0;
  /// Its fires handed to an executor and not finished (FireState::submitted).
  std::uint64_t fires_submitted = 0;
};

/// A read-only look at a durable store from outside any scheduler, for monitoring and admin
/// tools: it needs no TaskRegistry (jobs are listed by task name, with their stored arguments
/// and trigger), takes no lease and writes nothing, so reading never changes what schedulers
/// do. Requirements, for a `const V v`, a `std::string_view id`, a `const JobQuery& jobs` and a
/// `const FireQuery& fires`:
/// 1. `v.jobs()` returns every stored job (a std::vector<StoredJob>), ordered by id. A job whose
///    task, arguments or trigger no process can use is listed too.
/// 2. `v.jobs(jobs)` returns the JobPage the query selects (see JobQuery).
/// 3. `v.job(id)` returns the stored job with that id, or an empty std::optional<StoredJob>.
/// 4. `v.fires(fires)` returns the FirePage the query selects (see FireQuery): fires of jobs
///    that are stored or were removed, as long as the store keeps their history.
/// 5. `v.fires_in_flight()` returns every fire recorded claimed or submitted (a
///    std::vector<StoredFire>), newest first, each naming its owner.
/// 6. `v.owners()` returns the schedulers registered on the store (a std::vector<StoreOwner>),
///    ordered by owner text.
/// Each call reads one consistent snapshot of the store (one statement), and a fire's owner,
/// times and states decode as in the store's own fire_history. A call throws StoreError when the
/// database fails, naming the view, the database and the operation. A model need not be
/// thread-safe: use one view per thread.
template <class V>
concept StoreView = requires(const V& view, std::string_view id, const JobQuery& jobs,
                             const FireQuery& fires) {
  { view.jobs() } -> std::same_as<std::vector<StoredJob>>;
  { view.jobs(jobs) } -> std::same_as<JobPage>;
  { view.job(id) } -> std::same_as<std::optional<StoredJob>>;
  { view.fires(fires) } -> std::same_as<FirePage>;
  { view.fires_in_flight() } -> std::same_as<std::vector<StoredFire>>;
  { view.owners() } -> std::same_as<std::vector<StoreOwner>>;
};

}  // namespace apsched
