// SPDX-License-Identifier: MIT
// SqliteStoreView: a SqliteJobStore's file read from outside its schedulers, without their
// tasks: jobs with their triggers described, pages of jobs and fires, fires in flight with their
// owners, the owners and their leases, a file another process writes, and the errors of a file
// it cannot read.
#include <apsched/apsched.hpp>
#include <apsched/sqlite/job_store.hpp>
#include <apsched/sqlite/store_view.hpp>
#include <apsched/testing/manual_clock.hpp>
#include <apsched/testing/manual_executor.hpp>
#include <apsched/triggers/date.hpp>
#include <apsched/triggers/interval.hpp>

#include "support/catch.hpp"
#include "support/processes.hpp"
#include "support/sqlite_jobs.hpp"
#include "support/temp_dir.hpp"

#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <future>
#include <latch>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sqlite_store_view_test {

using namespace std::chrono_literals;
using apsched::FireQuery;
using apsched::FireState;
using apsched::JobQuery;
using apsched::SqliteJobStore;
using apsched::SqliteStoreView;
using apsched::StoredFire;
using apsched::StoredJob;
using apsched::TimePoint;
using apsched::test::commit_one;
using apsched::test::contains;
using apsched::test::make_job;
using apsched::test::make_tasks;
using apsched::test::open_store;
using apsched::test::raw_exec;
using apsched::test::TempDir;

namespace {

const TimePoint t0 = apsched::ManualClock{}.now();

using Scheduler =
    apsched::CallbackScheduler<SqliteJobStore, apsched::ManualExecutor, apsched::ManualClock>;

std::string host_name() {
  std::array<char, 256> name{};
  REQUIRE(::gethostname(name.data(), name.size() - 1) == 0);
  return std::string{name.data()};
}

// Every fire `view` lists for `query`, page by page (`query.limit` each); `pages` receives how
// many pages it took.
std::vector<StoredFire> all_pages(const SqliteStoreView& view, FireQuery query, int& pages) {
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
    REQUIRE(page.fires.size() == query.limit);
    query.after = page.next;
  }
}

std::vector<std::string> ids_of(const std::vector<StoredJob>& jobs) {
  std::vector<std::string> ids;
  for (const StoredJob& job : jobs) {
    ids.push_back(job.id);
  }
  return ids;
}

// A scheduler on `file` running task "tick" on a manual executor, its runs queued until a test
// runs them.
struct Node {
  apsched::ManualClock clock;
  Scheduler scheduler;

  Node(const std::filesystem::path& file, TimePoint now)
      : clock{now}, scheduler{SqliteJobStore{file}, {}, clock} {
    scheduler.register_task("tick", [](std::string /*name*/) {});
    scheduler.start();
  }

  void advance_to(TimePoint when) {
    clock.set(when);
    scheduler.process_due_jobs();
  }
};

}  // namespace

TEST_CASE("sqlite view: is a StoreView", "[sqlite][view]") {
  STATIC_REQUIRE(apsched::StoreView<SqliteStoreView>);
}

TEST_CASE("sqlite view: lists jobs whose tasks this process never registered", "[sqlite][view]") {
  TempDir dir;
  const auto file = dir.file("jobs.db");
  {
    Node node{file, t0};
    node.scheduler.add_job(apsched::task("tick"), apsched::IntervalTrigger{10s},
                           {.id = "every", .name = "Every ten seconds"}, "a");
    node.scheduler.add_job(apsched::task("tick"), apsched::DateTrigger{t0 + 1h},
                           {.id = "once", .paused = true}, "b");
    node.advance_to(t0 + 10s);
    REQUIRE(node.scheduler.executor().run_all() == 1);
    node.advance_to(t0 + 11s);  // writes the outcome
  }
  // A task no process has, and a trigger type no codec knows.
  raw_exec(file, "UPDATE jobs SET task = 'ghost' WHERE id = 'once'");
  raw_exec(file, R"(INSERT INTO jobs SELECT 'odd', task, arguments, '{"type": "lunar"}', )"
                 "options, next_fire, next_run, paused, last_run, run_count, failure_count, "
                 "last_outcome, version FROM jobs WHERE id = 'every'");

  const SqliteStoreView view{file};
  const std::vector<StoredJob> jobs = view.jobs();
  REQUIRE(ids_of(jobs) == std::vector<std::string>{"every", "odd", "once"});

  const StoredJob& every = jobs[0];
  CHECK(every.name == "Every ten seconds");
  CHECK(every.task == "tick");
  CHECK(every.arguments == R"(["a"])");
  CHECK(every.trigger_readable);
  CHECK(every.trigger_description == apsched::AnyTrigger{apsched::IntervalTrigger{10s}}.describe());
  CHECK(every.next_run == t0 + 20s);
  CHECK_FALSE(every.paused);
  CHECK(every.run_count == 1);
  CHECK(every.last_run == t0 + 10s);
  CHECK(every.last_outcome == apsched::JobOutcome::success);
  CHECK(every.fires_in_flight() == 0);

  const StoredJob& odd = jobs[1];
  CHECK_FALSE(odd.trigger_readable);
  CHECK(odd.trigger == R"({"type": "lunar"})");
  CHECK_THAT(odd.trigger_description,
             contains("the trigger could not be read") && contains("lunar"));

  const StoredJob& once = jobs[2];
  CHECK(once.task == "ghost");
  CHECK(once.paused);
  CHECK(once.name.empty());
  CHECK(once.trigger_description == apsched::AnyTrigger{apsched::DateTrigger{t0 + 1h}}.describe());
  CHECK(once.next_run == t0 + 1h);
  CHECK_FALSE(once.last_run.has_value());
  CHECK(once.last_outcome == apsched::JobOutcome::none);

  const std::optional<StoredJob> found = view.job("once");
  REQUIRE(found.has_value());
  CHECK(found->task == "ghost");
  CHECK_FALSE(view.job("nothing").has_value());
}

TEST_CASE("sqlite view: job pages continue after the last id, filtered by text and state",
          "[sqlite][view]") {
  TempDir dir;
  const auto file = dir.file("jobs.db");
  const auto tasks = make_tasks();
  {
    SqliteJobStore store = open_store(file, tasks);
    for (int i = 0; i < 25; ++i) {
      apsched::JobRecord job = make_job(*tasks, fmt::format("job-{:02}", i), t0);
      job.paused = i % 5 == 0;
      REQUIRE(store.insert(std::move(job)) != nullptr);
    }
  }
  const SqliteStoreView view{file};
  std::vector<std::string> seen;
  JobQuery query{.limit = 10};
  std::vector<std::size_t> sizes;
  for (;;) {
    const apsched::JobPage page = view.jobs(query);
    sizes.push_back(page.jobs.size());
    for (const StoredJob& job : page.jobs) {
      seen.push_back(job.id);
    }
    if (!page.next) {
      break;
    }
    CHECK(*page.next == page.jobs.back().id);
    query.after = page.next;
  }
  CHECK(sizes == std::vector<std::size_t>{10, 10, 5});
  CHECK(seen == ids_of(view.jobs()));
  CHECK(seen.size() == 25);

  // A page that ends exactly at the last job says so.
  const apsched::JobPage exact = view.jobs({.limit = 25});
  CHECK(exact.jobs.size() == 25);
  CHECK_FALSE(exact.next.has_value());

  CHECK(ids_of(view.jobs({.text = "job-1"}).jobs) ==
        std::vector<std::string>{"job-10", "job-11", "job-12", "job-13", "job-14", "job-15",
                                 "job-16", "job-17", "job-18", "job-19"});
  CHECK(ids_of(view.jobs({.text = "ping", .limit = 3}).jobs).size() == 3);  // the task name
  CHECK(ids_of(view.jobs({.paused = true}).jobs) ==
        std::vector<std::string>{"job-00", "job-05", "job-10", "job-15", "job-20"});
  const apsched::JobPage scheduled = view.jobs({.text = "job-2", .paused = false, .limit = 2});
  CHECK(ids_of(scheduled.jobs) == std::vector<std::string>{"job-21", "job-22"});
  REQUIRE(scheduled.next == "job-22");
  CHECK(ids_of(view.jobs({.text = "job-2", .paused = false, .limit = 2, .after = scheduled.next})
                   .jobs) == std::vector<std::string>{"job-23", "job-24"});
}

TEST_CASE("sqlite view: fire pages across jobs are newest first and neither overlap nor skip",
          "[sqlite][view]") {
  TempDir dir;
  const auto file = dir.file("jobs.db");
  const auto tasks = make_tasks();
  SqliteJobStore store = open_store(file, tasks);
  // Three jobs firing at the same times: ties in scheduled time are ordered by job id.
  const std::array<std::pair<const char*, FireState>, 3> jobs{
      {{"a", FireState::missed}, {"b", FireState::skipped}, {"c", FireState::submitted}}};
  for (const auto& [id, state] : jobs) {
    REQUIRE(store.insert(make_job(*tasks, id, t0)) != nullptr);
    for (int i = 0; i < 4; ++i) {
      apsched::JobRecord* job = store.find(id);
      REQUIRE(job != nullptr);
      REQUIRE(commit_one(store, *job, state));
    }
  }
  const SqliteStoreView view{file};

  int pages = 0;
  const std::vector<StoredFire> fires = all_pages(view, {.limit = 5}, pages);
  CHECK(pages == 3);
  REQUIRE(fires.size() == 12);
  for (std::size_t i = 0; i < fires.size(); ++i) {
    INFO("fire " << i);
    const auto time = t0 + 10s * (3 - static_cast<int>(i / 3));
    CHECK(fires[i].fire.scheduled == time);
    CHECK(fires[i].job_id == std::string(1, static_cast<char>('c' - i % 3)));
  }
  CHECK(fires[0].fire.state == FireState::submitted);
  CHECK(fires[1].fire.state == FireState::skipped);
  CHECK(fires[2].fire.state == FireState::missed);
  CHECK(fires[2].fire.runs == 1);
  CHECK(fires[0].fire.owner == store.owner());

  // Newer fires recorded between two pages go to the front: the next page goes on where the
  // previous one ended.
  const apsched::FirePage first = view.fires({.limit = 4});
  REQUIRE(first.next.has_value());
  CHECK(first.next->job_id == "c");
  apsched::JobRecord* a = store.find("a");
  REQUIRE(a != nullptr);
  REQUIRE(commit_one(store, *a, FireState::missed));
  const apsched::FirePage second = view.fires({.limit = 4, .after = first.next});
  REQUIRE(second.fires.size() == 4);
  CHECK(second.fires[0].job_id == fires[4].job_id);
  CHECK(second.fires[0].fire.scheduled == fires[4].fire.scheduled);

  // Filters: by job, by state, by time, and all at once.
  const auto only_b = view.fires({.job_id = "b", .limit = 2});
  REQUIRE(only_b.fires.size() == 2);
  CHECK(only_b.fires[0].fire.scheduled == t0 + 30s);
  CHECK(only_b.fires[1].fire.scheduled == t0 + 20s);
  CHECK(all_pages(view, {.job_id = "b", .limit = 2, .after = only_b.next}, pages).size() == 2);
  CHECK(all_pages(view, {.states = {FireState::missed, FireState::skipped}, .limit = 3}, pages)
            .size() == 9);
  CHECK(pages == 3);
  const std::vector<StoredFire> window = all_pages(
      view, {.scheduled_from = t0 + 10s, .scheduled_before = t0 + 30s, .limit = 100}, pages);
  CHECK(window.size() == 6);
  CHECK(pages == 1);
  const std::vector<StoredFire> narrow = view.fires({.job_id = "c",
                                                     .states = {FireState::submitted},
                                                     .scheduled_from = t0 + 10s,
                                                     .scheduled_before = TimePoint::max(),
                                                     .limit = 10})
                                             .fires;
  REQUIRE(narrow.size() == 3);
  CHECK(narrow.back().fire.scheduled == t0 + 10s);
  CHECK(view.fires({.job_id = "none"}).fires.empty());
}

TEST_CASE("sqlite view: fire records carry their owner as host, pid and token", "[sqlite][view]") {
  TempDir dir;
  const auto file = dir.file("jobs.db");
  const auto tasks = make_tasks();
  SqliteJobStore store = open_store(file, tasks);
  REQUIRE(store.insert(make_job(*tasks, "a", t0)) != nullptr);
  for (int i = 0; i < 3; ++i) {
    REQUIRE(commit_one(store, *store.find("a"), FireState::missed));
  }
  raw_exec(file, fmt::format("UPDATE fires SET owner = 'legacy-token' WHERE scheduled = {}",
                             apsched::detail::durable::to_stored_time("test", t0 + 10s)));
  raw_exec(file, fmt::format("UPDATE fires SET owner = NULL WHERE scheduled = {}",
                             apsched::detail::durable::to_stored_time("test", t0)));
  const SqliteStoreView view{file};
  const std::vector<StoredFire> fires = view.fires({.job_id = "a"}).fires;
  REQUIRE(fires.size() == 3);

  const apsched::FireOwner& owner = fires[0].fire.owner;
  CHECK(owner == store.owner());
  CHECK(owner.structured());
  CHECK(owner.host == host_name());
  CHECK(owner.pid == ::getpid());
  CHECK(owner.token.size() == 16);
  CHECK(owner.text() == fmt::format("{}:{}:{}", host_name(), ::getpid(), owner.token));
  CHECK(store.fire_history("a")[0].owner == owner);

  CHECK_FALSE(fires[1].fire.owner.structured());
  CHECK(fires[1].fire.owner.token == "legacy-token");
  CHECK(fires[1].fire.owner.text() == "legacy-token");
  CHECK(fires[2].fire.owner == apsched::FireOwner{});
  CHECK(fires[2].fire.owner.text().empty());
}

TEST_CASE("sqlite view: fires in flight name their owner while a scheduler holds them",
          "[sqlite][view]") {
  TempDir dir;
  const auto file = dir.file("jobs.db");
  Node node{file, t0};
  node.scheduler.add_job(apsched::task("tick"), apsched::IntervalTrigger{1s, {.start_date = t0}},
                         {.id = "q", .overlap = apsched::Overlap::queue}, "q");
  const SqliteStoreView view{file};
  CHECK(view.fires_in_flight().empty());

  node.advance_to(t0);       // handed to the executor, which holds it
  node.advance_to(t0 + 1s);  // queued behind it: claimed
  const std::vector<StoredFire> in_flight = view.fires_in_flight();
  REQUIRE(in_flight.size() == 2);
  CHECK(in_flight[0].job_id == "q");
  CHECK(in_flight[0].fire.scheduled == t0 + 1s);
  CHECK(in_flight[0].fire.state == FireState::claimed);
  CHECK(in_flight[1].fire.scheduled == t0);
  CHECK(in_flight[1].fire.state == FireState::submitted);
  CHECK_FALSE(in_flight[1].fire.finished_at.has_value());

  const std::vector<apsched::StoreOwner> owners = view.owners();
  REQUIRE(owners.size() == 1);
  CHECK(in_flight[0].fire.owner == owners[0].owner);
  CHECK(in_flight[1].fire.owner == owners[0].owner);
  CHECK(owners[0].owner.pid == ::getpid());
  CHECK(owners[0].fires_claimed == 1);
  CHECK(owners[0].fires_submitted == 1);

  const std::optional<StoredJob> job = view.job("q");
  REQUIRE(job.has_value());
  CHECK(job->fires_claimed == 1);
  CHECK(job->fires_submitted == 1);
  CHECK(job->fires_in_flight() == 2);
  CHECK(view.fires({.states = {FireState::claimed, FireState::submitted}}).fires.size() == 2);

  CHECK(node.scheduler.executor().run_all() == 1);
  node.advance_to(t0 + 1500ms);  // writes its outcome and starts the queued run
  CHECK(view.fires_in_flight().size() == 1);
  CHECK(node.scheduler.executor().run_all() == 1);
  node.advance_to(t0 + 1600ms);  // writes its outcome
  CHECK(view.fires_in_flight().empty());
  CHECK(view.job("q")->fires_in_flight() == 0);
}

TEST_CASE("sqlite view: a fire is seen in flight while its job runs on a worker thread",
          "[sqlite][view][thread]") {
  TempDir dir;
  const auto file = dir.file("jobs.db");
  std::promise<void> started;
  std::latch release{1};
  apsched::BackgroundScheduler<SqliteJobStore> scheduler{SqliteJobStore{file}};
  scheduler.register_task("block", [&] {
    started.set_value();
    release.wait();
  });
  scheduler.start();
  scheduler.add_job(apsched::task("block"), apsched::DateTrigger{apsched::SystemClock{}.now()},
                    {.id = "blocking"});
  // The time-out only fails a hung test.
  REQUIRE(started.get_future().wait_for(10s) == std::future_status::ready);

  const SqliteStoreView view{file};
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
  CHECK(owners[0].lease_current);
  CHECK(owners[0].fires_submitted == 1);
  CHECK(view.fires_in_flight().empty());
  CHECK(view.fires({.job_id = "blocking"}).fires.at(0).fire.state == FireState::succeeded);
}

TEST_CASE("sqlite view: owners show their host, pid, lease and history kept", "[sqlite][view]") {
  TempDir dir;
  const auto file = dir.file("jobs.db");
  const auto tasks = make_tasks();
  SqliteJobStore first = open_store(file, tasks, {.history_per_job = 7});
  SqliteJobStore second = open_store(file, tasks, {.history_per_job = 9});
  // A store registers (its lease) at its first poll.
  (void)first.take_abandoned();
  (void)second.take_abandoned();
  const SqliteStoreView view{file};
  const TimePoint before = apsched::SystemClock{}.now();
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
    CHECK(owner.lease_until > before);
    CHECK(owner.started_at <= owner.lease_until);
    CHECK(owner.fires_claimed == 0);
    CHECK(owner.fires_submitted == 0);
  }
  raw_exec(file, fmt::format("UPDATE owners SET lease_until = 0 WHERE owner = '{}'",
                             first.owner().text()));
  for (const apsched::StoreOwner& owner : view.owners()) {
    CHECK(owner.lease_current == (owner.owner == second.owner()));
  }
}

TEST_CASE("sqlite view: takes no lease and writes nothing", "[sqlite][view]") {
  TempDir dir;
  const auto file = dir.file("jobs.db");
  const auto tasks = make_tasks();
  { SqliteJobStore store = open_store(file, tasks); }
  const SqliteStoreView view{file};
  CHECK(view.jobs().empty());
  CHECK(view.owners().empty());
  CHECK(apsched::test::raw_int(file, "SELECT count(*) FROM owners") == 0);
  CHECK(view.path() == file.string());
}

TEST_CASE("sqlite view: reads a file another process writes, with tasks only it has",
          "[sqlite][view][process]") {
  TempDir dir;
  const auto file = dir.file("jobs.db");
  std::array<int, 2> ready{};
  std::array<int, 2> done{};
  REQUIRE(::pipe(ready.data()) == 0);
  REQUIRE(::pipe(done.data()) == 0);
  const pid_t child = apsched::test::spawn([&] {
    ::close(ready[0]);
    ::close(done[1]);
    Node node{file, t0};
    node.scheduler.register_task("secret", [](int /*value*/) {});
    node.scheduler.add_job(apsched::task("secret"), apsched::IntervalTrigger{1min},
                           {.id = "child-job"}, 42);
    node.advance_to(t0 + 1min);  // a fire held by the executor: submitted
    char byte = 1;
    if (::write(ready[1], &byte, 1) != 1 || ::read(done[0], &byte, 1) != 1) {
      throw std::runtime_error{"the test process went away"};
    }
  });
  ::close(ready[1]);
  ::close(done[0]);
  char byte = 0;
  REQUIRE(::read(ready[0], &byte, 1) == 1);  // the child exits (EOF) if it fails first

  const SqliteStoreView view{file};
  const std::vector<StoredJob> jobs = view.jobs();
  const std::vector<StoredFire> in_flight = view.fires_in_flight();
  const std::vector<apsched::StoreOwner> owners = view.owners();
  REQUIRE(::write(done[1], &byte, 1) == 1);
  CHECK(apsched::test::wait_for(child) == 0);
  ::close(ready[0]);
  ::close(done[1]);

  REQUIRE(jobs.size() == 1);
  CHECK(jobs[0].id == "child-job");
  CHECK(jobs[0].task == "secret");
  CHECK(jobs[0].arguments == "[42]");
  CHECK(jobs[0].trigger_readable);
  CHECK(jobs[0].fires_submitted == 1);
  REQUIRE(in_flight.size() == 1);
  CHECK(in_flight[0].fire.state == FireState::submitted);
  CHECK(in_flight[0].fire.scheduled == t0 + 1min);
  CHECK(in_flight[0].fire.owner.pid == child);
  CHECK(in_flight[0].fire.owner.host == host_name());
  REQUIRE(owners.size() == 1);
  CHECK(owners[0].owner == in_flight[0].fire.owner);
  CHECK(owners[0].lease_current);
}

TEST_CASE("sqlite view: a missing file is an error that names the file, and is not created",
          "[sqlite][view]") {
  TempDir dir;
  const auto file = dir.file("missing.db");
  REQUIRE_THROWS_AS(SqliteStoreView{file}, apsched::StoreError);
  REQUIRE_THROWS_WITH(SqliteStoreView{file},
                      contains(fmt::format("SqliteStoreView \"{}\": open: the file does not exist",
                                           file.string())));
  CHECK_FALSE(std::filesystem::exists(file));
  REQUIRE_THROWS_WITH(SqliteStoreView{dir.path()}, contains("open: the path is a directory"));
}

TEST_CASE("sqlite view: a file of another schema version, or of no job store, is refused",
          "[sqlite][view]") {
  TempDir dir;
  const auto file = dir.file("jobs.db");
  const auto tasks = make_tasks();
  { SqliteJobStore store = open_store(file, tasks); }

  raw_exec(file, "UPDATE apsched_schema SET version = 99 WHERE name = 'apsched_jobs'");
  REQUIRE_THROWS_AS(SqliteStoreView{file}, apsched::SchemaVersionError);
  REQUIRE_THROWS_WITH(SqliteStoreView{file},
                      contains(fmt::format("SqliteStoreView \"{}\": open: the file has schema "
                                           "version 99 of apsched_jobs, written by a newer apsched",
                                           file.string())));
  raw_exec(file, "UPDATE apsched_schema SET version = 4 WHERE name = 'apsched_jobs'");
  REQUIRE_THROWS_AS(SqliteStoreView{file}, apsched::SchemaVersionError);
  REQUIRE_THROWS_WITH(SqliteStoreView{file}, contains("schema version 4 of apsched_jobs, older "
                                                      "than this view reads"));

  const auto other = dir.file("other.db");
  raw_exec(other, "CREATE TABLE notes (text TEXT)");
  REQUIRE_THROWS_AS(SqliteStoreView{other}, apsched::StoreError);
  REQUIRE_THROWS_WITH(SqliteStoreView{other},
                      contains("open: the file holds no apsched_jobs tables; expected one a "
                               "SqliteJobStore has written"));
}

}  // namespace sqlite_store_view_test
