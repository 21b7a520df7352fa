// SPDX-License-Identifier: MIT
// The libpq layer against a real server: parameters, error messages, a lost connection and
// reconnecting, LISTEN/NOTIFY.
#include <apsched/detail/postgres/connection.hpp>

#include "support/catch.hpp"
#include "support/postgres.hpp"

#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace postgres_connection_test {

using namespace std::chrono_literals;
using apsched::detail::postgres::Connection;
using apsched::detail::postgres::Notification;
using apsched::detail::postgres::PgError;
using apsched::test::contains;
using apsched::test::TestSchema;

TEST_CASE("postgres connection: parameters travel apart from the SQL", "[postgres]") {
  TestSchema schema;
  Connection db = schema.connect();
  db.exec("CREATE TABLE t (id text PRIMARY KEY, n bigint, flag boolean, note text)");
  const std::string tricky = "it's \"quoted\"; DROP TABLE t; -- na\u00efve";
  CHECK(db.query("INSERT INTO t VALUES ($1, $2, $3, $4)", tricky,
                 std::numeric_limits<std::int64_t>::min(), true, std::nullopt)
            .affected() == 1);
  CHECK(db.query("INSERT INTO t VALUES ($1, $2, $3, $4)", "b", 42, false, "x").affected() == 1);
  const auto rows = db.query("SELECT id, n, flag, note FROM t ORDER BY n");
  REQUIRE(rows.rows() == 2);
  CHECK(rows.text(0, 0) == tricky);
  CHECK(rows.int64(0, 1) == std::numeric_limits<std::int64_t>::min());
  CHECK(rows.text(0, 2) == "t");
  CHECK(rows.is_null(0, 3));
  CHECK(rows.int64(1, 1) == 42);
  CHECK(rows.text(1, 2) == "f");
  CHECK(db.query("UPDATE t SET n = n + 1 WHERE id = $1", "nobody").affected() == 0);
  CHECK_THROWS_WITH(rows.int64(0, 3), contains("expected an integer"));
}

TEST_CASE("postgres connection: a failing statement names the call, the SQL and the SQLSTATE",
          "[postgres]") {
  TestSchema schema;
  Connection db = schema.connect();
  db.exec("CREATE TABLE t (id text PRIMARY KEY)");
  db.query("INSERT INTO t VALUES ($1)", "a");
  try {
    db.query("INSERT INTO t VALUES ($1)", "a");
    FAIL("a duplicate key was accepted");
  } catch (const PgError& error) {
    CHECK(error.sqlstate() == "23505");
    CHECK_FALSE(error.connection_lost());
    CHECK_FALSE(error.transient());
    CHECK_THAT(std::string{error.what()}, contains("query: \"INSERT INTO t VALUES ($1)\": ") &&
                                              contains("duplicate key") &&
                                              contains("(SQLSTATE 23505)"));
  }
  CHECK_THROWS_WITH(db.exec("SELEC 1"), contains("exec: \"SELEC 1\": ") && contains("42601"));
  // The connection is still usable.
  CHECK(db.query("SELECT count(*) FROM t").int64(0, 0) == 1);
}

TEST_CASE("postgres connection: a refused connection names the server, not the password",
          "[postgres]") {
  try {
    (void)Connection::open(
        "host=127.0.0.1 port=1 dbname=nowhere password=s3cret connect_timeout=5");
    FAIL("connected to port 1");
  } catch (const PgError& error) {
    CHECK(error.connection_lost());
    CHECK(error.transient());
    CHECK_THAT(std::string{error.what()},
               contains("open: server 127.0.0.1:1 database \"nowhere\": "));
    CHECK_THAT(std::string{error.what()}, !contains("s3cret"));
  }
}

TEST_CASE("postgres connection: a connection the server ends is reported lost and reopened",
          "[postgres]") {
  TestSchema schema;
  Connection db = schema.connect();
  db.exec("CREATE TABLE t (n bigint)");
  const int pid = db.backend_pid();
  REQUIRE(schema.admin().query("SELECT pg_terminate_backend($1)", pid).text(0, 0) == "t");
  bool lost = false;
  try {
    db.query("INSERT INTO t VALUES ($1)", 1);
  } catch (const PgError& error) {
    lost = error.connection_lost();
    CHECK(error.transient());
  }
  CHECK(lost);
  CHECK_FALSE(db.connected());
  db.reconnect();
  CHECK(db.connected());
  CHECK(db.backend_pid() != pid);
  // The new session has the same settings: the schema's table is found.
  db.query("INSERT INTO t VALUES ($1)", 2);
  CHECK(db.query("SELECT sum(n) FROM t").int64(0, 0) == 2);
}

TEST_CASE("postgres connection: notifications reach the listening connection", "[postgres]") {
  TestSchema schema;
  Connection listener = schema.connect();
  Connection sender = schema.connect();
  listener.listen("apsched \"wake\"");
  CHECK(listener.wait_for_notifications(0ms).empty());
  sender.notify("apsched \"wake\"", "job-1");
  sender.notify("other", "ignored");
  sender.exec("BEGIN");
  sender.notify("apsched \"wake\"", "job-2");
  sender.exec("COMMIT");
  std::vector<Notification> received;
  // Generous: only a hung server makes this wait long.
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (received.size() < 2 && std::chrono::steady_clock::now() < deadline) {
    for (Notification& notification : listener.wait_for_notifications(1000ms)) {
      received.push_back(std::move(notification));
    }
  }
  REQUIRE(received.size() == 2);
  CHECK(received[0].channel == "apsched \"wake\"");
  CHECK(received[0].payload == "job-1");
  CHECK(received[0].sender == sender.backend_pid());
  CHECK(received[1].payload == "job-2");
  CHECK(listener.wait_for_notifications(0ms).empty());
}

TEST_CASE("postgres connection: a statement run again is prepared, once per session",
          "[postgres]") {
  TestSchema schema;
  Connection db = schema.connect();
  db.exec("CREATE TABLE t (id text PRIMARY KEY)");
  const auto prepared = [&db] {
    return db
        .query("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE $1",
               "INSERT INTO t%")
        .int64(0, 0);
  };
  db.query("INSERT INTO t VALUES ($1)", "a");
  CHECK(prepared() == 0);  // run once: not prepared
  db.query("INSERT INTO t VALUES ($1)", "b");
  db.query("INSERT INTO t VALUES ($1)", "c");
  CHECK(prepared() == 1);  // prepared at its second run, and used from then on
  // A statement deallocated behind the connection's back runs unprepared, then is prepared again.
  db.exec("DEALLOCATE ALL");
  db.query("INSERT INTO t VALUES ($1)", "d");
  db.query("INSERT INTO t VALUES ($1)", "e");
  CHECK(prepared() == 1);
  // Errors of a prepared statement read as those of any other.
  CHECK_THROWS_WITH(
      db.query("INSERT INTO t VALUES ($1)", "a"),
      contains("query: \"INSERT INTO t VALUES ($1)\": ") && contains("duplicate key"));
  // A new session prepares anew.
  db.reconnect();
  db.query("INSERT INTO t VALUES ($1)", "f");
  db.query("INSERT INTO t VALUES ($1)", "g");
  CHECK(prepared() == 1);
  CHECK(db.query("SELECT count(*) FROM t").int64(0, 0) == 7);
}

TEST_CASE("postgres connection: session statements run at every connect", "[postgres]") {
  TestSchema schema;
  Connection db = Connection::open(schema.conninfo(), {}, "SET jit = off");
  CHECK(db.query("SELECT current_setting($1)", "jit").text(0, 0) == "off");
  db.reconnect();
  CHECK(db.query("SELECT current_setting($1)", "jit").text(0, 0) == "off");
}

}  // namespace postgres_connection_test
