// SPDX-License-Identifier: MIT
// SqliteJobStore and the fires a scheduler claimed but has not started: they start only while
// fewer than max_instances runs of their job are recorded on the file, they are taken over (not
// abandoned) from a store that closed, and they do not count as running elsewhere. And the
// fire history, kept to the largest history_per_job of the stores on the file.
#include <apsched/sqlite/job_store.hpp>

#include "support/catch.hpp"
#include "support/sqlite_jobs.hpp"
#include "support/temp_dir.hpp"

#include <algorithm>
#include <chrono>
#include <span>
#include <vector>

namespace sqlite_store_claims_test {

using namespace std::chrono_literals;
using apsched::ClaimedFire;
using apsched::ClaimVerdict;
using apsched::FireState;
using apsched::JobRecord;
using apsched::SqliteJobStore;
using apsched::TimePoint;
using apsched::test::commit_one;
using apsched::test::make_job;
using apsched::test::make_tasks;
using apsched::test::open_store;
using apsched::test::raw_int;
using apsched::test::TempDir;

namespace {

const TimePoint t0 = TimePoint{std::chrono::sys_days{std::chrono::year{2026} / 3 / 1}};

// What `store` says to starting `claims`, in one call.
std::vector<ClaimVerdict> start(SqliteJobStore& store, const std::vector<ClaimedFire>& claims) {
  return store.start_claimed(std::span<const ClaimedFire>{claims});
}

}  // namespace

TEST_CASE(
    "sqlite store: a claimed fire starts only while fewer than max_instances runs are "
    "recorded on the file",
    "[sqlite]") {
  TempDir dir;
  const auto file = dir.file("jobs.db");
  const auto tasks = make_tasks();
  SqliteJobStore first = open_store(file, tasks);
  SqliteJobStore second = open_store(file, tasks);
  REQUIRE(first.insert(make_job(*tasks, "a", t0)) != nullptr);
  REQUIRE(commit_one(first, *first.find("a"), FireState::claimed));  // fire t0
  CHECK(raw_int(file,
                "SELECT count(*) FROM fires WHERE state = 'claimed' AND "
                "finished_at IS NULL") == 1);

  // The other store runs the job's next fire; the claimed one does not count as running.
  JobRecord* theirs = second.first_due(t0 + 10s);
  REQUIRE(theirs != nullptr);
  CHECK(theirs->running_elsewhere == 0);
  REQUIRE(commit_one(second, *theirs));  // fire t0 + 10 s, started

  const std::vector<ClaimedFire> claim{{"a", t0, 1}};
  CHECK(start(first, claim) == std::vector{ClaimVerdict::busy});
  CHECK(raw_int(file, "SELECT count(*) FROM fires WHERE state = 'claimed'") == 1);
  // Two may run at once: it starts beside the other store's run.
  CHECK(start(first, {{"a", t0, 2}}) == std::vector{ClaimVerdict::started});
  CHECK(raw_int(file, "SELECT count(*) FROM fires WHERE state = 'submitted'") == 2);
  // Started already: no longer claimed.
  CHECK(start(first, claim) == std::vector{ClaimVerdict::lost});
  CHECK(start(first, {{"a", t0 + 5s, 1}}) == std::vector{ClaimVerdict::lost});

  // The first store, handing the job out as due, counts the other store's run only.
  JobRecord* mine = first.first_due(t0 + 20s);
  REQUIRE(mine != nullptr);
  CHECK(mine->running_elsewhere == 1);
  second.record_outcome("a", nullptr, t0 + 10s, FireState::succeeded, "");
  mine = first.first_due(t0 + 20s);
  REQUIRE(mine != nullptr);
  CHECK(mine->running_elsewhere == 0);
}

TEST_CASE("sqlite store: of two claims of one job with max_instances 1, one starts", "[sqlite]") {
  TempDir dir;
  const auto file = dir.file("jobs.db");
  const auto tasks = make_tasks();
  SqliteJobStore store = open_store(file, tasks);
  REQUIRE(store.insert(make_job(*tasks, "a", t0)) != nullptr);
  REQUIRE(commit_one(store, *store.find("a"), FireState::claimed));
  REQUIRE(commit_one(store, *store.find("a"), FireState::claimed));
  CHECK(start(store, {{"a", t0, 1}, {"a", t0 + 10s, 1}}) ==
        std::vector{ClaimVerdict::started, ClaimVerdict::busy});
  store.record_outcome("a", nullptr, t0, FireState::succeeded, "");
  CHECK(start(store, {{"a", t0 + 10s, 1}}) == std::vector{ClaimVerdict::started});
}

TEST_CASE("sqlite store: fires a closed store claimed are taken over to run, not abandoned",
          "[sqlite]") {
  TempDir dir;
  const auto file = dir.file("jobs.db");
  const auto tasks = make_tasks();
  {
    SqliteJobStore gone = open_store(file, tasks);
    REQUIRE(gone.insert(make_job(*tasks, "a", t0)) != nullptr);
    REQUIRE(gone.insert(make_job(*tasks, "removed", t0)) != nullptr);
    REQUIRE(commit_one(gone, *gone.find("a"), FireState::claimed));
    REQUIRE(commit_one(gone, *gone.find("removed"), FireState::claimed));
  }
  // The job's row gone, its claimed fire kept (as a job removed while its fire ran elsewhere).
  apsched::test::raw_exec(file, "DELETE FROM jobs WHERE id = 'removed'");
  SqliteJobStore next = open_store(file, tasks);
  std::vector<apsched::AbandonedFire> taken = next.take_abandoned();
  REQUIRE(taken.size() == 2);
  std::sort(taken.begin(), taken.end(),
            [](const auto& x, const auto& y) { return x.job_id < y.job_id; });
  CHECK(taken[0].job_id == "a");
  CHECK(taken[0].scheduled == t0);
  CHECK_FALSE(taken[0].started);
  CHECK(taken[0].rerun);
  CHECK(taken[0].attempt == 1);
  // The job is gone: nothing can run the fire, and it never started.
  CHECK(taken[1].job_id == "removed");
  CHECK_FALSE(taken[1].started);
  CHECK_FALSE(taken[1].rerun);
  CHECK(raw_int(file, "SELECT count(*) FROM fires WHERE state = 'abandoned'") == 0);
  CHECK(raw_int(file,
                "SELECT count(*) FROM fires WHERE job_id = 'removed' AND "
                "state = 'dropped' AND finished_at IS NOT NULL") == 1);
  CHECK(raw_int(file, "SELECT attempt FROM fires WHERE job_id = 'a'") == 1);
  // Now this store's claim: it starts it.
  CHECK(start(next, {{"a", t0, 1}}) == std::vector{ClaimVerdict::started});
}

TEST_CASE(
    "sqlite store: a job's last fires, one started and one claimed, are taken over per "
    "what each is",
    "[sqlite]") {
  TempDir dir;
  const auto file = dir.file("jobs.db");
  const auto tasks = make_tasks();
  {
    SqliteJobStore gone = open_store(file, tasks);
    REQUIRE(gone.insert(make_job(*tasks, "a", t0)) != nullptr);  // Abandoned::drop
    JobRecord& job = *gone.find("a");
    // Its trigger has no time left: the job goes, kept for its claimed fire.
    const std::vector<apsched::FireDecision> fires{
        {.scheduled = t0, .state = FireState::submitted},
        {.scheduled = t0 + 10s, .state = FireState::claimed}};
    REQUIRE(gone.commit_due(job, fires, true));
    CHECK(raw_int(file, "SELECT count(*) FROM retired_jobs") == 1);
  }
  SqliteJobStore next = open_store(file, tasks);
  std::vector<apsched::AbandonedFire> taken = next.take_abandoned();
  REQUIRE(taken.size() == 2);
  std::sort(taken.begin(), taken.end(),
            [](const auto& x, const auto& y) { return x.scheduled < y.scheduled; });
  // The started one may have run: its job says drop, though the job was kept.
  CHECK(taken[0].started);
  CHECK_FALSE(taken[0].rerun);
  CHECK(taken[1].last_fire);
  CHECK_FALSE(taken[1].started);
  CHECK(taken[1].rerun);
  CHECK(raw_int(file, "SELECT count(*) FROM fires WHERE state = 'abandoned'") == 1);
  // Its run ends: the kept job goes.
  next.record_outcome("a", nullptr, t0 + 10s, FireState::succeeded, "");
  CHECK(raw_int(file, "SELECT count(*) FROM retired_jobs") == 0);
}

TEST_CASE(
    "sqlite store: a job kept for its last fire goes once no fire of it is in flight, "
    "whichever store ends the last",
    "[sqlite]") {
  TempDir dir;
  const auto file = dir.file("jobs.db");
  const auto tasks = make_tasks();
  SqliteJobStore first = open_store(file, tasks);
  SqliteJobStore second = open_store(file, tasks);
  REQUIRE(first.insert(make_job(*tasks, "a", t0)) != nullptr);
  JobRecord& mine = *first.find("a");
  REQUIRE(commit_one(first, mine));  // fire t0, running in the first store
  JobRecord* theirs = second.first_due(t0 + 10s);
  REQUIRE(theirs != nullptr);
  const apsched::FireDecision last{.scheduled = t0 + 10s, .state = FireState::claimed};
  REQUIRE(second.commit_due(*theirs, std::span{&last, 1}, true));
  second.record_outcome("a", nullptr, t0 + 10s, FireState::succeeded, "");
  CHECK(raw_int(file, "SELECT count(*) FROM retired_jobs") == 1);  // fire t0 still runs
  first.record_outcome("a", &mine, t0, FireState::succeeded, "");
  CHECK(raw_int(file, "SELECT count(*) FROM retired_jobs") == 0);
}

TEST_CASE("sqlite store: the history is trimmed to the largest history_per_job on the file",
          "[sqlite]") {
  TempDir dir;
  const auto file = dir.file("jobs.db");
  const auto tasks = make_tasks();
  SqliteJobStore small = open_store(file, tasks, {.history_per_job = 2});
  REQUIRE(small.insert(make_job(*tasks, "a", t0)) != nullptr);
  {
    const SqliteJobStore large = open_store(file, tasks, {.history_per_job = 5});
    for (int i = 0; i < 8; ++i) {
      REQUIRE(commit_one(small, *small.find("a"), FireState::succeeded));
    }
    CHECK(raw_int(file, "SELECT count(*) FROM fires") == 5);
  }
  // The larger store closed: its lease row is gone, and the small one's value rules.
  REQUIRE(commit_one(small, *small.find("a"), FireState::succeeded));
  CHECK(raw_int(file, "SELECT count(*) FROM fires") == 2);
}

}  // namespace sqlite_store_claims_test
