// SPDX-License-Identifier: MIT
// The job table: jobs across a scheduler's stores, with ids unique across them, and the
// insertion of a new job under its conflict policy.
#pragma once

#include <apsched/detail/hash.hpp>
#include <apsched/detail/scheduler/job_settings.hpp>
#include <apsched/detail/scheduler/store_driver.hpp>
#include <apsched/detail/scheduler/store_set.hpp>
#include <apsched/event.hpp>
#include <apsched/job.hpp>
#include <apsched/job_store.hpp>

#include <optional>
#include <string>
#include <utility>

namespace apsched::detail {

/// What `insert_job` did.
///
/// Thread safety: not thread-safe (a plain value).
struct Insertion {
  /// The record the store holds now; null when the job was kept, or a durable store could not
  /// hand out the record it replaced (it reports why).
  JobRecord* stored = nullptr;
  /// The id of the job added, kept or replaced.
  std::string id;
  /// What to announce: job_added, job_modified (replaced) or nothing (kept).
  std::optional<EventType> event = EventType::job_added;
};

/// Puts `record` into store `record.store` of `stores`. Ids are unique across the stores: a
/// record without an id gets a random one not in use (drawn from `random`); a record whose id
/// is in use follows `policy` (ConflictPolicy): `error` throws, `keep` leaves the job held as it
/// is, `replace` puts the record in its place (StoreDriver::replace, keeping its schedule when
/// `keep_schedule` and the trigger is unchanged; a job of another store with the id goes).
/// @throws ConflictingIdError with ConflictPolicy::error; what a store throws.
///
/// Thread safety: not thread-safe (under the scheduler's lock).
template <JobStore... S>
Insertion insert_job(StoreSet<S...>& stores, StoreDriver<S...>& driver, JobRecord&& record,
                     ConflictPolicy policy, bool keep_schedule, SplitMix64& random) {
  Insertion done;
  const bool generated = record.id.empty();
  for (;;) {
    if (generated) {
      record.id = JobSettings::random_id(random);
    }
    // The job's own store checks while it inserts; the others are asked first.
    if (const auto [elsewhere, index] = stores.find(record.id, record.store);
        elsewhere != nullptr) {
      if (generated) {
        continue;
      }
      JobSettings::refuse_conflict(record.id, policy);
      if (policy == ConflictPolicy::keep) {
        done.id = record.id;
        done.event.reset();
        return done;
      }
      stores.with(index, [&](auto& store) { store.erase(record.id); });
    }
    stores.with(record.store, [&](auto& store) { done.stored = store.insert(std::move(record)); });
    if (done.stored == nullptr && !generated) {
      // Its own store holds the id (the record was not moved from).
      JobSettings::refuse_conflict(record.id, policy);
      done.id = record.id;
      if (policy == ConflictPolicy::keep) {
        done.event.reset();
        return done;
      }
      done.event = EventType::job_modified;
      done.stored = driver.replace(record.store, std::move(record), keep_schedule);
    }
    if (done.stored != nullptr) {
      done.id = done.stored->id;
      return done;
    }
    if (!generated) {
      return done;
    }
  }
}

}  // namespace apsched::detail
