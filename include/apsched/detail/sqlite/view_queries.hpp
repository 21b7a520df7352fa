// SPDX-License-Identifier: MIT
// The read side of SqliteJobStore's file for SqliteStoreView: opening the file for reading
// only, checking its schema version, and the statements and row readers of jobs, fires and
// owners.
#pragma once

#include <apsched/detail/durable/error_label.hpp>
#include <apsched/detail/durable/job_row.hpp>
#include <apsched/detail/durable/stored_view.hpp>
#include <apsched/detail/sqlite/busy.hpp>
#include <apsched/detail/sqlite/database.hpp>
#include <apsched/detail/sqlite/migrate.hpp>
#include <apsched/detail/sqlite/statement.hpp>
#include <apsched/detail/sqlite/store_schema.hpp>
#include <apsched/error.hpp>
#include <apsched/store_view.hpp>

#include <fmt/core.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace apsched::detail::sqlite {

/// The name SqliteStoreView gives itself in its errors.
inline constexpr std::string_view view_name = "SqliteStoreView";

/// The oldest version of the store schema a view reads: 5 added claimed fires and each owner's
/// history_per_job. The newest is the last of store_migrations.
inline constexpr std::int64_t oldest_view_version = 5;

/// Opens `file`, the file of a SqliteJobStore, for reading only (no journal or setting is
/// changed, nothing is created) and checks that its schema is one a view reads.
/// @throws StoreError naming the view, the file and "open" when the file does not exist, is
/// not an SQLite database or holds no job store; SchemaVersionError when its schema version is
/// older or newer than a view reads
[[nodiscard]] inline Database open_view_database(const std::filesystem::path& file,
                                                 BusyPolicy busy) {
  std::error_code error;
  const std::filesystem::file_status status = std::filesystem::status(file, error);
  if (!std::filesystem::exists(status) || std::filesystem::is_directory(status)) {
    const std::u8string utf8 = file.u8string();
    const std::string shown = fmt::format("\"{}\"", std::string{utf8.begin(), utf8.end()});
    const durable::ErrorLabel label{.store = view_name, .database = shown, .operation = "open"};
    throw StoreError{durable::store_error_message(
        label, "open",
        std::filesystem::is_directory(status)
            ? "the path is a directory; expected the file of a SqliteJobStore"
            : "the file does not exist; expected the file of a SqliteJobStore (a view creates "
              "nothing)")};
  }
  Options options;
  options.create = false;
  options.read_only = true;
  options.busy = busy;
  options.store = view_name;
  Database db = Database::open(file, std::move(options));
  const auto operation = db.operation("open");
  durable::check_view_schema(db.error_label(), "the file", schema_version(db, store_schema_name),
                             store_schema_name, oldest_view_version,
                             store_migrations.back().version, "SqliteJobStore");
  return db;
}

/// The job columns of a view's job query (job_columns, then the counts of the job's claimed and
/// submitted fires), from `jobs` filtered by `where`, ordered by id, at most ?4 rows (-1: all).
/// Parameters: ?1 an id (to list after, or the one job to read), ?2 paused (0 or 1), ?3 the
/// text ids or tasks contain; `where` uses those it needs.
[[nodiscard]] inline std::string view_jobs_sql(std::string_view where) {
  return fmt::format(
      "SELECT {}, (SELECT count(*) FROM fires f WHERE f.job_id = jobs.id AND "
      "f.state = 'claimed'), (SELECT count(*) FROM fires f WHERE f.job_id = jobs.id AND "
      "f.state = 'submitted') FROM jobs WHERE 1{} ORDER BY id LIMIT ?4",
      job_columns, where);
}

/// The condition of view_jobs_sql for `query`.
[[nodiscard]] inline std::string view_jobs_where(const JobQuery& query) {
  std::string where;
  if (query.after) {
    where += " AND id > ?1";
  }
  if (query.paused) {
    where += " AND paused = ?2";
  }
  if (!query.text.empty()) {
    where += " AND (instr(id, ?3) > 0 OR instr(task, ?3) > 0)";
  }
  return where;
}

/// Binds the parameters of view_jobs_sql for `query`, at most `limit` rows (-1: all).
inline void bind_view_jobs(Statement& select, const JobQuery& query, std::int64_t limit) {
  select.bind_all(query.after, query.paused, std::string_view{query.text}, limit);
}

/// The row of a view's job query `select` is on.
[[nodiscard]] inline durable::ViewJobRow read_view_job(const Statement& select) {
  return durable::ViewJobRow{.row = read_job_row(select),
                             .claimed = select.column_int64(13),
                             .submitted = select.column_int64(14)};
}

/// The fire query of `query`, newest first, at most ?6 rows. Parameters: ?1 the job id, ?2 and
/// ?3 the scheduled range, ?4 and ?5 the cursor (scheduled, job id). The states are literals of
/// fire_state_names, never the caller's text. By job, the primary key serves it; across jobs, the
/// table is read in full and sorted (no index orders fires by scheduled time).
[[nodiscard]] inline std::string view_fires_sql(const FireQuery& query) {
  std::string sql = fmt::format("SELECT {} FROM fires WHERE 1", durable::view_fire_columns);
  if (query.job_id) {
    sql += " AND job_id = ?1";
  }
  if (!query.states.empty()) {
    sql += " AND state IN (";
    bool first = true;
    for (const std::string_view name : durable::state_names(query.states)) {
      sql += first ? "'" : ", '";
      sql += name;
      sql += '\'';
      first = false;
    }
    sql += ')';
  }
  if (query.scheduled_from) {
    sql += " AND scheduled >= ?2";
  }
  if (query.scheduled_before) {
    sql += " AND scheduled < ?3";
  }
  if (query.after) {
    sql += " AND (scheduled, job_id) < (?4, ?5)";
  }
  sql += " ORDER BY scheduled DESC, job_id DESC LIMIT ?6";
  return sql;
}

/// Binds the parameters of view_fires_sql.
inline void bind_view_fires(Statement& select, const FireQuery& query) {
  const auto bound = [](const std::optional<TimePoint>& t) -> std::optional<std::int64_t> {
    return t ? std::optional{durable::stored_bound(*t)} : std::nullopt;
  };
  select.bind_all(query.job_id, bound(query.scheduled_from), bound(query.scheduled_before),
                  query.after ? std::optional{query.after->scheduled} : std::nullopt,
                  query.after ? std::optional<std::string_view>{query.after->job_id} : std::nullopt,
                  durable::page_rows(query.limit));
}

/// Every fire recorded claimed or submitted, newest first: one scan of each state's partial
/// index (fires_claimed, fires_started), not of the table.
inline constexpr std::string_view view_in_flight_sql =
    "SELECT job_id, scheduled, state, runs, owner, recorded_at, finished_at, error, attempt "
    "FROM fires WHERE state = 'claimed' UNION ALL "
    "SELECT job_id, scheduled, state, runs, owner, recorded_at, finished_at, error, attempt "
    "FROM fires WHERE state = 'submitted' ORDER BY scheduled DESC, job_id DESC";

/// The row of a fire query `select` is on (columns durable::view_fire_columns).
[[nodiscard]] inline durable::FireRow read_view_fire(const Statement& select) {
  return durable::FireRow{.job_id = select.column_text(0),
                          .scheduled = select.column_int64(1),
                          .state = select.column_text(2),
                          .runs = select.column_int64(3),
                          .owner = select.column_text(4),
                          .recorded_at = select.column_int64(5),
                          .finished_at = select.column<std::optional<std::int64_t>>(6),
                          .error = select.column_text(7),
                          .attempt = select.column_int64(8)};
}

/// The owners with the counts of their fires in flight (each count through its state's partial
/// index), and whether each lease ends after ?1 (now, in nanoseconds), ordered by owner.
inline constexpr std::string_view view_owners_sql =
    "SELECT o.owner, o.started_at, o.lease_until, o.lease_until > ?1, o.history_per_job, "
    "(SELECT count(*) FROM fires f WHERE f.owner = o.owner AND f.state = 'claimed'), "
    "(SELECT count(*) FROM fires f WHERE f.owner = o.owner AND f.state = 'submitted') "
    "FROM owners o ORDER BY o.owner";

/// The row of view_owners_sql `select` is on.
[[nodiscard]] inline durable::OwnerRow read_view_owner(const Statement& select) {
  return durable::OwnerRow{.owner = select.column_text(0),
                           .started_at = select.column_int64(1),
                           .lease_until = select.column_int64(2),
                           .lease_current = select.column_int64(3) != 0,
                           .history_per_job = select.column_int64(4),
                           .claimed = select.column_int64(5),
                           .submitted = select.column_int64(6)};
}

}  // namespace apsched::detail::sqlite
