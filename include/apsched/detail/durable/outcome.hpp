// SPDX-License-Identifier: MIT
// What the durable stores share around a fire: the outcome a run leaves until it is written,
// the stored fire state read back, and the record of a job handed out again.
#pragma once

#include <apsched/clock.hpp>
#include <apsched/detail/durable/coding.hpp>
#include <apsched/detail/durable/error_label.hpp>
#include <apsched/detail/durable/job_row.hpp>
#include <apsched/detail/durable/record_cache.hpp>
#include <apsched/durable_job_store.hpp>
#include <apsched/error.hpp>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace apsched::detail::durable {

/// "No time" in PendingOutcome::last_run.
inline constexpr std::int64_t no_time = std::numeric_limits<std::int64_t>::min();

/// The end of a fire as record_outcome or defer_outcome received it, ready to be written.
///
/// Thread safety: not thread-safe (a plain value).
struct PendingOutcome {
  std::string id;
  /// The fire's scheduled time, stored form.
  std::int64_t scheduled = 0;
  FireState state = FireState::succeeded;
  std::string error;
  /// Whether to add the run to the job's counters (a record was given).
  bool counted = false;
  /// Whether the fire ran (succeeded or failed).
  bool ran = false;
  /// The record's last run (stored form), or no_time.
  std::int64_t last_run = no_time;
};

/// The PendingOutcome of record_outcome's arguments, for a store that keeps the records it
/// handed out in `cache`. A retired record (CachedRecord::retired) counts as none, since its job
/// is no longer stored: an outcome without a record adds to no job's counters. A store releases
/// the job's retired row once none of its fires is in flight, whichever outcome ends the last
/// of them. A retired record of job `id`
/// with no run left outstanding or queued is forgotten: its rerun has ended.
/// @throws SerializationError naming `call` if a time is out of range
[[nodiscard]] inline PendingOutcome pending_outcome(RecordCache& cache, std::string_view id,
                                                    const JobRecord* record, TimePoint scheduled,
                                                    FireState fire_state, std::string_view error,
                                                    std::string_view call) {
  // One lookup serves both rules (`record`, when given, is job `id`'s).
  const CachedRecord* entry = cache.find(id);
  const CachedRecord* retired = entry != nullptr && entry->retired ? entry : nullptr;
  if (retired != nullptr && record == &retired->record) {
    record = nullptr;
  }
  const bool ran = fire_state == FireState::succeeded || fire_state == FireState::failed;
  PendingOutcome outcome{
      .id = std::string{id},
      .scheduled = to_stored_time(call, scheduled),
      .state = fire_state,
      .error = std::string{error},
      .counted = record != nullptr,
      .ran = ran,
      .last_run = record != nullptr && ran && record->last_run != TimePoint::min()
                      ? to_stored_time(call, record->last_run)
                      : no_time};
  if (retired != nullptr && RecordCache::idle(retired->record)) {
    cache.erase(id);
  }
  return outcome;
}

/// Whether commit_due, removing `job` (its trigger has no time left) and recording `fires`,
/// keeps the job as retired: out of listings, but held to run its queued runs, and loadable to
/// run its last fires should its scheduler die before they started (fires claimed, now or
/// earlier: queued runs) or while one runs (Abandoned::rerun, a fire submitted).
[[nodiscard]] inline bool retires(const JobRecord& job, std::span<const FireDecision> fires,
                                  bool remove) noexcept {
  if (!remove) {
    return false;
  }
  if (job.extras && !job.extras->queued_runs.empty()) {
    return true;  // queued runs, their fires claimed earlier
  }
  for (const FireDecision& fire : fires) {
    if (fire.state == FireState::claimed ||
        (fire.state == FireState::submitted && job.abandoned == Abandoned::rerun)) {
      return true;
    }
  }
  return false;
}

/// Whether a fire recorded in `state` is in flight: claimed or submitted, its end not recorded.
[[nodiscard]] constexpr bool in_flight(FireState state) noexcept {
  return state == FireState::submitted || state == FireState::claimed;
}

/// Holds the record `row` of apsched_retired_jobs describes (a job kept for a rerun of its last
/// fire) in `cache`, marked retired, its body built from `tasks` and trigger decoded by
/// `codecs`, with a new generation from `loaded` and store index `store`; `call` names the
/// store. Nothing is held while a job with its id has a run outstanding here.
/// @returns empty, or why the job cannot be run again (for the fire's error text)
template <TaskPreparing R, TriggerDecoding C>
std::string hold_retired(RecordCache& cache, const JobRow& row, const R* tasks, const C& codecs,
                         std::string_view call, std::uint32_t& loaded, std::uint8_t store) {
  if (const CachedRecord* held = cache.find(row.id);
      held != nullptr && !RecordCache::idle(held->record)) {
    return "; a job with its id runs here, so it was not run again";
  }
  std::optional<JobRecord> record;
  try {
    record = record_from_row(call, row, tasks, codecs);
  } catch (const InvalidArgumentError& error) {  // an unknown task, a value it cannot read
    return fmt::format("; it could not be run again: {}", error.what());
  } catch (const nlohmann::json::exception& error) {
    return fmt::format("; it could not be run again: {}", error.what());
  }
  record->generation = loaded_generation(loaded);
  record->store = store;
  cache.put(std::move(*record), row.version);
  cache.find(row.id)->retired = true;
  return {};
}

/// The entry of `cache` holding `job`.
/// @throws InvalidArgumentError naming `call` when `job` is not one of the cache's records
[[nodiscard]] inline CachedRecord& handed_out(RecordCache& cache, const JobRecord& job,
                                              std::string_view call) {
  CachedRecord* entry = cache.holding(job);
  if (entry == nullptr) {
    throw InvalidArgumentError{fmt::format(
        "{}: job \"{}\" is not a record this store handed out; expected one from first_due or "
        "find",
        call, job.id)};
  }
  return *entry;
}

/// Replaces the record of `entry` by `loaded` (read at `version`), keeping what only this
/// process knows of it: its generation, runs outstanding, store index and queued runs.
inline JobRecord& refresh(CachedRecord& entry, JobRecord&& loaded, std::int64_t version) {
  JobRecord& record = entry.record;
  loaded.generation = record.generation;
  loaded.running = record.running;
  loaded.store = record.store;
  if (record.extras && !record.extras->queued_runs.empty()) {
    loaded.extra().queued_runs = std::move(record.extras->queued_runs);
  }
  record = std::move(loaded);
  entry.version = version;
  entry.stale = false;
  entry.retired = false;  // now the record of the job stored with its id
  return record;
}

/// Runs `write`, the database part of a store's commit_due for the record of `entry`
/// (returning whether it was kept), and settles the record: refused or failed, it is marked
/// stale (reloaded before it is handed out again); kept, a removed job is forgotten (held as
/// retired while it has queued runs, their fires claimed, until they end), else its
/// version counts up as the row's did.
/// @returns what `write` returned
/// @throws what `write` throws
template <class F>
bool commit_cached(RecordCache& cache, CachedRecord& entry, bool remove, F&& write) {
  bool committed = false;
  try {
    committed = write();
  } catch (...) {
    entry.stale = true;
    throw;
  }
  if (!committed) {
    entry.stale = true;
    return false;
  }
  if (remove && entry.record.extras && !entry.record.extras->queued_runs.empty()) {
    entry.retired = true;  // held for its queued runs (see retires), then forgotten
  } else if (remove) {
    cache.erase(entry.record.id);
  } else {
    ++entry.version;
  }
  return true;
}

/// The FireState stored as `text`, read by a store whose database `label` names.
/// @throws StoreError otherwise, naming the store, its database and operation, the job and the
/// text: `SqliteJobStore "jobs.db": read fire history: a fire of job "a" has state "lost";
/// expected submitted, ...`
[[nodiscard]] inline FireState stored_fire_state(std::string_view text, const ErrorLabel& label,
                                                 std::string_view job_id) {
  const std::optional<FireState> state = enum_from_name(fire_state_names, text);
  if (!state) {
    throw StoreError{store_error_message(
        label, "read fire history",
        fmt::format("a fire of job \"{}\" has state \"{}\"; expected submitted, succeeded, "
                    "failed, missed, skipped, dropped, abandoned, coalesced or claimed",
                    job_id, text))};
  }
  return *state;
}

}  // namespace apsched::detail::durable
