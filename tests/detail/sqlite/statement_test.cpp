// SPDX-License-Identifier: MIT
// Statement: binding, stepping and reading every SQLite column type, cached statements.
#include <apsched/detail/sqlite/database.hpp>
#include <apsched/detail/sqlite/statement.hpp>

#include "support/catch.hpp"
#include "support/temp_dir.hpp"

#include <fmt/format.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace detail_sqlite_statement_test {

using namespace std::string_view_literals;
using apsched::StoreError;
using apsched::detail::sqlite::Database;
using apsched::detail::sqlite::is_commit_sql;
using apsched::detail::sqlite::SqliteError;
using apsched::detail::sqlite::Statement;
using apsched::test::contains;
using apsched::test::TempDir;

namespace {

// A database file with a table `v` of one value column, and a statement that stores a value
// and one that reads it back with its type.
struct Fixture {
  TempDir dir;
  Database db = Database::open(dir.file("values.db"));
  Fixture() { db.exec("CREATE TABLE v (id INTEGER PRIMARY KEY, value)"); }

  template <class T>
  void store(const T& value) {
    db.exec("DELETE FROM v");
    auto insert = db.prepare_cached("INSERT INTO v (id, value) VALUES (1, ?1)");
    insert->bind(1, value);
    CHECK(insert->execute() == 1);
  }

  Statement read() {
    Statement select = db.prepare("SELECT value, typeof(value) FROM v WHERE id = 1");
    REQUIRE(select.step());
    return select;
  }
};

std::vector<std::byte> bytes_0_to_255() {
  std::vector<std::byte> bytes;
  for (int i = 0; i < 256; ++i) {
    bytes.push_back(static_cast<std::byte>(i));
  }
  return bytes;
}

}  // namespace

TEST_CASE("sqlite integers round-trip through bind and column", "[sqlite][statement]") {
  Fixture f;
  for (const std::int64_t value :
       {std::int64_t{0}, std::int64_t{-1}, std::int64_t{42},
        std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max()}) {
    f.store(value);
    auto row = f.read();
    CHECK(row.column_type(0) == SQLITE_INTEGER);
    CHECK(row.column_text(1) == "integer");
    CHECK(row.column_int64(0) == value);
    CHECK(row.column<std::int64_t>(0) == value);
    CHECK_FALSE(row.column_is_null(0));
  }
  f.store(7);
  CHECK(f.read().column<int>(0) == 7);
  f.store(std::uint32_t{4'000'000'000});
  CHECK(f.read().column<std::uint32_t>(0) == 4'000'000'000);
  f.store(std::uint64_t{std::numeric_limits<std::int64_t>::max()});
  CHECK(f.read().column<std::uint64_t>(0) ==
        std::uint64_t{std::numeric_limits<std::int64_t>::max()});
  f.store(true);
  CHECK(f.read().column_int64(0) == 1);
  CHECK(f.read().column<bool>(0));
  f.store(false);
  CHECK_FALSE(f.read().column<bool>(0));
}

TEST_CASE("sqlite doubles round-trip through bind and column", "[sqlite][statement]") {
  Fixture f;
  for (const double value : {0.0, -0.5, 3.25, 1e300, -1e-300}) {
    f.store(value);
    auto row = f.read();
    CHECK(row.column_type(0) == SQLITE_FLOAT);
    CHECK(row.column_double(0) == value);
    CHECK(row.column<double>(0) == value);
  }
  f.store(1.5F);
  CHECK(f.read().column<float>(0) == 1.5F);
}

TEST_CASE("sqlite text round-trips, including UTF-8, NUL bytes and the empty string",
          "[sqlite][statement]") {
  Fixture f;
  for (const std::string_view value :
       {"nightly"sv, "caf\xC3\xA9 \xE2\x8F\xB0"sv, "a\0b"sv, ""sv, "it's \"quoted\""sv}) {
    f.store(value);
    auto row = f.read();
    CHECK(row.column_type(0) == SQLITE_TEXT);
    CHECK(row.column_text(1) == "text");
    CHECK(row.column_text(0) == value);
    CHECK(row.column_text_view(0) == value);
    CHECK(row.column<std::string>(0) == value);
    CHECK(row.column<std::string_view>(0) == value);
  }
  f.store("literal");
  CHECK(f.read().column_text(0) == "literal");
  f.store(std::string{"owned"});
  CHECK(f.read().column_text(0) == "owned");
  f.store(std::string_view{});
  CHECK_FALSE(f.read().column_is_null(0));
}

TEST_CASE("sqlite blobs round-trip, including the empty blob", "[sqlite][statement]") {
  Fixture f;
  const std::vector<std::byte> bytes = bytes_0_to_255();
  f.store(std::span<const std::byte>{bytes});
  auto row = f.read();
  CHECK(row.column_type(0) == SQLITE_BLOB);
  const std::span<const std::byte> read = row.column_blob(0);
  CHECK(std::vector<std::byte>(read.begin(), read.end()) == bytes);
  CHECK(row.column<std::vector<std::byte>>(0) == bytes);

  f.store(std::span<const std::byte>{});
  auto empty = f.read();
  CHECK(empty.column_text(1) == "blob");
  CHECK_FALSE(empty.column_is_null(0));
  CHECK(empty.column_blob(0).empty());
}

TEST_CASE("sqlite NULL binds from bind_null, nullopt, nullptr and an empty optional",
          "[sqlite][statement]") {
  Fixture f;
  const auto check_null = [&f] {
    auto row = f.read();
    CHECK(row.column_is_null(0));
    CHECK(row.column_type(0) == SQLITE_NULL);
    CHECK(row.column_text(1) == "null");
    CHECK(row.column_text(0).empty());
    CHECK(row.column_int64(0) == 0);
    CHECK(row.column_blob(0).empty());
    CHECK(row.column<std::optional<std::int64_t>>(0) == std::nullopt);
    CHECK(row.column<std::optional<std::string>>(0) == std::nullopt);
  };
  f.store(std::nullopt);
  check_null();
  f.store(nullptr);
  check_null();
  f.store(std::optional<std::int64_t>{});
  check_null();
  f.store(std::optional<std::string>{});
  check_null();

  f.store(std::optional<std::int64_t>{5});
  CHECK(f.read().column<std::optional<std::int64_t>>(0) == 5);
  f.store(std::optional<std::string_view>{"x"});
  CHECK(f.read().column<std::optional<std::string>>(0) == "x");
  f.store(std::optional<double>{0.25});
  CHECK(f.read().column<std::optional<double>>(0) == 0.25);
}

TEST_CASE("sqlite bind_all binds parameters 1, 2, ... in order", "[sqlite][statement]") {
  auto db = Database::open(":memory:");
  auto select = db.prepare("SELECT ?1, ?2, ?3, ?4");
  select.bind_all(1, "two", 3.5, std::optional<int>{});
  REQUIRE(select.step());
  CHECK(select.column_count() == 4);
  CHECK(select.column_int64(0) == 1);
  CHECK(select.column_text(1) == "two");
  CHECK(select.column_double(2) == 3.5);
  CHECK(select.column_is_null(3));
  CHECK_FALSE(select.step());
}

TEST_CASE(
    "sqlite reset keeps the bindings, clear_bindings sets them to NULL, step after the end "
    "starts over",
    "[sqlite][statement]") {
  auto db = Database::open(":memory:");
  auto select = db.prepare("SELECT ?1 AS value");
  CHECK(select.column_name(0) == "value");
  select.bind(1, 9);
  REQUIRE(select.step());
  CHECK(select.column_int64(0) == 9);
  CHECK_FALSE(select.step());
  REQUIRE(select.step());
  CHECK(select.column_int64(0) == 9);
  select.reset();
  REQUIRE(select.step());
  CHECK(select.column_int64(0) == 9);
  select.reset();
  select.clear_bindings();
  REQUIRE(select.step());
  CHECK(select.column_is_null(0));
}

TEST_CASE("sqlite moved statement keeps its handle", "[sqlite][statement]") {
  auto db = Database::open(":memory:");
  auto first = db.prepare("SELECT 1");
  sqlite3_stmt* handle = first.handle();
  Statement moved = std::move(first);
  CHECK(moved.handle() == handle);
  CHECK(moved.sql() == "SELECT 1");
  first = db.prepare("SELECT 2");
  REQUIRE(first.step());
  CHECK(first.column_int64(0) == 2);
  REQUIRE(moved.step());
  CHECK(moved.column_int64(0) == 1);
}

TEST_CASE("sqlite binding to a parameter that does not exist names it and the SQL",
          "[sqlite][statement]") {
  auto db = Database::open(":memory:");
  auto select = db.prepare("SELECT ?1");
  REQUIRE_THROWS_AS(select.bind(3, 1), StoreError);
  REQUIRE_THROWS_WITH(select.bind(3, 1),
                      "bind: parameter 3 of \"SELECT ?1\": column index out of range");
  REQUIRE_THROWS_WITH(select.bind(0, "x"),
                      "bind: parameter 0 of \"SELECT ?1\": column index out of range");
}

TEST_CASE("sqlite unsigned integer above the 64-bit signed range is refused",
          "[sqlite][statement]") {
  auto db = Database::open(":memory:");
  auto select = db.prepare("SELECT ?1");
  const std::uint64_t too_big = std::numeric_limits<std::uint64_t>::max();
  REQUIRE_THROWS_AS(select.bind(1, too_big), StoreError);
  REQUIRE_THROWS_WITH(
      select.bind(1, too_big),
      "bind: parameter 1 of \"SELECT ?1\": 18446744073709551615 does not fit in a 64-bit integer");
}

TEST_CASE("sqlite reading an integer into a type too small for it is refused",
          "[sqlite][statement]") {
  auto db = Database::open(":memory:");
  auto select = db.prepare("SELECT 5000000000, -1");
  REQUIRE(select.step());
  REQUIRE_THROWS_AS(select.column<int>(0), StoreError);
  REQUIRE_THROWS_WITH(select.column<int>(0),
                      "column: \"SELECT 5000000000, -1\": column 0 holds 5000000000, out of the "
                      "range of the requested type");
  REQUIRE_THROWS_WITH(select.column<std::uint64_t>(1), contains("column 1 holds -1"));
  CHECK(select.column<std::int64_t>(0) == 5'000'000'000);
}

TEST_CASE("sqlite constraint violation keeps SQLite's code and leaves the statement reusable",
          "[sqlite][statement]") {
  const TempDir dir;
  auto db = Database::open(dir.file("jobs.db"));
  db.exec("CREATE TABLE jobs (id TEXT PRIMARY KEY)");
  auto insert = db.prepare("INSERT INTO jobs (id) VALUES (?1)");
  insert.bind(1, "nightly");
  CHECK(insert.execute() == 1);
  REQUIRE_THROWS_AS(insert.execute(), StoreError);
  REQUIRE_THROWS_WITH(
      insert.execute(),
      "step: \"INSERT INTO jobs (id) VALUES (?1)\": UNIQUE constraint failed: jobs.id");
  try {
    insert.execute();
    FAIL("duplicate id accepted");
  } catch (const SqliteError& error) {
    CHECK(error.code() == SQLITE_CONSTRAINT_PRIMARYKEY);
    CHECK(error.primary_code() == SQLITE_CONSTRAINT);
  }
  insert.bind(1, "hourly");
  CHECK(insert.execute() == 1);
}

TEST_CASE("sqlite long SQL is abbreviated in messages", "[sqlite][statement]") {
  auto db = Database::open(":memory:");
  auto select = db.prepare(
      "SELECT ?1,\n       ?2   -- the second parameter\n"
      "  FROM (SELECT 1) WHERE 1 = 1 AND 2 = 2 AND 3 = 3 AND 4 = 4");
  REQUIRE_THROWS_WITH(select.bind(9, 0),
                      "bind: parameter 9 of \"SELECT ?1, ?2 -- the second parameter FROM "
                      "(SELECT 1) WHERE ...\": column index out of range");
}

TEST_CASE("sqlite is_commit_sql recognises COMMIT and END in any case", "[sqlite][statement]") {
  STATIC_REQUIRE(is_commit_sql("COMMIT"));
  STATIC_REQUIRE(is_commit_sql("  commit transaction"));
  STATIC_REQUIRE(is_commit_sql("\nEnd;"));
  STATIC_REQUIRE_FALSE(is_commit_sql("COMMITTED"));
  STATIC_REQUIRE_FALSE(is_commit_sql("BEGIN"));
  STATIC_REQUIRE_FALSE(is_commit_sql("INSERT INTO commit_log VALUES (1)"));
  STATIC_REQUIRE_FALSE(is_commit_sql(""));
}

}  // namespace detail_sqlite_statement_test
