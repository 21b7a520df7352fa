// SPDX-License-Identifier: MIT
// PostgresStoreView: a read-only StoreView of a PostgresJobStore's tables, on a connection of
// its own, for monitoring and admin tools that do not run the jobs.
#pragma once

#include <apsched/detail/durable/stored_view.hpp>
#include <apsched/detail/postgres/connection.hpp>
#include <apsched/detail/postgres/view_queries.hpp>
#include <apsched/error.hpp>
#include <apsched/json/trigger_codec.hpp>
#include <apsched/postgres/job_store.hpp>
#include <apsched/store_view.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace apsched {

/// How a PostgresStoreView reads its database.
///
/// Thread safety: not thread-safe (a plain value).
struct PostgresViewOptions {
  /// The trigger codecs that describe the stored triggers; null: TriggerCodecs::builtin(). A
  /// trigger of a type they lack is listed as unreadable. Must outlive the view.
  const TriggerCodecs* codecs = nullptr;
};

/// A StoreView of the tables of a PostgresJobStore (apsched_jobs, apsched_fires,
/// apsched_owners in the connection's search_path): the jobs, fires and owners its schedulers
/// keep, read from outside them. The view has a connection of its own, whose session is
/// read-only (default_transaction_read_only): it needs no TaskRegistry (a job is listed by task
/// name, whoever can run it), takes no lease, migrates nothing and writes nothing. Each call is
/// one statement, so it reads one snapshot. A lost connection makes the call that met it throw;
/// the next call connects again.
///
/// @code
/// apsched::PostgresStoreView view{"host=db.internal dbname=app user=monitor"};
/// for (const apsched::StoredFire& fire : view.fires_in_flight()) {
///   fmt::print("{} on {} (pid {})\n", fire.job_id, fire.fire.owner.host, fire.fire.owner.pid);
/// }
/// @endcode
///
/// Thread safety: not thread-safe (one connection); open a view per thread.
class PostgresStoreView {
 public:
  /// Connects with `conninfo` (a libpq connection string or URI) and checks the tables.
  /// @throws StoreError naming the view, the database (never a password) and "open" when the
  /// server cannot be reached or the search_path holds no job store tables
  /// @throws SchemaVersionError when the tables are newer than this apsched reads, or older (a
  /// PostgresJobStore of this apsched migrates them when it connects)
  explicit PostgresStoreView(std::string conninfo, PostgresViewOptions options = {})
      : state_{std::make_unique<State>(State{
            .db = detail::postgres::Connection::open(std::move(conninfo),
                                                     detail::postgres::view_name),
            .codecs = options.codecs != nullptr ? options.codecs : &TriggerCodecs::builtin()})} {
    detail::postgres::prepare_view_session(state_->db);
  }

  /// See StoreView: every stored job, ordered by id.
  /// @throws StoreError if the database fails
  [[nodiscard]] std::vector<StoredJob> jobs() const {
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

  /// See StoreView and JobQuery: one page of the jobs `query` selects. The text filter reads
  /// every job; the others go through the primary key.
  /// @throws StoreError if the database fails
  [[nodiscard]] JobPage jobs(const JobQuery& query) const {
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

  /// See StoreView: the stored job `id`, or empty.
  /// @throws StoreError if the database fails
  [[nodiscard]] std::optional<StoredJob> job(std::string_view id) const {
    State& s = ready("read job");
    const auto operation = s.db.operation("read job");
    const detail::postgres::Result rows =
        s.db.query(fmt::format("{} AND id = $1", detail::postgres::view_jobs_select), id);
    if (rows.rows() == 0) {
      return std::nullopt;
    }
    return detail::durable::stored_job(detail::postgres::read_view_job(rows, 0), *s.codecs);
  }

  /// See StoreView and FireQuery: one page of the fires `query` selects. The fires of one job
  /// are read through the primary key; a query across jobs reads the whole fires table per page.
  /// @throws StoreError if the database fails, or a fire holds a state this apsched does not
  /// know
  [[nodiscard]] FirePage fires(const FireQuery& query) const {
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

  /// See StoreView: every fire recorded claimed or submitted, newest first.
  /// @throws StoreError as fires
  [[nodiscard]] std::vector<StoredFire> fires_in_flight() const {
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

  /// See StoreView: the schedulers registered on the database, their leases judged by the
  /// database clock (the clock PostgresJobStore writes them by).
  /// @throws StoreError if the database fails
  [[nodiscard]] std::vector<StoreOwner> owners() const {
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

 private:
  struct State {
    detail::postgres::Connection db;
    const TriggerCodecs* codecs;
  };

  // The state, connected again (read-only) if the connection was lost.
  State& ready(std::string_view operation) const {
    State& s = *state_;
    if (!s.db.connected()) {
      const auto scope = s.db.operation(operation);
      s.db.reconnect();
      detail::postgres::prepare_view_session(s.db);
    }
    return s;
  }

  // On the heap: the const members use the connection, and a view moves cheaply.
  std::unique_ptr<State> state_;
};

static_assert(StoreView<PostgresStoreView>);
static_assert(PostgresJobStore::schema_name == detail::postgres::view_schema_name);

}  // namespace apsched
