// SPDX-License-Identifier: MIT
// Several processes on one SQLite file: every fire runs exactly once; a scheduler process
// killed with SIGKILL at random moments leaves an intact file, every job with a correct next run
// time, and no fire recorded or run twice. Children are forked from the single-threaded test
// process and write each run they make to an append-only ledger file, the independent record
// the checks compare against.
#include <apsched/background_scheduler.hpp>
#include <apsched/callback_scheduler.hpp>
#include <apsched/executors/inline.hpp>
#include <apsched/stores/sqlite.hpp>
#include <apsched/testing/manual_clock.hpp>
#include <apsched/triggers/date.hpp>
#include <apsched/triggers/interval.hpp>

#include "support/catch.hpp"
#include "support/processes.hpp"
#include "support/temp_dir.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace sqlite_processes_test {

using namespace std::chrono_literals;
using apsched::TimePoint;
using apsched::test::spawn;
using apsched::test::wait_for;

namespace {

using Scheduler = apsched::BackgroundScheduler<apsched::SqliteJobStore>;

std::int64_t nanoseconds(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

// Appends "<job id> <scheduled ns>\n" to the ledger in one write (O_APPEND: lines of several
// processes never interleave).
void append_line(const std::filesystem::path& ledger, const std::string& line) {
  const int fd = ::open(ledger.c_str(), O_WRONLY | O_APPEND | O_CREAT, 0644);
  if (fd < 0 || ::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    std::_Exit(3);
  }
  ::close(fd);
}

// The ledger's lines counted: (job id, scheduled ns) -> runs.
std::map<std::pair<std::string, std::int64_t>, int> read_ledger(
    const std::filesystem::path& ledger) {
  std::map<std::pair<std::string, std::int64_t>, int> runs;
  std::ifstream in{ledger};
  std::string id;
  std::int64_t scheduled = 0;
  while (in >> id >> scheduled) {
    ++runs[{id, scheduled}];
  }
  return runs;
}

// A scheduler on `file` whose task "work" writes each run to `ledger`.
void register_work(Scheduler& scheduler, const std::filesystem::path& ledger) {
  scheduler.register_task("work", [ledger](const apsched::JobContext& context) {
    append_line(ledger,
                fmt::format("{} {}\n", context.job_id, nanoseconds(context.scheduled_run_time)));
  });
}

// A read-only look at the file through SQLite itself.
class RawDatabase {
 public:
  explicit RawDatabase(const std::filesystem::path& file) {
    REQUIRE(sqlite3_open_v2(file.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  }
  RawDatabase(const RawDatabase&) = delete;
  RawDatabase& operator=(const RawDatabase&) = delete;
  ~RawDatabase() { sqlite3_close(db_); }

  // Every row of `sql`, each column as text.
  std::vector<std::vector<std::string>> rows(const std::string& sql) {
    sqlite3_stmt* statement = nullptr;
    REQUIRE(sqlite3_prepare_v2(db_, sql.c_str(), -1, &statement, nullptr) == SQLITE_OK);
    std::vector<std::vector<std::string>> result;
    while (sqlite3_step(statement) == SQLITE_ROW) {
      std::vector<std::string> row;
      for (int i = 0; i < sqlite3_column_count(statement); ++i) {
        const unsigned char* text = sqlite3_column_text(statement, i);
        row.emplace_back(text != nullptr ? reinterpret_cast<const char*>(text) : "NULL");
      }
      result.push_back(std::move(row));
    }
    sqlite3_finalize(statement);
    return result;
  }

 private:
  sqlite3* db_ = nullptr;
};

int iterations_from_environment(int fallback) {
  if (const char* value = std::getenv("APSCHED_CRASH_ITERATIONS")) {
    return std::max(1, std::atoi(value));
  }
  return fallback;
}

}  // namespace

TEST_CASE("sqlite processes: four processes on one file run each of 1,000 fires exactly once",
          "[sqlite][process]") {
  const apsched::test::TempDir dir;
  const std::filesystem::path file = dir.path() / "jobs.db";
  const std::filesystem::path ledger = dir.path() / "ledger.txt";
  constexpr int jobs = 1000;
  const TimePoint first = apsched::SystemClock{}.now() + 1s;
  {
    Scheduler setup{apsched::SqliteJobStore{file}};
    register_work(setup, ledger);
    for (int i = 0; i < jobs; ++i) {
      // Due over two seconds, several at each instant.
      setup.add_job(apsched::task("work"), apsched::DateTrigger{first + (i / 4) * 8ms},
                    {.id = fmt::format("job-{:04}", i)});
    }
  }
  std::vector<pid_t> children;
  for (int p = 0; p < 4; ++p) {
    children.push_back(spawn([&] {
      Scheduler scheduler{apsched::SqliteJobStore{file, {.poll_interval = 50ms}}};
      register_work(scheduler, ledger);
      scheduler.start();
      // A date job leaves the store when its fire is recorded: done once the store is empty.
      while (!scheduler.get_jobs().empty()) {
        std::this_thread::sleep_for(20ms);
      }
      scheduler.shutdown();
    }));
  }
  for (const pid_t child : children) {
    CHECK(wait_for(child) == 0);
  }

  const auto runs = read_ledger(ledger);
  CHECK(runs.size() == static_cast<std::size_t>(jobs));
  for (const auto& [fire, count] : runs) {
    INFO(fire.first << " at " << fire.second);
    CHECK(count == 1);
  }
  RawDatabase db{file};
  CHECK(db.rows("SELECT COUNT(*) FROM jobs")[0][0] == "0");
  CHECK(db.rows("SELECT COUNT(*) FROM fires WHERE state = 'succeeded'")[0][0] ==
        std::to_string(jobs));
  // Which process takes a due job is a race (whichever locks the file first takes every job
  // due then): under a sanitizer one process may win them all, which is no error.
  if (db.rows("SELECT COUNT(DISTINCT owner) FROM fires")[0][0] == "1") {
    WARN("one process ran every fire: the others found nothing due when they looked");
  }
}

TEST_CASE("sqlite processes: SIGKILL at random moments never corrupts, loses or repeats",
          "[sqlite][process]") {
  const apsched::test::TempDir dir;
  const std::filesystem::path file = dir.path() / "jobs.db";
  const std::filesystem::path ledger = dir.path() / "ledger.txt";
  constexpr int jobs = 20;
  const TimePoint start = apsched::SystemClock{}.now();
  const auto interval_of = [](int i) { return std::chrono::milliseconds{10 + 5 * i}; };
  {
    Scheduler setup{apsched::SqliteJobStore{file}};
    register_work(setup, ledger);
    for (int i = 0; i < jobs; ++i) {
      setup.add_job(apsched::task("work"),
                    apsched::IntervalTrigger{interval_of(i), {.start_date = start}},
                    {.id = fmt::format("job-{:02}", i)});
    }
  }
  const int iterations = iterations_from_environment(20);
  std::mt19937 random{std::random_device{}()};
  std::uniform_int_distribution<int> kill_after_ms{5, 300};
  for (int iteration = 0; iteration < iterations; ++iteration) {
    const pid_t child = spawn([&] {
      // Keeps the whole fire history, so every run in the ledger can be found among the fires.
      Scheduler scheduler{
          apsched::SqliteJobStore{file, {.poll_interval = 20ms, .history_per_job = 1'000'000}}};
      register_work(scheduler, ledger);
      scheduler.start();
      std::this_thread::sleep_for(apsched::test::hang_limit);  // until killed
    });
    std::this_thread::sleep_for(std::chrono::milliseconds{kill_after_ms(random)});
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    REQUIRE(WIFSIGNALED(status));

    INFO("after kill " << iteration + 1);
    RawDatabase db{file};
    REQUIRE(db.rows("PRAGMA integrity_check") == std::vector<std::vector<std::string>>{{"ok"}});
    const auto stored = db.rows("SELECT id, next_fire FROM jobs ORDER BY id");
    REQUIRE(stored.size() == static_cast<std::size_t>(jobs));
    for (int i = 0; i < jobs; ++i) {
      // The next fire is one of the trigger's fire times, after every fire recorded for it.
      const std::int64_t next = std::stoll(stored[static_cast<std::size_t>(i)][1]);
      const std::int64_t step = std::chrono::nanoseconds{interval_of(i)}.count();
      CHECK((next - nanoseconds(start)) % step == 0);
      const auto latest =
          db.rows(fmt::format("SELECT MAX(scheduled) FROM fires WHERE job_id = 'job-{:02}'", i));
      if (latest[0][0] != "NULL") {
        CHECK(next > std::stoll(latest[0][0]));
      }
    }
    // Every run in the ledger was recorded as a fire before it ran, and none ran twice.
    std::set<std::pair<std::string, std::int64_t>> recorded;
    for (const auto& row : db.rows("SELECT job_id, scheduled FROM fires")) {
      recorded.emplace(row[0], std::stoll(row[1]));
    }
    for (const auto& [fire, count] : read_ledger(ledger)) {
      INFO(fire.first << " at " << fire.second);
      CHECK(count == 1);
      CHECK(recorded.contains(fire));
    }
  }

  // The fires the killed children left submitted are found (their processes are gone) and
  // recorded as abandoned, the default policy; none is left in flight.
  {
    apsched::SqliteJobStore store{file};
    const std::vector<apsched::AbandonedFire> taken = store.take_abandoned();
    for (const apsched::AbandonedFire& fire : taken) {
      CHECK_FALSE(fire.rerun);
    }
  }
  RawDatabase db{file};
  CHECK(db.rows("SELECT COUNT(*) FROM fires WHERE state = 'submitted'")[0][0] == "0");
  CHECK(db.rows("SELECT COUNT(*) FROM owners")[0][0] == "0");
}

TEST_CASE("sqlite processes: a job changed in one process reads back changed in another",
          "[sqlite][process]") {
  using Stepped = apsched::CallbackScheduler<apsched::SqliteJobStore, apsched::InlineExecutor,
                                             apsched::ManualClock>;
  apsched::test::TempDir dir;
  const std::filesystem::path file = dir.file("jobs.db");
  const TimePoint t0 = apsched::ManualClock{}.now();
  apsched::ManualClock clock{t0};
  Stepped parent{apsched::SqliteJobStore{file}, {}, clock};
  parent.register_task("noop", [] {});
  parent.start();
  parent.add_job(apsched::task("noop"), apsched::IntervalTrigger{10s}, {.id = "job"});
  // The exit status of a child process that opens the file and checks the job it reads there.
  const auto in_child = [&](auto check) {
    return wait_for(spawn([&] {
      apsched::ManualClock child_clock{t0};
      Stepped child{apsched::SqliteJobStore{file}, {}, child_clock};
      child.register_task("noop", [] {});
      const std::optional<apsched::JobInfo> job = child.get_job("job");
      if (!job || !check(*job)) {
        std::_Exit(1);
      }
    }));
  };
  parent.modify_job("job", {.name = "r1", .max_instances = 3});
  CHECK(in_child([](const apsched::JobInfo& job) {
          return job.name == "r1" && job.max_instances == 3;
        }) == 0);
  parent.reschedule_job("job", apsched::IntervalTrigger{30s});
  CHECK(in_child([&](const apsched::JobInfo& job) {
          return job.trigger.describe() == "interval[30s]" && job.next_run_time == t0 + 30s;
        }) == 0);
  parent.pause_job("job");
  CHECK(in_child([](const apsched::JobInfo& job) { return !job.next_run_time; }) == 0);
  parent.resume_job("job");
  CHECK(in_child([&](const apsched::JobInfo& job) { return job.next_run_time == t0 + 30s; }) == 0);
}

}  // namespace sqlite_processes_test
