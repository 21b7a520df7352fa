// SPDX-License-Identifier: MIT
// Schema versioning: migrations applied once each, per schema name, newer versions refused.
#include <apsched/detail/sqlite/migrate.hpp>

#include "support/catch.hpp"
#include "support/temp_dir.hpp"

#include <fmt/format.h>

#include <array>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <latch>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

namespace detail_sqlite_migrate_test {

using apsched::InvalidArgumentError;
using apsched::SchemaVersionError;
using apsched::StoreError;
using apsched::detail::sqlite::Database;
using apsched::detail::sqlite::migrate;
using apsched::detail::sqlite::Migration;
using apsched::detail::sqlite::schema_version;
using apsched::test::contains;
using apsched::test::TempDir;

namespace {

// Version 1 has no IF NOT EXISTS, so running it twice would fail.
constexpr std::array<Migration, 3> job_migrations{{
    {1, "CREATE TABLE jobs (id TEXT PRIMARY KEY, next_run INTEGER)"},
    {2,
     "CREATE INDEX jobs_next_run ON jobs (next_run);"
     "INSERT INTO jobs (id, next_run) VALUES ('seed', 0)"},
    {5, "ALTER TABLE jobs ADD COLUMN paused INTEGER NOT NULL DEFAULT 0"},
}};

bool has_object(Database& db, std::string_view name) {
  auto select = db.prepare("SELECT 1 FROM sqlite_master WHERE name = ?1");
  select.bind(1, name);
  return select.step();
}

std::int64_t count_jobs(Database& db) {
  auto count = db.prepare("SELECT count(*) FROM jobs");
  REQUIRE(count.step());
  return count.column_int64(0);
}

}  // namespace

TEST_CASE("sqlite fresh file gets every migration and records the newest version",
          "[sqlite][migrate]") {
  const TempDir dir;
  auto db = Database::open(dir.file("jobs.db"));
  CHECK(schema_version(db, "apsched_jobs") == std::nullopt);
  CHECK(migrate(db, "apsched_jobs", job_migrations) == 5);
  CHECK(schema_version(db, "apsched_jobs") == 5);
  CHECK(has_object(db, "jobs"));
  CHECK(has_object(db, "jobs_next_run"));
  CHECK(has_object(db, "apsched_schema"));
  db.exec("INSERT INTO jobs (id, next_run, paused) VALUES ('nightly', 1, 1)");
  CHECK(count_jobs(db) == 2);
  CHECK_FALSE(db.in_transaction());
}

TEST_CASE("sqlite reopening applies only the migrations not yet applied", "[sqlite][migrate]") {
  const TempDir dir;
  const auto path = dir.file("jobs.db");
  {
    auto db = Database::open(path);
    CHECK(migrate(db, "apsched_jobs", std::span{job_migrations}.first(2)) == 2);
    CHECK(count_jobs(db) == 1);
  }
  auto db = Database::open(path);
  CHECK(migrate(db, "apsched_jobs", std::span{job_migrations}.first(2)) == 2);
  CHECK(migrate(db, "apsched_jobs", job_migrations) == 5);
  CHECK(migrate(db, "apsched_jobs", job_migrations) == 5);
  // Migration 2's insert ran once.
  CHECK(count_jobs(db) == 1);
  CHECK(schema_version(db, "apsched_jobs") == 5);
}

TEST_CASE("sqlite schema newer than the newest migration is refused, naming both versions",
          "[sqlite][migrate]") {
  const TempDir dir;
  const auto path = dir.file("jobs.db");
  auto db = Database::open(path);
  migrate(db, "apsched_jobs", std::span{job_migrations}.first(2));
  db.exec("UPDATE apsched_schema SET version = 7 WHERE name = 'apsched_jobs'");
  const auto older = std::span{job_migrations}.first(2);
  REQUIRE_THROWS_AS(migrate(db, "apsched_jobs", older), SchemaVersionError);
  REQUIRE_THROWS_WITH(migrate(db, "apsched_jobs", older),
                      fmt::format("open: \"{}\" has schema version 7 of apsched_jobs, this "
                                  "apsched supports up to version 2",
                                  path.string()));
  REQUIRE_THROWS_AS(migrate(db, "apsched_jobs", std::span<const Migration>{}), SchemaVersionError);
  CHECK(schema_version(db, "apsched_jobs") == 7);
}

TEST_CASE("sqlite two schema names in one file have their own versions", "[sqlite][migrate]") {
  const TempDir dir;
  auto db = Database::open(dir.file("jobs.db"));
  const std::array<Migration, 2> history{{
      {1, "CREATE TABLE history (job TEXT, ran_at INTEGER)"},
      {2, "CREATE INDEX history_job ON history (job)"},
  }};
  CHECK(migrate(db, "apsched_jobs", std::span{job_migrations}.first(2)) == 2);
  CHECK(migrate(db, "apsched_history", std::span{history}.first(1)) == 1);
  CHECK(schema_version(db, "apsched_jobs") == 2);
  CHECK(schema_version(db, "apsched_history") == 1);
  CHECK(migrate(db, "apsched_history", history) == 2);
  CHECK(schema_version(db, "apsched_jobs") == 2);
  CHECK(migrate(db, "apsched_jobs", job_migrations) == 5);
  CHECK(schema_version(db, "apsched_history") == 2);
  CHECK(has_object(db, "history_job"));
}

TEST_CASE("sqlite failing migration leaves no trace and keeps the ones before it",
          "[sqlite][migrate]") {
  const TempDir dir;
  auto db = Database::open(dir.file("jobs.db"));
  const std::array<Migration, 2> broken{{
      {1, "CREATE TABLE jobs (id TEXT PRIMARY KEY)"},
      {2, "CREATE TABLE half (x); SELEC"},
  }};
  REQUIRE_THROWS_AS(migrate(db, "apsched_jobs", broken), StoreError);
  REQUIRE_THROWS_WITH(
      migrate(db, "apsched_jobs", broken),
      "migrate: version 2 of apsched_jobs: exec: \"SELEC\": near \"SELEC\": syntax error");
  CHECK(schema_version(db, "apsched_jobs") == 1);
  CHECK(has_object(db, "jobs"));
  CHECK_FALSE(has_object(db, "half"));
  CHECK_FALSE(db.in_transaction());
}

TEST_CASE("sqlite migration versions must be positive and increasing", "[sqlite][migrate]") {
  auto db = Database::open(":memory:");
  const std::array<Migration, 2> repeated{{{1, "SELECT 1"}, {1, "SELECT 2"}}};
  REQUIRE_THROWS_AS(migrate(db, "apsched_jobs", repeated), InvalidArgumentError);
  REQUIRE_THROWS_WITH(
      migrate(db, "apsched_jobs", repeated),
      "migrate: versions of apsched_jobs must be positive and increasing, got 1 after 1");
  const std::array<Migration, 1> zero{{{0, "SELECT 1"}}};
  REQUIRE_THROWS_WITH(migrate(db, "apsched_jobs", zero), contains("got 0 after 0"));
  CHECK_FALSE(has_object(db, "apsched_schema"));
}

TEST_CASE("sqlite no migrations leave a fresh file untouched at version 0", "[sqlite][migrate]") {
  const TempDir dir;
  auto db = Database::open(dir.file("jobs.db"));
  CHECK(migrate(db, "apsched_jobs", std::span<const Migration>{}) == 0);
  CHECK_FALSE(has_object(db, "apsched_schema"));
}

TEST_CASE("sqlite two connections migrating one file at once apply each migration once",
          "[sqlite][migrate][thread]") {
  const TempDir dir;
  const auto path = dir.file("jobs.db");
  constexpr int connections = 4;
  std::latch start{connections};
  std::array<std::int64_t, connections> versions{};
  std::array<std::exception_ptr, connections> failures{};
  std::vector<std::thread> threads;
  for (int i = 0; i < connections; ++i) {
    threads.emplace_back([&, i] {
      try {
        start.arrive_and_wait();
        auto db = Database::open(path);
        versions[static_cast<std::size_t>(i)] = migrate(db, "apsched_jobs", job_migrations);
      } catch (...) {
        failures[static_cast<std::size_t>(i)] = std::current_exception();
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  for (const auto& failure : failures) {
    if (failure) {
      std::rethrow_exception(failure);
    }
  }
  for (const std::int64_t version : versions) {
    CHECK(version == 5);
  }
  auto db = Database::open(path);
  CHECK(count_jobs(db) == 1);
  CHECK(schema_version(db, "apsched_jobs") == 5);
}

}  // namespace detail_sqlite_migrate_test
