// SPDX-License-Identifier: MIT
// PostgresJobStore and claimed fires (FireState::claimed): recorded in flight, started by
// start_claimed within max_instances across schedulers, taken over from a store that stopped,
// left out of running_elsewhere; and the fire history kept to the largest history_per_job.
#include <apsched/postgres/job_store.hpp>
#include <apsched/triggers/interval.hpp>

#include "support/catch.hpp"
#include "support/postgres.hpp"
#include "support/task_body.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

namespace postgres_claims_test {

using namespace std::chrono_literals;
using apsched::ClaimedFire;
using apsched::ClaimVerdict;
using apsched::FireDecision;
using apsched::FireState;
using apsched::JobRecord;
using apsched::PostgresJobStore;
using apsched::PostgresStoreOptions;
using apsched::TimePoint;
using apsched::test::TestSchema;
using Verdicts = std::vector<ClaimVerdict>;

namespace {

const TimePoint t0 = TimePoint{std::chrono::sys_days{std::chrono::year{2026} / 3 / 1}};

std::shared_ptr<apsched::TaskRegistry> make_tasks() {
  auto tasks = std::make_shared<apsched::TaskRegistry>();
  tasks->add("ping", [](int /*value*/) {});
  return tasks;
}

// A durable job running task "ping" every 10 s from t0, at most `max_instances` at a time.
JobRecord ping_job(const apsched::TaskRegistry& tasks, std::string id,
                   std::uint16_t max_instances = 1,
                   apsched::Abandoned abandoned = apsched::Abandoned::drop) {
  JobRecord record{
      .id = std::move(id),
      .body = apsched::test::task_body(tasks, "ping", nlohmann::json::parse("[1]")),
      .trigger = apsched::AnyTrigger{apsched::IntervalTrigger{10s, {.start_date = t0}}}};
  record.extra().task = std::make_shared<const apsched::TaskCall>(apsched::TaskCall{"ping", "[1]"});
  record.next_fire = t0;
  record.next_run = t0;
  record.max_instances = max_instances;
  record.abandoned = abandoned;
  return record;
}

PostgresJobStore open_store(const TestSchema& schema,
                            std::shared_ptr<const apsched::TaskRegistry> tasks,
                            PostgresStoreOptions options = {}) {
  PostgresJobStore store{schema.conninfo(), options};
  store.attach(std::move(tasks), 0);
  return store;
}

// Commits `fires` of job `id` through `store` (as the scheduler does for a due job), advancing
// the job past them; with `remove`, the job's trigger is exhausted.
void commit(PostgresJobStore& store, const std::string& id, std::vector<FireDecision> fires,
            bool remove = false) {
  JobRecord* job = store.find(id);
  REQUIRE(job != nullptr);
  job->next_fire = fires.back().scheduled + 10s;
  job->next_run = job->next_fire;
  REQUIRE(store.commit_due(*job, fires, remove));
}

FireDecision claimed(TimePoint scheduled) {
  return FireDecision{.scheduled = scheduled, .state = FireState::claimed};
}

FireDecision submitted(TimePoint scheduled) {
  return FireDecision{.scheduled = scheduled, .state = FireState::submitted};
}

// The recorded fire of job `id` scheduled at `scheduled`.
apsched::FireRecord fire_at(const PostgresJobStore& store, const std::string& id,
                            TimePoint scheduled) {
  for (apsched::FireRecord& fire : store.fire_history(id)) {
    if (fire.scheduled == scheduled) {
      return fire;
    }
  }
  FAIL("no fire of " << id << " is recorded at the time asked for");
  return {};
}

Verdicts start(PostgresJobStore& store, std::initializer_list<ClaimedFire> claims) {
  return store.start_claimed(std::span{claims.begin(), claims.size()});
}

std::int64_t count(const TestSchema& schema, const std::string& sql) {
  return schema.connect().query(sql).int64(0, 0);
}

}  // namespace

TEST_CASE("postgres store: a claimed fire is recorded in flight, and no trim removes it",
          "[postgres][claimed]") {
  TestSchema schema;
  const auto tasks = make_tasks();
  PostgresJobStore store = open_store(schema, tasks, {.history_per_job = 1});
  REQUIRE(store.insert(ping_job(*tasks, "a")) != nullptr);
  commit(store, "a", {claimed(t0)});
  const apsched::FireRecord fire = fire_at(store, "a", t0);
  CHECK(fire.state == FireState::claimed);
  CHECK_FALSE(fire.finished_at.has_value());
  CHECK(fire.owner == store.owner());
  // Newer finished fires, each commit trimming the history to one finished fire: directly, in a
  // round, and by a written outcome.
  commit(store, "a", {{.scheduled = t0 + 10s, .state = FireState::skipped}});
  store.begin_round();
  JobRecord* due = store.first_due(t0 + 1h);
  REQUIRE(due != nullptr);
  due->next_fire = due->next_run = t0 + 40s;
  const FireDecision missed{.scheduled = t0 + 20s, .state = FireState::missed};
  REQUIRE(store.commit_due(*due, std::span{&missed, 1}, false));
  store.end_round();
  commit(store, "a", {submitted(t0 + 40s)});
  store.record_outcome("a", store.find("a"), t0 + 40s, FireState::succeeded, "");
  commit(store, "a", {{.scheduled = t0 + 50s, .state = FireState::skipped}});
  const std::vector<apsched::FireRecord> history = store.fire_history("a");
  REQUIRE(history.size() == 2);
  CHECK(history[0].scheduled == t0 + 50s);
  CHECK(history[1].scheduled == t0);
  CHECK(history[1].state == FireState::claimed);
}

TEST_CASE(
    "postgres store: start_claimed starts claimed fires while their job has an instance "
    "free, in claim order",
    "[postgres][claimed]") {
  TestSchema schema;
  const auto tasks = make_tasks();
  PostgresJobStore store = open_store(schema, tasks);
  REQUIRE(store.insert(ping_job(*tasks, "one")) != nullptr);
  REQUIRE(store.insert(ping_job(*tasks, "two", 2)) != nullptr);
  commit(store, "one", {claimed(t0), claimed(t0 + 10s)});
  commit(store, "two", {claimed(t0), claimed(t0 + 10s), claimed(t0 + 20s)});
  CHECK(start(store, {{"one", t0, 1},
                      {"two", t0 + 20s, 2},
                      {"one", t0 + 10s, 1},
                      {"two", t0, 2},
                      {"two", t0 + 10s, 2},
                      {"one", t0 + 30s, 1}}) ==
        Verdicts{ClaimVerdict::started, ClaimVerdict::started, ClaimVerdict::busy,
                 ClaimVerdict::started, ClaimVerdict::busy, ClaimVerdict::lost});
  const apsched::FireRecord started = fire_at(store, "one", t0);
  CHECK(started.state == FireState::submitted);
  CHECK_FALSE(started.finished_at.has_value());
  CHECK(fire_at(store, "one", t0 + 10s).state == FireState::claimed);
  CHECK(fire_at(store, "two", t0 + 10s).state == FireState::claimed);
  // Started once: a fire recorded submitted is no longer claimed.
  CHECK(start(store, {{"one", t0, 1}}) == Verdicts{ClaimVerdict::lost});
  CHECK(start(store, {{"one", t0 + 10s, 1}}) == Verdicts{ClaimVerdict::busy});
  store.record_outcome("one", store.find("one"), t0, FireState::succeeded, "");
  CHECK(start(store, {{"one", t0 + 10s, 1}}) == Verdicts{ClaimVerdict::started});
  CHECK(start(store, {}).empty());
}

TEST_CASE(
    "postgres store: start_claimed counts the fires other stores started, and loses the "
    "fires they hold",
    "[postgres][claimed]") {
  TestSchema schema;
  const auto tasks = make_tasks();
  PostgresJobStore first = open_store(schema, tasks);
  PostgresJobStore second = open_store(schema, tasks);
  REQUIRE(first.insert(ping_job(*tasks, "a")) != nullptr);
  commit(second, "a", {submitted(t0)});
  commit(first, "a", {claimed(t0 + 10s)});
  commit(second, "a", {claimed(t0 + 20s)});
  CHECK(start(first, {{"a", t0 + 10s, 1}}) == Verdicts{ClaimVerdict::busy});
  // Claimed by the other store: not this one's to start.
  CHECK(start(first, {{"a", t0 + 20s, 1}}) == Verdicts{ClaimVerdict::lost});
  second.record_outcome("a", second.find("a"), t0, FireState::succeeded, "");
  CHECK(start(first, {{"a", t0 + 10s, 1}}) == Verdicts{ClaimVerdict::started});
  CHECK(start(second, {{"a", t0 + 20s, 1}}) == Verdicts{ClaimVerdict::busy});
  // The outcome of a run that ended counts no longer, though still pending: start_claimed
  // writes it first.
  commit(first, "a", {claimed(t0 + 30s)});
  first.defer_outcome("a", first.find("a"), t0 + 10s, FireState::succeeded, "");
  CHECK(start(first, {{"a", t0 + 30s, 1}}) == Verdicts{ClaimVerdict::started});
  CHECK(fire_at(second, "a", t0 + 10s).state == FireState::succeeded);
}

namespace {

// The verdicts of `store` (whose session is named after `schema`) starting `claims`, while the
// transaction of another scheduler holds a lock start_claimed waits for: `commit` commits it
// once start_claimed waits.
template <class F>
Verdicts start_behind(PostgresJobStore& store, const TestSchema& schema,
                      std::initializer_list<ClaimedFire> claims, F&& commit) {
  Verdicts verdicts;
  std::jthread starting{[&] { verdicts = start(store, claims); }};
  // The time limit only ends a hung test.
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  apsched::detail::postgres::Connection admin = schema.connect();
  bool waited = false;
  while (!waited && std::chrono::steady_clock::now() < deadline) {
    waited = admin
                 .query(
                     "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND "
                     "wait_event_type = 'Lock'",
                     schema.name())
                 .int64(0, 0) == 1;
    std::this_thread::yield();
  }
  commit();
  starting.join();
  REQUIRE(waited);
  return verdicts;
}

}  // namespace

TEST_CASE(
    "postgres store: start_claimed waits for a change of the job another scheduler is "
    "committing, and counts the fire it started",
    "[postgres][claimed][thread]") {
  TestSchema schema;
  const auto tasks = make_tasks();
  // Named after the schema, to find its session in pg_stat_activity.
  PostgresJobStore store{schema.conninfo(schema.name())};
  store.attach(tasks, 0);
  REQUIRE(store.insert(ping_job(*tasks, "a")) != nullptr);
  commit(store, "a", {claimed(t0 + 10s)});
  // Another scheduler's commit_due: it changes the job's row and starts a fire of it, and has
  // not committed yet.
  apsched::detail::postgres::Connection other = schema.connect();
  other.exec("BEGIN");
  other.query("UPDATE apsched_jobs SET version = version + 1 WHERE id = 'a'");
  other.query(
      "INSERT INTO apsched_fires (job_id, scheduled, state, runs, owner, recorded_at) "
      "VALUES ('a', $1, 'submitted', 1, 'another scheduler', 0)",
      apsched::detail::durable::to_stored_time("test", t0));
  CHECK(start_behind(store, schema, {{"a", t0 + 10s, 1}}, [&] { other.exec("COMMIT"); }) ==
        Verdicts{ClaimVerdict::busy});
  CHECK(fire_at(store, "a", t0 + 10s).state == FireState::claimed);
}

TEST_CASE(
    "postgres store: start_claimed waits for another store starting a fire of the job, "
    "and counts it",
    "[postgres][claimed][thread]") {
  TestSchema schema;
  const auto tasks = make_tasks();
  PostgresJobStore store{schema.conninfo(schema.name())};
  store.attach(tasks, 0);
  PostgresJobStore other = open_store(schema, tasks);
  REQUIRE(store.insert(ping_job(*tasks, "a")) != nullptr);
  commit(other, "a", {claimed(t0)});
  commit(store, "a", {claimed(t0 + 10s)});
  // In a batch, the other store's start holds the job's row lock until the batch commits.
  other.begin_batch();
  REQUIRE(start(other, {{"a", t0, 1}}) == Verdicts{ClaimVerdict::started});
  CHECK(start_behind(store, schema, {{"a", t0 + 10s, 1}}, [&] { other.commit_batch(); }) ==
        Verdicts{ClaimVerdict::busy});
  CHECK(fire_at(store, "a", t0).state == FireState::submitted);
  CHECK(fire_at(store, "a", t0 + 10s).state == FireState::claimed);
}

TEST_CASE(
    "postgres store: claimed fires of a closed store are taken over to run, whatever the "
    "Abandoned policy",
    "[postgres][claimed]") {
  TestSchema schema;
  const auto tasks = make_tasks();
  std::string first_owner;
  {
    PostgresJobStore first = open_store(schema, tasks);
    first_owner = first.owner().text();
    REQUIRE(first.insert(ping_job(*tasks, "drop", 1, apsched::Abandoned::drop)) != nullptr);
    commit(first, "drop", {claimed(t0)});
  }  // closed with a fire claimed: its lease is given up at once
  CHECK(count(schema, "SELECT count(*) FROM apsched_owners WHERE lease_until = 0") == 1);
  PostgresJobStore next = open_store(schema, tasks);
  const std::vector<apsched::AbandonedFire> taken = next.take_abandoned();
  REQUIRE(taken.size() == 1);
  CHECK(taken[0].job_id == "drop");
  CHECK(taken[0].scheduled == t0);
  CHECK_FALSE(taken[0].started);
  CHECK(taken[0].rerun);
  CHECK(taken[0].attempt == 1);
  CHECK_FALSE(taken[0].last_fire);
  const apsched::FireRecord fire = fire_at(next, "drop", t0);
  CHECK(fire.state == FireState::claimed);
  CHECK(fire.owner == next.owner());
  CHECK(fire.attempt == 1);
  CHECK(start(next, {{"drop", t0, 1}}) == Verdicts{ClaimVerdict::started});
  CHECK(count(schema, "SELECT count(*) FROM apsched_owners WHERE owner = '" + first_owner + "'") ==
        0);
}

TEST_CASE(
    "postgres store: the claimed last fire of a lapsed store's job is run by the store "
    "taking it over",
    "[postgres][claimed]") {
  TestSchema schema;
  const auto tasks = make_tasks();
  PostgresJobStore first = open_store(schema, tasks);
  // Removed with its last fire claimed: kept for that fire, though its policy is drop.
  REQUIRE(first.insert(ping_job(*tasks, "last", 1, apsched::Abandoned::drop)) != nullptr);
  commit(first, "last", {claimed(t0)}, true);
  CHECK(first.find("last") == nullptr);
  CHECK(count(schema, "SELECT count(*) FROM apsched_retired_jobs") == 1);
  schema.connect().query("UPDATE apsched_owners SET lease_until = 0 WHERE owner = $1",
                         first.owner().text());
  PostgresJobStore second = open_store(schema, tasks);
  const std::vector<apsched::AbandonedFire> taken = second.take_abandoned();
  REQUIRE(taken.size() == 1);
  CHECK_FALSE(taken[0].started);
  CHECK(taken[0].rerun);
  CHECK(taken[0].last_fire);
  CHECK(taken[0].attempt == 1);
  JobRecord* held = second.find_cached("last");
  REQUIRE(held != nullptr);
  CHECK(fire_at(second, "last", t0).owner == second.owner());
  // Its first store, alive after all, lost it.
  CHECK(start(first, {{"last", t0, 1}}) == Verdicts{ClaimVerdict::lost});
  CHECK(start(second, {{"last", t0, 1}}) == Verdicts{ClaimVerdict::started});
  second.record_outcome("last", held, t0, FireState::succeeded, "");
  const apsched::FireRecord fire = fire_at(second, "last", t0);
  CHECK(fire.state == FireState::succeeded);
  CHECK(fire.attempt == 1);
  CHECK(count(schema, "SELECT count(*) FROM apsched_retired_jobs") == 0);
}

TEST_CASE(
    "postgres store: a started last fire is taken over per its job's Abandoned policy, "
    "though its job was kept for its claim",
    "[postgres][claimed]") {
  TestSchema schema;
  const auto tasks = make_tasks();
  PostgresJobStore first = open_store(schema, tasks);
  REQUIRE(first.insert(ping_job(*tasks, "last", 1, apsched::Abandoned::drop)) != nullptr);
  commit(first, "last", {claimed(t0)}, true);
  REQUIRE(start(first, {{"last", t0, 1}}) == Verdicts{ClaimVerdict::started});
  schema.connect().query("UPDATE apsched_owners SET lease_until = 0 WHERE owner = $1",
                         first.owner().text());
  PostgresJobStore second = open_store(schema, tasks);
  const std::vector<apsched::AbandonedFire> taken = second.take_abandoned();
  REQUIRE(taken.size() == 1);
  CHECK(taken[0].started);
  CHECK_FALSE(taken[0].rerun);  // it ran: dropped, as its policy says
  CHECK(taken[0].last_fire);
  CHECK(fire_at(second, "last", t0).state == FireState::abandoned);
  CHECK(second.find_cached("last") == nullptr);
  CHECK(count(schema, "SELECT count(*) FROM apsched_retired_jobs") == 0);
}

TEST_CASE(
    "postgres store: a job kept for its last fire goes once no fire of it is in flight, "
    "whichever store ends the last",
    "[postgres][claimed]") {
  TestSchema schema;
  const auto tasks = make_tasks();
  PostgresJobStore first = open_store(schema, tasks);
  PostgresJobStore second = open_store(schema, tasks);
  REQUIRE(first.insert(ping_job(*tasks, "a", 2)) != nullptr);
  commit(second, "a", {submitted(t0)});
  commit(first, "a", {claimed(t0 + 10s)}, true);
  const std::string retired = "SELECT count(*) FROM apsched_retired_jobs";
  CHECK(count(schema, retired) == 1);
  REQUIRE(start(first, {{"a", t0 + 10s, 2}}) == Verdicts{ClaimVerdict::started});
  first.record_outcome("a", nullptr, t0 + 10s, FireState::succeeded, "");
  CHECK(count(schema, retired) == 1);  // the other store's fire is still in flight
  // Ended with the other store's record of the job.
  JobRecord* held = second.find_cached("a");
  REQUIRE(held != nullptr);
  second.record_outcome("a", held, t0, FireState::succeeded, "");
  CHECK(count(schema, retired) == 0);
}

TEST_CASE(
    "postgres store: running_elsewhere counts the fires other stores started, not the "
    "ones they claimed",
    "[postgres][claimed]") {
  TestSchema schema;
  const auto tasks = make_tasks();
  PostgresJobStore first = open_store(schema, tasks);
  PostgresJobStore second = open_store(schema, tasks);
  REQUIRE(first.insert(ping_job(*tasks, "a", 3)) != nullptr);
  commit(second, "a", {submitted(t0), claimed(t0 + 10s), claimed(t0 + 20s)});
  const JobRecord* found = first.find("a");
  REQUIRE(found != nullptr);
  CHECK(found->running_elsewhere == 1);
  REQUIRE(start(second, {{"a", t0 + 10s, 3}}) == Verdicts{ClaimVerdict::started});
  first.begin_round();
  const JobRecord* due = first.first_due(t0 + 1h);
  REQUIRE(due != nullptr);
  CHECK(due->running_elsewhere == 2);
  first.end_round();
  // Its own fires are not elsewhere.
  CHECK(second.find("a")->running_elsewhere == 0);
}

TEST_CASE(
    "postgres store: the fire history keeps the largest history_per_job of the stores on "
    "the database",
    "[postgres][claimed]") {
  TestSchema schema;
  const auto tasks = make_tasks();
  PostgresJobStore small = open_store(schema, tasks, {.history_per_job = 2});
  REQUIRE(small.insert(ping_job(*tasks, "a")) != nullptr);
  int fires = 0;
  const auto skip = [&](int n) {
    for (int i = 0; i < n; ++i, ++fires) {
      commit(small, "a", {{.scheduled = t0 + fires * 10s, .state = FireState::skipped}});
    }
  };
  {
    PostgresJobStore large = open_store(schema, tasks, {.history_per_job = 5});
    skip(7);
    CHECK(small.fire_history("a").size() == 5);
    CHECK(count(schema, "SELECT max(history_per_job) FROM apsched_owners") == 5);
  }  // closed with no fire in flight: its lease row goes, and with it its history_per_job
  skip(1);
  const std::vector<apsched::FireRecord> history = small.fire_history("a");
  REQUIRE(history.size() == 2);
  CHECK(history[0].scheduled == t0 + 70s);
}

TEST_CASE("postgres store: a history of 20 or more is trimmed at every tenth of it",
          "[postgres][claimed]") {
  TestSchema schema;
  const auto tasks = make_tasks();
  // 20 kept: each job's history is trimmed at every second fire the store ends. A trim counts
  // the fires finished before the statement that writes the outcome, as before.
  PostgresJobStore store = open_store(schema, tasks, {.history_per_job = 20});
  REQUIRE(store.insert(ping_job(*tasks, "a")) != nullptr);
  const auto end_fire = [&](int i) {
    const TimePoint scheduled = t0 + std::chrono::seconds{i};
    commit(store, "a", {submitted(scheduled)});
    (void)store.defer_outcome("a", store.find("a"), scheduled, FireState::succeeded, "");
    store.flush_outcomes();
  };
  for (int i = 0; i <= 22; ++i) {
    end_fire(i);
  }
  // Trimmed at fire 21 to 20 of the 21 before it; fire 22 was not a trim: 22 kept (a trim at
  // every fire would keep 21).
  CHECK(store.fire_history("a").size() == 22);
  end_fire(23);
  const std::vector<apsched::FireRecord> history = store.fire_history("a");
  REQUIRE(history.size() == 21);
  CHECK(history.front().scheduled == t0 + 23s);
  CHECK(history.back().scheduled == t0 + 3s);
}

}  // namespace postgres_claims_test
