// SPDX-License-Identifier: MIT
// The test server of the PostgreSQL tests, and a schema of its own per test.
#pragma once

#include <apsched/detail/postgres/connection.hpp>

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <string_view>

namespace apsched::test {

/// The value of `key` in the state file of the test server the ctest fixture postgres_server
/// started (tests/support/postgres_server.sh; ctest names the file in
/// APSCHED_TEST_POSTGRES_SERVER), or empty.
inline std::string postgres_server_state(std::string_view key) {
  const char* path = std::getenv("APSCHED_TEST_POSTGRES_SERVER");
  if (path == nullptr || *path == 0) {
    return {};
  }
  std::ifstream file{path};
  for (std::string line; std::getline(file, line);) {
    if (line.size() > key.size() && line.starts_with(key) && line[key.size()] == '=') {
      return line.substr(key.size() + 1);
    }
  }
  return {};
}

/// The connection string of the test database: the environment variable APSCHED_TEST_POSTGRES,
/// else the fixture's server, else the one the tests were configured with. When the fixture
/// found no server to start, prints its reason and ends the test process with the exit code
/// ctest reads as skipped (77).
inline std::string postgres_conninfo() {
  if (const char* value = std::getenv("APSCHED_TEST_POSTGRES"); value != nullptr && *value != 0) {
    return value;
  }
  if (std::string conninfo = postgres_server_state("conninfo"); !conninfo.empty()) {
    return conninfo;
  }
  if (const std::string reason = postgres_server_state("skip"); !reason.empty()) {
    fmt::print("skipped: {}\n", reason);
    std::fflush(stdout);
    std::_Exit(77);
  }
#ifdef APSCHED_TEST_POSTGRES_DEFAULT
  return APSCHED_TEST_POSTGRES_DEFAULT;
#else
  return {};
#endif
}

/// A shell command that restarts the test server: the environment variable
/// APSCHED_TEST_POSTGRES_RESTART, else the fixture's, else empty.
inline std::string postgres_restart_command() {
  if (const char* value = std::getenv("APSCHED_TEST_POSTGRES_RESTART");
      value != nullptr && *value != 0) {
    return value;
  }
  return postgres_server_state("restart");
}

/// A new schema apsched_test_<random> in the test database, dropped with its contents on
/// destruction, so that tests running at once do not meet. Connections from conninfo() or
/// connect() use it as their search_path.
/// Not thread-safe.
class TestSchema {
 public:
  TestSchema() : admin_{detail::postgres::Connection::open(postgres_conninfo())} {
    std::random_device random;
    name_ = fmt::format("apsched_test_{:08x}{:08x}", random(), random());
    admin_.exec(fmt::format("CREATE SCHEMA {}", name_));
  }
  TestSchema(const TestSchema&) = delete;
  TestSchema& operator=(const TestSchema&) = delete;
  ~TestSchema() {
    try {
      if (!admin_.connected()) {
        admin_.reconnect();
      }
      admin_.exec(fmt::format("DROP SCHEMA {} CASCADE", name_));
    } catch (...) {  // NOLINT(bugprone-empty-catch): a schema left behind only takes space
    }
  }

  /// The schema's name.
  [[nodiscard]] const std::string& name() const noexcept { return name_; }

  /// The test database's connection string with this schema as the search_path, and with
  /// `application` as the session's application_name (to find it in pg_stat_activity).
  [[nodiscard]] std::string conninfo(std::string_view application = "apsched-test") const {
    const std::string base = postgres_conninfo();
    if (base.starts_with("postgresql://") || base.starts_with("postgres://")) {
      return fmt::format("{}{}options=-csearch_path%3D{}&application_name={}", base,
                         base.find('?') == std::string::npos ? '?' : '&', name_, application);
    }
    return fmt::format("{} options='-csearch_path={}' application_name='{}'", base, name_,
                       application);
  }

  /// A new connection to the test database, in this schema.
  [[nodiscard]] detail::postgres::Connection connect() const {
    return detail::postgres::Connection::open(conninfo());
  }

  /// A connection outside the schema, for administration (pg_terminate_backend, ...).
  [[nodiscard]] detail::postgres::Connection& admin() noexcept { return admin_; }

 private:
  detail::postgres::Connection admin_;
  std::string name_;
};

}  // namespace apsched::test
