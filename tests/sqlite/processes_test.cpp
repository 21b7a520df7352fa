// SPDX-License-Identifier: MIT
// Several processes on one SQLite file: every fire runs exactly once; a scheduler process
// killed with SIGKILL at random moments leaves an intact file, every job with a correct next run
// time, and no fire recorded or run twice. Children are forked from the single-threaded test
// process and write each run they make to an append-only ledger file, the independent record
// the checks compare against.
#include <apsched/background_scheduler.hpp>
#include <apsched/callback_scheduler.hpp>
#include <apsched/executors/inline.hpp>
#include <apsched/sqlite/job_store.hpp>
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

// Appends "<job id> <scheduled ns> <attempt>\n" to the ledger in one write (O_APPEND: lines of
// several processes never interleave).
void append_line(const std::filesystem::path& ledger, const std::string& line) {
  const int fd = ::open(ledger.c_str(), O_WRONLY | O_APPEND | O_CREAT, 0644);
  if (fd < 0 || ::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    std::_Exit(3);
  }
  ::close(fd);
}

// The ledger's lines: (job id, scheduled ns) -> the attempt of each run, in ledger order.
std::map<std::pair<std::string, std::int64_t>, std::vector<unsigned>> read_ledger(
    const std::filesystem::path& ledger) {
  std::map<std::pair<std::string, std::int64_t>, std::vector<unsigned>> runs;
  std::ifstream in{ledger};
  std::string id;
  std::int64_t scheduled = 0;
  unsigned attempt = 0;
  while (in >> id >> scheduled >> attempt) {
    runs[{id, scheduled}].push_back(attempt);
  }
  return runs;
}

// A scheduler on `file` whose task "work" writes each run to `ledger`, then works for `busy`.
void register_work(Scheduler& scheduler, const std::filesystem::path& ledger) {
  scheduler.register_task("work", [ledger](const apsched::JobContext& context, int busy_ms) {
    append_line(ledger, fmt::format("{} {} {}\n", context.job_id,
                                    nanoseconds(context.scheduled_run_time), context.attempt));
    if (busy_ms > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds{busy_ms});
    }
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
                    {.id = fmt::format("job-{:04}", i)}, 0);
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
  for (const auto& [fire, attempts] : runs) {
    INFO(fire.first << " at " << fire.second);
    CHECK(attempts.size() == 1);
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
  // Odd jobs queue their overlapping runs and work longer than their interval, which keeps the
  // pool's ten workers busy: runs wait for a worker, their fires claimed. Jobs 2 and 3 of each
  // four are run again when their process dies while they run.
  const auto queues = [](int i) { return i % 2 == 1; };
  const auto reruns = [](int i) { return i % 4 >= 2; };
  {
    Scheduler setup{apsched::SqliteJobStore{file}};
    register_work(setup, ledger);
    for (int i = 0; i < jobs; ++i) {
      const int busy_ms = queues(i) ? static_cast<int>(interval_of(i).count()) + 5 : 0;
      setup.add_job(apsched::task("work"),
                    apsched::IntervalTrigger{interval_of(i), {.start_date = start}},
                    {.id = fmt::format("job-{:02}", i),
                     .overlap = queues(i) ? apsched::Overlap::queue : apsched::Overlap::skip,
                     .abandoned = reruns(i) ? apsched::Abandoned::rerun : apsched::Abandoned::drop},
                    busy_ms);
    }
  }
  const auto check_ledger = [&](RawDatabase& db) {
    // Every run in the ledger was recorded as a fire before it ran. A fire ran once, but a
    // fire of a rerun job once per attempt, up to the attempt recorded for it.
    std::map<std::pair<std::string, std::int64_t>, unsigned> recorded;
    for (const auto& row : db.rows("SELECT job_id, scheduled, attempt FROM fires")) {
      recorded[{row[0], std::stoll(row[1])}] = static_cast<unsigned>(std::stoul(row[2]));
    }
    for (const auto& [fire, attempts] : read_ledger(ledger)) {
      INFO(fire.first << " at " << fire.second);
      REQUIRE(recorded.contains(fire));
      const bool rerun = reruns(std::stoi(fire.first.substr(4)));
      CHECK(attempts.size() <= (rerun ? recorded[fire] : 1U));
      CHECK(std::set<unsigned>(attempts.begin(), attempts.end()).size() == attempts.size());
      for (const unsigned attempt : attempts) {
        CHECK(attempt <= recorded[fire]);
      }
    }
  };
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
    check_ledger(db);
  }

  // A last scheduler, with every job paused, takes over what the killed ones left: the fires
  // they only claimed run (as first runs), the ones that ran are abandoned or run again per
  // their job's policy. Then nothing is left in flight, and no lease.
  {
    RawDatabase db{file};
    INFO("claimed fires left: " << db.rows("SELECT COUNT(*) FROM fires WHERE state = "
                                           "'claimed'")[0][0]);
  }
  const pid_t last = spawn([&] {
    {
      auto db = apsched::detail::sqlite::Database::open(file);
      db.exec("UPDATE jobs SET paused = 1");
    }
    Scheduler scheduler{
        apsched::SqliteJobStore{file, {.poll_interval = 20ms, .history_per_job = 1'000'000}}};
    register_work(scheduler, ledger);
    scheduler.start();
    for (;;) {
      {
        RawDatabase db{file};
        if (db.rows("SELECT COUNT(*) FROM fires WHERE state IN ('claimed', 'submitted')")[0][0] ==
            "0") {
          break;
        }
      }
      std::this_thread::sleep_for(20ms);
    }
    scheduler.shutdown();
  });
  REQUIRE(wait_for(last, [] {
            return std::string{"the last scheduler waits for the fires left in flight to end"};
          }) == 0);
  RawDatabase db{file};
  check_ledger(db);
  CHECK(db.rows("SELECT COUNT(*) FROM fires WHERE state IN ('claimed', 'submitted')")[0][0] == "0");
  CHECK(db.rows("SELECT COUNT(*) FROM owners")[0][0] == "0");
  // A fire recorded as run ran: it is in the ledger.
  const auto runs = read_ledger(ledger);
  for (const auto& row :
       db.rows("SELECT job_id, scheduled FROM fires WHERE state IN ('succeeded', 'failed')")) {
    INFO(row[0] << " at " << row[1]);
    CHECK(runs.contains({row[0], std::stoll(row[1])}));
  }
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
