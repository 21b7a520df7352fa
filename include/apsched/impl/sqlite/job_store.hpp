// SPDX-License-Identifier: MIT
// The definitions of SqliteJobStore's members: each hands its call to the store's StoreCore.
// sqlite/job_store.hpp includes this in header-only mode; in the compiled mode the
// apsched::sqlite_compiled library holds them.
#pragma once

#include <apsched/config.hpp>
#include <apsched/detail/durable/core_ptr.hpp>
#include <apsched/detail/durable/record_visitor.hpp>
#include <apsched/detail/sqlite/database.hpp>
#include <apsched/detail/sqlite/store_core.hpp>
#include <apsched/detail/sqlite/store_state.hpp>
#include <apsched/durable_job_store.hpp>
#include <apsched/error.hpp>
#include <apsched/json/task_registry.hpp>
#include <apsched/json/trigger_codec.hpp>
#include <apsched/sqlite/job_store.hpp>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace apsched {

namespace detail::sqlite {

/// How a SqliteJobStore opened with `options` opens its connection.
APSCHED_INLINE Options store_database_options(const SqliteStoreOptions& options) {
  Options result;
  result.synchronous = options.synchronous;
  result.busy = options.busy;
  result.store = "SqliteJobStore";
  return result;
}

/// What a SqliteJobStore opened with `options` keeps of them.
APSCHED_INLINE Settings store_settings(const SqliteStoreOptions& options) {
  return Settings{.poll_interval = options.poll_interval,
                  .history_per_job = options.history_per_job,
                  .codecs = options.codecs != nullptr ? *options.codecs : TriggerCodecs::builtin(),
                  .cache_size = options.cache_size,
                  .lease_duration = options.lease_duration,
                  .page_cache_kib = options.page_cache_kib};
}

}  // namespace detail::sqlite

APSCHED_INLINE SqliteJobStore::SqliteJobStore(const std::filesystem::path& file,
                                              SqliteStoreOptions options)
    : core_{detail::durable::CorePtr<detail::sqlite::StoreCore>::make(
          file, detail::sqlite::store_database_options(options),
          detail::sqlite::store_settings(options))} {}

APSCHED_INLINE SqliteJobStore::SqliteJobStore(SqliteJobStore&& other) noexcept = default;

APSCHED_INLINE SqliteJobStore& SqliteJobStore::operator=(SqliteJobStore&& other) noexcept {
  if (this != &other) {
    if (core_) {
      core_->release_lease();
    }
    core_ = std::move(other.core_);
  }
  return *this;
}

APSCHED_INLINE SqliteJobStore::~SqliteJobStore() {
  if (core_) {
    core_->release_lease();
  }
}

APSCHED_INLINE void SqliteJobStore::visit_jobs(detail::durable::RecordVisitor visit) const {
  core_->for_each(visit);
}

APSCHED_INLINE JobRecord* SqliteJobStore::insert(JobRecord&& record) {
  return core_->insert(std::move(record));
}

APSCHED_INLINE JobRecord* SqliteJobStore::replace(JobRecord&& record, bool keep_schedule) {
  return core_->replace(std::move(record), keep_schedule);
}

APSCHED_INLINE JobRecord* SqliteJobStore::find(std::string_view id) { return core_->find(id); }

APSCHED_INLINE bool SqliteJobStore::erase(std::string_view id) { return core_->erase(id); }

APSCHED_INLINE void SqliteJobStore::clear() { core_->clear(); }

APSCHED_INLINE void SqliteJobStore::update(JobRecord& stored) { core_->update(stored); }

APSCHED_INLINE std::optional<TimePoint> SqliteJobStore::next_run_time() const {
  return core_->next_run_time();
}

APSCHED_INLINE JobRecord* SqliteJobStore::first_due(TimePoint now) { return core_->first_due(now); }

APSCHED_INLINE std::size_t SqliteJobStore::size() const { return core_->size(); }

APSCHED_INLINE bool SqliteJobStore::commit_due(JobRecord& job, std::span<const FireDecision> fires,
                                               bool remove) {
  return core_->commit_due(job, fires, remove);
}

APSCHED_INLINE std::vector<ClaimVerdict> SqliteJobStore::start_claimed(
    std::span<const ClaimedFire> claims) {
  return core_->start_claimed(claims);
}

APSCHED_INLINE void SqliteJobStore::record_outcome(std::string_view id, const JobRecord* record,
                                                   TimePoint scheduled, FireState fire_state,
                                                   std::string_view error) {
  core_->record_outcome(id, record, scheduled, fire_state, error);
}

APSCHED_INLINE bool SqliteJobStore::defer_outcome(std::string_view id, const JobRecord* record,
                                                  TimePoint scheduled, FireState fire_state,
                                                  std::string_view error) {
  return core_->defer_outcome(id, record, scheduled, fire_state, error);
}

APSCHED_INLINE void SqliteJobStore::flush_outcomes() const { core_->flush_outcomes(); }

APSCHED_INLINE void SqliteJobStore::begin_round() noexcept { core_->begin_round(); }

APSCHED_INLINE void SqliteJobStore::end_round() { core_->end_round(); }

APSCHED_INLINE void SqliteJobStore::abort_round() noexcept { core_->abort_round(); }

APSCHED_INLINE std::vector<StoreReport> SqliteJobStore::take_reports() noexcept {
  return core_->take_reports();
}

APSCHED_INLINE void SqliteJobStore::task_registered(std::string_view task) {
  core_->task_registered(task);
}

APSCHED_INLINE std::vector<AbandonedFire> SqliteJobStore::take_abandoned() {
  return core_->take_abandoned();
}

APSCHED_INLINE Duration SqliteJobStore::poll_interval() const noexcept {
  return core_->poll_interval();
}

APSCHED_INLINE void SqliteJobStore::attach(std::shared_ptr<const TaskRegistry> tasks,
                                           std::uint8_t index) {
  core_->attach(std::move(tasks), index);
}

APSCHED_INLINE void SqliteJobStore::begin_batch() { core_->begin_batch(); }

APSCHED_INLINE void SqliteJobStore::commit_batch() { core_->commit_batch(); }

APSCHED_INLINE void SqliteJobStore::rollback_batch() noexcept { core_->rollback_batch(); }

APSCHED_INLINE std::vector<FireRecord> SqliteJobStore::fire_history(std::string_view job_id,
                                                                    std::size_t limit) const {
  return core_->fire_history(job_id, limit);
}

APSCHED_INLINE nlohmann::json SqliteJobStore::export_jobs() const { return core_->export_jobs(); }

APSCHED_INLINE void SqliteJobStore::import_jobs(const nlohmann::json& document,
                                                bool replace_existing) {
  core_->import_jobs(document, replace_existing);
}

APSCHED_INLINE JobRecord* SqliteJobStore::find_cached(std::string_view id) const {
  return core_->find_cached(id);
}

APSCHED_INLINE std::size_t SqliteJobStore::cached_count() const noexcept {
  return core_->cached_count();
}

APSCHED_INLINE const std::string& SqliteJobStore::path() const noexcept { return core_->path(); }

APSCHED_INLINE FireOwner SqliteJobStore::owner() const { return core_->owner(); }

}  // namespace apsched
