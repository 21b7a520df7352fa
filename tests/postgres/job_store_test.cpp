// SPDX-License-Identifier: MIT
// PostgresJobStore against a real server: the job store conformance suite, jobs round-trip,
// fires recorded once, rounds of two schedulers claim different jobs, unusable rows set aside, a
// lost connection, and schedulers on one database running every fire once. Time moves by a
// manual clock.
#include <apsched/apsched.hpp>
#include <apsched/postgres/job_store.hpp>
#include <apsched/testing/manual_clock.hpp>
#include <apsched/testing/manual_executor.hpp>

#include "support/catch.hpp"
#include "support/durable_job_store_conformance.hpp"
#include "support/event_log.hpp"
#include "support/postgres.hpp"
#include "support/task_body.hpp"

#include <sys/wait.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace postgres_job_store_test {

using namespace std::chrono_literals;
using apsched::FireDecision;
using apsched::FireState;
using apsched::JobRecord;
using apsched::PostgresJobStore;
using apsched::TimePoint;
using apsched::test::contains;
using apsched::test::TestSchema;

namespace {

const TimePoint t0 = TimePoint{std::chrono::sys_days{std::chrono::year{2026} / 1 / 1}};

std::shared_ptr<apsched::TaskRegistry> make_tasks() {
  auto tasks = std::make_shared<apsched::TaskRegistry>();
  tasks->add("ping", [](int /*value*/) {});
  return tasks;
}

// A durable job running task "ping" with `value` every 10 s from `first`.
JobRecord ping_job(const apsched::TaskRegistry& tasks, std::string id, TimePoint first,
                   int value = 1) {
  const std::string arguments = fmt::format("[{}]", value);
  JobRecord record{
      .id = std::move(id),
      .body = apsched::test::task_body(tasks, "ping", nlohmann::json::parse(arguments)),
      .trigger = apsched::AnyTrigger{apsched::IntervalTrigger{10s, {.start_date = first}}}};
  record.extra().task =
      std::make_shared<const apsched::TaskCall>(apsched::TaskCall{"ping", arguments});
  record.next_fire = first;
  record.next_run = first;
  return record;
}

PostgresJobStore open_store(const TestSchema& schema,
                            std::shared_ptr<const apsched::TaskRegistry> tasks) {
  PostgresJobStore store{schema.conninfo()};
  store.attach(std::move(tasks), 0);
  return store;
}

// Advances `job` by one interval and commits one submitted fire at its current next_run.
bool commit_one(PostgresJobStore& store, JobRecord& job) {
  const FireDecision fire{.scheduled = job.next_run, .state = FireState::submitted, .runs = 1};
  job.next_fire += 10s;
  job.next_run += 10s;
  return store.commit_due(job, std::span<const FireDecision>{&fire, 1}, false);
}

// The conformance suite's fixture: stores on a schema of their own on the test server (the
// fixture's TestSchema reports the test skipped without one), attached to a registry with task
// "ping".
struct PostgresStoreFixture {
  using Store = PostgresJobStore;
  static constexpr std::string_view name = "PostgresJobStore";
  static constexpr std::string_view tags = "[postgres]";
  static constexpr bool shares_storage = true;

  TestSchema schema;
  std::shared_ptr<apsched::TaskRegistry> tasks = make_tasks();

  [[nodiscard]] Store open() const { return open_store(schema, tasks); }
  [[nodiscard]] JobRecord record(std::string id, TimePoint first, int value) const {
    return ping_job(*tasks, std::move(id), first, value);
  }
};

}  // namespace

// The JobStore and DurableJobStore requirements, as every store meets them
// (support/job_store_conformance.hpp).
[[maybe_unused]] const bool conformance_registered =
    apsched::test::conformance::register_suite<PostgresStoreFixture>();

TEST_CASE("postgres store: satisfies DurableJobStore", "[postgres]") {
  STATIC_REQUIRE(apsched::DurableJobStore<PostgresJobStore>);
}

TEST_CASE("postgres store: jobs are stored, found by another store and rebuilt equal",
          "[postgres]") {
  TestSchema schema;
  const auto tasks = make_tasks();
  PostgresJobStore store = open_store(schema, tasks);
  JobRecord job = ping_job(*tasks, "a", t0 + 5s, 42);
  job.extra().name = "the \"a\" job";
  job.extras->misfire_grace_time = 30s;
  job.coalesce = apsched::Coalesce::all;
  job.max_instances = 3;
  job.abandoned = apsched::Abandoned::rerun;
  job.run_count = 7;
  job.last_run = t0 - 1s;
  job.last_outcome = apsched::JobOutcome::error;
  REQUIRE(store.insert(std::move(job)) != nullptr);
  CHECK(store.insert(ping_job(*tasks, "a", t0)) == nullptr);  // the id is taken
  REQUIRE(store.insert(ping_job(*tasks, "paused", t0)) != nullptr);
  JobRecord* paused = store.find("paused");
  REQUIRE(paused != nullptr);
  paused->paused = true;
  store.update(*paused);

  PostgresJobStore other = open_store(schema, tasks);
  CHECK(other.size() == 2);
  CHECK(other.next_run_time() == t0 + 5s);
  const JobRecord* found = other.find("a");
  REQUIRE(found != nullptr);
  CHECK(found->extras->name == "the \"a\" job");
  CHECK(found->extras->misfire_grace_time == 30s);
  CHECK(found->coalesce == apsched::Coalesce::all);
  CHECK(found->max_instances == 3);
  CHECK(found->abandoned == apsched::Abandoned::rerun);
  CHECK(found->run_count == 7);
  CHECK(found->last_run == t0 - 1s);
  CHECK(found->last_outcome == apsched::JobOutcome::error);
  CHECK(found->next_run == t0 + 5s);
  CHECK(found->trigger.describe() == "interval[10s, start=2026-01-01T00:00:05.000000Z]");
  CHECK(other.find("paused")->paused);
  std::vector<std::string> ids;
  other.for_each([&ids](const JobRecord& record) { ids.push_back(record.id); });
  CHECK(ids == std::vector<std::string>{"a", "paused"});
  CHECK(other.erase("a"));
  CHECK_FALSE(other.erase("a"));
  CHECK(store.find("a") == nullptr);
  other.clear();
  CHECK(store.size() == 0);
  CHECK_FALSE(store.next_run_time().has_value());
}

TEST_CASE("postgres store: a fire is recorded once, by the store holding the current version",
          "[postgres]") {
  TestSchema schema;
  const auto tasks = make_tasks();
  PostgresJobStore first = open_store(schema, tasks);
  PostgresJobStore second = open_store(schema, tasks);
  REQUIRE(first.insert(ping_job(*tasks, "a", t0)) != nullptr);
  JobRecord* a1 = first.first_due(t0);
  JobRecord* a2 = second.first_due(t0);
  REQUIRE(a1 != nullptr);
  REQUIRE(a2 != nullptr);
  CHECK(commit_one(first, *a1));
  CHECK_FALSE(commit_one(second, *a2));  // its copy is stale: nothing recorded
  CHECK(second.first_due(t0) == nullptr);
  JobRecord* reloaded = second.first_due(t0 + 10s);
  REQUIRE(reloaded != nullptr);
  CHECK(reloaded->next_run == t0 + 10s);

  first.record_outcome("a", a1, t0, FireState::failed, "it broke");
  const std::vector<apsched::FireRecord> history = second.fire_history("a");
  REQUIRE(history.size() == 1);
  CHECK(history[0].scheduled == t0);
  CHECK(history[0].state == FireState::failed);
  CHECK(history[0].error == "it broke");
  CHECK(history[0].owner == first.owner());
  CHECK(history[0].finished_at.has_value());
  // Outcomes keep the job's version (other copies stay valid): a new store reads the counters.
  PostgresJobStore third = open_store(schema, tasks);
  const JobRecord* counted = third.find("a");
  REQUIRE(counted != nullptr);
  CHECK(counted->failure_count == 1);
  CHECK(counted->last_outcome == apsched::JobOutcome::error);
}

TEST_CASE("postgres store: a round's claims are skipped by other rounds, not waited for",
          "[postgres]") {
  TestSchema schema;
  const auto tasks = make_tasks();
  PostgresJobStore first = open_store(schema, tasks);
  PostgresJobStore second = open_store(schema, tasks);
  REQUIRE(first.insert(ping_job(*tasks, "a", t0)) != nullptr);
  REQUIRE(first.insert(ping_job(*tasks, "b", t0 + 1s)) != nullptr);
  first.begin_round();
  JobRecord* claimed = first.first_due(t0 + 5s);  // claims (locks) both due jobs
  REQUIRE(claimed != nullptr);
  CHECK(claimed->id == "a");
  second.begin_round();
  CHECK(second.first_due(t0 + 5s) == nullptr);  // both locked: skipped at once
  second.end_round();
  CHECK(commit_one(first, *claimed));
  first.end_round();  // "b" was not handed out: its lock goes with the round
  second.begin_round();
  JobRecord* other = second.first_due(t0 + 5s);
  REQUIRE(other != nullptr);
  CHECK(other->id == "b");
  CHECK(commit_one(second, *other));
  CHECK(second.first_due(t0 + 5s) == nullptr);
  second.end_round();
  CHECK(first.fire_history("a").size() == 1);
  CHECK(first.fire_history("a")[0].owner == first.owner());
  CHECK(first.fire_history("b").size() == 1);
  CHECK(first.fire_history("b")[0].owner == second.owner());
}

TEST_CASE("postgres store: a round whose statement fails is rolled back whole", "[postgres]") {
  TestSchema schema;
  const auto tasks = make_tasks();
  PostgresJobStore store = open_store(schema, tasks);
  REQUIRE(store.insert(ping_job(*tasks, "a", t0)) != nullptr);
  REQUIRE(store.insert(ping_job(*tasks, "b", t0)) != nullptr);
  schema.admin().exec(fmt::format(
      "CREATE FUNCTION {0}.refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
      "RAISE EXCEPTION 'refused'; END $$; CREATE TRIGGER refuse BEFORE INSERT ON "
      "{0}.apsched_fires FOR EACH ROW WHEN (NEW.job_id = 'b') EXECUTE FUNCTION {0}.refuse()",
      schema.name()));
  store.begin_round();
  JobRecord* a = store.first_due(t0);
  REQUIRE(a != nullptr);
  REQUIRE(commit_one(store, *a));
  JobRecord* b = store.first_due(t0);
  REQUIRE(b != nullptr);
  // The claimed jobs' commits are written together, before the round commits: the refused
  // fire fails that statement, and the round with it.
  CHECK(commit_one(store, *b));
  CHECK_THROWS_WITH(store.end_round(), contains("refused"));
  schema.admin().exec(fmt::format("DROP TRIGGER refuse ON {}.apsched_fires", schema.name()));
  CHECK(store.fire_history("a").empty());
  int committed = 0;
  store.begin_round();
  while (JobRecord* job = store.first_due(t0)) {
    CHECK(job->next_run == t0);
    REQUIRE(commit_one(store, *job));
    ++committed;
  }
  store.end_round();
  CHECK(committed == 2);
}

TEST_CASE("postgres store: a row with an unknown task is set aside, reported once, kept",
          "[postgres]") {
  TestSchema schema;
  auto tasks = make_tasks();
  PostgresJobStore store = open_store(schema, tasks);
  REQUIRE(store.insert(ping_job(*tasks, "a", t0)) != nullptr);
  REQUIRE(store.insert(ping_job(*tasks, "b", t0 + 1s)) != nullptr);
  schema.connect().query("UPDATE apsched_jobs SET task = 'gone' WHERE id = $1", "a");
  PostgresJobStore reader = open_store(schema, tasks);
  JobRecord* due = reader.first_due(t0 + 5s);
  REQUIRE(due != nullptr);
  CHECK(due->id == "b");
  CHECK(reader.next_run_time() == t0 + 1s);
  std::vector<apsched::StoreReport> reports = reader.take_reports();
  REQUIRE(reports.size() == 1);
  CHECK(reports[0].job_id == "a");
  CHECK_THAT(reports[0].message, contains("\"gone\""));
  CHECK_THAT(reports[0].message, contains("PostgresJobStore database \""));
  CHECK(reader.find("a") == nullptr);
  CHECK(reader.take_reports().empty());
  CHECK(reader.size() == 2);  // left in the database
  tasks->add("gone", [](int /*value*/) {});
  reader.task_registered("gone");
  REQUIRE(reader.find("a") != nullptr);
  CHECK(reader.next_run_time() == t0);
}

TEST_CASE("postgres store: a row with unreadable options is set aside, reported naming the store",
          "[postgres]") {
  TestSchema schema;
  auto tasks = make_tasks();
  PostgresJobStore store = open_store(schema, tasks);
  REQUIRE(store.insert(ping_job(*tasks, "a", t0)) != nullptr);
  REQUIRE(store.insert(ping_job(*tasks, "b", t0 + 1s)) != nullptr);
  schema.connect().query("UPDATE apsched_jobs SET options = $1 WHERE id = $2",
                         R"({"max_instances":"many"})", "a");
  PostgresJobStore reader = open_store(schema, tasks);
  JobRecord* due = reader.first_due(t0 + 5s);
  REQUIRE(due != nullptr);
  CHECK(due->id == "b");
  std::vector<apsched::StoreReport> reports = reader.take_reports();
  REQUIRE(reports.size() == 1);
  CHECK(reports[0].job_id == "a");
  // The decoder's own message names the store too: this one, not the SQLite store.
  CHECK_THAT(reports[0].message, contains("PostgresJobStore: field \"max_instances\" of the "
                                          "stored job options object is \"many\"; expected an "
                                          "integer from 1 to 65535"));
  CHECK_THAT(reports[0].message, !contains("SqliteJobStore"));
  CHECK(reader.find("a") == nullptr);
  CHECK(reader.size() == 2);  // left in the database
}

TEST_CASE("postgres store: a lost connection fails one call, and the next reconnects",
          "[postgres]") {
  TestSchema schema;
  const auto tasks = make_tasks();
  PostgresJobStore store{schema.conninfo(schema.name())};
  store.attach(tasks, 0);
  REQUIRE(store.insert(ping_job(*tasks, "a", t0)) != nullptr);
  REQUIRE(schema.admin()
              .query("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                     "WHERE application_name = $1",
                     schema.name())
              .int64(0, 0) == 1);
  bool failed_once = false;
  try {
    (void)store.size();
  } catch (const apsched::StoreError&) {
    failed_once = true;
  }
  CHECK(failed_once);
  CHECK(store.size() == 1);
  REQUIRE(store.find("a") != nullptr);
}

namespace {

using Scheduler =
    apsched::CallbackScheduler<PostgresJobStore, apsched::InlineExecutor, apsched::ManualClock>;

// One scheduler on the test schema, counting the runs of task "run" per (job, argument).
struct Node {
  apsched::ManualClock clock;
  Scheduler scheduler;
  std::map<std::string, int>* runs;

  Node(const TestSchema& schema, TimePoint now, std::map<std::string, int>& ledger)
      : clock{now}, scheduler{PostgresJobStore{schema.conninfo()}, {}, clock}, runs{&ledger} {
    scheduler.register_task("run", [this](const apsched::JobContext& context) {
      ++(*runs)[fmt::format("{}@{}", context.job_id,
                            apsched::detail::format_time(context.scheduled_run_time))];
    });
    scheduler.start();
  }
};

}  // namespace

TEST_CASE("postgres scheduler: jobs added on one node run once across two nodes", "[postgres]") {
  TestSchema schema;
  std::map<std::string, int> ledger;
  Node first{schema, t0, ledger};
  Node second{schema, t0, ledger};
  first.scheduler.batch([&] {
    for (int i = 0; i < 100; ++i) {
      first.scheduler.add_job(apsched::task("run"),
                              apsched::IntervalTrigger{10s, {.start_date = t0 + (i % 7) * 1s}},
                              {.id = fmt::format("job-{:03}", i)});
    }
  });
  for (int step = 1; step <= 6; ++step) {
    const TimePoint now = t0 + step * 5s;
    first.clock.set(now);
    second.clock.set(now);
    (step % 2 == 0 ? first : second).scheduler.process_due_jobs();
    (step % 2 == 0 ? second : first).scheduler.process_due_jobs();
  }
  // Fires from t0 to t0 + 30 s: every job fired at its start and each 10 s after, once.
  int fires = 0;
  for (const auto& [fire, count] : ledger) {
    INFO(fire);
    CHECK(count == 1);
    fires += count;
  }
  int expected = 0;
  for (int i = 0; i < 100; ++i) {
    for (int offset = i % 7; offset <= 30; offset += 10) {
      ++expected;
    }
  }
  CHECK(fires == expected);
  const std::vector<apsched::FireRecord> history = second.scheduler.get_fire_history("job-000");
  REQUIRE(history.size() == 4);
  for (const apsched::FireRecord& fire : history) {
    CHECK(fire.state == FireState::succeeded);
  }
}

namespace {

// Records a submitted fire at t0 of job `id` (Abandoned policy `policy`) through `store`.
void submit_fire(PostgresJobStore& store, const apsched::TaskRegistry& tasks, std::string id,
                 apsched::Abandoned policy) {
  JobRecord record = ping_job(tasks, id, t0);
  record.abandoned = policy;
  REQUIRE(store.insert(std::move(record)) != nullptr);
  JobRecord* job = store.find(id);
  REQUIRE(job != nullptr);
  REQUIRE(commit_one(store, *job));
}

// The fires `store` takes over now, by job id.
std::vector<apsched::AbandonedFire> take_sorted(PostgresJobStore& store) {
  std::vector<apsched::AbandonedFire> fires = store.take_abandoned();
  std::sort(fires.begin(), fires.end(),
            [](const auto& a, const auto& b) { return a.job_id < b.job_id; });
  return fires;
}

}  // namespace

TEST_CASE("postgres store: fires of a lapsed lease are taken over once, dropped or run again",
          "[postgres]") {
  TestSchema schema;
  const auto tasks = make_tasks();
  PostgresJobStore first = open_store(schema, tasks);
  submit_fire(first, *tasks, "drop", apsched::Abandoned::drop);
  submit_fire(first, *tasks, "again", apsched::Abandoned::rerun);
  PostgresJobStore second = open_store(schema, tasks);
  PostgresJobStore third = open_store(schema, tasks);
  CHECK(second.take_abandoned().empty());  // the first store's lease holds
  // Its lease lapses by the database clock (as when it stops renewing it for lease_duration).
  schema.connect().query("UPDATE apsched_owners SET lease_until = 0 WHERE owner = $1",
                         first.owner().text());
  const std::vector<apsched::AbandonedFire> taken = take_sorted(third);
  REQUIRE(taken.size() == 2);
  CHECK(taken[0].job_id == "again");
  CHECK(taken[0].rerun);
  CHECK(taken[0].attempt == 1);
  CHECK(taken[0].scheduled == t0);
  CHECK(taken[1].job_id == "drop");
  CHECK_FALSE(taken[1].rerun);
  // Taken once: the owner's row is gone; a later poll of another store finds nothing.
  CHECK(second.take_abandoned().empty());  // within its poll interval: not even looked
  PostgresJobStore fourth = open_store(schema, tasks);
  CHECK(fourth.take_abandoned().empty());
  const apsched::FireRecord dropped = third.fire_history("drop").at(0);
  CHECK(dropped.state == FireState::abandoned);
  CHECK_THAT(dropped.error, contains(first.owner().text()));
  const apsched::FireRecord again = third.fire_history("again").at(0);
  CHECK(again.state == FireState::submitted);
  CHECK(again.owner == third.owner());
  CHECK(again.attempt == 2);
  third.record_outcome("again", nullptr, t0, FireState::succeeded, "");
  CHECK(third.fire_history("again").at(0).state == FireState::succeeded);
}

TEST_CASE("postgres store: a job whose last fire is in flight is kept out of sight for its rerun",
          "[postgres]") {
  TestSchema schema;
  const auto tasks = make_tasks();
  apsched::detail::postgres::Connection db = schema.connect();
  const auto retired = [&db](const std::string& where) {
    return db.query("SELECT count(*) FROM apsched_retired_jobs " + where).int64(0, 0);
  };
  PostgresJobStore first = open_store(schema, tasks);
  // Four jobs at their last fire: "round" is committed with a round's other commits, the others
  // on their own; "ended" ends before its store stops; "plain" drops.
  for (const char* id : {"round", "direct", "ended", "plain"}) {
    const bool round = std::string_view{id} == "round";
    JobRecord record = ping_job(*tasks, id, round ? t0 : t0 + 1s, 5);
    record.abandoned =
        std::string_view{id} == "plain" ? apsched::Abandoned::drop : apsched::Abandoned::rerun;
    REQUIRE(first.insert(std::move(record)) != nullptr);
  }
  FireDecision fire{.scheduled = t0};
  first.begin_round();
  JobRecord* claimed = first.first_due(t0);
  REQUIRE(claimed != nullptr);
  REQUIRE(claimed->id == "round");
  REQUIRE(first.commit_due(*claimed, std::span{&fire, 1}, true));
  CHECK(first.first_due(t0) == nullptr);
  first.end_round();
  fire.scheduled = t0 + 1s;
  for (const char* id : {"direct", "ended", "plain"}) {
    JobRecord* job = first.find(id);
    REQUIRE(job != nullptr);
    REQUIRE(first.commit_due(*job, std::span{&fire, 1}, true));
  }
  CHECK(retired("") == 3);
  first.record_outcome("ended", nullptr, t0 + 1s, FireState::succeeded, "");
  CHECK(retired("WHERE id = 'ended'") == 0);
  // Out of sight: no listing shows the jobs kept for their rerun.
  CHECK(first.find("round") == nullptr);
  CHECK(first.size() == 0);
  CHECK_FALSE(first.next_run_time().has_value());
  db.query("UPDATE apsched_owners SET lease_until = 0 WHERE owner = $1", first.owner().text());

  PostgresJobStore second = open_store(schema, tasks);
  const std::vector<apsched::AbandonedFire> taken = take_sorted(second);
  REQUIRE(taken.size() == 3);
  CHECK(taken[0].job_id == "direct");
  CHECK(taken[1].job_id == "plain");
  CHECK_FALSE(taken[1].rerun);
  CHECK(taken[2].job_id == "round");
  CHECK(second.fire_history("plain").at(0).state == FireState::abandoned);
  for (const std::size_t i : {0U, 2U}) {
    CHECK(taken[i].rerun);
    CHECK(taken[i].last_fire);
    // The record of the job, held for the rerun, as it was stored.
    JobRecord* held = second.find_cached(taken[i].job_id);
    REQUIRE(held != nullptr);
    CHECK(held->abandoned == apsched::Abandoned::rerun);
    CHECK(held->extras->task->arguments == "[5]");
    second.record_outcome(taken[i].job_id, held, taken[i].scheduled, FireState::succeeded, "");
    const apsched::FireRecord rerun = second.fire_history(taken[i].job_id).at(0);
    CHECK(rerun.state == FireState::succeeded);
    CHECK(rerun.attempt == 2);
    CHECK(second.find_cached(taken[i].job_id) == nullptr);
  }
  CHECK(second.size() == 0);
  // Their outcomes written, the jobs are gone for good.
  CHECK(retired("") == 0);
  CHECK(db.query("SELECT count(*) FROM apsched_jobs").int64(0, 0) == 0);
}

TEST_CASE("postgres store: a store closed with fires in flight is taken over at once",
          "[postgres]") {
  TestSchema schema;
  const auto tasks = make_tasks();
  {
    PostgresJobStore first = open_store(schema, tasks);
    submit_fire(first, *tasks, "a", apsched::Abandoned::drop);
  }
  {
    PostgresJobStore idle = open_store(schema, tasks);  // leaves no fire: its row goes
  }
  CHECK(schema.connect().query("SELECT count(*) FROM apsched_owners").int64(0, 0) == 1);
  PostgresJobStore next = open_store(schema, tasks);
  const std::vector<apsched::AbandonedFire> taken = next.take_abandoned();
  REQUIRE(taken.size() == 1);
  CHECK(taken[0].job_id == "a");
  CHECK(schema.connect().query("SELECT count(*) FROM apsched_owners").int64(0, 0) == 1);
}

TEST_CASE("postgres store: a scheduler on this host whose process is gone is taken over at once",
          "[postgres]") {
  TestSchema schema;
  const auto tasks = make_tasks();
  PostgresJobStore first = open_store(schema, tasks);
  submit_fire(first, *tasks, "a", apsched::Abandoned::drop);
  // A process that has exited (and been reaped) owns the lease now, as if it had recorded it.
  const pid_t child = ::fork();
  if (child == 0) {
    ::_exit(0);
  }
  REQUIRE(child > 0);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  schema.connect().query("UPDATE apsched_owners SET pid = $2 WHERE owner = $1",
                         first.owner().text(), std::int64_t{child});
  PostgresJobStore next = open_store(schema, tasks);
  const std::vector<apsched::AbandonedFire> taken = next.take_abandoned();
  REQUIRE(taken.size() == 1);  // its lease has not lapsed, but its process is gone
  CHECK(taken[0].job_id == "a");
}

TEST_CASE("postgres store: lease_duration must exceed poll_interval", "[postgres]") {
  TestSchema schema;
  CHECK_THROWS_WITH(
      (PostgresJobStore{schema.conninfo(), {.poll_interval = 5s, .lease_duration = 5s}}),
      contains("lease_duration is 5000000000 ns; expected more than poll_interval"));
}

TEST_CASE(
    "postgres scheduler: a fire in flight when its scheduler stopped is dropped or run "
    "again",
    "[postgres]") {
  TestSchema schema;
  {
    // A scheduler records two fires and "dies" before they end; here the store is given the
    // fires directly, as the scheduler would.
    auto tasks = std::make_shared<apsched::TaskRegistry>();
    tasks->add("run", [] {});
    PostgresJobStore store{schema.conninfo()};
    store.attach(tasks, 0);
    for (const char* id : {"drop", "again"}) {
      JobRecord record{
          .id = id,
          .body = apsched::test::task_body(*tasks, "run", nlohmann::json::array()),
          .trigger = apsched::AnyTrigger{apsched::IntervalTrigger{10s, {.start_date = t0}}}};
      record.extra().task =
          std::make_shared<const apsched::TaskCall>(apsched::TaskCall{"run", "[]"});
      record.next_fire = record.next_run = t0;
      record.abandoned =
          std::string_view{id} == "again" ? apsched::Abandoned::rerun : apsched::Abandoned::drop;
      REQUIRE(store.insert(std::move(record)) != nullptr);
      REQUIRE(commit_one(store, *store.find(id)));
    }
  }
  std::map<std::string, int> ledger;
  Node next{schema, t0 + 5s, ledger};
  std::vector<apsched::Event> abandoned;
  next.scheduler.add_listener([&abandoned](const apsched::Event& event) {
    if (event.type == apsched::EventType::job_abandoned) {
      abandoned.push_back(event);
    }
  });
  next.scheduler.process_due_jobs();
  REQUIRE(abandoned.size() == 2);
  CHECK(ledger ==
        std::map<std::string, int>{{fmt::format("again@{}", apsched::detail::format_time(t0)), 1}});
  const apsched::FireRecord rerun = next.scheduler.get_fire_history("again").at(0);
  CHECK(rerun.state == FireState::succeeded);
  CHECK(rerun.attempt == 2);
  CHECK(next.scheduler.get_fire_history("drop").at(0).state == FireState::abandoned);
  next.scheduler.process_due_jobs();
  CHECK(abandoned.size() == 2);
}

namespace {

// Counts the calls of a waker, and waits for them.
class WakeCounter {
 public:
  std::function<void()> waker() {
    return [this] {
      const std::lock_guard lock{mutex_};
      ++count_;
      changed_.notify_all();
    };
  }

  // The count once it exceeds `seen`, or after a time-out that only a hang reaches.
  int wait_beyond(int seen) {
    std::unique_lock lock{mutex_};
    changed_.wait_for(lock, 30s, [&] { return count_ > seen; });
    return count_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int count_ = 0;
};

}  // namespace

TEST_CASE("postgres store: another store's adds and changes wake a listening store",
          "[postgres][notify]") {
  TestSchema schema;
  const auto tasks = make_tasks();
  PostgresJobStore listening = open_store(schema, tasks);
  WakeCounter wakes;
  listening.set_waker(wakes.waker());
  REQUIRE(wakes.wait_beyond(0) == 1);  // its listener connected: notifications may be lost
  PostgresJobStore other = open_store(schema, tasks);
  REQUIRE(other.insert(ping_job(*tasks, "a", t0)) != nullptr);
  REQUIRE(wakes.wait_beyond(1) == 2);
  JobRecord* job = other.find("a");
  REQUIRE(job != nullptr);
  job->paused = true;
  other.update(*job);
  REQUIRE(wakes.wait_beyond(2) == 3);
  // In a batch: one notification when it commits.
  other.begin_batch();
  REQUIRE(other.insert(ping_job(*tasks, "b", t0)) != nullptr);
  REQUIRE(other.insert(ping_job(*tasks, "c", t0)) != nullptr);
  other.commit_batch();
  REQUIRE(wakes.wait_beyond(3) == 4);
  listening.set_waker(nullptr);  // stops the listener
  REQUIRE(other.insert(ping_job(*tasks, "d", t0)) != nullptr);
  CHECK(other.size() == 4);
}

TEST_CASE(
    "postgres store: a store closed with fires in flight wakes the listening ones, which "
    "take them over before their next lease check",
    "[postgres][notify]") {
  TestSchema schema;
  const auto tasks = make_tasks();
  PostgresJobStore listening{schema.conninfo(), {.poll_interval = 60s, .lease_duration = 120s}};
  listening.attach(tasks, 0);
  WakeCounter wakes;
  listening.set_waker(wakes.waker());
  REQUIRE(wakes.wait_beyond(0) == 1);
  CHECK(listening.take_abandoned().empty());  // looked at the other owners; next in 60 s
  {
    PostgresJobStore first = open_store(schema, tasks);
    submit_fire(first, *tasks, "a", apsched::Abandoned::drop);
    REQUIRE(wakes.wait_beyond(1) == 2);  // its add
    CHECK(listening.take_abandoned().empty());
  }  // closed with its fire submitted: the lease is given up, and the listening store woken
  REQUIRE(wakes.wait_beyond(2) == 3);
  const std::vector<apsched::AbandonedFire> taken = listening.take_abandoned();
  REQUIRE(taken.size() == 1);
  CHECK(taken[0].job_id == "a");
}

TEST_CASE("postgres scheduler: a job added by another scheduler wakes it through its store",
          "[postgres][notify]") {
  TestSchema schema;
  apsched::ManualClock clock{t0};
  Scheduler scheduler{
      PostgresJobStore{schema.conninfo(), {.poll_interval = 60s, .lease_duration = 120s}},
      {},
      clock};
  int runs = 0;
  scheduler.register_task("ping", [&runs](int /*value*/) { ++runs; });
  WakeCounter wakes;
  scheduler.set_wakeup_handler(wakes.waker());
  scheduler.start();                                  // calls the handler once
  REQUIRE(wakes.wait_beyond(1) == 2);                 // and the store's listener once it listens
  REQUIRE(scheduler.process_due_jobs() == t0 + 60s);  // nothing due: polls in a minute
  {
    apsched::ManualClock other_clock{t0};
    Scheduler other{PostgresJobStore{schema.conninfo(), {.listen = false}}, {}, other_clock};
    other.register_task("ping", [](int /*value*/) {});
    other.add_job(apsched::task("ping"), apsched::DateTrigger{t0}, {.id = "now"}, 1);
  }
  REQUIRE(wakes.wait_beyond(2) == 3);
  scheduler.process_due_jobs();
  CHECK(runs == 1);
}

TEST_CASE("postgres scheduler: max_instances counts the runs other schedulers have in flight",
          "[postgres]") {
  using Held =
      apsched::CallbackScheduler<PostgresJobStore, apsched::ManualExecutor, apsched::ManualClock>;
  TestSchema schema;
  std::map<std::string, int> runs;
  const auto make = [&](apsched::ManualClock& clock) {
    auto scheduler = std::make_unique<Held>(PostgresJobStore{schema.conninfo()},
                                            apsched::ManualExecutor{}, clock);
    scheduler->register_task("run", [&runs](const apsched::JobContext& context) {
      ++runs[apsched::detail::format_time(context.scheduled_run_time)];
    });
    scheduler->start();
    return scheduler;
  };
  apsched::ManualClock first_clock{t0};
  apsched::ManualClock second_clock{t0};
  const auto first = make(first_clock);
  const auto second = make(second_clock);
  apsched::test::EventLog second_events;
  second->add_listener(second_events.listener());
  first->add_job(apsched::task("run"), apsched::IntervalTrigger{10s, {.start_date = t0}},
                 {.id = "one-at-a-time", .max_instances = 1});
  first->process_due_jobs();  // submits the run of t0, which is held in its executor
  second_clock.set(t0 + 10s);
  second->process_due_jobs();  // the run of t0 + 10 s would be a second one at a time
  CHECK(second->executor().run_all() == 0);
  REQUIRE(second_events.count(apsched::EventType::job_max_instances) == 1);
  CHECK(second_events.of(apsched::EventType::job_max_instances)[0].scheduled_run_time == t0 + 10s);
  CHECK(first->executor().run_all() == 1);
  first_clock.set(t0 + 10s);
  first->process_due_jobs();  // writes the outcome of its run
  second_clock.set(t0 + 20s);
  second->process_due_jobs();
  CHECK(second->executor().run_all() == 1);
  CHECK(runs == std::map<std::string, int>{{apsched::detail::format_time(t0), 1},
                                           {apsched::detail::format_time(t0 + 20s), 1}});
  const std::vector<apsched::FireRecord> history = second->get_fire_history("one-at-a-time");
  REQUIRE(history.size() == 3);
  CHECK(history[1].state == FireState::skipped);
}

TEST_CASE("postgres store: a database that does not exist is named, with no password",
          "[postgres][error]") {
  const std::string base = apsched::test::postgres_conninfo();
  const std::string missing = "apsched_test_no_such_database";
  const std::string conninfo =
      base.starts_with("postgresql://") || base.starts_with("postgres://")
          ? fmt::format("{}{}dbname={}&password=apsched-secret", base,
                        base.find('?') == std::string::npos ? '?' : '&', missing)
          : fmt::format("{} dbname={} password=apsched-secret", base, missing);
  std::string message;
  try {
    const PostgresJobStore store{conninfo};
  } catch (const apsched::StoreError& error) {
    message = error.what();
  }
  CHECK_THAT(message, Catch::Matchers::StartsWith(
                          fmt::format("PostgresJobStore database \"{}\" (user \"", missing)));
  CHECK_THAT(message, contains(", server ") && contains("): open: ") &&
                          contains(fmt::format("database \"{}\" does not exist", missing)));
  CHECK_THAT(message, !contains("apsched-secret"));
}

TEST_CASE("postgres store: a failing operation names the store, the database and the operation",
          "[postgres][error]") {
  TestSchema schema;
  const auto tasks = make_tasks();
  PostgresJobStore store = open_store(schema, tasks);
  REQUIRE(store.insert(ping_job(*tasks, "a", t0)) != nullptr);
  // Dropped behind the store's back.
  schema.admin().exec(fmt::format("DROP TABLE {}.apsched_jobs CASCADE", schema.name()));
  const std::string prefix =
      fmt::format("PostgresJobStore database \"{}\" (user \"", PQdb(schema.admin().handle()));
  const std::string reason = ": relation \"apsched_jobs\" does not exist (SQLSTATE 42P01)";
  std::string message;
  try {
    (void)store.find("a");
  } catch (const apsched::StoreError& error) {
    message = error.what();
  }
  // The store and its database lead, the server's reason follows the operation, the SQL is last.
  CHECK_THAT(message, Catch::Matchers::StartsWith(prefix));
  CHECK_THAT(message, contains("): find job" + reason + " (SQL: SELECT "));
  CHECK_THROWS_WITH(store.insert(ping_job(*tasks, "b", t0)),
                    Catch::Matchers::StartsWith(prefix) && contains("): add job" + reason));
  CHECK_THROWS_WITH(store.size(), contains("): count jobs" + reason));
  CHECK_THROWS_WITH(store.first_due(t0), contains("): read due jobs" + reason));
}

}  // namespace postgres_job_store_test
