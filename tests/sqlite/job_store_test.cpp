// SPDX-License-Identifier: MIT
#include <apsched/callback_scheduler.hpp>
#include <apsched/executors/inline.hpp>
#include <apsched/sqlite/job_store.hpp>
#include <apsched/testing/manual_clock.hpp>
#include <apsched/triggers/date.hpp>
#include <apsched/triggers/interval.hpp>
#include <apsched/version.hpp>  // its `version` must not be shadowed by the store

#include "support/catch.hpp"
#include "support/durable_job_store_conformance.hpp"
#include "support/event_log.hpp"
#include "support/sqlite_jobs.hpp"
#include "support/task_body.hpp"
#include "support/temp_dir.hpp"

#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sqlite_job_store_test {

using namespace std::chrono_literals;
using apsched::FireDecision;
using apsched::FireRecord;
using apsched::FireState;
using apsched::JobRecord;
using apsched::SqliteJobStore;
using apsched::SqliteStoreOptions;
using apsched::TimePoint;
using apsched::test::commit_one;
using apsched::test::contains;
using apsched::test::make_job;
using apsched::test::make_tasks;
using apsched::test::open_store;
using apsched::test::raw_exec;
using apsched::test::raw_int;
using apsched::test::TempDir;

namespace {

const TimePoint t0 = TimePoint{std::chrono::sys_days{std::chrono::year{2026} / 1 / 1}};

// A job running task "other" (no arguments) once at `when`.
JobRecord make_other_job(const apsched::TaskRegistry& tasks, std::string id, TimePoint when) {
  JobRecord record{.id = std::move(id),
                   .body = apsched::test::task_body(tasks, "other", nlohmann::json::array()),
                   .trigger = apsched::AnyTrigger{apsched::DateTrigger{when}}};
  record.extra().task = std::make_shared<const apsched::TaskCall>(apsched::TaskCall{"other", "[]"});
  record.next_fire = when;
  record.next_run = when;
  return record;
}

// Every column of the row of job `id`, quoted: to check that a row was left byte for byte.
std::string raw_row(const std::filesystem::path& file, const std::string& id) {
  auto db = apsched::detail::sqlite::Database::open(file);
  auto select = db.prepare(
      "SELECT quote(id) || quote(task) || quote(arguments) || quote(trigger) || quote(options) "
      "|| quote(next_fire) || quote(next_run) || quote(paused) || quote(last_run) || "
      "quote(run_count) || quote(failure_count) || quote(last_outcome) || quote(version) "
      "FROM jobs WHERE id = ?1");
  select.bind(1, id);
  return select.step() ? select.column_text(0) : std::string{};
}

// The conformance suite's fixture: stores on one file, attached to a registry with task "ping".
struct SqliteStoreFixture {
  using Store = SqliteJobStore;
  static constexpr std::string_view name = "SqliteJobStore";
  static constexpr std::string_view tags = "[sqlite]";
  static constexpr bool shares_storage = true;

  TempDir dir;
  std::shared_ptr<apsched::TaskRegistry> tasks = make_tasks();

  [[nodiscard]] Store open() const { return open_store(dir.file("jobs.db"), tasks); }
  [[nodiscard]] JobRecord record(std::string id, TimePoint first, int value) const {
    return make_job(*tasks, std::move(id), first, value);
  }
};

}  // namespace

// The JobStore and DurableJobStore requirements, as every store meets them
// (support/job_store_conformance.hpp).
[[maybe_unused]] const bool conformance_registered =
    apsched::test::conformance::register_suite<SqliteStoreFixture>();

TEST_CASE("sqlite store: satisfies DurableJobStore", "[sqlite]") {
  STATIC_REQUIRE(apsched::DurableJobStore<SqliteJobStore>);
  STATIC_REQUIRE(apsched::JobStore<SqliteJobStore>);
}

TEST_CASE("sqlite store: jobs survive reopening and are rebuilt equal", "[sqlite]") {
  TempDir dir;
  const auto file = dir.file("jobs.db");
  const auto tasks = make_tasks();
  {
    SqliteJobStore store = open_store(file, tasks);
    JobRecord job = make_job(*tasks, "a", t0 + 5s, 42);
    job.extra().name = "the a job";
    job.extras->misfire_grace_time = 30s;
    job.extras->timeout = 2min;
    job.coalesce = apsched::Coalesce::all;
    job.max_instances = 3;
    job.overlap = apsched::Overlap::queue;
    job.abandoned = apsched::Abandoned::rerun;
    job.executor = 2;
    job.run_count = 7;
    job.failure_count = 2;
    job.last_run = t0 - 1s;
    job.last_outcome = apsched::JobOutcome::error;
    job.paused = true;
    JobRecord* stored = store.insert(std::move(job));
    REQUIRE(stored != nullptr);
    CHECK(stored->id == "a");
    CHECK(store.size() == 1);
  }
  SqliteJobStore store = open_store(file, tasks);
  REQUIRE(store.size() == 1);
  JobRecord* job = store.find("a");
  REQUIRE(job != nullptr);
  CHECK(job->id == "a");
  CHECK(job->next_fire == t0 + 5s);
  CHECK(job->next_run == t0 + 5s);
  CHECK(job->paused);
  CHECK(job->extras->name == "the a job");
  CHECK(job->extras->misfire_grace_time == std::optional<apsched::Duration>{30s});
  CHECK(job->extras->timeout == std::optional<apsched::Duration>{2min});
  CHECK(job->coalesce == apsched::Coalesce::all);
  CHECK(job->max_instances == 3);
  CHECK(job->overlap == apsched::Overlap::queue);
  CHECK(job->abandoned == apsched::Abandoned::rerun);
  CHECK(job->executor == 2);
  CHECK(job->run_count == 7);
  CHECK(job->failure_count == 2);
  CHECK(job->last_run == t0 - 1s);
  CHECK(job->last_outcome == apsched::JobOutcome::error);
  CHECK(job->extras->task->name == "ping");
  CHECK(job->extras->task->arguments == "[42]");
  CHECK((job->generation & 0x8000'0000U) != 0);
  CHECK(static_cast<bool>(job->body));
  const apsched::AnyTrigger original{apsched::IntervalTrigger{10s, {.start_date = t0 + 5s}}};
  for (const TimePoint now : {t0, t0 + 5s, t0 + 17s, t0 + 1h}) {
    CHECK(job->trigger.next_fire_time(std::nullopt, now) ==
          original.next_fire_time(std::nullopt, now));
    CHECK(job->trigger.next_fire_time(now, now) == original.next_fire_time(now, now));
  }
  CHECK(apsched::TriggerCodecs::builtin().encode(job->trigger) ==
        apsched::TriggerCodecs::builtin().encode(original));
  CHECK(store.find("a") == job);  // handed out from memory while the row is unchanged
  CHECK(store.find("missing") == nullptr);
}

TEST_CASE("sqlite store: insert refuses a closure job", "[sqlite]") {
  TempDir dir;
  const auto tasks = make_tasks();
  SqliteJobStore store = open_store(dir.file("jobs.db"), tasks);
  JobRecord closure = make_job(*tasks, "closure", t0);
  closure.extras->task.reset();
  REQUIRE_THROWS_AS(store.insert(std::move(closure)), apsched::InvalidArgumentError);
  JobRecord bare = make_job(*tasks, "bare", t0);
  bare.extras.reset();
  REQUIRE_THROWS_WITH(store.insert(std::move(bare)),
                      contains("SqliteJobStore::insert: job \"bare\" has no task") &&
                          contains("closure job cannot be stored durably"));
  CHECK(store.size() == 0);
}

TEST_CASE("sqlite store: commit_due is refused when another store changed the job", "[sqlite]") {
  TempDir dir;
  const auto file = dir.file("jobs.db");
  const auto tasks = make_tasks();
  SqliteJobStore first = open_store(file, tasks);
  SqliteJobStore second = open_store(file, tasks);
  REQUIRE(first.insert(make_job(*tasks, "a", t0)) != nullptr);

  JobRecord* mine = first.first_due(t0);
  JobRecord* theirs = second.first_due(t0);
  REQUIRE(mine != nullptr);
  REQUIRE(theirs != nullptr);
  mine->running = 1;
  mine->extra().queued_runs.push_back(t0 - 10s);
  const std::uint32_t generation = mine->generation;

  REQUIRE(commit_one(second, *theirs));
  CHECK_FALSE(commit_one(first, *mine));

  const std::vector<FireRecord> history = first.fire_history("a");
  REQUIRE(history.size() == 1);
  CHECK(history[0].owner == second.fire_history("a")[0].owner);

  // Reloaded before it is handed out again, keeping this scheduler's own state.
  JobRecord* reloaded = first.find("a");
  REQUIRE(reloaded == mine);
  CHECK(reloaded->next_run == t0 + 10s);
  CHECK(reloaded->running == 1);
  REQUIRE(reloaded->extras != nullptr);
  CHECK(reloaded->extras->queued_runs.size() == 1);
  CHECK(reloaded->generation == generation);
  CHECK(first.first_due(t0 + 5s) == nullptr);

  // A change by another store (update) is seen too.
  theirs->paused = true;
  second.update(*theirs);
  CHECK(first.find("a")->paused);
  CHECK(first.next_run_time() == std::nullopt);
}

TEST_CASE("sqlite store: commit_due refuses a fire recorded already", "[sqlite]") {
  TempDir dir;
  const auto tasks = make_tasks();
  SqliteJobStore store = open_store(dir.file("jobs.db"), tasks);
  REQUIRE(store.insert(make_job(*tasks, "a", t0)) != nullptr);
  JobRecord* job = store.first_due(t0);
  REQUIRE(commit_one(store, *job));
  // The same fire again, as a scheduler whose record went back to t0 would decide it.
  job->next_fire = t0;
  job->next_run = t0;
  store.update(*job);
  job = store.first_due(t0);
  REQUIRE(job != nullptr);
  CHECK_FALSE(commit_one(store, *job));
  CHECK(store.fire_history("a").size() == 1);
  CHECK(store.next_run_time() == t0);  // rolled back: the job was not advanced
  CHECK(store.find("a")->next_run == t0);
}

TEST_CASE("sqlite store: a job naming an unknown task is set aside, reported once and retried",
          "[sqlite]") {
  TempDir dir;
  const auto file = dir.file("jobs.db");
  const auto full = make_tasks();
  {
    SqliteJobStore writer = open_store(file, full);
    REQUIRE(writer.insert(make_other_job(*full, "x", t0)) != nullptr);
    REQUIRE(writer.insert(make_job(*full, "a", t0 + 5s)) != nullptr);
  }
  const std::string row_before = raw_row(file, "x");
  auto partial = std::make_shared<apsched::TaskRegistry>();
  partial->add("ping", [](int /*value*/) {});
  SqliteJobStore store = open_store(file, partial);

  CHECK(store.find("x") == nullptr);
  std::vector<apsched::StoreReport> reports = store.take_reports();
  REQUIRE(reports.size() == 1);
  CHECK(reports[0].job_id == "x");
  CHECK_THAT(reports[0].message, contains("stored job \"x\" (task \"other\")") &&
                                     contains("no task is registered as \"other\""));
  // Left out of the due queries, not reported again.
  CHECK(store.next_run_time() == t0 + 5s);
  JobRecord* due = store.first_due(t0 + 5s);
  REQUIRE(due != nullptr);
  CHECK(due->id == "a");
  CHECK(store.find("x") == nullptr);
  CHECK(store.take_reports().empty());
  std::size_t visited = 0;
  store.for_each([&visited](const JobRecord&) { ++visited; });
  CHECK(visited == 1);
  CHECK(store.size() == 2);
  CHECK(raw_row(file, "x") == row_before);

  // A new store object (the next start) tries again, and reports again.
  {
    SqliteJobStore restarted = open_store(file, partial);
    CHECK(restarted.first_due(t0) == nullptr);
    CHECK(restarted.take_reports().size() == 1);
  }

  partial->add("other", [] {});
  store.task_registered("other");
  JobRecord* job = store.first_due(t0);
  REQUIRE(job != nullptr);
  CHECK(job->id == "x");
  CHECK(store.take_reports().empty());
  CHECK(raw_row(file, "x") == row_before);
}

TEST_CASE("sqlite store: rows with bad arguments, trigger or options are set aside untouched",
          "[sqlite]") {
  TempDir dir;
  const auto file = dir.file("jobs.db");
  const auto tasks = make_tasks();
  {
    SqliteJobStore writer = open_store(file, tasks);
    REQUIRE(writer.insert(make_job(*tasks, "args", t0)) != nullptr);
    REQUIRE(writer.insert(make_job(*tasks, "type", t0 + 1s)) != nullptr);
    REQUIRE(writer.insert(make_job(*tasks, "options", t0 + 2s)) != nullptr);
    REQUIRE(writer.insert(make_job(*tasks, "count", t0 + 3s)) != nullptr);
    REQUIRE(writer.insert(make_job(*tasks, "good", t0 + 4s)) != nullptr);
  }
  raw_exec(file,
           "UPDATE jobs SET arguments = '[1' WHERE id = 'args';"
           "UPDATE jobs SET trigger = '{\"type\": \"lunar\"}' WHERE id = 'type';"
           "UPDATE jobs SET options = '{\"coalesce\": \"sometimes\"}' WHERE id = 'options';"
           "UPDATE jobs SET arguments = '[\"one\"]' WHERE id = 'count';");
  std::vector<std::string> rows;
  for (const char* id : {"args", "type", "options", "count"}) {
    rows.push_back(raw_row(file, id));
  }
  SqliteJobStore store = open_store(file, tasks);
  JobRecord* due = store.first_due(t0 + 1h);
  REQUIRE(due != nullptr);
  CHECK(due->id == "good");
  CHECK(store.next_run_time() == t0 + 4s);
  std::vector<apsched::StoreReport> reports = store.take_reports();
  REQUIRE(reports.size() == 4);
  CHECK(reports[0].job_id == "args");
  CHECK_THAT(reports[0].message, contains("column arguments is \"[1\"; expected JSON"));
  CHECK(reports[1].job_id == "type");
  CHECK_THAT(reports[1].message, contains("lunar"));
  CHECK(reports[2].job_id == "options");
  CHECK_THAT(reports[2].message, contains("coalesce") && contains("sometimes"));
  CHECK(reports[3].job_id == "count");
  CHECK_THAT(reports[3].message, contains("\"one\""));
  // Registering an unrelated task does not retry them.
  store.task_registered("ping");
  CHECK(store.first_due(t0 + 3s) == nullptr);
  CHECK(store.take_reports().empty());
  const std::vector<std::string> ids{"args", "type", "options", "count"};
  for (std::size_t i = 0; i < ids.size(); ++i) {
    CHECK(raw_row(file, ids[i]) == rows[i]);
  }
  // Repaired by another program: a new store object uses it.
  raw_exec(file, "UPDATE jobs SET arguments = '[7]' WHERE id = 'args'");
  SqliteJobStore restarted = open_store(file, tasks);
  JobRecord* repaired = restarted.first_due(t0);
  REQUIRE(repaired != nullptr);
  CHECK(repaired->id == "args");
  CHECK(repaired->extras->task->arguments == "[7]");
}

TEST_CASE("sqlite store: fire history keeps the newest finished fires per job", "[sqlite]") {
  TempDir dir;
  const auto tasks = make_tasks();
  SqliteJobStore store =
      open_store(dir.file("jobs.db"), tasks, SqliteStoreOptions{.history_per_job = 3});
  REQUIRE(store.insert(make_job(*tasks, "a", t0)) != nullptr);
  JobRecord* job = store.first_due(t0);
  REQUIRE(commit_one(store, *job, FireState::submitted));  // t0, stays submitted
  for (int i = 0; i < 5; ++i) {
    REQUIRE(commit_one(store, *job, FireState::skipped));  // t0 + 10s ... t0 + 50s
  }
  std::vector<FireRecord> history = store.fire_history("a");
  REQUIRE(history.size() == 4);
  CHECK(history[0].scheduled == t0 + 50s);
  CHECK(history[2].scheduled == t0 + 30s);
  CHECK(history[3].scheduled == t0);
  CHECK(history[3].state == FireState::submitted);
  // Once it ends, the old submitted fire is the oldest finished one and goes.
  store.record_outcome("a", job, t0, FireState::succeeded, "");
  history = store.fire_history("a");
  REQUIRE(history.size() == 3);
  CHECK(history.back().scheduled == t0 + 30s);
}

TEST_CASE("sqlite store: memory stays bounded while running jobs keep their records", "[sqlite]") {
  TempDir dir;
  const auto tasks = make_tasks();
  SqliteJobStore store =
      open_store(dir.file("jobs.db"), tasks, SqliteStoreOptions{.cache_size = 4});
  JobRecord* running = store.insert(make_job(*tasks, "running", t0));
  REQUIRE(running != nullptr);
  running->running = 1;
  for (int i = 0; i < 40; ++i) {
    REQUIRE(store.insert(make_job(*tasks, fmt::format("job-{:02}", i), t0 + 1s + i * 1s)) !=
            nullptr);
  }
  CHECK(store.find("running") == running);
  CHECK(running->running == 1);
  JobRecord* reloaded = store.find("job-00");
  REQUIRE(reloaded != nullptr);
  CHECK(reloaded->next_run == t0 + 1s);
  CHECK(store.size() == 41);
  std::size_t visited = 0;
  store.for_each([&visited](const JobRecord&) { ++visited; });
  CHECK(visited == 41);
}

TEST_CASE("sqlite store: a database of a newer schema version is refused", "[sqlite]") {
  TempDir dir;
  const auto file = dir.file("jobs.db");
  { SqliteJobStore store{file}; }
  raw_exec(file, "UPDATE apsched_schema SET version = 7 WHERE name = 'apsched_jobs'");
  REQUIRE_THROWS_AS(SqliteJobStore{file}, apsched::SchemaVersionError);
  REQUIRE_THROWS_WITH(SqliteJobStore{file}, contains("has schema version 7 of apsched_jobs") &&
                                                contains("supports up to version 5"));
}

TEST_CASE("sqlite store: a file that is not a database is refused at open", "[sqlite]") {
  TempDir dir;
  const auto file = dir.file("notes.txt");
  {
    std::ofstream out{file, std::ios::binary};
    for (int i = 0; i < 200; ++i) {
      out << "these are not the jobs you are looking for\n";
    }
  }
  REQUIRE_THROWS_AS(SqliteJobStore{file}, apsched::StoreError);
  REQUIRE_THROWS_WITH(
      SqliteJobStore{file},
      contains(fmt::format("SqliteJobStore \"{}\": open: file is not a database", file.string())));
}

TEST_CASE("sqlite store: export and import carry jobs between files as stored", "[sqlite]") {
  TempDir dir;
  const auto source = dir.file("source.db");
  const auto target = dir.file("target.db");
  const auto tasks = make_tasks();
  {
    SqliteJobStore store = open_store(source, tasks);
    REQUIRE(store.insert(make_job(*tasks, "a", t0, 3)) != nullptr);
    REQUIRE(store.insert(make_other_job(*tasks, "b", t0 + 1s)) != nullptr);
    REQUIRE(commit_one(store, *store.find("a")));
  }
  raw_exec(source, "UPDATE jobs SET trigger = '{\"type\": \"lunar\"}' WHERE id = 'b'");
  SqliteJobStore from = open_store(source, tasks);
  const nlohmann::json exported = from.export_jobs();
  CHECK(exported["format"] == "apsched-sqlite-jobs");
  CHECK(exported["version"] == 1);
  REQUIRE(exported["jobs"].size() == 2);
  CHECK(exported["jobs"][0]["id"] == "a");
  CHECK(exported["jobs"][0]["version"] == 2);
  CHECK(exported["jobs"][1]["trigger"] == "{\"type\": \"lunar\"}");

  SqliteJobStore to = open_store(target, tasks);
  to.import_jobs(exported);
  CHECK(to.export_jobs() == exported);
  JobRecord* a = to.find("a");
  REQUIRE(a != nullptr);
  CHECK(a->next_run == t0 + 10s);
  CHECK(to.find("b") == nullptr);
  CHECK(to.take_reports().size() == 1);

  REQUIRE_THROWS_AS(to.import_jobs(exported), apsched::ConflictingIdError);
  REQUIRE_THROWS_WITH(to.import_jobs(exported),
                      contains("import_jobs: a job with id \"a\" is already stored"));
  CHECK(to.export_jobs() == exported);

  // Replacing bumps the version past the stored one, so copies in memory are reloaded.
  nlohmann::json changed = exported;
  changed["jobs"][0]["next_run"] =
      changed["jobs"][0]["next_run"].get<std::int64_t>() + 1'000'000'000;
  to.import_jobs(changed, true);
  CHECK(to.export_jobs()["jobs"][0]["version"] == 3);
  CHECK(to.find("a") == a);
  CHECK(a->next_run == t0 + 11s);

  nlohmann::json broken = exported;
  broken["jobs"][1].erase("next_run");
  REQUIRE_THROWS_AS(to.import_jobs(broken, true), apsched::SerializationError);
  REQUIRE_THROWS_WITH(to.import_jobs(broken, true), contains("jobs[1].next_run"));
  nlohmann::json wrong_format = exported;
  wrong_format["format"] = "something-else";
  REQUIRE_THROWS_WITH(to.import_jobs(wrong_format), contains("\"apsched-sqlite-jobs\""));
}

TEST_CASE("sqlite store: a moved store keeps its jobs", "[sqlite]") {
  TempDir dir;
  const auto tasks = make_tasks();
  SqliteJobStore store = open_store(dir.file("jobs.db"), tasks);
  JobRecord* job = store.insert(make_job(*tasks, "a", t0));
  SqliteJobStore moved{std::move(store)};
  CHECK(moved.find("a") == job);
  CHECK(moved.poll_interval() == std::chrono::seconds{1});
}

TEST_CASE("sqlite store: a job added in a batch never starts with fires of an earlier job",
          "[sqlite]") {
  TempDir dir;
  const auto file = dir.file("jobs.db");
  const auto tasks = make_tasks();
  SqliteJobStore store = open_store(file, tasks);
  const FireDecision fire{.scheduled = t0, .state = FireState::succeeded, .runs = 1};
  store.begin_batch();
  REQUIRE(store.insert(make_job(*tasks, "a", t0 + 1h)) != nullptr);
  store.commit_batch();
  // Between two batches another store records a fire of "y" and removes its job.
  SqliteJobStore other = open_store(file, tasks);
  REQUIRE(other.insert(make_other_job(*tasks, "y", t0)) != nullptr);
  JobRecord* y = other.first_due(t0);
  REQUIRE(y != nullptr);
  REQUIRE(other.commit_due(*y, std::span<const FireDecision>{&fire, 1}, true));
  store.begin_batch();
  REQUIRE(store.insert(make_job(*tasks, "b", t0 + 1h)) != nullptr);
  REQUIRE(store.fire_history("y").size() == 1);
  REQUIRE(store.insert(make_other_job(*tasks, "y", t0 + 1h)) != nullptr);
  CHECK(store.fire_history("y").empty());
  store.commit_batch();
  CHECK(other.fire_history("y").empty());
  // The fires table is empty at a batch's first add; then a fire of "x" is recorded in the
  // batch, and its job removed.
  store.begin_batch();
  REQUIRE(store.insert(make_job(*tasks, "c", t0 + 1h)) != nullptr);
  REQUIRE(store.insert(make_other_job(*tasks, "x", t0)) != nullptr);
  JobRecord* x = store.first_due(t0);
  REQUIRE(x != nullptr);
  REQUIRE(x->id == "x");
  REQUIRE(store.commit_due(*x, std::span<const FireDecision>{&fire, 1}, true));
  REQUIRE(store.fire_history("x").size() == 1);
  REQUIRE(store.insert(make_other_job(*tasks, "x", t0 + 1h)) != nullptr);
  CHECK(store.fire_history("x").empty());
  store.commit_batch();
  CHECK(other.fire_history("x").empty());
}

TEST_CASE("sqlite store: processing many stored jobs keeps a bounded number in memory",
          "[sqlite]") {
  TempDir dir;
  const auto tasks = make_tasks();
  SqliteJobStore store =
      open_store(dir.file("jobs.db"), tasks, SqliteStoreOptions{.cache_size = 100});
  constexpr int jobs = 3000;
  store.begin_batch();
  for (int i = 0; i < jobs; ++i) {
    REQUIRE(store.insert(make_job(*tasks, fmt::format("job-{:05}", i), t0 + i * 1ms)) != nullptr);
  }
  store.commit_batch();
  CHECK(store.cached_count() <= 100);
  int processed = 0;
  const TimePoint now = t0 + 5s;
  while (JobRecord* job = store.first_due(now)) {
    REQUIRE(commit_one(store, *job, FireState::skipped));
    if (job->next_run > now) {
      ++processed;
    }
    REQUIRE(store.cached_count() <= 101);
  }
  CHECK(processed == jobs);
  CHECK(store.next_run_time() == t0 + 10s);
}

namespace {

// The fires `store` takes over now, by job id.
std::vector<apsched::AbandonedFire> take_sorted(SqliteJobStore& store) {
  std::vector<apsched::AbandonedFire> fires = store.take_abandoned();
  std::sort(fires.begin(), fires.end(),
            [](const auto& a, const auto& b) { return a.job_id < b.job_id; });
  return fires;
}

}  // namespace

TEST_CASE("sqlite store: an add the database fails partway leaves nothing, alone or in a batch",
          "[sqlite]") {
  TempDir dir;
  const auto file = dir.file("jobs.db");
  const auto tasks = make_tasks();
  SqliteJobStore store = open_store(file, tasks);
  // Job "a" ran once and is gone; its history stays until a job with its id is added.
  REQUIRE(store.insert(make_other_job(*tasks, "a", t0)) != nullptr);
  JobRecord* a = store.first_due(t0);
  REQUIRE(a != nullptr);
  const FireDecision fire{.scheduled = t0, .state = FireState::succeeded, .runs = 1};
  REQUIRE(store.commit_due(*a, std::span<const FireDecision>{&fire, 1}, true));
  // Another program makes deleting fires fail: the add of "a" fails after its INSERT.
  raw_exec(file,
           "CREATE TRIGGER refuse BEFORE DELETE ON fires BEGIN SELECT RAISE(ABORT, 'refused'); "
           "END");
  REQUIRE_THROWS_WITH(store.insert(make_other_job(*tasks, "a", t0 + 1h)), contains("refused"));
  CHECK(store.find("a") == nullptr);
  CHECK(store.fire_history("a").size() == 1);

  store.begin_batch();
  REQUIRE(store.insert(make_job(*tasks, "b", t0)) != nullptr);
  CHECK_THROWS_WITH(store.insert(make_other_job(*tasks, "a", t0 + 1h)), contains("refused"));
  REQUIRE_THROWS_AS(store.commit_batch(), apsched::StoreError);
  // The whole batch was rolled back: the half-done add, and "b" with it.
  CHECK(raw_int(file, "SELECT count(*) FROM jobs") == 0);
  CHECK(store.find("b") == nullptr);
  CHECK(store.fire_history("a").size() == 1);
  // The store works on after the failed batch.
  raw_exec(file, "DROP TRIGGER refuse");
  REQUIRE(store.insert(make_other_job(*tasks, "a", t0 + 1h)) != nullptr);
  CHECK(store.fire_history("a").empty());
}

TEST_CASE("sqlite store: a fire the database fails partway fails its round, rolled back whole",
          "[sqlite]") {
  TempDir dir;
  const auto file = dir.file("jobs.db");
  const auto tasks = make_tasks();
  SqliteJobStore store = open_store(file, tasks);
  REQUIRE(store.insert(make_job(*tasks, "a", t0)) != nullptr);
  REQUIRE(store.insert(make_job(*tasks, "b", t0)) != nullptr);
  const std::string row_a = raw_row(file, "a");
  const std::string row_b = raw_row(file, "b");
  raw_exec(file,
           "CREATE TRIGGER refuse BEFORE INSERT ON fires WHEN NEW.job_id = 'b' BEGIN "
           "SELECT RAISE(ABORT, 'refused'); END");
  store.begin_round();
  JobRecord* a = store.first_due(t0);
  REQUIRE(a != nullptr);
  REQUIRE(a->id == "a");
  REQUIRE(commit_one(store, *a));
  JobRecord* b = store.first_due(t0);
  REQUIRE(b != nullptr);
  REQUIRE(b->id == "b");
  // The advance of "b" is written, its fire is refused.
  CHECK_THROWS_WITH(commit_one(store, *b), contains("refused"));
  CHECK_THROWS_AS(store.end_round(), apsched::StoreError);
  CHECK(raw_row(file, "a") == row_a);
  CHECK(raw_row(file, "b") == row_b);
  CHECK(raw_int(file, "SELECT count(*) FROM fires") == 0);
  // Both are handed out again as stored, and commit once the database lets them.
  raw_exec(file, "DROP TRIGGER refuse");
  store.begin_round();
  int committed = 0;
  while (JobRecord* job = store.first_due(t0)) {
    CHECK(job->next_run == t0);
    REQUIRE(commit_one(store, *job));
    ++committed;
  }
  store.end_round();
  CHECK(committed == 2);
  CHECK(raw_int(file, "SELECT count(*) FROM fires") == 2);
}

TEST_CASE("sqlite store: fires of a lapsed lease are taken over once, dropped or run again",
          "[sqlite]") {
  TempDir dir;
  const auto file = dir.file("jobs.db");
  const auto tasks = make_tasks();
  SqliteJobStore first = open_store(file, tasks);
  JobRecord rerun = make_job(*tasks, "again", t0);
  rerun.abandoned = apsched::Abandoned::rerun;
  REQUIRE(first.insert(std::move(rerun)) != nullptr);
  REQUIRE(first.insert(make_job(*tasks, "drop", t0)) != nullptr);
  for (const char* id : {"again", "drop"}) {
    JobRecord* job = first.find(id);
    REQUIRE(job != nullptr);
    REQUIRE(commit_one(first, *job));
  }
  const std::string first_owner = first.fire_history("drop").at(0).owner.text();
  raw_exec(file, "UPDATE owners SET lease_until = 0");  // as if `first` had stopped polling

  SqliteJobStore second = open_store(file, tasks);
  SqliteJobStore third = open_store(file, tasks);
  const std::vector<apsched::AbandonedFire> taken = take_sorted(second);
  REQUIRE(taken.size() == 2);
  CHECK(taken[0].job_id == "again");
  CHECK(taken[0].scheduled == t0);
  CHECK(taken[0].attempt == 1);
  CHECK(taken[0].rerun);
  CHECK(taken[1].job_id == "drop");
  CHECK_FALSE(taken[1].rerun);
  CHECK(third.take_abandoned().empty());  // taken once

  const FireRecord dropped = second.fire_history("drop").at(0);
  CHECK(dropped.state == FireState::abandoned);
  CHECK(dropped.finished_at.has_value());
  CHECK_THAT(dropped.error, contains("stopped while it ran") && contains(first_owner));
  CHECK(second.find("drop")->last_outcome == apsched::JobOutcome::dropped);

  FireRecord again = second.fire_history("again").at(0);
  CHECK(again.state == FireState::submitted);
  CHECK(again.attempt == 2);
  CHECK(again.owner.text() != first_owner);
  // The stalled store's late outcome does not overwrite the run that replaced it.
  first.record_outcome("again", nullptr, t0, FireState::failed, "late");
  CHECK(second.fire_history("again").at(0).state == FireState::submitted);
  second.record_outcome("again", nullptr, t0, FireState::succeeded, "");
  again = second.fire_history("again").at(0);
  CHECK(again.state == FireState::succeeded);
  CHECK(again.attempt == 2);

  // The stalled store registers again at its next poll and is not taken for dead twice.
  CHECK(first.take_abandoned().empty());
  CHECK(raw_int(file, fmt::format("SELECT count(*) FROM owners WHERE owner = '{}'", first_owner)) ==
        1);
}

TEST_CASE("sqlite store: a job whose last fire is in flight is kept out of sight for its rerun",
          "[sqlite]") {
  TempDir dir;
  const auto file = dir.file("jobs.db");
  const auto tasks = make_tasks();
  SqliteJobStore first = open_store(file, tasks);
  // Three jobs at their last fire: two that rerun (one of them ends before its store stops),
  // one that drops.
  for (const char* id : {"last", "ended", "plain"}) {
    JobRecord record = make_job(*tasks, id, t0, 5);
    record.abandoned =
        std::string_view{id} == "plain" ? apsched::Abandoned::drop : apsched::Abandoned::rerun;
    REQUIRE(first.insert(std::move(record)) != nullptr);
    JobRecord* job = first.find(id);
    REQUIRE(job != nullptr);
    const FireDecision fire{.scheduled = t0};
    REQUIRE(first.commit_due(*job, std::span{&fire, 1}, true));
  }
  CHECK(raw_int(file, "SELECT count(*) FROM retired_jobs") == 2);
  first.record_outcome("ended", nullptr, t0, FireState::succeeded, "");
  CHECK(raw_int(file, "SELECT count(*) FROM retired_jobs WHERE id = 'ended'") == 0);
  // Out of sight: no listing shows the job kept for its rerun.
  CHECK(first.find("last") == nullptr);
  CHECK(first.size() == 0);
  CHECK_FALSE(first.next_run_time().has_value());
  CHECK(first.first_due(t0 + 1h) == nullptr);
  CHECK(first.export_jobs().at("jobs").empty());
  raw_exec(file, "UPDATE owners SET lease_until = 0");  // as if `first` had died

  SqliteJobStore second = open_store(file, tasks);
  const std::vector<apsched::AbandonedFire> taken = take_sorted(second);
  REQUIRE(taken.size() == 2);
  CHECK(taken[0].job_id == "last");
  CHECK(taken[0].rerun);
  CHECK(taken[0].last_fire);
  CHECK(taken[1].job_id == "plain");
  CHECK_FALSE(taken[1].rerun);
  CHECK(second.fire_history("plain").at(0).state == FireState::abandoned);
  // The record of the job, held for the rerun, as it was stored.
  JobRecord* held = second.find_cached("last");
  REQUIRE(held != nullptr);
  CHECK(held->abandoned == apsched::Abandoned::rerun);
  CHECK(held->extras->task->arguments == "[5]");
  CHECK(second.size() == 0);
  ++held->running;                        // as the scheduler does when it runs it
  CHECK(second.find("last") == nullptr);  // still not listed
  REQUIRE(second.find_cached("last") == held);
  --held->running;
  second.record_outcome("last", held, t0, FireState::succeeded, "");
  const FireRecord rerun = second.fire_history("last").at(0);
  CHECK(rerun.state == FireState::succeeded);
  CHECK(rerun.attempt == 2);
  // Its outcome written, the job is gone for good.
  CHECK(second.find_cached("last") == nullptr);
  CHECK(raw_int(file, "SELECT count(*) FROM retired_jobs") == 0);
  CHECK(raw_int(file, "SELECT count(*) FROM jobs") == 0);
}

TEST_CASE("sqlite store: a job kept for a rerun whose task is unknown is recorded abandoned",
          "[sqlite]") {
  TempDir dir;
  const auto file = dir.file("jobs.db");
  const auto tasks = make_tasks();
  {
    SqliteJobStore first = open_store(file, tasks);
    JobRecord record = make_job(*tasks, "last", t0);
    record.abandoned = apsched::Abandoned::rerun;
    REQUIRE(first.insert(std::move(record)) != nullptr);
    const FireDecision fire{.scheduled = t0};
    REQUIRE(first.commit_due(*first.find("last"), std::span{&fire, 1}, true));
  }  // closed with the fire in flight: its lease lapses at once
  SqliteJobStore second =
      open_store(file, std::make_shared<apsched::TaskRegistry>());  // no task "ping"
  const std::vector<apsched::AbandonedFire> taken = second.take_abandoned();
  REQUIRE(taken.size() == 1);
  CHECK_FALSE(taken[0].rerun);
  const FireRecord fire = second.fire_history("last").at(0);
  CHECK(fire.state == FireState::abandoned);
  CHECK_THAT(fire.error, contains("could not be run again") && contains("\"ping\""));
  CHECK(raw_int(file, "SELECT count(*) FROM retired_jobs") == 0);
}

TEST_CASE("sqlite store: a scheduler of this host whose process is gone is taken over at once",
          "[sqlite]") {
  TempDir dir;
  const auto file = dir.file("jobs.db");
  const auto tasks = make_tasks();
  SqliteJobStore first = open_store(file, tasks);
  REQUIRE(first.insert(make_job(*tasks, "a", t0)) != nullptr);
  REQUIRE(commit_one(first, *first.find("a")));

  // A live owner with a fresh lease keeps its fires.
  CHECK(open_store(file, tasks).take_abandoned().empty());

  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    _exit(0);
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  raw_exec(file, fmt::format("UPDATE owners SET pid = {}", child));  // `first` now looks dead

  SqliteJobStore second = open_store(file, tasks);
  const std::vector<apsched::AbandonedFire> taken = second.take_abandoned();
  REQUIRE(taken.size() == 1);
  CHECK(taken[0].job_id == "a");
  CHECK(second.fire_history("a").at(0).state == FireState::abandoned);
}

TEST_CASE("sqlite store: closing a store gives up its lease, handing fires in flight over",
          "[sqlite]") {
  TempDir dir;
  const auto file = dir.file("jobs.db");
  const auto tasks = make_tasks();
  {
    SqliteJobStore idle = open_store(file, tasks);
    CHECK(raw_int(file, "SELECT count(*) FROM owners") == 1);
  }
  CHECK(raw_int(file, "SELECT count(*) FROM owners") == 0);  // nothing in flight: row gone

  {
    SqliteJobStore busy = open_store(file, tasks);
    REQUIRE(busy.insert(make_job(*tasks, "a", t0)) != nullptr);
    REQUIRE(commit_one(busy, *busy.find("a")));
  }
  CHECK(raw_int(file, "SELECT count(*) FROM owners WHERE lease_until = 0") == 1);
  {
    SqliteJobStore next = open_store(file, tasks);
    const std::vector<apsched::AbandonedFire> taken = next.take_abandoned();
    REQUIRE(taken.size() == 1);
    CHECK(taken[0].scheduled == t0);
    REQUIRE(commit_one(next, *next.find("a")));
  }

  // Fires whose owner has no lease row at all (written before leases were kept) are taken too.
  raw_exec(file, "DELETE FROM owners");
  SqliteJobStore last = open_store(file, tasks);
  const std::vector<apsched::AbandonedFire> taken = last.take_abandoned();
  REQUIRE(taken.size() == 1);
  CHECK(taken[0].scheduled == t0 + 10s);
  CHECK(raw_int(file, "SELECT count(*) FROM fires WHERE state = 'submitted'") == 0);
}

TEST_CASE("sqlite store: a lease no longer than the poll interval is refused", "[sqlite]") {
  TempDir dir;
  REQUIRE_THROWS_WITH(SqliteJobStore(dir.file("jobs.db"),
                                     SqliteStoreOptions{.poll_interval = 5s, .lease_duration = 5s}),
                      contains("SqliteJobStore: lease_duration is 5000000000 ns") &&
                          contains("expected more than poll_interval"));
}

TEST_CASE("sqlite store: a version 1 file is migrated forward, keeping its jobs", "[sqlite]") {
  TempDir dir;
  const auto file = dir.file("jobs.db");
  const auto tasks = make_tasks();
  {
    SqliteJobStore store = open_store(file, tasks);
    REQUIRE(store.insert(make_job(*tasks, "a", t0, 7)) != nullptr);
  }
  // What version 1 wrote: no lease table, no table of retired jobs.
  raw_exec(file,
           "DROP INDEX fires_submitted; DROP INDEX fires_claimed; DROP INDEX fires_started; "
           "DROP TABLE owners; DROP TABLE retired_jobs; "
           "UPDATE apsched_schema SET version = 1 WHERE name = 'apsched_jobs'");
  const std::string row = raw_row(file, "a");
  SqliteJobStore store = open_store(file, tasks);
  CHECK(raw_int(file, "SELECT version FROM apsched_schema WHERE name = 'apsched_jobs'") == 5);
  CHECK(raw_int(file, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'") == 0);
  CHECK(raw_int(file, "SELECT count(*) FROM owners") == 1);
  CHECK(raw_int(file, "SELECT count(*) FROM retired_jobs") == 0);
  CHECK(raw_row(file, "a") == row);
  CHECK(store.find("a") != nullptr);
}

TEST_CASE("sqlite store: a version 4 file is migrated to 5, keeping its fires and leases",
          "[sqlite]") {
  TempDir dir;
  const auto file = dir.file("jobs.db");
  const auto tasks = make_tasks();
  {
    SqliteJobStore store = open_store(file, tasks);
    REQUIRE(store.insert(make_job(*tasks, "a", t0)) != nullptr);
    REQUIRE(commit_one(store, *store.find("a")));  // a fire left submitted, its lease kept
  }
  // What version 4 wrote: no index of claimed or started fires, no history_per_job column.
  raw_exec(file,
           "DROP INDEX fires_claimed; DROP INDEX fires_started; "
           "CREATE TABLE owners4 (owner TEXT PRIMARY KEY NOT NULL, host TEXT NOT NULL, pid "
           "INTEGER NOT NULL, started_at INTEGER NOT NULL, lease_until INTEGER NOT NULL) "
           "WITHOUT ROWID; INSERT INTO owners4 SELECT owner, host, pid, started_at, lease_until "
           "FROM owners; DROP TABLE owners; ALTER TABLE owners4 RENAME TO owners; "
           "UPDATE apsched_schema SET version = 4 WHERE name = 'apsched_jobs'");
  const std::string row = raw_row(file, "a");
  const SqliteJobStore store = open_store(file, tasks);
  CHECK(raw_int(file, "SELECT version FROM apsched_schema WHERE name = 'apsched_jobs'") == 5);
  CHECK(raw_row(file, "a") == row);
  CHECK(raw_int(file, "SELECT count(*) FROM fires WHERE state = 'submitted'") == 1);
  CHECK(raw_int(file, "SELECT count(*) FROM owners WHERE history_per_job = 0") == 1);
  CHECK(raw_int(file,
                "SELECT count(*) FROM sqlite_master WHERE name IN ('fires_claimed', "
                "'fires_started')") == 2);
}

TEST_CASE("sqlite store: the options text add_job stores is their JSON encoding", "[sqlite]") {
  const auto tasks = make_tasks();
  JobRecord plain = make_job(*tasks, "plain", t0);
  CHECK(apsched::detail::sqlite::encode_record_options_text(plain) ==
        apsched::detail::sqlite::encode_record_options(plain).dump());
  // Every setting at the value a missing member decodes to: none is written.
  CHECK(apsched::detail::sqlite::encode_record_options_text(plain) == "{}");
  JobRecord decoded = make_job(*tasks, "decoded", t0);
  decoded.coalesce = apsched::Coalesce::all;  // overwritten by the defaults
  decoded.max_instances = 9;
  apsched::detail::sqlite::decode_record_options("SqliteJobStore", nlohmann::json::object(),
                                                 decoded);
  CHECK(decoded.coalesce == plain.coalesce);
  CHECK(decoded.max_instances == plain.max_instances);
  CHECK(decoded.overlap == plain.overlap);
  CHECK(decoded.abandoned == plain.abandoned);
  CHECK(decoded.executor == plain.executor);
  JobRecord full = make_job(*tasks, "full", t0);
  full.extra().name = "a \"quoted\" n\u00e4me\n";
  full.extras->misfire_grace_time = 90s;
  full.extras->timeout = 2500ms;
  full.coalesce = apsched::Coalesce::all;
  full.overlap = apsched::Overlap::queue;
  full.abandoned = apsched::Abandoned::rerun;
  full.max_instances = 7;
  full.executor = 3;
  const std::string text = apsched::detail::sqlite::encode_record_options_text(full);
  CHECK(text == apsched::detail::sqlite::encode_record_options(full).dump());
  CHECK_THAT(text, contains(R"("name":"a \"quoted\" näme\n")"));  // UTF-8 kept, escaped quotes
  CHECK(nlohmann::json::parse(text).at("timeout_ns") == 2'500'000'000LL);
  CHECK(nlohmann::json::parse(text).size() == 8);  // every member, none at its default
  JobRecord back = make_job(*tasks, "full", t0);
  apsched::detail::sqlite::decode_record_options("SqliteJobStore", nlohmann::json::parse(text),
                                                 back);
  CHECK(apsched::detail::sqlite::encode_record_options_text(back) == text);
}

}  // namespace sqlite_job_store_test
