// SPDX-License-Identifier: MIT
// Migration: one numbered step of a schema, shared by the SQLite and PostgreSQL parts.
#pragma once

#include <apsched/error.hpp>

#include <fmt/core.h>

#include <span>
#include <string_view>

namespace apsched::detail {

/// One step of a schema: the SQL (one or more statements) that brings it from the previous
/// version to `version`. It runs inside a transaction, so it must not contain BEGIN, COMMIT or
/// statements the database refuses there (SQLite: VACUUM, PRAGMA journal_mode; PostgreSQL:
/// CREATE INDEX CONCURRENTLY).
///
/// Thread safety: not thread-safe (a plain value).
struct Migration {
  int version = 0;
  std::string_view sql;
};

/// Checks that the versions of `migrations` are positive and increasing.
/// @throws InvalidArgumentError naming "migrate", `schema_name` and the first version out of
/// order
inline void check_migration_versions(std::string_view schema_name,
                                     std::span<const Migration> migrations) {
  int previous = 0;
  for (const Migration& migration : migrations) {
    if (migration.version <= previous) {
      throw InvalidArgumentError{
          fmt::format("migrate: versions of {} must be positive and increasing, got {} after {}",
                      schema_name, migration.version, previous)};
    }
    previous = migration.version;
  }
}

}  // namespace apsched::detail
