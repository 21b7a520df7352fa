// SPDX-License-Identifier: MIT
// Schema versioning on PostgreSQL: numbered migrations applied once each, recorded per schema
// name, safe when several processes start at once.
#pragma once

#include <apsched/detail/migration.hpp>
#include <apsched/detail/postgres/connection.hpp>
#include <apsched/error.hpp>

#include <fmt/core.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace apsched::detail::postgres {

/// See apsched::detail::Migration.
using detail::Migration;

/// The version of `schema_name` recorded in the database's `apsched_schema` table (in the
/// connection's search_path), or none when it was never migrated.
/// @throws PgError if the database cannot be read
[[nodiscard]] inline std::optional<std::int64_t> schema_version(Connection& db,
                                                                std::string_view schema_name) {
  if (db.query("SELECT to_regclass('apsched_schema') IS NOT NULL").text(0, 0) != "t") {
    return std::nullopt;
  }
  const Result row = db.query("SELECT version FROM apsched_schema WHERE name = $1", schema_name);
  if (row.rows() == 0) {
    return std::nullopt;
  }
  return row.int64(0, 0);
}

/// Brings `schema_name` up to the newest of `migrations`, in one transaction that holds a
/// transaction-level advisory lock keyed by the schema name: processes that start together
/// queue, and each migration is applied once. An up-to-date schema is answered from a read.
/// @returns the version of the schema now
/// @throws SchemaVersionError if the recorded version is newer than the newest migration:
/// `open: database "jobs" has schema version 7 of apsched_jobs, this apsched supports up to
/// version 1`; for a store's connection, `PostgresJobStore database "jobs" (user "app", server
/// db:5432): open: the database has schema version 7 of apsched_jobs, this apsched supports ...`
/// @throws PgError naming "migrate", the version and the schema when a migration fails
/// (`migrate: version 2 of apsched_jobs: exec: ...`; for a store's connection `PostgresJobStore
/// database ...: open: migrate apsched_jobs to version 2: <the server's message> (SQL: ...)`);
/// nothing of the call stays applied then
/// @throws InvalidArgumentError if the versions of `migrations` are not positive and increasing
inline std::int64_t migrate(Connection& db, std::string_view schema_name,
                            std::span<const Migration> migrations) {
  check_migration_versions(schema_name, migrations);
  const std::int64_t newest = migrations.empty() ? 0 : migrations.back().version;
  const auto refuse_newer = [&](std::int64_t recorded) {
    if (recorded > newest && db.error_label().for_store()) {
      throw SchemaVersionError{db.error_message(
          fmt::format("the database has schema version {} of {}, this apsched supports up to "
                      "version {}",
                      recorded, schema_name, newest),
          "open")};
    }
    if (recorded > newest) {
      throw SchemaVersionError{fmt::format(
          "open: database \"{}\" has schema version {} of {}, this apsched supports up to "
          "version {}",
          PQdb(db.handle()), recorded, schema_name, newest)};
    }
  };
  if (const std::optional<std::int64_t> recorded = schema_version(db, schema_name)) {
    refuse_newer(*recorded);
    if (*recorded == newest) {
      return newest;
    }
  } else if (newest == 0) {
    return 0;
  }
  db.exec("BEGIN");
  try {
    db.query("SELECT pg_advisory_xact_lock(hashtext('apsched_schema:' || $1))", schema_name);
    db.exec(
        "CREATE TABLE IF NOT EXISTS apsched_schema "
        "(name text PRIMARY KEY, version bigint NOT NULL)");
    // Re-read under the lock: another process may have migrated since the read above.
    const std::int64_t current = schema_version(db, schema_name).value_or(0);
    refuse_newer(current);
    std::int64_t reached = current;
    for (const Migration& migration : migrations) {
      if (migration.version <= current) {
        continue;
      }
      if (db.error_label().for_store()) {
        const std::string step =
            fmt::format("migrate {} to version {}", schema_name, migration.version);
        const durable::StepScope scope{db.store_label(), step};
        db.exec(migration.sql);
        reached = migration.version;
        continue;
      }
      try {
        db.exec(migration.sql);
      } catch (const PgError& error) {
        throw PgError{fmt::format("migrate: version {} of {}: {}", migration.version, schema_name,
                                  error.what()),
                      error.sqlstate(), error.connection_lost()};
      }
      reached = migration.version;
    }
    db.query(
        "INSERT INTO apsched_schema (name, version) VALUES ($1, $2) "
        "ON CONFLICT (name) DO UPDATE SET version = excluded.version",
        schema_name, reached);
    db.exec("COMMIT");
    return reached;
  } catch (...) {
    if (db.connected()) {
      try {
        db.exec("ROLLBACK");
      } catch (...) {  // NOLINT(bugprone-empty-catch): the first error is the one to report
      }
    }
    throw;
  }
}

}  // namespace apsched::detail::postgres
