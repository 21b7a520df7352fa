// SPDX-License-Identifier: MIT
// PostgresStoreView: a PostgresJobStore's tables read from outside its schedulers, on a
// read-only connection of its own and without their tasks: jobs with their triggers described,
// pages of jobs and fires, fires in flight with their owners, the owners and their leases by the
// database clock, and the errors of a database it cannot read.
#include <apsched/apsched.hpp>
#include <apsched/postgres/job_store.hpp>
#include <apsched/postgres/store_view.hpp>
#include <apsched/testing/manual_clock.hpp>
#include <apsched/testing/manual_executor.hpp>
#include <apsched/triggers/date.hpp>
#include <apsched/triggers/interval.hpp>

#include "support/catch.hpp"
#include "support/postgres.hpp"
#include "support/task_body.hpp"

#include <unistd.h>
#include <nlohmann/json.hpp>

#include <array>
#include <chrono>
#include <future>
#include <latch>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace postgres_store_view_test {

using namespace std::chrono_literals;
using apsched::FireDecision;
using apsched::FireQuery;
using apsched::FireState;
using apsched::JobRecord;
using apsched::PostgresJobStore;
using apsched::PostgresStoreView;
using apsched::StoredFire;
using apsched::StoredJob;
using apsched::TimePoint;
using apsched::test::contains;
using apsched::test::TestSchema;

namespace {

const TimePoint t0 = TimePoint{std::chrono::sys_days{std::chrono::year{2026} / 4 / 1}};

using Scheduler =
    apsched::CallbackScheduler<PostgresJobStore, apsched::ManualExecutor, apsched::ManualClock>;

std::shared_ptr<apsched::TaskRegistry> make_tasks() {
  auto tasks = std::make_shared<apsched::TaskRegistry>();
  tasks->add("ping", [](int /*value*/) {});
  return tasks;
}

// A durable job running task "ping" every 10 s from t0.
JobRecord ping_job(const apsched::TaskRegistry& tasks, std::string id) {
  JobRecord record{
      .id = std::move(id),
      .body = apsched::test::task_body(tasks, "ping", nlohmann::json::parse("[1]")),
      .trigger = apsched::AnyTrigger{apsched::IntervalTrigger{10s, {.start_date = t0}}}};
  record.extra().task = std::make_shared<const apsched::TaskCall>(apsched::TaskCall{"ping", "[1]"});
  record.next_fire = t0;
  record.next_run = t0;
  return record;
}

PostgresJobStore open_store(const TestSchema& schema, apsched::PostgresStoreOptions options = {}) {
  PostgresJobStore store{schema.conninfo(), options};
  store.attach(make_tasks(), 0);
  return store;
}

// Commits one fire of job `id` in `state` at its next run, advancing it by 10 s.
void commit_one(PostgresJobStore& store, const std::string& id, FireState state) {
  JobRecord* job = store.find(id);
  REQUIRE(job != nullptr);
  const FireDecision fire{.scheduled = job->next_run, .state = state};
  job->next_fire += 10s;
  job->next_run += 10s;
  REQUIRE(store.commit_due(*job, std::span{&fire, 1}, false));
}

std::string host_name() {
  std::array<char, 256> name{};
  REQUIRE(::gethostname(name.data(), name.size() - 1) == 0);
  return std::string{name.data()};
}

std::vector<std::string> ids_of(const std::vector<StoredJob>& jobs) {
  std::vector<std::string> ids;
  for (const StoredJob& job : jobs) {
    ids.push_back(job.id);
  }
  return ids;
}

// Every fire `view` lists for `query`, page by page; `pages` receives how many it took.
std::vector<StoredFire> all_pages(const PostgresStoreView& view, FireQuery query, int& pages) {
  std::vector<StoredFire> fires;
  pages = 0;
  for (;;) {
    apsched::FirePage page = view.fires(query);
    ++pages;
    REQUIRE(page.fires.size() <= query.limit);
    fires.insert(fires.end(), page.fires.begin(), page.fires.end());
    if (!page.next) {
      return fires;
    }
    query.after = page.next;
  }
}

}  // namespace

TEST_CASE("postgres view: is a StoreView", "[postgres][view]") {
  STATIC_REQUIRE(apsched::StoreView<PostgresStoreView>);
}

TEST_CASE("postgres view: lists jobs whose tasks this process never registered",
          "[postgres][view]") {
  TestSchema schema;
  {
    apsched::ManualClock clock{t0};
    Scheduler scheduler{PostgresJobStore{schema.conninfo()}, {}, clock};
    scheduler.register_task("tick", [](std::string /*name*/) {});
    scheduler.start();
    scheduler.add_job(apsched::task("tick"), apsched::IntervalTrigger{10s, {.start_date = t0}},
                      {.id = "every", .name = "Every ten seconds"}, "a");
    scheduler.add_job(apsched::task("tick"), apsched::DateTrigger{t0 + 1h},
                      {.id = "once", .paused = true}, "b");
    scheduler.process_due_jobs();
    REQUIRE(scheduler.executor().run_all() == 1);
    clock.set(t0 + 1s);
    scheduler.process_due_jobs();  // writes the outcome
    scheduler.shutdown();
  }
  auto db = schema.connect();
  db.exec("UPDATE apsched_jobs SET task = 'ghost' WHERE id = 'once'");
  db.exec(
      "INSERT INTO apsched_jobs SELECT 'odd', task, arguments, '{\"type\": \"lunar\"}', options, "
      "next_fire, next_run, paused, last_run, run_count, failure_count, last_outcome, version "
      "FROM apsched_jobs WHERE id = 'every'");

  const PostgresStoreView view{schema.conninfo()};
  const std::vector<StoredJob> jobs = view.jobs();
  REQUIRE(ids_of(jobs) == std::vector<std::string>{"every", "odd", "once"});
  CHECK(jobs[0].name == "Every ten seconds");
  CHECK(jobs[0].arguments == R"(["a"])");
  CHECK(jobs[0].trigger_readable);
  CHECK(jobs[0].trigger_description ==
        apsched::AnyTrigger{apsched::IntervalTrigger{10s, {.start_date = t0}}}.describe());
  CHECK(jobs[0].next_run == t0 + 10s);
  CHECK(jobs[0].run_count == 1);
  CHECK(jobs[0].last_outcome == apsched::JobOutcome::success);
  CHECK_FALSE(jobs[1].trigger_readable);
  CHECK_THAT(jobs[1].trigger_description, contains("the trigger could not be read"));
  CHECK(jobs[2].task == "ghost");
  CHECK(jobs[2].paused);
  CHECK(jobs[2].trigger_description ==
        apsched::AnyTrigger{apsched::DateTrigger{t0 + 1h}}.describe());
  REQUIRE(view.job("once").has_value());
  CHECK(view.job("once")->task == "ghost");
  CHECK_FALSE(view.job("nothing").has_value());
}

TEST_CASE("postgres view: job and fire pages continue where the last ended, with filters",
          "[postgres][view]") {
  TestSchema schema;
  PostgresJobStore store = open_store(schema);
  const auto tasks = make_tasks();
  for (int i = 0; i < 12; ++i) {
    JobRecord job = ping_job(*tasks, fmt::format("job-{:02}", i));
    job.paused = i % 4 == 0;
    REQUIRE(store.insert(std::move(job)) != nullptr);
  }
  const PostgresStoreView view{schema.conninfo()};
  std::vector<std::string> seen;
  apsched::JobQuery query{.limit = 5};
  int pages = 0;
  for (;;) {
    const apsched::JobPage page = view.jobs(query);
    ++pages;
    for (const StoredJob& job : page.jobs) {
      seen.push_back(job.id);
    }
    if (!page.next) {
      break;
    }
    query.after = page.next;
  }
  CHECK(pages == 3);
  CHECK(seen == ids_of(view.jobs()));
  CHECK(seen.size() == 12);
  CHECK(ids_of(view.jobs({.paused = true}).jobs) ==
        std::vector<std::string>{"job-00", "job-04", "job-08"});
  CHECK(ids_of(view.jobs({.text = "job-1", .paused = false}).jobs) ==
        std::vector<std::string>{"job-10", "job-11"});
  CHECK(view.jobs({.text = "ping"}).jobs.size() == 12);

  // Three jobs firing at the same times: ties are ordered by job id, descending.
  const std::array<std::pair<const char*, FireState>, 3> firing{{{"job-01", FireState::missed},
                                                                 {"job-02", FireState::skipped},
                                                                 {"job-03", FireState::submitted}}};
  for (const auto& [id, state] : firing) {
    for (int i = 0; i < 3; ++i) {
      commit_one(store, id, state);
    }
  }
  const std::vector<StoredFire> fires = all_pages(view, {.limit = 4}, pages);
  CHECK(pages == 3);
  REQUIRE(fires.size() == 9);
  for (std::size_t i = 0; i < fires.size(); ++i) {
    INFO("fire " << i);
    CHECK(fires[i].fire.scheduled == t0 + 10s * (2 - static_cast<int>(i / 3)));
    CHECK(fires[i].job_id == fmt::format("job-0{}", 3 - i % 3));
  }
  CHECK(fires[0].fire.owner == store.owner());
  CHECK(all_pages(view, {.job_id = "job-02", .limit = 2}, pages).size() == 3);
  CHECK(pages == 2);
  CHECK(all_pages(view, {.states = {FireState::missed, FireState::submitted}, .limit = 2}, pages)
            .size() == 6);
  CHECK(view.fires({.scheduled_from = t0 + 10s, .scheduled_before = t0 + 20s}).fires.size() == 3);
  CHECK(view.fires({.job_id = "job-03",
                    .states = {FireState::submitted},
                    .scheduled_from = t0 + 10s,
                    .scheduled_before = TimePoint::max()})
            .fires.size() == 2);
}

TEST_CASE("postgres view: fires in flight and owners name the scheduler that holds them",
          "[postgres][view]") {
  TestSchema schema;
  apsched::ManualClock clock{t0};
  Scheduler scheduler{PostgresJobStore{schema.conninfo()}, {}, clock};
  scheduler.register_task("tick", [](std::string /*name*/) {});
  scheduler.start();
  scheduler.add_job(apsched::task("tick"), apsched::IntervalTrigger{1s, {.start_date = t0}},
                    {.id = "q", .overlap = apsched::Overlap::queue}, "q");
  const PostgresStoreView view{schema.conninfo()};
  CHECK(view.fires_in_flight().empty());

  scheduler.process_due_jobs();  // the run of t0, held by the executor
  clock.set(t0 + 1s);
  scheduler.process_due_jobs();  // queued behind it: claimed
  const std::vector<StoredFire> in_flight = view.fires_in_flight();
  REQUIRE(in_flight.size() == 2);
  CHECK(in_flight[0].fire.state == FireState::claimed);
  CHECK(in_flight[0].fire.scheduled == t0 + 1s);
  CHECK(in_flight[1].fire.state == FireState::submitted);
  CHECK(in_flight[1].fire.scheduled == t0);

  const std::vector<apsched::StoreOwner> owners = view.owners();
  REQUIRE(owners.size() == 1);
  CHECK(owners[0].owner == in_flight[0].fire.owner);
  CHECK(owners[0].owner == in_flight[1].fire.owner);
  CHECK(owners[0].owner.pid == ::getpid());
  CHECK(owners[0].owner.host == host_name());
  CHECK(owners[0].lease_current);
  CHECK(owners[0].fires_claimed == 1);
  CHECK(owners[0].fires_submitted == 1);
  CHECK(view.job("q")->fires_in_flight() == 2);

  CHECK(scheduler.executor().run_all() == 1);
  clock.set(t0 + 1500ms);
  scheduler.process_due_jobs();  // writes its outcome and starts the queued run
  CHECK(view.fires_in_flight().size() == 1);
  CHECK(scheduler.executor().run_all() == 1);
  clock.set(t0 + 1600ms);
  scheduler.process_due_jobs();  // writes its outcome
  CHECK(view.fires_in_flight().empty());
  scheduler.shutdown();
}

TEST_CASE("postgres view: a fire is seen in flight while its job runs on a worker thread",
          "[postgres][view][thread]") {
  TestSchema schema;
  std::promise<void> started;
  std::latch release{1};
  apsched::BackgroundScheduler<PostgresJobStore> scheduler{PostgresJobStore{schema.conninfo()}};
  scheduler.register_task("block", [&] {
    started.set_value();
    release.wait();
  });
  scheduler.start();
  scheduler.add_job(apsched::task("block"), apsched::DateTrigger{apsched::SystemClock{}.now()},
                    {.id = "blocking"});
  // The time-out only fails a hung test.
  REQUIRE(started.get_future().wait_for(10s) == std::future_status::ready);
  const PostgresStoreView view{schema.conninfo()};
  const std::vector<StoredFire> in_flight = view.fires_in_flight();
  const std::vector<apsched::StoreOwner> owners = view.owners();
  release.count_down();
  scheduler.shutdown(true);

  REQUIRE(in_flight.size() == 1);
  CHECK(in_flight[0].job_id == "blocking");
  CHECK(in_flight[0].fire.state == FireState::submitted);
  CHECK(in_flight[0].fire.owner.pid == ::getpid());
  REQUIRE(owners.size() == 1);
  CHECK(owners[0].owner == in_flight[0].fire.owner);
  CHECK(owners[0].fires_submitted == 1);
}

TEST_CASE("postgres view: owners show their host, pid, lease by the database clock and history",
          "[postgres][view]") {
  TestSchema schema;
  PostgresJobStore first = open_store(schema, {.history_per_job = 7});
  PostgresJobStore second = open_store(schema, {.history_per_job = 9});
  const PostgresStoreView view{schema.conninfo()};
  std::vector<apsched::StoreOwner> owners = view.owners();
  REQUIRE(owners.size() == 2);
  if (owners[0].owner != first.owner()) {
    std::swap(owners[0], owners[1]);
  }
  CHECK(owners[0].owner == first.owner());
  CHECK(owners[1].owner == second.owner());
  CHECK(owners[0].history_per_job == 7);
  CHECK(owners[1].history_per_job == 9);
  for (const apsched::StoreOwner& owner : owners) {
    CHECK(owner.owner.host == host_name());
    CHECK(owner.owner.pid == ::getpid());
    CHECK(owner.lease_current);
    CHECK(owner.started_at < owner.lease_until);
  }
  schema.connect().query("UPDATE apsched_owners SET lease_until = 0 WHERE owner = $1",
                         first.owner().text());
  for (const apsched::StoreOwner& owner : view.owners()) {
    CHECK(owner.lease_current == (owner.owner == second.owner()));
  }
}

TEST_CASE("postgres view: fire records carry their owner as host, pid and token",
          "[postgres][view]") {
  TestSchema schema;
  PostgresJobStore store = open_store(schema);
  REQUIRE(store.insert(ping_job(*make_tasks(), "a")) != nullptr);
  for (int i = 0; i < 3; ++i) {
    commit_one(store, "a", FireState::missed);
  }
  auto db = schema.connect();
  db.query("UPDATE apsched_fires SET owner = 'legacy-token' WHERE scheduled = $1",
           apsched::detail::durable::to_stored_time("test", t0 + 10s));
  db.query("UPDATE apsched_fires SET owner = NULL WHERE scheduled = $1",
           apsched::detail::durable::to_stored_time("test", t0));
  const PostgresStoreView view{schema.conninfo()};
  const std::vector<StoredFire> fires = view.fires({.job_id = "a"}).fires;
  REQUIRE(fires.size() == 3);
  CHECK(fires[0].fire.owner == store.owner());
  CHECK(fires[0].fire.owner.pid == ::getpid());
  CHECK(fires[0].fire.owner.host == host_name());
  CHECK(store.fire_history("a")[0].owner == fires[0].fire.owner);
  CHECK_FALSE(fires[1].fire.owner.structured());
  CHECK(fires[1].fire.owner.text() == "legacy-token");
  CHECK(fires[2].fire.owner == apsched::FireOwner{});
}

TEST_CASE("postgres view: refuses a database without job store tables or of another version",
          "[postgres][view]") {
  TestSchema schema;
  REQUIRE_THROWS_AS(PostgresStoreView{schema.conninfo()}, apsched::StoreError);
  REQUIRE_THROWS_WITH(PostgresStoreView{schema.conninfo()},
                      contains("PostgresStoreView database") &&
                          contains("open: the database holds no apsched_jobs tables"));
  { PostgresJobStore store = open_store(schema); }
  schema.connect().exec("UPDATE apsched_schema SET version = 99 WHERE name = 'apsched_jobs'");
  REQUIRE_THROWS_AS(PostgresStoreView{schema.conninfo()}, apsched::SchemaVersionError);
  REQUIRE_THROWS_WITH(PostgresStoreView{schema.conninfo()},
                      contains("open: the database has schema version 99 of apsched_jobs, "
                               "written by a newer apsched"));
}

TEST_CASE("postgres view: takes no lease", "[postgres][view]") {
  TestSchema schema;
  { PostgresJobStore store = open_store(schema); }
  const PostgresStoreView view{schema.conninfo()};
  CHECK(view.owners().empty());
  CHECK(view.jobs().empty());
}

}  // namespace postgres_store_view_test
