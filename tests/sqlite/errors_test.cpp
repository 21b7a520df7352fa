// SPDX-License-Identifier: MIT
// Errors of a SQLite store name the store, its file, the operation and SQLite's reason with
// what the file system says of the cause: at open (missing directory, read-only file or
// directory, damaged file) and later (a file damaged while open, between scheduler steps).
#include <apsched/callback_scheduler.hpp>
#include <apsched/executors/inline.hpp>
#include <apsched/sqlite/job_store.hpp>
#include <apsched/testing/manual_clock.hpp>
#include <apsched/triggers/interval.hpp>

#include "support/catch.hpp"
#include "support/event_log.hpp"
#include "support/sqlite_jobs.hpp"
#include "support/temp_dir.hpp"

#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sqlite_errors_test {

using namespace std::chrono_literals;
using apsched::JobRecord;
using apsched::SqliteJobStore;
using apsched::TimePoint;
using apsched::test::contains;
using apsched::test::make_job;
using apsched::test::make_tasks;
using apsched::test::open_store;
using apsched::test::TempDir;

namespace {
const TimePoint t0 = TimePoint{std::chrono::sys_days{std::chrono::year{2026} / 1 / 1}};
}  // namespace

namespace {

using Catch::Matchers::StartsWith;

// The message of the StoreError that opening a store on `file` throws, or "" when it opens.
std::string open_error(const std::filesystem::path& file) {
  try {
    const SqliteJobStore store{file};
  } catch (const apsched::StoreError& error) {
    return error.what();
  }
  return {};
}

// open_error, in a child process running as user nobody when this one runs as root (whom file
// permissions do not stop); empty when the child cannot drop root's privileges.
std::optional<std::string> open_error_unprivileged(const std::filesystem::path& file) {
  if (geteuid() != 0) {
    return open_error(file);
  }
  std::array<int, 2> ends{};
  REQUIRE(pipe(ends.data()) == 0);
  const pid_t child = fork();
  if (child == 0) {  // no Catch2 macro here: the child only reports through the pipe
    close(ends[0]);
    const gid_t nobody = 65534;
    if (setgroups(0, nullptr) != 0 || setgid(nobody) != 0 || setuid(nobody) != 0) {
      _exit(2);
    }
    const std::string message = open_error(file);
    std::size_t written = 0;
    while (written < message.size()) {
      const ssize_t n = write(ends[1], message.data() + written, message.size() - written);
      if (n <= 0) {
        _exit(1);
      }
      written += static_cast<std::size_t>(n);
    }
    _exit(0);
  }
  REQUIRE(child > 0);
  close(ends[1]);
  std::string message;
  std::array<char, 256> buffer{};
  for (ssize_t n = 0; (n = read(ends[0], buffer.data(), buffer.size())) > 0;) {
    message.append(buffer.data(), static_cast<std::size_t>(n));
  }
  close(ends[0]);
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 2) {
    return std::nullopt;
  }
  REQUIRE(WEXITSTATUS(status) == 0);
  return message;
}

// Damages the schema record of table `table` in `file`, as a stray program could: SQLite then
// finds the schema malformed (SQLITE_CORRUPT) on every connection, including open ones.
void damage_schema(const std::filesystem::path& file, const std::string& table) {
  auto db = apsched::detail::sqlite::Database::open(file);
  std::int64_t schema_version = 0;
  {
    auto read = db.prepare("PRAGMA schema_version");
    REQUIRE(read.step());
    schema_version = read.column_int64(0);
  }
  db.exec("PRAGMA writable_schema = ON");
  db.exec(
      fmt::format("UPDATE sqlite_master SET sql = 'CREATE TABLE {0} (' WHERE name = '{0}'", table));
  db.exec(fmt::format("PRAGMA schema_version = {}", schema_version + 1));
}

}  // namespace

TEST_CASE("sqlite store: a damaged file is refused at open, naming the file and the operation",
          "[sqlite][error]") {
  TempDir dir;
  const auto file = dir.file("jobs.db");
  { const SqliteJobStore store{file}; }
  {
    std::fstream out{file, std::ios::binary | std::ios::in | std::ios::out};
    const std::string garbage(100, 'x');  // the 100-byte header
    out.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }
  REQUIRE_THROWS_AS(SqliteJobStore{file}, apsched::StoreError);
  const std::string message = open_error(file);
  // The store and the file lead; SQLite's reason follows the operation; the SQL comes last.
  CHECK_THAT(message, StartsWith(fmt::format("SqliteJobStore \"{}\": open: file is not a database",
                                             file.string())));
  CHECK_THAT(message, contains(" (SQL: "));
}

TEST_CASE("sqlite store: a file under a missing directory names the directory", "[sqlite][error]") {
  TempDir dir;
  const auto file = dir.file("missing") / "jobs.db";
  REQUIRE_THROWS_AS(SqliteJobStore{file}, apsched::StoreError);
  CHECK(open_error(file) == fmt::format("SqliteJobStore \"{}\": open: unable to open database "
                                        "file; directory \"{}\" does not exist",
                                        file.string(), dir.file("missing").string()));
}

TEST_CASE("sqlite store: a read-only file or directory is named as the cause at open",
          "[sqlite][error]") {
  namespace fs = std::filesystem;
  TempDir dir;
  const auto file = dir.file("jobs.db");
  { const SqliteJobStore store{file}; }
  const fs::perms readable = fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read;
  const fs::perms writable =
      fs::perms::owner_write | fs::perms::group_write | fs::perms::others_write;
  const fs::perms read_only_directory =
      readable | fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec;
  SECTION("a read-only file") {
    fs::permissions(dir.path(), fs::perms::all);  // the journal files may be created
    fs::permissions(file, readable);
    const std::optional<std::string> message = open_error_unprivileged(file);
    if (!message) {
      WARN("skipped: this process runs as root and cannot drop its privileges");
      return;
    }
    CHECK_THAT(*message, StartsWith(fmt::format("SqliteJobStore \"{}\": open: attempt to write a "
                                                "readonly database; the file is read-only",
                                                file.string())));
    CHECK_THAT(*message, contains(" (SQL: INSERT INTO owners "));
  }
  SECTION("a file in a read-only directory") {
    fs::permissions(file, readable | writable);
    fs::permissions(dir.path(), read_only_directory);
    const std::optional<std::string> message = open_error_unprivileged(file);
    fs::permissions(dir.path(), fs::perms::owner_all);
    if (!message) {
      WARN("skipped: this process runs as root and cannot drop its privileges");
      return;
    }
    CHECK_THAT(*message, StartsWith(fmt::format(
                             "SqliteJobStore \"{}\": open: attempt to write a readonly database; "
                             "directory \"{}\" is read-only, so SQLite cannot create the file's "
                             "journal (-wal, -shm) beside it",
                             file.string(), dir.path().string())));
  }
  SECTION("a new file in a read-only directory") {
    const auto missing = dir.file("new.db");
    fs::permissions(dir.path(), read_only_directory);
    const std::optional<std::string> message = open_error_unprivileged(missing);
    fs::permissions(dir.path(), fs::perms::owner_all);
    if (!message) {
      WARN("skipped: this process runs as root and cannot drop its privileges");
      return;
    }
    CHECK(*message == fmt::format("SqliteJobStore \"{}\": open: unable to open database file; "
                                  "directory \"{}\" is not writable, so the file cannot be created "
                                  "(Permission denied)",
                                  missing.string(), dir.path().string()));
  }
}

TEST_CASE("sqlite store: errors of a file damaged while open name the file and the operation",
          "[sqlite][error]") {
  TempDir dir;
  const auto file = dir.file("jobs.db");
  const auto tasks = make_tasks();
  SqliteJobStore store = open_store(file, tasks);
  REQUIRE(store.insert(make_job(*tasks, "a", t0)) != nullptr);
  damage_schema(file, "jobs");
  const std::string prefix = fmt::format("SqliteJobStore \"{}\": ", file.string());
  const std::string reason = ": malformed database schema (jobs)";
  REQUIRE_THROWS_AS(store.find("a"), apsched::StoreError);
  CHECK_THROWS_WITH(store.find("a"), StartsWith(prefix + "find job" + reason));
  CHECK_THROWS_WITH(store.insert(make_job(*tasks, "b", t0)),
                    StartsWith(prefix + "add job" + reason));
  CHECK_THROWS_WITH(store.erase("a"), StartsWith(prefix + "remove job" + reason));
  CHECK_THROWS_WITH(store.first_due(t0), StartsWith(prefix + "read due jobs" + reason));
  CHECK_THROWS_WITH(store.take_abandoned(),
                    StartsWith(prefix + "take over abandoned fires" + reason));
  CHECK_THROWS_WITH(store.fire_history("a"), StartsWith(prefix + "read fire history" + reason));
  CHECK_THROWS_WITH(store.export_jobs(), StartsWith(prefix + "export" + reason));
  // The SQL is for debugging: at the end.
  CHECK_THROWS_WITH(store.find("a"), contains(" (SQL: SELECT "));
}

TEST_CASE("sqlite store: a file damaged between scheduler steps is reported naming the file",
          "[sqlite][error]") {
  using Scheduler =
      apsched::CallbackScheduler<SqliteJobStore, apsched::InlineExecutor, apsched::ManualClock>;
  TempDir dir;
  const auto file = dir.file("jobs.db");
  apsched::test::EventLog log;
  apsched::ManualClock clock{t0};
  Scheduler scheduler{SqliteJobStore{file}, {}, clock};
  scheduler.add_listener(log.listener());
  int runs = 0;
  scheduler.register_task("count", [&runs] { ++runs; });
  scheduler.start();
  scheduler.add_job(apsched::task("count"), apsched::IntervalTrigger{10s}, {.id = "count"});
  clock.advance(10s);
  scheduler.process_due_jobs();
  REQUIRE(runs == 1);
  REQUIRE(log.count(apsched::EventType::store_error) == 0);

  damage_schema(file, "jobs");
  clock.advance(10s);
  scheduler.process_due_jobs();
  CHECK(runs == 1);
  const std::vector<apsched::Event> errors = log.of(apsched::EventType::store_error);
  REQUIRE_FALSE(errors.empty());
  const std::string message = apsched::detail::describe(errors.front().exception);
  CHECK_THAT(message, StartsWith(fmt::format("SqliteJobStore \"{}\": ", file.string())));
  CHECK_THAT(message, contains(": malformed database schema (jobs)"));
}

}  // namespace sqlite_errors_test
