// SPDX-License-Identifier: MIT
// The definitions of PostgresStoreView's members. postgres/store_view.hpp includes this in
// header-only mode; in the compiled mode the apsched::postgres_compiled library holds them.
#pragma once

#include <apsched/config.hpp>
#include <apsched/detail/durable/core_ptr.hpp>
#include <apsched/detail/durable/stored_view.hpp>
#include <apsched/detail/postgres/connection.hpp>
#include <apsched/detail/postgres/view_queries.hpp>
#include <apsched/error.hpp>
#include <apsched/json/trigger_codec.hpp>
#include <apsched/postgres/job_store.hpp>
#include <apsched/postgres/store_view.hpp>
#include <apsched/store_view.hpp>

#include <fmt/core.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace apsched {

static_assert(PostgresJobStore::schema_name == detail::postgres::view_schema_name);

struct PostgresStoreView::State {
  detail::postgres::Connection db;
  const TriggerCodecs* codecs;
};

APSCHED_INLINE PostgresStoreView::PostgresStoreView(std::string conninfo,
                                                    PostgresViewOptions options)
    : state_{detail::durable::CorePtr<State>::make(State{
          .db =
              detail::postgres::Connection::open(std::move(conninfo), detail::postgres::view_name),
          .codecs = options.codecs != nullptr ? options.codecs : &TriggerCodecs::builtin()})} {
  detail::postgres::prepare_view_session(state_->db);
}

APSCHED_INLINE PostgresStoreView::State& PostgresStoreView::ready(
    std::string_view operation) const {
  State& s = *state_;
  if (!s.db.connected()) {
    const auto scope = s.db.operation(operation);
    s.db.reconnect();
    detail::postgres::prepare_view_session(s.db);
  }
  return s;
}

APSCHED_INLINE std::vector<StoredJob> PostgresStoreView::jobs() const {
  State& s = ready("list jobs");
  const auto operation = s.db.operation("list jobs");
  const detail::postgres::Result rows =
      detail::postgres::view_jobs_statement({}, std::nullopt).run(s.db);
  std::vector<StoredJob> jobs;
  jobs.reserve(static_cast<std::size_t>(rows.rows()));
  for (int i = 0; i < rows.rows(); ++i) {
    jobs.push_back(
        detail::durable::stored_job(detail::postgres::read_view_job(rows, i), *s.codecs));
  }
  return jobs;
}

APSCHED_INLINE JobPage PostgresStoreView::jobs(const JobQuery& query) const {
  State& s = ready("list jobs");
  const auto operation = s.db.operation("list jobs");
  const detail::postgres::Result rows =
      detail::postgres::view_jobs_statement(query, detail::durable::page_rows(query.limit))
          .run(s.db);
  std::vector<detail::durable::ViewJobRow> read;
  read.reserve(static_cast<std::size_t>(rows.rows()));
  for (int i = 0; i < rows.rows(); ++i) {
    read.push_back(detail::postgres::read_view_job(rows, i));
  }
  return detail::durable::job_page(std::move(read), query.limit, *s.codecs);
}

APSCHED_INLINE std::optional<StoredJob> PostgresStoreView::job(std::string_view id) const {
  State& s = ready("read job");
  const auto operation = s.db.operation("read job");
  const detail::postgres::Result rows =
      s.db.query(fmt::format("{} AND id = $1", detail::postgres::view_jobs_select), id);
  if (rows.rows() == 0) {
    return std::nullopt;
  }
  return detail::durable::stored_job(detail::postgres::read_view_job(rows, 0), *s.codecs);
}

APSCHED_INLINE FirePage PostgresStoreView::fires(const FireQuery& query) const {
  State& s = ready("list fires");
  const auto operation = s.db.operation("list fires");
  const detail::postgres::Result rows = detail::postgres::view_fires_statement(query).run(s.db);
  std::vector<detail::durable::FireRow> read;
  read.reserve(static_cast<std::size_t>(rows.rows()));
  for (int i = 0; i < rows.rows(); ++i) {
    read.push_back(detail::postgres::read_view_fire(rows, i));
  }
  return detail::durable::fire_page(std::move(read), query.limit, s.db.error_label());
}

APSCHED_INLINE std::vector<StoredFire> PostgresStoreView::fires_in_flight() const {
  State& s = ready("list fires in flight");
  const auto operation = s.db.operation("list fires in flight");
  const detail::postgres::Result rows = s.db.query(detail::postgres::view_in_flight_sql);
  std::vector<StoredFire> fires;
  fires.reserve(static_cast<std::size_t>(rows.rows()));
  for (int i = 0; i < rows.rows(); ++i) {
    fires.push_back(detail::durable::stored_fire(detail::postgres::read_view_fire(rows, i),
                                                 s.db.error_label()));
  }
  return fires;
}

APSCHED_INLINE std::vector<StoreOwner> PostgresStoreView::owners() const {
  State& s = ready("list owners");
  const auto operation = s.db.operation("list owners");
  const detail::postgres::Result rows = s.db.query(detail::postgres::view_owners_sql);
  std::vector<StoreOwner> owners;
  owners.reserve(static_cast<std::size_t>(rows.rows()));
  for (int i = 0; i < rows.rows(); ++i) {
    owners.push_back(detail::durable::stored_owner(detail::postgres::read_view_owner(rows, i)));
  }
  return owners;
}

}  // namespace apsched
