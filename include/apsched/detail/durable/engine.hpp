// SPDX-License-Identifier: MIT
// Engine: the algorithm the SQLite and PostgreSQL stores share, once, over a Dialect: records
// handed out and set aside, job writes, fire decisions, deferred outcomes, the take-over of a
// dead owner's fires, the lease given up, and the fire history.
#pragma once

#include <apsched/clock.hpp>
#include <apsched/detail/durable/coding.hpp>
#include <apsched/detail/durable/dialect.hpp>
#include <apsched/detail/durable/host.hpp>
#include <apsched/detail/durable/job_row.hpp>
#include <apsched/detail/durable/outcome.hpp>
#include <apsched/detail/durable/record_cache.hpp>
#include <apsched/detail/durable/stored_view.hpp>
#include <apsched/detail/json/write.hpp>
#include <apsched/durable_job_store.hpp>
#include <apsched/error.hpp>
#include <apsched/job_store.hpp>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace apsched::detail::durable {

/// `count` as the bigint a statement compares with (a history_per_job, a limit), saturated.
[[nodiscard]] constexpr std::int64_t stored_limit(std::size_t count) noexcept {
  return static_cast<std::int64_t>(std::min<std::size_t>(
      count, static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max())));
}

/// What every durable store keeps beside its connection, whatever its database: who it is, the
/// registry and codecs it builds records with, the records it handed out and the outcomes it
/// has yet to write. A store's state derives from it; the Engine works on it.
///
/// Thread safety: not thread-safe.
struct EngineState {
  /// Triggers are stored with `trigger_codecs`. At most `cache_size` idle records are kept.
  EngineState(AnyTriggerCodecs trigger_codecs, std::size_t cache_size)
      : codecs{trigger_codecs}, owner{owner_token()}, cache{cache_size} {}

  /// The registry jobs are rebuilt from, or nullptr while none is attached.
  [[nodiscard]] const AnyTaskRegistry* registry() const noexcept {
    return tasks ? &tasks : nullptr;
  }

  AnyTriggerCodecs codecs;
  // Identifies the store object in the fires it records and in the owners' table.
  std::string owner;
  // The process that opened the store, which alone releases its lease.
  std::int64_t owner_pid = process_id();
  AnyTaskRegistry tasks;
  std::uint8_t index = 0;
  // Numbers the records loaded from the database, for their generation.
  std::uint32_t loaded = 0;
  RecordCache cache;
  // The record insert returned when it did not cache it; valid until the next insert.
  std::optional<JobRecord> inserted;
  // Outcomes defer_outcome holds until they are written.
  std::vector<PendingOutcome> pending;
  // Whether the take-over looked for the owners of fires in flight without a row.
  bool orphans_checked = false;
};

/// An owner whose fires a store takes over: its lease lapsed or its process on this host is
/// gone; `orphan`: it has no row in the owners' table (its fires are from before owners were
/// kept, or it gave its row up).
///
/// Thread safety: not thread-safe (a plain value).
struct LapsedOwner {
  std::string owner;
  /// Its lease's end as read, to take it over only if unchanged (unused for an orphan).
  std::int64_t lease_until = 0;
  bool orphan = false;
};

/// What Engine::lapsed_owners found.
///
/// Thread safety: not thread-safe (a plain value).
struct LapsedOwners {
  std::vector<LapsedOwner> dead;
  /// Whether the store's own row was among the rows read (a dialect may leave it out).
  bool listed = false;
};

/// The algorithm of a durable SQL store, over its EngineState and its Dialect `D` (a handle on
/// the store's connection): handing out records (loading, refreshing, setting aside the ones
/// that cannot be used), updating and deleting jobs, checking a fire decision before the
/// dialect records it and settling the record after, keeping deferred outcomes, taking over
/// the fires of owners that died, giving up the lease, and reading the fire history. Where the
/// databases' transactions differ (rounds, batches, the writes of outcomes), the store keeps
/// its own code. An Engine is a light view: a store makes one for each call.
///
/// Thread safety: not thread-safe (the store's calls are serialised).
template <Dialect D>
class Engine {
 public:
  Engine(EngineState& state, D dialect) noexcept : state_{state}, dialect_{std::move(dialect)} {}

  /// The record of `row`: the cached one, rebuilt if stale or changed, else loaded now.
  /// nullptr when the row cannot be used (it is then set aside, and an idle entry dropped).
  JobRecord* hand_out(const JobRow& row) {
    if (CachedRecord* cached = state_.cache.find(row.id)) {
      return refresh(*cached, row);
    }
    std::optional<JobRecord> loaded = build(row);
    if (!loaded) {
      return nullptr;
    }
    loaded->generation = loaded_generation(state_.loaded);
    loaded->store = state_.index;
    return state_.cache.put(std::move(*loaded), row.version);
  }

  /// Brings `entry` up to `row` when it is stale or the row changed, keeping the scheduler's
  /// process-local state. Returns the record, or nullptr (dropping an idle entry) when the row
  /// cannot be used now.
  JobRecord* refresh(CachedRecord& entry, const JobRow& row) {
    if (!entry.stale && entry.version == row.version) {
      return &entry.record;
    }
    std::optional<JobRecord> loaded = build(row);
    if (!loaded) {
      state_.cache.drop_if_idle(row.id);
      return nullptr;
    }
    return &durable::refresh(entry, std::move(*loaded), row.version);
  }

  /// The record `row` describes, or empty when it cannot be used: then it is set aside and
  /// reported (Dialect requirement 3).
  std::optional<JobRecord> build(const JobRow& row) {
    try {
      return record_from_row(D::store_name, row, state_.registry(), state_.codecs);
    } catch (const UnknownTaskError& error) {
      dialect_.set_aside(row, error.what(), true);
    } catch (const InvalidArgumentError& error) {
      dialect_.set_aside(row, error.what(), false);
    } catch (const nlohmann::json::exception& error) {
      dialect_.set_aside(row, error.what(), false);
    }
    return std::nullopt;
  }

  /// Writes the job's next fire and run time, paused flag, trigger and options (Dialect
  /// requirement 14), so other processes reload it. The record is reloaded before it is handed
  /// out again when the write fails or finds the job deleted.
  /// @throws SerializationError if the trigger has no codec; StoreError if the database fails
  void update(JobRecord& stored) {
    CachedRecord* entry = state_.cache.holding(stored);
    try {
      const std::string trigger = json::dump_compact(state_.codecs.encode(stored.trigger));
      const std::optional<std::int64_t> version = dialect_.update_job(stored, trigger);
      if (entry != nullptr) {
        if (version) {
          entry->version = *version;
        } else {
          entry->stale = true;  // deleted by another process: find() forgets it
        }
      }
    } catch (...) {
      if (entry != nullptr) {
        entry->stale = true;
      }
      throw;
    }
  }

  /// Deletes job `id`, its fire history and its retired row (requirement 15), forgets its
  /// record and tries it again should it be set aside. Returns whether a job was deleted.
  bool erase(std::string_view id) {
    const bool erased = dialect_.erase_job(id);
    state_.cache.erase(id);
    dialect_.forget_set_aside(id);
    return erased;
  }

  /// Deletes every job, retired row and fire (requirement 16), and forgets every record and
  /// job set aside.
  void clear() {
    dialect_.clear_jobs();
    state_.cache.clear();
    dialect_.forget_all_set_aside();
  }

  /// Writes the outcome of a fire now (Dialect requirement 21): its end, if this store owns
  /// it, and with `record`, the run added to the job's counters; `call` names the store member
  /// in errors.
  /// @throws SerializationError if `scheduled` is out of range; StoreError if the database fails
  void record_outcome(std::string_view id, const JobRecord* record, TimePoint scheduled,
                      FireState fire_state, std::string_view error, std::string_view call) {
    const PendingOutcome outcome =
        pending_outcome(state_.cache, id, record, scheduled, fire_state, error, call);
    dialect_.write_outcomes(std::span{&outcome, 1});
  }

  /// Keeps the outcome of a fire until the store writes it with the others (see
  /// DeferredOutcomeStore); `call` names the store member in errors. Returns whether it is the
  /// only one pending.
  /// @throws SerializationError if `scheduled` is out of range
  bool defer_outcome(std::string_view id, const JobRecord* record, TimePoint scheduled,
                     FireState fire_state, std::string_view error, std::string_view call) {
    state_.pending.push_back(
        pending_outcome(state_.cache, id, record, scheduled, fire_state, error, call));
    return state_.pending.size() == 1;
  }

  /// Gives up the store's lease, unless the process inherited the store through fork() (the
  /// lease is then the parent's): ends what is open and writes the pending outcomes, then
  /// deletes the store's row in the owners' table when it left no fire in flight, else makes
  /// its lease lapse at once (requirement 17), so that the next store to look takes those fires
  /// over. Errors are ignored: the lease then lapses in time.
  void release_lease() noexcept {
    if (state_.owner_pid != process_id()) {
      return;
    }
    try {
      dialect_.prepare_release();
      if (!dialect_.drop_lease()) {
        dialect_.lapse_lease();
      }
    } catch (...) {  // NOLINT(bugprone-empty-catch): the lease lapses in time
    }
  }

  /// Advances (or with `remove`, deletes) the stored job `job` handed out as due, provided it is
  /// still the version handed out, and records `fires` (Dialect requirement 20), then settles
  /// the record (see commit_cached). `call` names the store member in errors.
  /// @returns false, having recorded nothing, when the row changed or a fire was recorded already
  /// @throws InvalidArgumentError if `job` was not handed out by this store
  /// @throws SerializationError if a time is out of range, before anything is written
  /// @throws StoreError if the database fails
  bool commit_due(JobRecord& job, std::span<const FireDecision> fires, bool remove,
                  std::string_view call) {
    CachedRecord& entry = handed_out(state_.cache, job, call);
    DueCommit commit{.job = job,
                     .version = entry.version,
                     .remove = remove,
                     .retire = false,
                     .next_fire = to_stored_time(call, job.next_fire),
                     .next_run = to_stored_time(call, job.next_run),
                     .fires = fires};
    commit.scheduled.reserve(fires.size());
    for (const FireDecision& fire : fires) {
      commit.scheduled.push_back(to_stored_time(call, fire.scheduled));
      commit.missed = commit.missed || fire.state == FireState::missed;
      commit.finished = commit.finished || !in_flight(fire.state);
    }
    commit.retire = retires(job, fires, remove);
    return commit_cached(state_.cache, entry, remove, [&] { return dialect_.commit_due(commit); });
  }

  /// Takes the registry job bodies are built from and the store's index in its scheduler; the
  /// jobs set aside for want of a registry are tried again (they may be usable with this one).
  void attach(AnyTaskRegistry tasks, std::uint8_t index) {
    state_.tasks = std::move(tasks);
    state_.index = index;
    state_.cache.for_each([index](JobRecord& record) { record.store = index; });
    dialect_.retry_unknown_task({});
  }

  /// The cached record of job `id`, without reading the database, or nullptr.
  [[nodiscard]] JobRecord* find_cached(std::string_view id) const {
    CachedRecord* cached = state_.cache.find(id);
    return cached != nullptr ? &cached->record : nullptr;
  }

  /// The other owners whose lease lapsed (by the dialect's clock, or before `now`) or whose
  /// process on this host is gone, with the lease end seen; on the first call also the owners
  /// of fires in flight without a row (orphans).
  LapsedOwners lapsed_owners(std::int64_t now) {
    LapsedOwners found;
    const std::string host = host_name();
    for (LeaseRow& row : dialect_.owner_rows(now)) {
      if (row.owner == state_.owner) {
        found.listed = true;
        continue;
      }
      const bool gone = !host.empty() && row.host == host && process_gone(row.pid);
      if (row.lapsed || gone) {
        found.dead.push_back(LapsedOwner{std::move(row.owner), row.lease_until, false});
      }
    }
    if (!state_.orphans_checked) {
      state_.orphans_checked = true;
      for (std::string& owner : dialect_.orphan_owners()) {
        found.dead.push_back(LapsedOwner{std::move(owner), -1, true});
      }
    }
    return found;
  }

  /// In one transaction: deletes the row of `owner` (unless an orphan) provided its lease is
  /// unchanged, and if it did (so no other store takes them), takes the fires it left in flight,
  /// appending them to `taken`: a claimed one (it never started) is taken over for this store
  /// with its attempt; a submitted one too, with the next attempt, when its job says
  /// Abandoned::rerun; else it is recorded abandoned. One that cannot run here (its job gone,
  /// or the job kept for its last fire unusable) is recorded abandoned (submitted) or dropped
  /// (claimed). `now`: the take-over's time by the system clock, for a dialect that stamps
  /// with it.
  void take_over(const LapsedOwner& owner, std::int64_t now, std::vector<AbandonedFire>& taken) {
    dialect_.atomically([&] {
      if (!owner.orphan && !dialect_.release_owner(owner.owner, owner.lease_until)) {
        return;  // taken over by another store, or renewed: alive
      }
      take_fires_of(owner.owner, now, taken);
    });
  }

  /// The recorded fires of job `job_id`, newest (latest scheduled) first, at most `limit`.
  /// @throws StoreError if the database fails, or a row holds a state this apsched does not know
  [[nodiscard]] std::vector<FireRecord> fire_history(std::string_view job_id, std::size_t limit) {
    std::vector<FireRecord> history;
    for (FireRow& row : dialect_.fire_rows(job_id, stored_limit(limit))) {
      history.push_back(stored_fire(std::move(row), dialect_.error_label()).fire);
    }
    return history;
  }

 private:
  // Inside the take-over's transaction: the fires of dead `owner` (see take_over).
  void take_fires_of(const std::string& owner, std::int64_t now,
                     std::vector<AbandonedFire>& taken) {
    for (InFlightFire& row : dialect_.in_flight_fires(owner)) {
      AbandonedFire fire{.job_id = std::move(row.job_id),
                         .scheduled = from_stored_time(row.scheduled),
                         .attempt = static_cast<unsigned>(std::clamp<std::int64_t>(
                             row.attempt, 1, std::numeric_limits<unsigned>::max() - 1)),
                         .rerun = row.rerun,
                         .started = row.started,
                         .last_fire = row.job_gone};
      std::string unusable;
      if (fire.rerun && fire.last_fire) {
        unusable = hold_retired(fire.job_id);
        fire.rerun = unusable.empty();
      }
      if (fire.rerun) {
        // A fire that never started keeps its attempt: it runs here as it would have there.
        dialect_.take_fire(fire.job_id, row.scheduled,
                           std::int64_t{fire.attempt} + (fire.started ? 1 : 0), now);
      } else {
        dialect_.end_fire(
            fire.job_id, row.scheduled, fire.started ? FireState::abandoned : FireState::dropped,
            fire.started ? fmt::format("its scheduler ({}) stopped while it ran{}", owner, unusable)
                         : fmt::format("its scheduler ({}) stopped before it started, and the "
                                       "job no longer exists{}",
                                       owner, unusable),
            !unusable.empty(), now);
        dialect_.trim_history(fire.job_id);
      }
      taken.push_back(std::move(fire));
    }
  }

  // Holds the record of job `id`, kept for a rerun of its last fire, in the cache as retired.
  // Returns empty, or when it cannot be run again, why (for the fire's error).
  std::string hold_retired(const std::string& id) {
    const std::optional<JobRow> row = dialect_.retired_row(id);
    if (!row) {
      return "; its job is gone";
    }
    return durable::hold_retired(state_.cache, *row, state_.registry(), state_.codecs,
                                 D::store_name, state_.loaded, state_.index);
  }

  EngineState& state_;
  D dialect_;
};

}  // namespace apsched::detail::durable
