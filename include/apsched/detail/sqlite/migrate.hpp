// SPDX-License-Identifier: MIT
// Schema versioning: numbered migrations applied once each, recorded per schema name.
#pragma once

#include <apsched/detail/migration.hpp>
#include <apsched/detail/sqlite/database.hpp>
#include <apsched/detail/sqlite/error.hpp>
#include <apsched/detail/sqlite/statement.hpp>
#include <apsched/error.hpp>

#include <fmt/core.h>
#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace apsched::detail::sqlite {

/// See apsched::detail::Migration.
using detail::Migration;

/// The version of `schema_name` recorded in `db` (see migrate), or none when it was never migrated.
/// Reads without taking the write lock.
/// @throws SqliteError if the database cannot be read
[[nodiscard]] inline std::optional<std::int64_t> schema_version(Database& db,
                                                                std::string_view schema_name) {
  Statement exists =
      db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'apsched_schema'");
  if (!exists.step()) {
    return std::nullopt;
  }
  exists.reset();
  Statement select = db.prepare("SELECT version FROM apsched_schema WHERE name = ?1");
  select.bind(1, schema_name);
  if (!select.step()) {
    return std::nullopt;
  }
  return select.column_int64(0);
}

/// Brings `schema_name` in `db` up to the newest of `migrations`: applies, in order, each one
/// whose version is above the recorded one, every one in its own IMMEDIATE transaction that
/// also records its version. A fresh database gets them all (and the apsched_schema table);
/// one that is up to date is only read. Two connections or processes migrating the same file
/// at once are safe: each re-reads the version inside its transaction and skips what the other
/// applied.
///
/// Versions are recorded in the table `apsched_schema(name TEXT PRIMARY KEY, version INTEGER)`
/// rather than in PRAGMA user_version, so that several schemas (the job store, a future history
/// log) can share one file, each with its own version.
/// @param migrations with versions positive and increasing (gaps allowed)
/// @returns the version of the schema now
/// @throws SchemaVersionError if the recorded version is newer than the newest migration:
/// `open: "jobs.db" has schema version 7 of apsched_jobs, this apsched supports up to version 2`
/// (named "open", the call that migrates, so the message reads the same in the store); for a
/// store's database, `SqliteJobStore "jobs.db": open: the file has schema version 7 of ...`
/// @throws SqliteError naming "migrate", the version and the schema when a migration fails
/// (`migrate: version 2 of apsched_jobs: exec: ...`; for a store's database `SqliteJobStore
/// "jobs.db": open: migrate apsched_jobs to version 2: <SQLite's message> (SQL: ...)`); the
/// failed migration leaves no trace, those before it stay applied
/// @throws InvalidArgumentError if the versions of `migrations` are not positive and increasing
inline std::int64_t migrate(Database& db, std::string_view schema_name,
                            std::span<const Migration> migrations) {
  check_migration_versions(schema_name, migrations);
  const std::int64_t newest = migrations.empty() ? 0 : migrations.back().version;
  const auto refuse_newer = [&](std::int64_t recorded) {
    if (recorded > newest && db.error_label().for_store()) {
      throw SchemaVersionError{db.error_message(
          fmt::format(
              "the file has schema version {} of {}, this apsched supports up to version {}",
              recorded, schema_name, newest),
          "open")};
    }
    if (recorded > newest) {
      throw SchemaVersionError{fmt::format(
          "open: \"{}\" has schema version {} of {}, this apsched supports up to version {}",
          db.path(), recorded, schema_name, newest)};
    }
  };
  // Up to date: answer from a read, without the write lock every opener would queue for.
  if (const std::optional<std::int64_t> recorded = schema_version(db, schema_name)) {
    refuse_newer(*recorded);
    if (*recorded == newest) {
      return newest;
    }
  } else if (newest == 0) {
    return 0;
  }
  for (;;) {
    Transaction tx{db};
    db.exec(
        "CREATE TABLE IF NOT EXISTS apsched_schema "
        "(name TEXT PRIMARY KEY NOT NULL, version INTEGER NOT NULL) WITHOUT ROWID");
    // Re-read under the write lock: another connection may have migrated since the read above.
    const std::int64_t current = schema_version(db, schema_name).value_or(0);
    refuse_newer(current);
    const Migration* next = nullptr;
    for (const Migration& migration : migrations) {
      if (migration.version > current) {
        next = &migration;
        break;
      }
    }
    if (next == nullptr) {
      tx.commit();
      return current;
    }
    if (db.error_label().for_store()) {
      const std::string step = fmt::format("migrate {} to version {}", schema_name, next->version);
      const durable::StepScope scope{&db.error_label(), step};
      db.exec(next->sql);
    } else {
      try {
        db.exec(next->sql);
      } catch (const SqliteError& error) {
        throw SqliteError{
            fmt::format("migrate: version {} of {}: {}", next->version, schema_name, error.what()),
            error.code()};
      }
    }
    Statement record = db.prepare(
        "INSERT INTO apsched_schema (name, version) VALUES (?1, ?2) "
        "ON CONFLICT (name) DO UPDATE SET version = excluded.version");
    record.bind_all(schema_name, next->version);
    record.execute();
    tx.commit();
  }
}

}  // namespace apsched::detail::sqlite
