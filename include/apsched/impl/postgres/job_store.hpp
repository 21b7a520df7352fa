// SPDX-License-Identifier: MIT
// The definitions of PostgresJobStore's members: each hands its call to the store's StoreCore.
// postgres/job_store.hpp includes this in header-only mode; in the compiled mode the
// apsched::postgres_compiled library holds them.
#pragma once

#include <apsched/config.hpp>
#include <apsched/detail/durable/core_ptr.hpp>
#include <apsched/detail/durable/record_visitor.hpp>
#include <apsched/detail/postgres/store_core.hpp>
#include <apsched/detail/postgres/store_state.hpp>
#include <apsched/durable_job_store.hpp>
#include <apsched/error.hpp>
#include <apsched/json/task_registry.hpp>
#include <apsched/json/trigger_codec.hpp>
#include <apsched/postgres/job_store.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace apsched {

namespace detail::postgres {

/// What a PostgresJobStore opened with `options` keeps of them.
APSCHED_INLINE Settings store_settings(const PostgresStoreOptions& options) {
  return Settings{.poll_interval = options.poll_interval,
                  .cache_size = options.cache_size,
                  .history_per_job = options.history_per_job,
                  .codecs = options.codecs != nullptr ? *options.codecs : TriggerCodecs::builtin(),
                  .lease_duration = options.lease_duration,
                  .listen = options.listen,
                  .database_clock = options.database_clock};
}

}  // namespace detail::postgres

APSCHED_INLINE PostgresJobStore::PostgresJobStore(std::string conninfo,
                                                  PostgresStoreOptions options)
    : core_{detail::durable::CorePtr<detail::postgres::StoreCore>::make(
          std::move(conninfo), detail::postgres::store_settings(options))} {}

APSCHED_INLINE PostgresJobStore::PostgresJobStore(PostgresJobStore&& other) noexcept = default;

APSCHED_INLINE PostgresJobStore& PostgresJobStore::operator=(PostgresJobStore&& other) noexcept {
  if (this != &other) {
    if (core_) {
      core_->release_lease();
    }
    core_ = std::move(other.core_);
  }
  return *this;
}

APSCHED_INLINE PostgresJobStore::~PostgresJobStore() {
  if (core_) {
    core_->release_lease();
  }
}

APSCHED_INLINE void PostgresJobStore::visit_jobs(detail::durable::RecordVisitor visit) const {
  core_->for_each(visit);
}

APSCHED_INLINE JobRecord* PostgresJobStore::insert(JobRecord&& record) {
  return core_->insert(std::move(record));
}

APSCHED_INLINE JobRecord* PostgresJobStore::replace(JobRecord&& record, bool keep_schedule) {
  return core_->replace(std::move(record), keep_schedule);
}

APSCHED_INLINE JobRecord* PostgresJobStore::find(std::string_view id) { return core_->find(id); }

APSCHED_INLINE bool PostgresJobStore::erase(std::string_view id) { return core_->erase(id); }

APSCHED_INLINE void PostgresJobStore::clear() { core_->clear(); }

APSCHED_INLINE void PostgresJobStore::update(JobRecord& stored) { core_->update(stored); }

APSCHED_INLINE std::optional<TimePoint> PostgresJobStore::next_run_time() const {
  return core_->next_run_time();
}

APSCHED_INLINE JobRecord* PostgresJobStore::first_due(TimePoint now) {
  return core_->first_due(now);
}

APSCHED_INLINE std::size_t PostgresJobStore::size() const { return core_->size(); }

APSCHED_INLINE bool PostgresJobStore::commit_due(JobRecord& job,
                                                 std::span<const FireDecision> fires, bool remove) {
  return core_->commit_due(job, fires, remove);
}

APSCHED_INLINE std::vector<ClaimVerdict> PostgresJobStore::start_claimed(
    std::span<const ClaimedFire> claims) {
  return core_->start_claimed(claims);
}

APSCHED_INLINE void PostgresJobStore::record_outcome(std::string_view id, const JobRecord* record,
                                                     TimePoint scheduled, FireState fire_state,
                                                     std::string_view error) {
  core_->record_outcome(id, record, scheduled, fire_state, error);
}

APSCHED_INLINE bool PostgresJobStore::defer_outcome(std::string_view id, const JobRecord* record,
                                                    TimePoint scheduled, FireState fire_state,
                                                    std::string_view error) {
  return core_->defer_outcome(id, record, scheduled, fire_state, error);
}

APSCHED_INLINE void PostgresJobStore::flush_outcomes() const { core_->flush_outcomes(); }

APSCHED_INLINE void PostgresJobStore::begin_round() noexcept { core_->begin_round(); }

APSCHED_INLINE void PostgresJobStore::end_round() { core_->end_round(); }

APSCHED_INLINE void PostgresJobStore::abort_round() noexcept { core_->abort_round(); }

APSCHED_INLINE void PostgresJobStore::begin_batch() { core_->begin_batch(); }

APSCHED_INLINE void PostgresJobStore::commit_batch() { core_->commit_batch(); }

APSCHED_INLINE void PostgresJobStore::rollback_batch() noexcept { core_->rollback_batch(); }

APSCHED_INLINE std::vector<StoreReport> PostgresJobStore::take_reports() noexcept {
  return core_->take_reports();
}

APSCHED_INLINE void PostgresJobStore::task_registered(std::string_view task) {
  core_->task_registered(task);
}

APSCHED_INLINE std::vector<AbandonedFire> PostgresJobStore::take_abandoned() {
  return core_->take_abandoned();
}

APSCHED_INLINE void PostgresJobStore::set_waker(std::function<void()> wake) {
  core_->set_waker(std::move(wake));
}

APSCHED_INLINE void PostgresJobStore::set_clock(std::function<TimePoint()> now) {
  core_->set_clock(std::move(now));
}

APSCHED_INLINE Duration PostgresJobStore::clock_offset() const noexcept {
  return core_->clock_offset();
}

APSCHED_INLINE Duration PostgresJobStore::poll_interval() const noexcept {
  return core_->poll_interval();
}

APSCHED_INLINE void PostgresJobStore::attach(std::shared_ptr<const TaskRegistry> tasks,
                                             std::uint8_t index) {
  core_->attach(std::move(tasks), index);
}

APSCHED_INLINE std::vector<FireRecord> PostgresJobStore::fire_history(std::string_view job_id,
                                                                      std::size_t limit) const {
  return core_->fire_history(job_id, limit);
}

APSCHED_INLINE FireOwner PostgresJobStore::owner() const { return core_->owner(); }

APSCHED_INLINE JobRecord* PostgresJobStore::find_cached(std::string_view id) const {
  return core_->find_cached(id);
}

APSCHED_INLINE std::size_t PostgresJobStore::cached_count() const noexcept {
  return core_->cached_count();
}

}  // namespace apsched
