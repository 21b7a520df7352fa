// SPDX-License-Identifier: MIT
// Schema versions on PostgreSQL: applied once, forward only, newer refused, a failing step
// leaves nothing, several processes migrating at once; the store's tables migrated from the
// previous version keep their rows.
#include <apsched/detail/postgres/migrate.hpp>
#include <apsched/detail/postgres/schema.hpp>
#include <apsched/postgres/job_store.hpp>

#include "support/catch.hpp"
#include "support/postgres.hpp"

#include <array>
#include <cstdint>
#include <span>
#include <thread>
#include <vector>

namespace postgres_migrate_test {

using apsched::detail::postgres::Connection;
using apsched::detail::postgres::migrate;
using apsched::detail::postgres::Migration;
using apsched::detail::postgres::PgError;
using apsched::detail::postgres::schema_version;
using apsched::test::contains;
using apsched::test::TestSchema;

namespace {

// Each step also appends its version to `log`, to count how often it ran.
constexpr std::array<Migration, 2> two_steps{{
    {1, "CREATE TABLE log (version int); INSERT INTO log VALUES (1);"},
    {2, "ALTER TABLE log ADD COLUMN note text; INSERT INTO log VALUES (2, 'second');"},
}};

}  // namespace

TEST_CASE("postgres migrate: applies each step once and records the version", "[postgres]") {
  TestSchema schema;
  Connection db = schema.connect();
  CHECK_FALSE(schema_version(db, "apsched_test").has_value());
  CHECK(migrate(db, "apsched_test", std::span{two_steps}.first(1)) == 1);
  CHECK(schema_version(db, "apsched_test") == 1);
  CHECK(migrate(db, "apsched_test", two_steps) == 2);
  CHECK(migrate(db, "apsched_test", two_steps) == 2);
  CHECK(db.query("SELECT string_agg(version::text, ',' ORDER BY version) FROM log").text(0, 0) ==
        "1,2");
  CHECK(schema_version(db, "apsched_test") == 2);
  CHECK_FALSE(schema_version(db, "another").has_value());
}

TEST_CASE("postgres migrate: a newer schema is refused, naming both versions", "[postgres]") {
  TestSchema schema;
  Connection db = schema.connect();
  migrate(db, "apsched_test", two_steps);
  db.query("UPDATE apsched_schema SET version = 7 WHERE name = $1", "apsched_test");
  REQUIRE_THROWS_AS(migrate(db, "apsched_test", two_steps), apsched::SchemaVersionError);
  CHECK_THROWS_WITH(
      migrate(db, "apsched_test", two_steps),
      contains("has schema version 7 of apsched_test") && contains("supports up to version 2"));
}

TEST_CASE("postgres migrate: a failing step leaves nothing of the call", "[postgres]") {
  TestSchema schema;
  Connection db = schema.connect();
  const std::array<Migration, 2> broken{{
      {1, "CREATE TABLE kept_only_if_all_pass (n int);"},
      {2, "SELEC 1;"},
  }};
  CHECK_THROWS_WITH(migrate(db, "apsched_test", broken),
                    contains("migrate: version 2 of apsched_test: exec: \"SELEC 1;\""));
  CHECK_FALSE(schema_version(db, "apsched_test").has_value());
  CHECK(db.query("SELECT to_regclass('kept_only_if_all_pass') IS NULL").text(0, 0) == "t");
  // The connection is out of the failed transaction and migrates once the steps are right.
  CHECK(migrate(db, "apsched_test", two_steps) == 2);
}

TEST_CASE("postgres migrate: versions must increase", "[postgres]") {
  TestSchema schema;
  Connection db = schema.connect();
  const std::array<Migration, 2> unordered{{{2, "SELECT 1;"}, {1, "SELECT 1;"}}};
  CHECK_THROWS_AS(migrate(db, "apsched_test", unordered), apsched::InvalidArgumentError);
}

TEST_CASE("postgres migrate: connections migrating at once apply each step once",
          "[postgres][thread]") {
  TestSchema schema;
  constexpr int migrators = 4;
  std::vector<Connection> connections;
  for (int i = 0; i < migrators; ++i) {
    connections.push_back(schema.connect());
  }
  std::array<std::int64_t, migrators> reached{};
  {
    std::vector<std::jthread> threads;
    for (int i = 0; i < migrators; ++i) {
      threads.emplace_back([&, i] {
        const auto index = static_cast<std::size_t>(i);
        try {
          reached[index] = migrate(connections[index], "apsched_test", two_steps);
        } catch (...) {
          reached[index] = -1;  // failed
        }
      });
    }
  }
  for (const std::int64_t version : reached) {
    CHECK(version == 2);
  }
  Connection db = schema.connect();
  CHECK(db.query("SELECT count(*) FROM log").int64(0, 0) == 2);
}

TEST_CASE("postgres store: a database at the previous schema version migrates and keeps its rows",
          "[postgres]") {
  using apsched::detail::postgres::store_migrations;
  TestSchema schema;
  Connection db = schema.connect();
  const std::span previous = std::span{store_migrations}.first(store_migrations.size() - 1);
  REQUIRE(migrate(db, apsched::PostgresJobStore::schema_name, previous) == previous.back().version);
  // Written by a scheduler of that version: a job, a fire in flight and a finished one, and
  // that scheduler's lease.
  db.exec(
      "INSERT INTO apsched_jobs (id, task, arguments, trigger, options, next_fire, next_run, "
      "paused, version) VALUES ('a', 'ping', '[]', '{}', '{}', 0, 0, false, 1);"
      "INSERT INTO apsched_fires (job_id, scheduled, state, runs, owner, recorded_at) VALUES "
      "('a', 1, 'submitted', 1, 'old', 0);"
      "INSERT INTO apsched_fires (job_id, scheduled, state, runs, owner, recorded_at, "
      "finished_at) VALUES ('a', 0, 'succeeded', 1, 'old', 0, 0);"
      "INSERT INTO apsched_owners (owner, host, pid, started_at, lease_until) VALUES "
      "('old', 'elsewhere', 1, 0, 9000000000000000000);");
  const apsched::PostgresJobStore store{schema.conninfo(), {.history_per_job = 7}};
  CHECK(schema_version(db, apsched::PostgresJobStore::schema_name) ==
        store_migrations.back().version);
  CHECK(db.query("SELECT count(*) FROM apsched_jobs").int64(0, 0) == 1);
  const std::vector<apsched::FireRecord> history = store.fire_history("a");
  REQUIRE(history.size() == 2);
  CHECK(history[0].state == apsched::FireState::submitted);
  CHECK(history[1].state == apsched::FireState::succeeded);
  // The lease of the old scheduler, which wrote no history_per_job, and the store's own.
  CHECK(db.query("SELECT history_per_job FROM apsched_owners WHERE owner = 'old'").int64(0, 0) ==
        0);
  CHECK(
      db.query("SELECT history_per_job FROM apsched_owners WHERE owner = $1", store.owner().text())
          .int64(0, 0) == 7);
  CHECK(db.query("SELECT to_regclass('apsched_fires_claimed') IS NOT NULL").text(0, 0) == "t");
}

}  // namespace postgres_migrate_test
