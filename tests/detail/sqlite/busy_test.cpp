// SPDX-License-Identifier: MIT
// The busy policy of the SQLite layer: backoff, retry budget and the on_retry hook.
#include <apsched/detail/sqlite/busy.hpp>
#include <apsched/detail/sqlite/database.hpp>

#include "support/catch.hpp"
#include "support/temp_dir.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <latch>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

namespace detail_sqlite_busy_test {

using namespace std::chrono_literals;
using apsched::StoreError;
using apsched::detail::SplitMix64;
using apsched::detail::sqlite::Backoff;
using apsched::detail::sqlite::BusyContext;
using apsched::detail::sqlite::BusyPolicy;
using apsched::detail::sqlite::BusyRetry;
using apsched::detail::sqlite::Database;
using apsched::detail::sqlite::Options;
using apsched::detail::sqlite::SqliteError;
using apsched::detail::sqlite::Transaction;
using apsched::test::contains;
using apsched::test::TempDir;

namespace {

std::int64_t count_rows(Database& db) {
  auto count = db.prepare("SELECT count(*) FROM t");
  REQUIRE(count.step());
  return count.column_int64(0);
}

// A file with a table `t`, a connection that holds the write lock in a transaction, and the
// retries the connection under test reports.
struct Contention {
  TempDir dir;
  std::filesystem::path path = dir.file("jobs.db");
  Database blocker = Database::open(path);
  std::optional<Transaction> hold;
  std::vector<BusyRetry> retries;
  std::vector<std::string> retried_sql;

  Contention() {
    blocker.exec("CREATE TABLE t (x INTEGER)");
    hold.emplace(blocker);
    blocker.exec("INSERT INTO t VALUES (1)");
  }

  // Opens the connection under test; `on_retry` runs after the retry is recorded.
  Database open(std::chrono::nanoseconds max_wait,
                std::function<void(const BusyRetry&)> on_retry = {}) {
    return Database::open(path,
                          Options{.busy = {.max_wait = max_wait,
                                           .on_retry = [this, on_retry](const BusyRetry& retry) {
                                             retries.push_back(retry);
                                             retried_sql.emplace_back(retry.sql);
                                             if (on_retry) {
                                               on_retry(retry);
                                             }
                                           }}});
  }
};

}  // namespace

TEST_CASE("sqlite backoff doubles from the initial delay up to the cap, less at most a quarter",
          "[sqlite][busy]") {
  BusyContext context{.policy = {.initial_backoff = 1ms, .max_backoff = 50ms},
                      .random = SplitMix64{42}};
  Backoff backoff{context};
  std::set<std::chrono::nanoseconds> at_cap;
  for (const std::chrono::nanoseconds nominal : std::vector<std::chrono::nanoseconds>{
           1ms, 2ms, 4ms, 8ms, 16ms, 32ms, 50ms, 50ms, 50ms, 50ms, 50ms, 50ms}) {
    const std::chrono::nanoseconds delay = backoff.next_delay();
    CHECK(delay <= nominal);
    CHECK(delay >= nominal * 3 / 4);
    if (nominal == 50ms) {
      at_cap.insert(delay);
    }
  }
  // The jitter spreads retries of connections that collided.
  CHECK(at_cap.size() > 1);
  CHECK(backoff.attempts() == 0);
  CHECK(backoff.waited() == 0ns);
}

TEST_CASE("sqlite backoff never waits zero, even with a zero policy", "[sqlite][busy]") {
  BusyContext context{.policy = {.initial_backoff = 0ns, .max_backoff = 0ns},
                      .random = SplitMix64{1}};
  Backoff backoff{context};
  CHECK(backoff.next_delay() > 0ns);
  CHECK(backoff.next_delay() > 0ns);
}

TEST_CASE(
    "sqlite write blocked by another connection's transaction retries, then fails with "
    "database is locked",
    "[sqlite][busy]") {
  Contention c;
  auto db = c.open(50ms);
  REQUIRE_THROWS_AS(db.exec("INSERT INTO t VALUES (2)"), StoreError);
  REQUIRE_FALSE(c.retries.empty());
  for (std::size_t i = 0; i < c.retries.size(); ++i) {
    CHECK(c.retries[i].call == "exec");
    CHECK(c.retried_sql[i] == "INSERT INTO t VALUES (2)");
    CHECK(c.retries[i].attempt == static_cast<int>(i + 1));
  }
  REQUIRE_THROWS_WITH(db.exec("INSERT INTO t VALUES (2)"),
                      contains("exec: \"INSERT INTO t VALUES (2)\": database is locked (after "));
  auto insert = db.prepare("INSERT INTO t VALUES (?1)");
  insert.bind(1, 3);
  REQUIRE_THROWS_AS(insert.execute(), StoreError);
  REQUIRE_THROWS_WITH(insert.execute(),
                      contains("step: \"INSERT INTO t VALUES (?1)\": database is locked"));
  try {
    insert.execute();
  } catch (const SqliteError& error) {
    CHECK(error.primary_code() == SQLITE_BUSY);
  }
  REQUIRE_THROWS_AS(Transaction{db}, StoreError);
  REQUIRE_THROWS_WITH(Transaction{db},
                      contains(fmt::format("begin: \"{}\": database is locked", c.path.string())));
  c.hold->commit();
  CHECK(insert.execute() == 1);
  CHECK(count_rows(db) == 2);
}

TEST_CASE("sqlite write succeeds when the blocker commits while it retries", "[sqlite][busy]") {
  Contention c;
  auto db = c.open(10s, [&c](const BusyRetry& retry) {
    if (retry.attempt == 2) {
      c.hold->commit();
    }
  });
  db.exec("INSERT INTO t VALUES (2)");
  CHECK(c.retries.size() == 2);
  CHECK(count_rows(db) == 2);
}

TEST_CASE("sqlite prepared statement's step retries until the blocker rolls back",
          "[sqlite][busy]") {
  Contention c;
  auto db = c.open(10s, [&c](const BusyRetry& retry) {
    if (retry.attempt == 3) {
      c.hold->rollback();
    }
  });
  auto insert = db.prepare_cached("INSERT INTO t VALUES (?1)");
  insert->bind(1, 2);
  CHECK(insert->execute() == 1);
  CHECK(c.retries.size() == 3);
  CHECK(c.retries.front().call == "step");
  CHECK(count_rows(db) == 1);
}

TEST_CASE("sqlite BEGIN IMMEDIATE is retried until the other transaction ends", "[sqlite][busy]") {
  Contention c;
  auto db = c.open(10s, [&c](const BusyRetry& retry) {
    if (retry.attempt == 2) {
      c.hold->commit();
    }
  });
  {
    Transaction tx{db};
    db.exec("INSERT INTO t VALUES (2)");
    tx.commit();
  }
  REQUIRE(c.retries.size() == 2);
  CHECK(c.retries.front().call == "begin");
  CHECK(c.retried_sql.front() == "BEGIN IMMEDIATE");
  CHECK(count_rows(db) == 2);
}

TEST_CASE("sqlite zero max_wait fails at the first busy result without retrying",
          "[sqlite][busy]") {
  Contention c;
  auto db = c.open(0ns);
  REQUIRE_THROWS_AS(db.exec("INSERT INTO t VALUES (2)"), StoreError);
  REQUIRE_THROWS_WITH(db.exec("INSERT INTO t VALUES (2)"),
                      "exec: \"INSERT INTO t VALUES (2)\": database is locked");
  CHECK(c.retries.empty());
}

TEST_CASE(
    "sqlite busy write inside a deferred transaction fails at once: SQLite requires a rollback",
    "[sqlite][busy]") {
  Contention c;
  auto db = c.open(10s);
  db.exec("BEGIN");
  REQUIRE_THROWS_AS(db.exec("INSERT INTO t VALUES (2)"), StoreError);
  REQUIRE_THROWS_WITH(db.exec("INSERT INTO t VALUES (2)"),
                      "exec: \"INSERT INTO t VALUES (2)\": database is locked");
  CHECK(c.retries.empty());
  db.exec("ROLLBACK");
}

TEST_CASE("sqlite readers are not blocked by a writer in WAL mode", "[sqlite][busy]") {
  Contention c;
  auto db = c.open(10s);
  CHECK(count_rows(db) == 0);
  CHECK(c.retries.empty());
}

TEST_CASE("sqlite exception from on_retry ends the operation and leaves the statement usable",
          "[sqlite][busy]") {
  Contention c;
  auto db = c.open(10s, [](const BusyRetry&) { throw std::runtime_error{"stop retrying"}; });
  auto insert = db.prepare("INSERT INTO t VALUES (2)");
  REQUIRE_THROWS_AS(insert.execute(), std::runtime_error);
  REQUIRE_THROWS_WITH(insert.execute(), "stop retrying");
  c.hold->commit();
  CHECK(insert.execute() == 1);
  CHECK(count_rows(db) == 2);
}

TEST_CASE("sqlite writer on another thread waits until the transaction ends",
          "[sqlite][busy][thread]") {
  Contention c;
  std::latch retrying{1};
  std::exception_ptr failure;
  std::thread writer{[&] {
    bool signalled = false;
    const auto signal_once = [&] {
      if (!signalled) {
        signalled = true;
        retrying.count_down();
      }
    };
    try {
      auto db = Database::open(
          c.path,
          Options{.busy = {.max_wait = 10s, .on_retry = [&](const BusyRetry&) { signal_once(); }}});
      db.exec("INSERT INTO t VALUES (2)");
    } catch (...) {
      failure = std::current_exception();
      signal_once();
    }
  }};
  retrying.wait();
  c.hold->commit();
  writer.join();
  if (failure) {
    std::rethrow_exception(failure);
  }
  CHECK(count_rows(c.blocker) == 2);
}

}  // namespace detail_sqlite_busy_test
