// SPDX-License-Identifier: MIT
// The read side of PostgresJobStore's tables for PostgresStoreView: a read-only session, the
// schema version check, and the statements and row readers of jobs, fires and owners.
#pragma once

#include <apsched/detail/durable/job_row.hpp>
#include <apsched/detail/durable/stored_view.hpp>
#include <apsched/detail/json/write.hpp>
#include <apsched/detail/postgres/array_literal.hpp>
#include <apsched/detail/postgres/connection.hpp>
#include <apsched/detail/postgres/migrate.hpp>
#include <apsched/detail/postgres/schema.hpp>
#include <apsched/error.hpp>
#include <apsched/store_view.hpp>

#include <fmt/core.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace apsched::detail::postgres {

/// The name PostgresStoreView gives itself in its errors.
inline constexpr std::string_view view_name = "PostgresStoreView";

/// The schema name PostgresJobStore records in apsched_schema.
inline constexpr std::string_view view_schema_name = "apsched_jobs";

/// The oldest version of the store schema a view reads: 4 added claimed fires and each owner's
/// history_per_job. The newest is the last of store_migrations.
inline constexpr std::int64_t oldest_view_version = 4;

/// Makes the session of `db` read-only (every transaction of it refuses writes) and checks that
/// the tables in its search_path are ones a view reads.
/// @throws StoreError naming the view, the database and "open" when there are no store tables;
/// SchemaVersionError when their version is older or newer than a view reads; PgError when the
/// database fails
inline void prepare_view_session(Connection& db) {
  const auto operation = db.operation("open");
  db.exec("SET default_transaction_read_only = on");
  durable::check_view_schema(db.error_label(), "the database", schema_version(db, view_schema_name),
                             view_schema_name, oldest_view_version, store_migrations.back().version,
                             "PostgresJobStore");
}

/// A statement and its parameters, numbered as they are added.
///
/// Thread safety: not thread-safe.
class ViewStatement {
 public:
  explicit ViewStatement(std::string sql) : sql_{std::move(sql)} {}

  /// Appends `text` to the statement.
  ViewStatement& operator+=(std::string_view text) {
    sql_ += text;
    return *this;
  }

  /// Adds parameter `value` and returns its placeholder ("$3").
  std::string parameter(std::string value) {
    values_.push_back(std::move(value));
    return fmt::format("${}", values_.size());
  }

  /// Adds integer parameter `value` and returns its placeholder.
  std::string parameter(std::int64_t value) {
    std::string text;
    json::write_integer(value, text);
    return parameter(std::move(text));
  }

  /// Runs the statement on `db`.
  /// @throws PgError as Connection::query_values
  Result run(Connection& db) const {
    std::vector<Param> params;
    params.reserve(values_.size());
    for (const std::string& value : values_) {
      params.emplace_back(value);
    }
    return db.query_values(sql_, params);
  }

 private:
  std::string sql_;
  std::vector<std::string> values_;
};

/// The start of a view's job query: job_columns, then the counts of the job's claimed and
/// submitted fires (through the primary key and apsched_fires_submitted_job), from apsched_jobs
/// `j`; conditions follow as " AND ...".
inline constexpr std::string_view view_jobs_select =
    "SELECT id, task, arguments, trigger, options, next_fire, next_run, paused, last_run, "
    "run_count, failure_count, last_outcome, version, (SELECT count(*) FROM apsched_fires f "
    "WHERE f.job_id = j.id AND f.state = 'claimed'), (SELECT count(*) FROM apsched_fires f "
    "WHERE f.job_id = j.id AND f.state = 'submitted') FROM apsched_jobs j WHERE true";

/// The job query of `query`, ordered by id (the primary key's order), at most `rows` rows
/// (none: all).
[[nodiscard]] inline ViewStatement view_jobs_statement(const JobQuery& query,
                                                       std::optional<std::int64_t> rows) {
  ViewStatement statement{std::string{view_jobs_select}};
  if (query.after) {
    statement += fmt::format(" AND id > {}", statement.parameter(*query.after));
  }
  if (query.paused) {
    statement += fmt::format(" AND paused = {}::boolean",
                             statement.parameter(std::string{*query.paused ? "true" : "false"}));
  }
  if (!query.text.empty()) {
    const std::string text = statement.parameter(query.text);
    statement += fmt::format(" AND (strpos(id, {0}) > 0 OR strpos(task, {0}) > 0)", text);
  }
  statement += " ORDER BY id";
  if (rows) {
    statement += fmt::format(" LIMIT {}", statement.parameter(*rows));
  }
  return statement;
}

/// Row `i` of a view's job query.
/// @throws PgError if a number column does not hold a number
[[nodiscard]] inline durable::ViewJobRow read_view_job(const Result& rows, int i) {
  const auto text = [&](int column) { return std::string{rows.text(i, column)}; };
  return durable::ViewJobRow{
      .row =
          durable::JobRow{
              .id = text(0),
              .task = text(1),
              .arguments = text(2),
              .trigger = text(3),
              .options = text(4),
              .next_fire = rows.int64(i, 5),
              .next_run = rows.int64(i, 6),
              .paused = rows.text(i, 7) == "t",
              .last_run = rows.is_null(i, 8) ? std::nullopt : std::optional{rows.int64(i, 8)},
              .run_count = rows.int64(i, 9),
              .failure_count = rows.int64(i, 10),
              .last_outcome = rows.is_null(i, 11) ? std::nullopt : std::optional{text(11)},
              .version = rows.int64(i, 12)},
      .claimed = rows.int64(i, 13),
      .submitted = rows.int64(i, 14)};
}

/// The fire query of `query`, newest first, with one row beyond the page. By job, the primary
/// key serves it; across jobs, the table is read in full and the newest sorted out (no index
/// orders fires by scheduled time).
[[nodiscard]] inline ViewStatement view_fires_statement(const FireQuery& query) {
  ViewStatement statement{
      fmt::format("SELECT {} FROM apsched_fires WHERE true", durable::view_fire_columns)};
  if (query.job_id) {
    statement += fmt::format(" AND job_id = {}", statement.parameter(*query.job_id));
  }
  if (!query.states.empty()) {
    std::string states = "{";
    for (const std::string_view name : durable::state_names(query.states)) {
      append_element(states, name);
    }
    states += '}';
    statement += fmt::format(" AND state = ANY ({}::text[])", statement.parameter(states));
  }
  if (query.scheduled_from) {
    statement += fmt::format(" AND scheduled >= {}::bigint",
                             statement.parameter(durable::stored_bound(*query.scheduled_from)));
  }
  if (query.scheduled_before) {
    statement += fmt::format(" AND scheduled < {}::bigint",
                             statement.parameter(durable::stored_bound(*query.scheduled_before)));
  }
  if (query.after) {
    const std::string scheduled = statement.parameter(query.after->scheduled);
    statement += fmt::format(" AND (scheduled, job_id) < ({}::bigint, {}::text)", scheduled,
                             statement.parameter(query.after->job_id));
  }
  statement += fmt::format(" ORDER BY scheduled DESC, job_id DESC LIMIT {}",
                           statement.parameter(durable::page_rows(query.limit)));
  return statement;
}

/// Every fire recorded claimed or submitted, newest first (through the partial indexes of the
/// two states).
inline constexpr std::string_view view_in_flight_sql =
    "SELECT job_id, scheduled, state, runs, owner, recorded_at, finished_at, error, attempt "
    "FROM apsched_fires WHERE state = 'claimed' OR state = 'submitted' "
    "ORDER BY scheduled DESC, job_id DESC";

/// Row `i` of a fire query (columns durable::view_fire_columns).
/// @throws PgError if a number column does not hold a number
[[nodiscard]] inline durable::FireRow read_view_fire(const Result& rows, int i) {
  return durable::FireRow{
      .job_id = std::string{rows.text(i, 0)},
      .scheduled = rows.int64(i, 1),
      .state = std::string{rows.text(i, 2)},
      .runs = rows.int64(i, 3),
      .owner = std::string{rows.text(i, 4)},
      .recorded_at = rows.int64(i, 5),
      .finished_at = rows.is_null(i, 6) ? std::nullopt : std::optional{rows.int64(i, 6)},
      .error = std::string{rows.text(i, 7)},
      .attempt = rows.int64(i, 8)};
}

/// The owners with the counts of their fires in flight (through the partial indexes by owner)
/// and whether each lease ends after now by the database clock, ordered by owner.
inline constexpr std::string_view view_owners_sql =
    "SELECT o.owner, o.started_at, o.lease_until, "
    "o.lease_until > (extract(epoch FROM clock_timestamp()) * 1e9)::bigint, o.history_per_job, "
    "(SELECT count(*) FROM apsched_fires f WHERE f.owner = o.owner AND f.state = 'claimed'), "
    "(SELECT count(*) FROM apsched_fires f WHERE f.owner = o.owner AND f.state = 'submitted') "
    "FROM apsched_owners o ORDER BY o.owner";

/// Row `i` of view_owners_sql.
/// @throws PgError if a number column does not hold a number
[[nodiscard]] inline durable::OwnerRow read_view_owner(const Result& rows, int i) {
  return durable::OwnerRow{.owner = std::string{rows.text(i, 0)},
                           .started_at = rows.int64(i, 1),
                           .lease_until = rows.int64(i, 2),
                           .lease_current = rows.text(i, 3) == "t",
                           .history_per_job = rows.int64(i, 4),
                           .claimed = rows.int64(i, 5),
                           .submitted = rows.int64(i, 6)};
}

}  // namespace apsched::detail::postgres
