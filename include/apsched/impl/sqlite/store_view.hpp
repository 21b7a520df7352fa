// SPDX-License-Identifier: MIT
// The definitions of SqliteStoreView's members. sqlite/store_view.hpp includes this in
// header-only mode; in the compiled mode the apsched::sqlite_compiled library holds them.
#pragma once

#include <apsched/config.hpp>
#include <apsched/detail/durable/core_ptr.hpp>
#include <apsched/detail/durable/stored_view.hpp>
#include <apsched/detail/sqlite/database.hpp>
#include <apsched/detail/sqlite/view_queries.hpp>
#include <apsched/error.hpp>
#include <apsched/json/trigger_codec.hpp>
#include <apsched/sqlite/store_view.hpp>
#include <apsched/store_view.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace apsched {

struct SqliteStoreView::State {
  detail::sqlite::Database db;
  const TriggerCodecs* codecs;
};

APSCHED_INLINE SqliteStoreView::SqliteStoreView(const std::filesystem::path& file,
                                                SqliteViewOptions options)
    : state_{detail::durable::CorePtr<State>::make(State{
          .db = detail::sqlite::open_view_database(file, options.busy),
          .codecs = options.codecs != nullptr ? options.codecs : &TriggerCodecs::builtin()})} {}

APSCHED_INLINE std::vector<StoredJob> SqliteStoreView::jobs() const {
  State& s = *state_;
  const auto operation = s.db.operation("list jobs");
  auto select = s.db.prepare_cached(detail::sqlite::view_jobs_sql(""));
  detail::sqlite::bind_view_jobs(*select, {}, -1);
  std::vector<StoredJob> jobs;
  while (select->step()) {
    jobs.push_back(detail::durable::stored_job(detail::sqlite::read_view_job(*select), *s.codecs));
  }
  return jobs;
}

APSCHED_INLINE JobPage SqliteStoreView::jobs(const JobQuery& query) const {
  State& s = *state_;
  const auto operation = s.db.operation("list jobs");
  auto select =
      s.db.prepare_cached(detail::sqlite::view_jobs_sql(detail::sqlite::view_jobs_where(query)));
  detail::sqlite::bind_view_jobs(*select, query, detail::durable::page_rows(query.limit));
  std::vector<detail::durable::ViewJobRow> rows;
  while (select->step()) {
    rows.push_back(detail::sqlite::read_view_job(*select));
  }
  return detail::durable::job_page(std::move(rows), query.limit, *s.codecs);
}

APSCHED_INLINE std::optional<StoredJob> SqliteStoreView::job(std::string_view id) const {
  State& s = *state_;
  const auto operation = s.db.operation("read job");
  auto select = s.db.prepare_cached(detail::sqlite::view_jobs_sql(" AND id = ?1"));
  detail::sqlite::bind_view_jobs(*select, {.after = std::string{id}}, 1);
  if (!select->step()) {
    return std::nullopt;
  }
  return detail::durable::stored_job(detail::sqlite::read_view_job(*select), *s.codecs);
}

APSCHED_INLINE FirePage SqliteStoreView::fires(const FireQuery& query) const {
  State& s = *state_;
  const auto operation = s.db.operation("list fires");
  auto select = s.db.prepare_cached(detail::sqlite::view_fires_sql(query));
  detail::sqlite::bind_view_fires(*select, query);
  std::vector<detail::durable::FireRow> rows;
  while (select->step()) {
    rows.push_back(detail::sqlite::read_view_fire(*select));
  }
  return detail::durable::fire_page(std::move(rows), query.limit, s.db.error_label());
}

APSCHED_INLINE std::vector<StoredFire> SqliteStoreView::fires_in_flight() const {
  State& s = *state_;
  const auto operation = s.db.operation("list fires in flight");
  auto select = s.db.prepare_cached(detail::sqlite::view_in_flight_sql);
  std::vector<StoredFire> fires;
  while (select->step()) {
    fires.push_back(
        detail::durable::stored_fire(detail::sqlite::read_view_fire(*select), s.db.error_label()));
  }
  return fires;
}

APSCHED_INLINE std::vector<StoreOwner> SqliteStoreView::owners() const {
  State& s = *state_;
  const auto operation = s.db.operation("list owners");
  auto select = s.db.prepare_cached(detail::sqlite::view_owners_sql);
  select->bind(1, detail::durable::system_now());
  std::vector<StoreOwner> owners;
  while (select->step()) {
    owners.push_back(detail::durable::stored_owner(detail::sqlite::read_view_owner(*select)));
  }
  return owners;
}

APSCHED_INLINE const std::string& SqliteStoreView::path() const noexcept {
  return state_->db.path();
}

}  // namespace apsched
