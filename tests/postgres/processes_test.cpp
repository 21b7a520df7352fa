// SPDX-License-Identifier: MIT
// Several scheduler processes on one PostgreSQL database: every fire runs exactly once, and when
// one is killed with SIGKILL while its jobs run, the others take its fires over per the jobs'
// policy. Each run writes a row to a ledger table of its own, the independent record the checks
// compare against. Children are forked from the single-threaded test process.
#include <apsched/background_scheduler.hpp>
#include <apsched/stores/postgres.hpp>
#include <apsched/triggers/date.hpp>
#include <apsched/triggers/interval.hpp>

#include "support/catch.hpp"
#include "support/postgres.hpp"
#include "support/processes.hpp"

#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace postgres_processes_test {

using namespace std::chrono_literals;
using apsched::TimePoint;
using apsched::detail::postgres::Connection;
using apsched::test::spawn;
using apsched::test::TestSchema;
using apsched::test::wait_for;

namespace {

using Scheduler = apsched::BackgroundScheduler<apsched::PostgresJobStore>;

std::int64_t nanoseconds(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

int count_from_environment(const char* name, int fallback) {
  if (const char* value = std::getenv(name)) {
    return std::max(1, std::atoi(value));
  }
  return fallback;
}

// Registers task "work": each run inserts (job id, scheduled ns, pid) into the ledger table,
// through a connection of the running thread, then sleeps `pause`.
void register_work(Scheduler& scheduler, const std::string& conninfo,
                   std::chrono::milliseconds pause) {
  scheduler.register_task("work", [conninfo, pause](const apsched::JobContext& context) {
    thread_local std::optional<Connection> ledger;
    if (!ledger || !ledger->connected()) {
      ledger.emplace(Connection::open(conninfo));
    }
    ledger->query("INSERT INTO ledger (job_id, scheduled, pid) VALUES ($1, $2, $3)", context.job_id,
                  nanoseconds(context.scheduled_run_time), static_cast<std::int64_t>(::getpid()));
    if (pause > 0ms) {
      std::this_thread::sleep_for(pause);
    }
  });
}

// Adds `jobs` date jobs "job-NNNNN" due from `first` over `spread`, `policy` for abandoned
// fires, through a scheduler that is never started.
void add_jobs(const std::string& conninfo, int jobs, TimePoint first,
              std::chrono::milliseconds spread, apsched::Abandoned policy) {
  Scheduler setup{apsched::PostgresJobStore{conninfo}};
  register_work(setup, conninfo, 0ms);
  setup.batch([&] {
    for (int i = 0; i < jobs; ++i) {
      setup.add_job(apsched::task("work"), apsched::DateTrigger{first + spread * i / jobs},
                    {.id = fmt::format("job-{:05}", i), .abandoned = policy});
    }
  });
}

// Runs a scheduler until the database holds no job and no fire still submitted (so that the
// fires of a killed scheduler are taken over first), then shuts it down.
void run_until_done(const std::string& conninfo, std::chrono::milliseconds pause) {
  Scheduler scheduler{
      apsched::PostgresJobStore{conninfo, {.poll_interval = 100ms, .lease_duration = 2s}}};
  register_work(scheduler, conninfo, pause);
  scheduler.start();
  Connection watch = Connection::open(conninfo);
  while (watch
             .query("SELECT (SELECT count(*) FROM apsched_jobs) + (SELECT count(*) FROM "
                    "apsched_fires WHERE state = 'submitted')")
             .int64(0, 0) > 0) {
    std::this_thread::sleep_for(50ms);
  }
  scheduler.shutdown();
}

std::int64_t single(Connection& db, const std::string& sql) { return db.query(sql).int64(0, 0); }

}  // namespace

TEST_CASE("postgres processes: three schedulers run each of 10,000 fires exactly once",
          "[postgres][process]") {
  TestSchema schema;
  const std::string conninfo = schema.conninfo();
  const int jobs = count_from_environment("APSCHED_PG_FIRES", 10'000);
  Connection db = schema.connect();
  db.exec("CREATE TABLE ledger (job_id text NOT NULL, scheduled bigint NOT NULL, pid bigint)");
  add_jobs(conninfo, jobs, apsched::SystemClock{}.now() + 1s, 3s, apsched::Abandoned::drop);
  std::vector<pid_t> children;
  for (int p = 0; p < 3; ++p) {
    children.push_back(spawn([&] { run_until_done(conninfo, 0ms); }));
  }
  for (const pid_t child : children) {
    CHECK(wait_for(child) == 0);
  }
  CHECK(single(db, "SELECT count(*) FROM ledger") == jobs);
  CHECK(single(db, "SELECT count(DISTINCT (job_id, scheduled)) FROM ledger") == jobs);
  CHECK(single(db, "SELECT count(*) FROM apsched_fires WHERE state = 'succeeded'") == jobs);
  CHECK(single(db, "SELECT count(*) FROM apsched_fires") == jobs);
  CHECK(single(db, "SELECT count(*) FROM apsched_jobs") == 0);
  // Every fire recorded is the one the ledger saw, and the work was shared.
  CHECK(single(db,
               "SELECT count(*) FROM ledger l JOIN apsched_fires f ON f.job_id = l.job_id "
               "AND f.scheduled = l.scheduled") == jobs);
  CHECK(single(db, "SELECT count(DISTINCT pid) FROM ledger") > 1);
}

namespace {

// What the schedulers still wait for, read through a new connection: the jobs left, the fires
// recorded as submitted with their owners, and the owners' leases (by the database clock).
std::string waiting_for(const std::string& conninfo) {
  Connection db = Connection::open(conninfo);
  const auto rows = [&](const std::string& sql) {
    const auto result = db.query(sql);
    std::string text;
    for (int row = 0; row < result.rows(); ++row) {
      text += fmt::format("{}{}", text.empty() ? "" : "; ", result.text(row, 0));
    }
    return text.empty() ? std::string{"none"} : text;
  };
  return fmt::format(
      "jobs left: {}; fires still submitted: {}; owners: {}",
      rows("SELECT id || ' next_run ' || next_run || ' paused ' || paused FROM apsched_jobs "
           "ORDER BY id LIMIT 20"),
      rows("SELECT job_id || '@' || scheduled || ' by ' || coalesce(owner, '-') || ' attempt ' || "
           "attempt FROM apsched_fires WHERE state = 'submitted' ORDER BY job_id LIMIT 20"),
      rows("SELECT owner || ' pid ' || pid || ' lease ends in ' || "
           "((lease_until - (extract(epoch FROM clock_timestamp()) * 1e9)::bigint) / 1000000) || "
           "' ms' FROM apsched_owners ORDER BY owner"));
}

// Kills the first of `children` once it has run 5 fires, and waits for all; the others must
// exit on their own (a hung one is described through waiting_for before it is killed).
void kill_first(Connection& db, const std::vector<pid_t>& children, const std::string& conninfo) {
  const auto deadline = std::chrono::steady_clock::now() + apsched::test::hang_limit;
  while (single(db, fmt::format("SELECT count(*) FROM ledger WHERE pid = {}", children[0])) < 5 &&
         std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(children[0], &status, WNOHANG) == children[0]) {
      FAIL("the scheduler to be killed exited on its own, with status " << status);
    }
    std::this_thread::sleep_for(5ms);
  }
  ::kill(children[0], SIGKILL);
  CHECK(wait_for(children[0]) == 128 + SIGKILL);
  for (std::size_t i = 1; i < children.size(); ++i) {
    CHECK(wait_for(children[i], [&] { return waiting_for(conninfo); }) == 0);
  }
}

}  // namespace

TEST_CASE("postgres processes: the fires of a scheduler killed while they run are dropped",
          "[postgres][process]") {
  TestSchema schema;
  const std::string conninfo = schema.conninfo();
  constexpr int jobs = 300;
  Connection db = schema.connect();
  db.exec("CREATE TABLE ledger (job_id text NOT NULL, scheduled bigint NOT NULL, pid bigint)");
  add_jobs(conninfo, jobs, apsched::SystemClock{}.now() + 500ms, 1500ms, apsched::Abandoned::drop);
  // Runs of 20 ms: each scheduler has runs in flight most of the time.
  std::vector<pid_t> children;
  for (int p = 0; p < 3; ++p) {
    children.push_back(spawn([&] { run_until_done(conninfo, 20ms); }));
  }
  kill_first(db, children, conninfo);
  // Every fire is recorded once and ended: none is left submitted, no job is left.
  CHECK(single(db, "SELECT count(*) FROM apsched_fires") == jobs);
  CHECK(single(db, "SELECT count(*) FROM apsched_fires WHERE state = 'submitted'") == 0);
  CHECK(single(db, "SELECT count(*) FROM apsched_jobs") == 0);
  const std::int64_t abandoned =
      single(db, "SELECT count(*) FROM apsched_fires WHERE state = 'abandoned'");
  CHECK(abandoned >= 1);  // it was killed with runs in flight
  CHECK(single(db, "SELECT count(*) FROM apsched_fires WHERE state = 'succeeded'") ==
        jobs - abandoned);
  // No fire ran twice; every fire that succeeded ran.
  CHECK(single(db,
               "SELECT count(*) FROM (SELECT 1 FROM ledger GROUP BY job_id, scheduled "
               "HAVING count(*) > 1) AS repeated") == 0);
  CHECK(single(db,
               "SELECT count(*) FROM apsched_fires f WHERE state = 'succeeded' AND NOT "
               "EXISTS (SELECT 1 FROM ledger l WHERE l.job_id = f.job_id AND "
               "l.scheduled = f.scheduled)") == 0);
}

TEST_CASE("postgres processes: the fires of a scheduler killed while they run are run again",
          "[postgres][process]") {
  TestSchema schema;
  const std::string conninfo = schema.conninfo();
  Connection db = schema.connect();
  db.exec("CREATE TABLE ledger (job_id text NOT NULL, scheduled bigint NOT NULL, pid bigint)");
  // Interval jobs every 100 ms for 3 s, and one-shot jobs due in the first 200 ms, when the
  // first scheduler is killed: the fire of a one-shot job (and an interval job's last) is its
  // job's last, run again all the same.
  const TimePoint first = apsched::SystemClock{}.now() + 500ms;
  const TimePoint end = first + 3s;
  {
    Scheduler setup{apsched::PostgresJobStore{conninfo}};
    register_work(setup, conninfo, 0ms);
    setup.batch([&] {
      for (int i = 0; i < 40; ++i) {
        setup.add_job(
            apsched::task("work"),
            apsched::IntervalTrigger{100ms, {.start_date = first + i * 2ms, .end_date = end}},
            {.id = fmt::format("job-{:02}", i), .abandoned = apsched::Abandoned::rerun});
        setup.add_job(apsched::task("work"), apsched::DateTrigger{first + i * 5ms},
                      {.id = fmt::format("once-{:02}", i), .abandoned = apsched::Abandoned::rerun});
      }
    });
  }
  std::vector<pid_t> children;
  for (int p = 0; p < 3; ++p) {
    children.push_back(spawn([&] { run_until_done(conninfo, 20ms); }));
  }
  kill_first(db, children, conninfo);
  CHECK(single(db, "SELECT count(*) FROM apsched_fires WHERE state = 'submitted'") == 0);
  // Fires taken over ran again, as attempt 2, a job's last fire too: none is abandoned, each
  // one-shot job ran, and no job is left kept for a rerun.
  CHECK(single(db,
               "SELECT count(*) FROM apsched_fires WHERE attempt = 2 AND state = "
               "'succeeded'") >= 1);
  CHECK(single(db, "SELECT count(*) FROM apsched_fires WHERE state = 'abandoned'") == 0);
  CHECK(single(db,
               "SELECT count(*) FROM apsched_fires WHERE job_id LIKE 'once-%' AND state = "
               "'succeeded'") == 40);
  CHECK(single(db, "SELECT count(*) FROM apsched_retired_jobs") == 0);
  if (single(db, "SELECT count(*) FROM apsched_fires WHERE job_id LIKE 'once-%' AND attempt = 2") ==
      0) {
    WARN("no one-shot job ran in the killed scheduler when it was killed: none was run again");
  }
  // A fire ran at most twice, and twice only when it was run again; every success ran.
  CHECK(single(db,
               "SELECT count(*) FROM (SELECT job_id, scheduled FROM ledger GROUP BY job_id, "
               "scheduled HAVING count(*) > 2) AS thrice") == 0);
  CHECK(single(db,
               "SELECT count(*) FROM (SELECT job_id, scheduled FROM ledger GROUP BY job_id, "
               "scheduled HAVING count(*) = 2) AS twice LEFT JOIN apsched_fires f USING "
               "(job_id, scheduled) WHERE f.attempt IS DISTINCT FROM 2") == 0);
  CHECK(single(db,
               "SELECT count(*) FROM apsched_fires f WHERE state = 'succeeded' AND NOT "
               "EXISTS (SELECT 1 FROM ledger l WHERE l.job_id = f.job_id AND "
               "l.scheduled = f.scheduled)") == 0);
}

}  // namespace postgres_processes_test
