// SPDX-License-Identifier: MIT
// Several scheduler processes on one PostgreSQL database: every fire runs exactly once, and when
// one is killed with SIGKILL while its jobs run, the others take its fires over per the jobs'
// policy. Each run writes a row to a ledger table of its own, the independent record the checks
// compare against. Children are forked from the single-threaded test process.
#include <apsched/background_scheduler.hpp>
#include <apsched/postgres/job_store.hpp>
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

// Creates the ledger table the runs of task "work" write to, in the order they start.
void create_ledger(Connection& db) {
  db.exec(
      "CREATE TABLE ledger (id bigserial PRIMARY KEY, job_id text NOT NULL, scheduled bigint NOT "
      "NULL, pid bigint, attempt bigint NOT NULL)");
}

// Registers task "work": each run inserts (job id, scheduled ns, pid, attempt) into the ledger
// table, through a connection of the running thread, then sleeps `pause`.
void register_work(Scheduler& scheduler, const std::string& conninfo,
                   std::chrono::milliseconds pause) {
  scheduler.register_task("work", [conninfo, pause](const apsched::JobContext& context) {
    thread_local std::optional<Connection> ledger;
    if (!ledger || !ledger->connected()) {
      ledger.emplace(Connection::open(conninfo));
    }
    ledger->query("INSERT INTO ledger (job_id, scheduled, pid, attempt) VALUES ($1, $2, $3, $4)",
                  context.job_id, nanoseconds(context.scheduled_run_time),
                  static_cast<std::int64_t>(::getpid()),
                  static_cast<std::int64_t>(context.attempt));
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

// Runs a scheduler with `workers` worker threads until the database holds no job and no fire
// still claimed or submitted (so that the fires of a killed scheduler are taken over first), then
// shuts it down.
void run_until_done(const std::string& conninfo, std::chrono::milliseconds pause,
                    std::size_t workers = apsched::ThreadPoolExecutor::default_workers) {
  Scheduler scheduler{
      apsched::PostgresJobStore{conninfo, {.poll_interval = 100ms, .lease_duration = 2s}},
      apsched::ThreadPoolExecutor{workers}};
  register_work(scheduler, conninfo, pause);
  scheduler.start();
  Connection watch = Connection::open(conninfo);
  while (watch
             .query("SELECT (SELECT count(*) FROM apsched_jobs) + (SELECT count(*) FROM "
                    "apsched_fires WHERE state IN ('submitted', 'claimed'))")
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
  create_ledger(db);
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
      "jobs left: {}; fires still claimed or submitted: {}; owners: {}",
      rows("SELECT id || ' next_run ' || next_run || ' paused ' || paused FROM apsched_jobs "
           "ORDER BY id LIMIT 20"),
      rows("SELECT job_id || '@' || scheduled || ' ' || state || ' by ' || coalesce(owner, '-') "
           "|| ' attempt ' || attempt FROM apsched_fires WHERE state IN ('submitted', 'claimed') "
           "ORDER BY job_id LIMIT 20"),
      rows("SELECT owner || ' pid ' || pid || ' lease ends in ' || "
           "((lease_until - (extract(epoch FROM clock_timestamp()) * 1e9)::bigint) / 1000000) || "
           "' ms' FROM apsched_owners ORDER BY owner"));
}

// The fires the killed scheduler had recorded claimed and submitted when it died.
struct Held {
  std::int64_t claimed = 0;
  std::int64_t submitted = 0;
};

// Kills the first of `children` once it has run `runs` fires, and waits for all; the others
// must exit on their own (a hung one is described through waiting_for before it is killed).
// Returns what the killed one held, counted while it is stopped (SIGSTOP) just before the kill:
// a stopped process still holds its lease, so no other scheduler takes its fires over meanwhile.
Held kill_first(Connection& db, const std::vector<pid_t>& children, const std::string& conninfo,
                std::int64_t runs = 5) {
  const auto deadline = std::chrono::steady_clock::now() + apsched::test::hang_limit;
  while (single(db, fmt::format("SELECT count(*) FROM ledger WHERE pid = {}", children[0])) <
             runs &&
         std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(children[0], &status, WNOHANG) == children[0]) {
      FAIL("the scheduler to be killed exited on its own, with status " << status);
    }
    std::this_thread::sleep_for(5ms);
  }
  ::kill(children[0], SIGSTOP);
  int stopped = 0;
  REQUIRE(::waitpid(children[0], &stopped, WUNTRACED) == children[0]);
  REQUIRE(WIFSTOPPED(stopped));
  const auto held = [&](const char* state) {
    return single(db, fmt::format("SELECT count(*) FROM apsched_fires f JOIN apsched_owners o "
                                  "USING (owner) WHERE o.pid = {} AND f.state = '{}'",
                                  children[0], state));
  };
  const Held at_kill{held("claimed"), held("submitted")};
  ::kill(children[0], SIGKILL);
  CHECK(wait_for(children[0]) == 128 + SIGKILL);
  for (std::size_t i = 1; i < children.size(); ++i) {
    CHECK(wait_for(children[i], [&] { return waiting_for(conninfo); }) == 0);
  }
  return at_kill;
}

}  // namespace

TEST_CASE("postgres processes: the fires of a scheduler killed while they run are dropped",
          "[postgres][process]") {
  TestSchema schema;
  const std::string conninfo = schema.conninfo();
  constexpr int jobs = 300;
  Connection db = schema.connect();
  create_ledger(db);
  add_jobs(conninfo, jobs, apsched::SystemClock{}.now() + 500ms, 1500ms, apsched::Abandoned::drop);
  // Runs of 20 ms: each scheduler has runs in flight most of the time.
  std::vector<pid_t> children;
  for (int p = 0; p < 3; ++p) {
    children.push_back(spawn([&] { run_until_done(conninfo, 20ms); }));
  }
  kill_first(db, children, conninfo);
  // Every fire is recorded once and ended: none is left submitted, no job is left.
  CHECK(single(db, "SELECT count(*) FROM apsched_fires") == jobs);
  CHECK(single(db, "SELECT count(*) FROM apsched_fires WHERE state IN ('submitted', 'claimed')") ==
        0);
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
  create_ledger(db);
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
  CHECK(single(db, "SELECT count(*) FROM apsched_fires WHERE state IN ('submitted', 'claimed')") ==
        0);
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

TEST_CASE(
    "postgres processes: a scheduler killed with a backlog leaves every fire to run once on the "
    "others",
    "[postgres][process]") {
  TestSchema schema;
  const std::string conninfo = schema.conninfo();
  constexpr int jobs = 300;
  constexpr std::size_t workers = 2;
  Connection db = schema.connect();
  create_ledger(db);
  add_jobs(conninfo, jobs, apsched::SystemClock{}.now() + 1s, 1s, apsched::Abandoned::drop);
  // Runs of 50 ms, due far faster than 3 x 2 workers run them: each scheduler has a backlog.
  std::vector<pid_t> children;
  for (int p = 0; p < 3; ++p) {
    children.push_back(spawn([&] { run_until_done(conninfo, 50ms, workers); }));
  }
  const pid_t killed = children[0];
  const Held held = kill_first(db, children, conninfo, 6);
  const std::int64_t abandoned =
      single(db, "SELECT count(*) FROM apsched_fires WHERE state = 'abandoned'");
  const std::int64_t abandoned_unstarted =
      single(db,
             "SELECT count(*) FROM apsched_fires f WHERE state = 'abandoned' AND NOT EXISTS "
             "(SELECT 1 FROM ledger l WHERE l.job_id = f.job_id AND l.scheduled = f.scheduled)");
  WARN("the killed scheduler had "
       << held.claimed << " fires claimed and " << held.submitted << " submitted; " << abandoned
       << " were abandoned, " << abandoned_unstarted << " of them never started; "
       << single(db, fmt::format("SELECT count(*) FROM ledger WHERE pid = {}", killed))
       << " fires ran there");
  CHECK(single(db, "SELECT count(*) FROM apsched_fires") == jobs);
  CHECK(single(db, "SELECT count(*) FROM apsched_fires WHERE state IN ('submitted', 'claimed')") ==
        0);
  CHECK(single(db, "SELECT count(*) FROM apsched_jobs") == 0);
  // Only the fires it had started, or handed to its pool to start within the scheduler's start
  // window (100 ms) at its pace (40 runs/s), or whose outcome it had not written yet, are
  // abandoned: a few per worker, not its backlog.
  CHECK(abandoned <= static_cast<std::int64_t>(4 * workers));
  CHECK(abandoned <= held.submitted);
  CHECK(single(db, "SELECT count(*) FROM apsched_fires WHERE state = 'succeeded'") ==
        jobs - abandoned);
  // No fire ran twice, or again; every fire not abandoned ran; an abandoned one ran (if at all)
  // only in the killed scheduler.
  CHECK(single(db,
               "SELECT count(*) FROM (SELECT 1 FROM ledger GROUP BY job_id, scheduled "
               "HAVING count(*) > 1) AS repeated") == 0);
  CHECK(single(db, "SELECT count(*) FROM ledger WHERE attempt <> 1") == 0);
  CHECK(single(db,
               "SELECT count(*) FROM apsched_fires f WHERE state <> 'abandoned' AND NOT "
               "EXISTS (SELECT 1 FROM ledger l WHERE l.job_id = f.job_id AND "
               "l.scheduled = f.scheduled)") == 0);
  CHECK(single(db, fmt::format("SELECT count(*) FROM apsched_fires f JOIN ledger l USING "
                               "(job_id, scheduled) WHERE f.state = 'abandoned' AND l.pid <> {}",
                               killed)) == 0);
  CHECK(single(db, "SELECT count(*) FROM ledger") ==
        jobs - abandoned +
            single(db,
                   "SELECT count(*) FROM apsched_fires "
                   "f JOIN ledger l USING (job_id, "
                   "scheduled) WHERE f.state = "
                   "'abandoned'"));
}

TEST_CASE(
    "postgres processes: a scheduler killed with queued runs leaves them to the others and "
    "runs again only the rerun jobs' fires",
    "[postgres][process]") {
  TestSchema schema;
  const std::string conninfo = schema.conninfo();
  constexpr std::size_t workers = 4;
  Connection db = schema.connect();
  create_ledger(db);
  // Jobs every 40 ms whose runs take 60 ms, one run at a time: each job has a run queued behind
  // its running one (claimed) most of the time. Under 100 fires per job: the history keeps all.
  const TimePoint first = apsched::SystemClock{}.now() + 500ms;
  const TimePoint end = first + 2500ms;
  {
    Scheduler setup{apsched::PostgresJobStore{conninfo}};
    register_work(setup, conninfo, 0ms);
    setup.batch([&] {
      for (int i = 0; i < 16; ++i) {
        for (const auto policy : {apsched::Abandoned::rerun, apsched::Abandoned::drop}) {
          setup.add_job(
              apsched::task("work"),
              apsched::IntervalTrigger{40ms, {.start_date = first + i * 2ms, .end_date = end}},
              {.id = fmt::format("{}-{:02}", policy == apsched::Abandoned::rerun ? "rerun" : "drop",
                                 i),
               .overlap = apsched::Overlap::queue,
               .abandoned = policy});
        }
      }
    });
  }
  std::vector<pid_t> children;
  for (int p = 0; p < 3; ++p) {
    children.push_back(spawn([&] { run_until_done(conninfo, 60ms, workers); }));
  }
  const Held held = kill_first(db, children, conninfo, 10);
  WARN("the killed scheduler had "
       << held.claimed << " fires claimed and " << held.submitted << " submitted; "
       << single(db, "SELECT count(*) FROM apsched_fires WHERE attempt > 1") << " were run again, "
       << single(db, "SELECT count(*) FROM apsched_fires WHERE state = 'abandoned'")
       << " abandoned, of "
       << single(db, "SELECT count(*) FROM apsched_fires WHERE state = 'succeeded'")
       << " fires run");
  CHECK(single(db, "SELECT count(*) FROM apsched_fires WHERE state IN ('submitted', 'claimed')") ==
        0);
  CHECK(single(db, "SELECT count(*) FROM apsched_jobs") == 0);
  CHECK(single(db, "SELECT count(*) FROM apsched_retired_jobs") == 0);
  // The jobs without rerun: no fire ran twice, or again; a few per worker are abandoned (the
  // runs it had started, handed to its pool within the start window, or not yet recorded
  // ended), not the claimed ones.
  CHECK(single(db,
               "SELECT count(*) FROM (SELECT 1 FROM ledger WHERE job_id LIKE 'drop-%' GROUP BY "
               "job_id, scheduled HAVING count(*) > 1) AS repeated") == 0);
  CHECK(single(db, "SELECT count(*) FROM ledger WHERE job_id LIKE 'drop-%' AND attempt <> 1") == 0);
  CHECK(single(db, "SELECT count(*) FROM apsched_fires WHERE state = 'abandoned'") <=
        static_cast<std::int64_t>(2 * workers));
  // The rerun jobs: none abandoned; the runs of one fire have increasing attempts, the last
  // being the attempt recorded.
  CHECK(single(db,
               "SELECT count(*) FROM apsched_fires WHERE job_id LIKE 'rerun-%' AND state = "
               "'abandoned'") == 0);
  CHECK(single(db,
               "SELECT count(*) FROM (SELECT attempt, lag(attempt) OVER (PARTITION BY job_id, "
               "scheduled ORDER BY id) AS previous FROM ledger) AS runs WHERE attempt <= "
               "previous") == 0);
  CHECK(single(db,
               "SELECT count(*) FROM apsched_fires f JOIN (SELECT job_id, scheduled, "
               "max(attempt) AS last FROM ledger GROUP BY job_id, scheduled) AS l USING (job_id, "
               "scheduled) WHERE f.state = 'succeeded' AND f.attempt <> l.last") == 0);
  // Every fire run is recorded run (or abandoned), and every fire recorded run ran.
  CHECK(single(db,
               "SELECT count(*) FROM ledger l LEFT JOIN apsched_fires f USING (job_id, scheduled) "
               "WHERE f.state IS NULL OR f.state NOT IN ('succeeded', 'abandoned')") == 0);
  CHECK(single(db,
               "SELECT count(*) FROM apsched_fires f WHERE state = 'succeeded' AND NOT "
               "EXISTS (SELECT 1 FROM ledger l WHERE l.job_id = f.job_id AND "
               "l.scheduled = f.scheduled)") == 0);
  if (single(db, "SELECT count(*) FROM apsched_fires WHERE attempt > 1") == 0) {
    WARN("no rerun job's fire was running in the killed scheduler: none was run again");
  }
}

}  // namespace postgres_processes_test
