// SPDX-License-Identifier: MIT
// The SQLite layer's errors: SQL abbreviation, busy codes and messages built from SQLite's.
#include <apsched/detail/sqlite/error.hpp>

#include "support/catch.hpp"

#include <string>

namespace detail_sqlite_error_test {

using apsched::StoreError;
using apsched::detail::sqlite::abbreviate_sql;
using apsched::detail::sqlite::CallSite;
using apsched::detail::sqlite::is_busy;
using apsched::detail::sqlite::SqliteError;
using apsched::detail::sqlite::throw_error;
using apsched::detail::sqlite::throw_last_error;

TEST_CASE("sqlite abbreviate_sql collapses whitespace and trims", "[sqlite][error]") {
  CHECK(abbreviate_sql("  SELECT *\n\t FROM   jobs \n") == "SELECT * FROM jobs");
  CHECK(abbreviate_sql("") == "");
  CHECK(abbreviate_sql(" \n ") == "");
}

TEST_CASE("sqlite abbreviate_sql cuts long SQL and marks the cut", "[sqlite][error]") {
  CHECK(abbreviate_sql("SELECT 1234567890", 10) == "SELECT 123...");
  CHECK(abbreviate_sql("SELECT 12", 10) == "SELECT 12");
  CHECK(abbreviate_sql(std::string(200, 'x')).size() == 63);
  // "é" is two bytes; a cut inside it backs up to the character's start.
  CHECK(abbreviate_sql("SELECT '\xC3\xA9'", 9) == "SELECT '...");
  CHECK(abbreviate_sql("SELECT '\xC3\xA9'", 10) == "SELECT '\xC3\xA9...");
}

TEST_CASE("sqlite is_busy accepts SQLITE_BUSY variants and shared-cache locks only",
          "[sqlite][error]") {
  CHECK(is_busy(SQLITE_BUSY));
  CHECK(is_busy(SQLITE_BUSY_SNAPSHOT));
  CHECK(is_busy(SQLITE_BUSY_RECOVERY));
  CHECK(is_busy(SQLITE_LOCKED_SHAREDCACHE));
  CHECK_FALSE(is_busy(SQLITE_LOCKED));
  CHECK_FALSE(is_busy(SQLITE_OK));
  CHECK_FALSE(is_busy(SQLITE_ERROR));
  CHECK_FALSE(is_busy(SQLITE_CONSTRAINT_PRIMARYKEY));
}

TEST_CASE("sqlite throw_error names the call, the subject and the message, and keeps the code",
          "[sqlite][error]") {
  const CallSite sql_site{.call = "step", .sql = "INSERT INTO jobs\n  VALUES (?1)", .subject = {}};
  REQUIRE_THROWS_AS(throw_error(sql_site, SQLITE_BUSY, "database is locked"), StoreError);
  REQUIRE_THROWS_WITH(throw_error(sql_site, SQLITE_BUSY, "database is locked"),
                      "step: \"INSERT INTO jobs VALUES (?1)\": database is locked");
  const CallSite path_site{.call = "open", .sql = "SELECT 1", .subject = "jobs.db"};
  REQUIRE_THROWS_WITH(throw_error(path_site, SQLITE_NOTADB, "file is not a database"),
                      "open: \"jobs.db\": file is not a database");
  try {
    throw_error(path_site, SQLITE_IOERR_READ, "disk I/O error");
  } catch (const SqliteError& error) {
    CHECK(error.code() == SQLITE_IOERR_READ);
    CHECK(error.primary_code() == SQLITE_IOERR);
  }
  // Without a connection, SQLite's message is its out-of-memory one.
  REQUIRE_THROWS_WITH(throw_last_error(path_site, nullptr, SQLITE_NOMEM),
                      "open: \"jobs.db\": out of memory");
}

}  // namespace detail_sqlite_error_test
