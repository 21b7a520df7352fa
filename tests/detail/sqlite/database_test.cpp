// SPDX-License-Identifier: MIT
// Database and Transaction: opening, configuring and refusing files, statement cache, transactions.
#include <apsched/detail/sqlite/database.hpp>

#include "support/catch.hpp"
#include "support/temp_dir.hpp"

#include <fmt/format.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace detail_sqlite_database_test {

using apsched::StoreError;
using apsched::detail::sqlite::Database;
using apsched::detail::sqlite::Journal;
using apsched::detail::sqlite::Options;
using apsched::detail::sqlite::SqliteError;
using apsched::detail::sqlite::Synchronous;
using apsched::detail::sqlite::Transaction;
using apsched::test::contains;
using apsched::test::TempDir;

namespace {

// The first column of the first row of `sql` as text.
std::string query_text(Database& db, std::string_view sql) {
  auto statement = db.prepare(sql);
  REQUIRE(statement.step());
  return statement.column_text(0);
}

std::int64_t query_int(Database& db, std::string_view sql) {
  auto statement = db.prepare(sql);
  REQUIRE(statement.step());
  return statement.column_int64(0);
}

void write_bytes(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out{path, std::ios::binary};
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

TEST_CASE("sqlite open creates the file and sets WAL, synchronous NORMAL and foreign keys",
          "[sqlite][database]") {
  const TempDir dir;
  const auto path = dir.file("jobs.db");
  REQUIRE_FALSE(std::filesystem::exists(path));
  auto db = Database::open(path);
  CHECK(std::filesystem::exists(path));
  CHECK(db.path() == path.string());
  CHECK(query_text(db, "PRAGMA journal_mode") == "wal");
  CHECK(query_int(db, "PRAGMA synchronous") == 1);
  CHECK(query_int(db, "PRAGMA foreign_keys") == 1);
  CHECK_FALSE(db.in_transaction());
}

TEST_CASE("sqlite open applies synchronous FULL and the rollback journal when asked",
          "[sqlite][database]") {
  const TempDir dir;
  auto db = Database::open(dir.file("jobs.db"),
                           Options{.journal = Journal::rollback, .synchronous = Synchronous::full});
  CHECK(query_text(db, "PRAGMA journal_mode") == "delete");
  CHECK(query_int(db, "PRAGMA synchronous") == 2);
  CHECK(db.options().synchronous == Synchronous::full);
}

TEST_CASE("sqlite open keeps WAL mode of a file for later connections", "[sqlite][database]") {
  const TempDir dir;
  const auto path = dir.file("jobs.db");
  {
    auto db = Database::open(path, Options{.synchronous = Synchronous::extra});
    db.exec("CREATE TABLE t (x)");
    CHECK(query_int(db, "PRAGMA synchronous") == 3);
  }
  auto again = Database::open(path, Options{.create = false});
  CHECK(query_text(again, "PRAGMA journal_mode") == "wal");
  CHECK(query_int(again, "SELECT count(*) FROM t") == 0);
}

TEST_CASE("sqlite open refuses a file of garbage with SQLite's message", "[sqlite][database]") {
  const TempDir dir;
  const auto path = dir.file("garbage.db");
  std::string garbage(4096, '\0');
  for (std::size_t i = 0; i < garbage.size(); ++i) {
    garbage[i] = static_cast<char>((i * 37 + 11) % 251);
  }
  write_bytes(path, garbage);
  const std::string expected = fmt::format("open: \"{}\": file is not a database", path.string());
  REQUIRE_THROWS_AS(Database::open(path), StoreError);
  REQUIRE_THROWS_WITH(Database::open(path), expected);
  try {
    (void)Database::open(path);
    FAIL("open accepted garbage");
  } catch (const SqliteError& error) {
    CHECK(error.primary_code() == SQLITE_NOTADB);
  }
}

TEST_CASE("sqlite open refuses a short text file that is not a database", "[sqlite][database]") {
  const TempDir dir;
  const auto path = dir.file("notes.txt");
  write_bytes(path, "these are notes, not a database\n");
  REQUIRE_THROWS_AS(Database::open(path), StoreError);
  REQUIRE_THROWS_WITH(Database::open(path), contains("file is not a database"));
  REQUIRE_THROWS_WITH(Database::open(path), contains(fmt::format("open: \"{}\"", path.string())));
}

TEST_CASE("sqlite open without create refuses a missing file and does not create it",
          "[sqlite][database]") {
  const TempDir dir;
  const auto path = dir.file("missing.db");
  REQUIRE_THROWS_AS(Database::open(path, Options{.create = false}), StoreError);
  REQUIRE_THROWS_WITH(Database::open(path, Options{.create = false}),
                      fmt::format("open: \"{}\": unable to open database file", path.string()));
  CHECK_FALSE(std::filesystem::exists(path));
}

TEST_CASE("sqlite in-memory database opens with its journal in memory", "[sqlite][database]") {
  auto db = Database::open(":memory:");
  CHECK(query_text(db, "PRAGMA journal_mode") == "memory");
  db.exec("CREATE TABLE t (x); INSERT INTO t VALUES (1)");
  CHECK(query_int(db, "SELECT x FROM t") == 1);
}

TEST_CASE("sqlite integrity_check finds a corrupt page that the cheap check at open lets through",
          "[sqlite][database]") {
  const TempDir dir;
  const auto path = dir.file("jobs.db");
  {
    auto db = Database::open(path);
    CHECK(db.integrity_check() == std::vector<std::string>{"ok"});
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, text TEXT)");
    db.transaction([&] {
      auto insert = db.prepare("INSERT INTO t (text) VALUES (?1)");
      for (int i = 0; i < 2000; ++i) {
        insert.bind(1, std::string(100, static_cast<char>('a' + i % 26)));
        insert.execute();
      }
    });
  }
  // The last connection's close checkpoints the WAL into the file; overwrite page 3.
  REQUIRE(std::filesystem::file_size(path) > 10 * 4096);
  {
    std::fstream file{path, std::ios::binary | std::ios::in | std::ios::out};
    file.seekp(2 * 4096);
    const std::string junk(4096, '\xA5');
    file.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  auto db = Database::open(path);
  const std::vector<std::string> problems = db.integrity_check();
  REQUIRE_FALSE(problems.empty());
  CHECK(problems != std::vector<std::string>{"ok"});
}

TEST_CASE("sqlite prepare reports a syntax error with the SQL and SQLite's message",
          "[sqlite][database]") {
  auto db = Database::open(":memory:");
  REQUIRE_THROWS_AS(db.prepare("SELEC 1"), StoreError);
  REQUIRE_THROWS_WITH(db.prepare("SELEC 1"), "prepare: \"SELEC 1\": near \"SELEC\": syntax error");
}

TEST_CASE("sqlite prepare refuses a script of several statements", "[sqlite][database]") {
  auto db = Database::open(":memory:");
  REQUIRE_THROWS_AS(db.prepare("CREATE TABLE a (x); CREATE TABLE b (x)"), StoreError);
  REQUIRE_THROWS_WITH(db.prepare("CREATE TABLE a (x); CREATE TABLE b (x)"),
                      "prepare: \"CREATE TABLE a (x); CREATE TABLE b (x)\": holds more than one "
                      "statement; use exec for scripts");
  // Also when the second statement would not prepare on its own.
  REQUIRE_THROWS_WITH(db.prepare("CREATE TABLE a (x); INSERT INTO a VALUES (1)"),
                      contains("holds more than one statement"));
  // A trailing comment or semicolon is not a statement.
  auto statement = db.prepare("SELECT 1; -- one\n;");
  REQUIRE(statement.step());
  CHECK(statement.column_int64(0) == 1);
}

TEST_CASE("sqlite exec runs a script in order and names the failing statement",
          "[sqlite][database]") {
  const TempDir dir;
  auto db = Database::open(dir.file("jobs.db"));
  db.exec(R"(
    CREATE TABLE t (x INTEGER);
    INSERT INTO t VALUES (1);
    -- a comment between statements
    INSERT INTO t VALUES (2);
  )");
  CHECK(query_int(db, "SELECT sum(x) FROM t") == 3);
  REQUIRE_THROWS_AS(db.exec("INSERT INTO t VALUES (3); INSERT INTO missing VALUES (4)"),
                    StoreError);
  REQUIRE_THROWS_WITH(db.exec("INSERT INTO t VALUES (5); INSERT INTO missing VALUES (6)"),
                      "exec: \"INSERT INTO missing VALUES (6)\": no such table: missing");
  // Outside a transaction, the statements before the failing one stay applied.
  CHECK(query_int(db, "SELECT sum(x) FROM t") == 11);
  db.exec("  ");
  db.exec("");
}

TEST_CASE("sqlite foreign keys are enforced", "[sqlite][database]") {
  const TempDir dir;
  auto db = Database::open(dir.file("jobs.db"));
  db.exec(
      "CREATE TABLE parent (id INTEGER PRIMARY KEY);"
      "CREATE TABLE child (parent INTEGER REFERENCES parent (id))");
  REQUIRE_THROWS_AS(db.exec("INSERT INTO child VALUES (42)"), StoreError);
  REQUIRE_THROWS_WITH(db.exec("INSERT INTO child VALUES (42)"),
                      "exec: \"INSERT INTO child VALUES (42)\": FOREIGN KEY constraint failed");
}

TEST_CASE("sqlite prepare_cached hands out one statement per SQL text and resets it on release",
          "[sqlite][database]") {
  const TempDir dir;
  auto db = Database::open(dir.file("jobs.db"));
  db.exec("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1), (2), (3)");
  const std::string_view sql = "SELECT x FROM t WHERE x >= coalesce(?1, 0) ORDER BY x";
  sqlite3_stmt* first_handle = nullptr;
  {
    auto select = db.prepare_cached(sql);
    CHECK(select.is_cached());
    first_handle = select->handle();
    select->bind(1, 2);
    REQUIRE(select->step());
    CHECK(select->column_int64(0) == 2);
    // Left mid-way: the release must reset it, or its read transaction would stay open.
  }
  CHECK(db.cached_statement_count() == 1);
  auto again = db.prepare_cached(std::string{sql});
  CHECK(again->handle() == first_handle);
  // Bindings were cleared: ?1 is NULL again, so every row matches, from the first.
  REQUIRE(again->step());
  CHECK(again->column_int64(0) == 1);
  SECTION("a second user of the same SQL gets a one-off statement") {
    auto nested = db.prepare_cached(sql);
    CHECK_FALSE(nested.is_cached());
    CHECK(nested->handle() != first_handle);
    REQUIRE(nested->step());
    CHECK(nested->column_int64(0) == 1);
    CHECK(db.cached_statement_count() == 1);
  }
  SECTION("a moved handle keeps the statement") {
    auto moved = std::move(again);
    CHECK(moved->handle() == first_handle);
    REQUIRE(moved->step());
    CHECK(moved->column_int64(0) == 2);
  }
}

TEST_CASE("sqlite prepare_cached handles are usable when const", "[sqlite][database]") {
  auto db = Database::open(":memory:", Options{.statement_cache_size = 0});
  const auto select = db.prepare_cached("SELECT ?1");
  CHECK_FALSE(select.is_cached());
  select->bind(1, 4);
  REQUIRE((*select).step());
  CHECK(select->column_int64(0) == 4);
}

TEST_CASE("sqlite prepare_cached stops caching at the configured size", "[sqlite][database]") {
  auto db = Database::open(":memory:", Options{.statement_cache_size = 1});
  {
    auto one = db.prepare_cached("SELECT 1");
    CHECK(one.is_cached());
  }
  auto two = db.prepare_cached("SELECT 2");
  CHECK_FALSE(two.is_cached());
  REQUIRE(two->step());
  CHECK(two->column_int64(0) == 2);
  CHECK(db.cached_statement_count() == 1);
}

TEST_CASE("sqlite committed transaction is visible to another connection",
          "[sqlite][transaction]") {
  const TempDir dir;
  const auto path = dir.file("jobs.db");
  auto db = Database::open(path);
  auto other = Database::open(path);
  db.exec("CREATE TABLE t (x INTEGER)");
  {
    Transaction tx{db};
    CHECK(tx.active());
    CHECK(db.in_transaction());
    db.exec("INSERT INTO t VALUES (1)");
    CHECK(query_int(other, "SELECT count(*) FROM t") == 0);
    tx.commit();
    CHECK_FALSE(tx.active());
  }
  CHECK_FALSE(db.in_transaction());
  CHECK(query_int(other, "SELECT count(*) FROM t") == 1);
}

TEST_CASE("sqlite transaction not committed is rolled back by its destructor",
          "[sqlite][transaction]") {
  const TempDir dir;
  auto db = Database::open(dir.file("jobs.db"));
  db.exec("CREATE TABLE t (x INTEGER)");
  {
    Transaction tx{db};
    db.exec("INSERT INTO t VALUES (1)");
  }
  CHECK_FALSE(db.in_transaction());
  CHECK(query_int(db, "SELECT count(*) FROM t") == 0);
  {
    Transaction tx{db};
    db.exec("INSERT INTO t VALUES (2)");
    tx.rollback();
    CHECK_FALSE(tx.active());
    CHECK_FALSE(db.in_transaction());
  }
  CHECK(query_int(db, "SELECT count(*) FROM t") == 0);
}

TEST_CASE("sqlite db.transaction commits on return and rolls back and rethrows on an exception",
          "[sqlite][transaction]") {
  const TempDir dir;
  auto db = Database::open(dir.file("jobs.db"));
  db.exec("CREATE TABLE t (x INTEGER)");
  const std::int64_t changed = db.transaction([&] {
    auto insert = db.prepare_cached("INSERT INTO t VALUES (?1)");
    insert->bind(1, 1);
    return insert->execute();
  });
  CHECK(changed == 1);
  CHECK(query_int(db, "SELECT count(*) FROM t") == 1);

  const auto failing = [&] {
    db.transaction([&] {
      db.exec("INSERT INTO t VALUES (2)");
      throw std::runtime_error{"job body failed"};
    });
  };
  REQUIRE_THROWS_AS(failing(), std::runtime_error);
  REQUIRE_THROWS_WITH(failing(), "job body failed");
  CHECK_FALSE(db.in_transaction());
  CHECK(query_int(db, "SELECT count(*) FROM t") == 1);

  // A failing statement inside rolls back the statements before it too.
  REQUIRE_THROWS_AS(db.transaction([&] { db.exec("INSERT INTO t VALUES (3); INSERT INTO x"); }),
                    StoreError);
  CHECK(query_int(db, "SELECT count(*) FROM t") == 1);
}

TEST_CASE("sqlite transactions do not nest", "[sqlite][transaction]") {
  const TempDir dir;
  const auto path = dir.file("jobs.db");
  auto db = Database::open(path);
  Transaction outer{db};
  REQUIRE_THROWS_AS(Transaction{db}, StoreError);
  REQUIRE_THROWS_WITH(
      Transaction{db},
      fmt::format("begin: \"{}\": cannot start a transaction within a transaction", path.string()));
  CHECK(db.in_transaction());
  outer.commit();
}

TEST_CASE("sqlite moved database keeps its connection", "[sqlite][database]") {
  const TempDir dir;
  auto db = Database::open(dir.file("jobs.db"));
  db.exec("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (7)");
  Database moved = std::move(db);
  CHECK(query_int(moved, "SELECT x FROM t") == 7);
  db = Database::open(dir.file("other.db"));
  db.exec("CREATE TABLE u (y)");
  CHECK(query_int(db, "SELECT count(*) FROM u") == 0);
  CHECK(moved.last_insert_rowid() == 1);
  moved.exec("UPDATE t SET x = 8");
  CHECK(moved.changes() == 1);
}

}  // namespace detail_sqlite_database_test
