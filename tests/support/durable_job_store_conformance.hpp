// SPDX-License-Identifier: MIT
// The durable job store conformance suite: the DurableJobStore requirements a store can be
// checked on alone (2, 3, 8 and 9) and durability, over the JobStore suite's fixtures.
#pragma once

#include <apsched/durable_job_store.hpp>

#include "support/catch.hpp"
#include "support/job_store_conformance.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace apsched::test::conformance {

template <class S>
concept WithFireHistory = FireHistoryStore<S> && requires(const S& store, std::string_view id) {
  { store.fire_history(id) } -> std::same_as<std::vector<FireRecord>>;
  { store.fire_history(id, std::size_t{1}) } -> std::same_as<std::vector<FireRecord>>;
  { store.owner() } -> std::same_as<FireOwner>;
};

/// Advances `job` by one 10 s interval and has `store` commit one fire of `state` at the job's
/// next_run before the advance; returns what commit_due returned.
template <class S>
bool commit_one(S& store, JobRecord& job, FireState state = FireState::submitted) {
  const FireDecision fire{.scheduled = job.next_run, .state = state, .runs = 1};
  job.next_fire += 10s;
  job.next_run += 10s;
  return store.commit_due(job, std::span<const FireDecision>{&fire, 1}, false);
}

// DurableJobStore requirements 2, 3, 8 and 9, and durability.

template <class F>
void commit_due_records_fires_and_advances() {
  F fixture;
  {
    auto store = fixture.open();
    REQUIRE(store.insert(fixture.record("a", t0, 1)) != nullptr);
    JobRecord* job = store.first_due(t0);
    REQUIRE(job != nullptr);
    const std::vector<FireDecision> fires{
        {.scheduled = t0 - 20s, .state = FireState::missed, .runs = 2},
        {.scheduled = t0, .state = FireState::submitted, .runs = 1}};
    job->next_fire = t0 + 10s;
    job->next_run = t0 + 10s;
    REQUIRE(store.commit_due(*job, fires, false));
    CHECK(store.first_due(t0 + 9s) == nullptr);
    CHECK(store.next_run_time() == t0 + 10s);
    CHECK(store.find("a") == job);
    if constexpr (WithFireHistory<typename F::Store>) {
      const std::vector<FireRecord> history = store.fire_history("a");
      REQUIRE(history.size() == 2);
      CHECK(history[0].scheduled == t0);
      CHECK(history[0].state == FireState::submitted);
      CHECK(history[0].finished_at == std::nullopt);
      CHECK(history[0].attempt == 1);
      CHECK(history[1].scheduled == t0 - 20s);
      CHECK(history[1].state == FireState::missed);
      CHECK(history[1].runs == 2);
      CHECK(history[1].finished_at.has_value());
      CHECK(history[0].owner == history[1].owner);
      // host:pid:random, naming the process that recorded it
      CHECK(history[0].owner == store.owner());
      CHECK(history[0].owner.structured());
      CHECK(history[0].owner.pid == getpid());
    }
  }
  if constexpr (F::shares_storage) {
    auto reopened = fixture.open();
    JobRecord* job = reopened.find("a");
    REQUIRE(job != nullptr);
    CHECK(job->next_run == t0 + 10s);
    CHECK(job->next_fire == t0 + 10s);
    CHECK(job->last_outcome == JobOutcome::missed);
    CHECK(reopened.next_run_time() == t0 + 10s);
    if constexpr (WithFireHistory<typename F::Store>) {
      CHECK(reopened.fire_history("a").size() == 2);
      CHECK(reopened.fire_history("a", 1).size() == 1);
    }
  }
}

template <class F>
void commit_due_with_remove_deletes() {
  F fixture;
  auto store = fixture.open();
  REQUIRE(store.insert(fixture.record("once", t0, 1)) != nullptr);
  JobRecord* job = store.first_due(t0);
  REQUIRE(job != nullptr);
  const FireDecision fire{.scheduled = t0, .state = FireState::submitted, .runs = 1};
  REQUIRE(store.commit_due(*job, std::span<const FireDecision>{&fire, 1}, true));
  CHECK(store.size() == 0);
  CHECK(store.find("once") == nullptr);
  CHECK_FALSE(store.next_run_time().has_value());
  CHECK(store.first_due(TimePoint::max()) == nullptr);
  // The run ends after its job is gone: its end is recorded, the history kept.
  if constexpr (WithFireHistory<typename F::Store>) {
    REQUIRE(store.fire_history("once").size() == 1);
  }
  store.record_outcome("once", nullptr, t0, FireState::succeeded, "");
  if constexpr (WithFireHistory<typename F::Store>) {
    REQUIRE(store.fire_history("once").size() == 1);
    CHECK(store.fire_history("once")[0].state == FireState::succeeded);
  }
  // A new job with the id starts a history of its own, so its fires cannot collide.
  REQUIRE(store.insert(fixture.record("once", t0, 2)) != nullptr);
  if constexpr (WithFireHistory<typename F::Store>) {
    CHECK(store.fire_history("once").empty());
  }
  JobRecord* again = store.first_due(t0);
  REQUIRE(again != nullptr);
  CHECK(store.commit_due(*again, std::span<const FireDecision>{&fire, 1}, true));
  if constexpr (F::shares_storage) {
    CHECK(fixture.open().size() == 0);
  }
}

template <class F>
void record_outcome_counters_add_up() {
  F fixture;
  auto first = fixture.open();
  auto second = fixture.open();
  REQUIRE(first.insert(fixture.record("a", t0, 1)) != nullptr);

  JobRecord* mine = first.first_due(t0);
  REQUIRE(mine != nullptr);
  REQUIRE(commit_one(first, *mine));
  JobRecord* theirs = second.first_due(t0 + 10s);
  REQUIRE(theirs != nullptr);
  REQUIRE(commit_one(second, *theirs));

  mine->run_count = 1;
  mine->last_run = t0 + 1s;
  first.record_outcome("a", mine, t0, FireState::succeeded, "");
  theirs->run_count = 1;
  theirs->failure_count = 1;
  theirs->last_run = t0 + 11s;
  second.record_outcome("a", theirs, t0 + 10s, FireState::failed, "boom");

  auto third = fixture.open();
  JobRecord* job = third.find("a");
  REQUIRE(job != nullptr);
  CHECK(job->run_count == 2);
  CHECK(job->failure_count == 1);
  CHECK(job->last_run == t0 + 11s);
  CHECK(job->last_outcome == JobOutcome::error);
  const std::vector<FireRecord> history = third.fire_history("a");
  REQUIRE(history.size() == 2);
  CHECK(history[0].state == FireState::failed);
  CHECK(history[0].error == "boom");
  CHECK(history[0].finished_at.has_value());
  CHECK(history[1].state == FireState::succeeded);
  CHECK(history[1].error.empty());

  // A dropped run is recorded without counting as a run.
  REQUIRE(commit_one(third, *job));
  third.record_outcome("a", job, t0 + 20s, FireState::dropped, "");
  auto fourth = fixture.open();
  REQUIRE(fourth.find("a") != nullptr);
  CHECK(fourth.find("a")->run_count == 2);
  CHECK(fourth.find("a")->last_outcome == JobOutcome::dropped);
}

template <class F>
void erase_and_clear_delete_history() {
  F fixture;
  auto store = fixture.open();
  REQUIRE(store.insert(fixture.record("a", t0, 1)) != nullptr);
  REQUIRE(store.insert(fixture.record("b", t0, 2)) != nullptr);
  JobRecord* a = store.find("a");
  REQUIRE(a != nullptr);
  REQUIRE(commit_one(store, *a));
  CHECK(store.erase("a"));
  CHECK_FALSE(store.erase("a"));
  CHECK(store.find("a") == nullptr);
  if constexpr (WithFireHistory<typename F::Store>) {
    CHECK(store.fire_history("a").empty());
  }
  CHECK(store.size() == 1);
  if constexpr (F::shares_storage) {
    CHECK(fixture.open().size() == 1);
  }
  store.clear();
  CHECK(store.size() == 0);
  CHECK(store.next_run_time() == std::nullopt);
  if constexpr (F::shares_storage) {
    CHECK(fixture.open().size() == 0);
  }
  REQUIRE(store.insert(fixture.record("a", t0, 3)) != nullptr);
  CHECK(store.size() == 1);
}

template <class F>
void jobs_survive_reopening() {
  F fixture;
  {
    auto store = fixture.open();
    JobRecord job = fixture.record("a", t0 + 5s, 42);
    job.extra().name = "the \"a\" job";
    job.extras->misfire_grace_time = 30s;
    job.extras->timeout = 2min;
    job.coalesce = Coalesce::all;
    job.max_instances = 3;
    job.overlap = Overlap::queue;
    job.abandoned = Abandoned::rerun;
    job.executor = 2;
    job.run_count = 7;
    job.failure_count = 2;
    job.last_run = t0 - 1s;
    job.last_outcome = JobOutcome::error;
    REQUIRE(store.insert(std::move(job)) != nullptr);
    REQUIRE(store.insert(fixture.record("paused", t0, 2)) != nullptr);
    JobRecord* paused = store.find("paused");
    REQUIRE(paused != nullptr);
    paused->paused = true;
    store.update(*paused);
    REQUIRE(store.insert(fixture.record("moved", t0 + 1h, 3)) != nullptr);
    JobRecord* moved = store.find("moved");
    REQUIRE(moved != nullptr);
    move_to(store, *moved, t0 + 2h);
    REQUIRE(store.insert(fixture.record("erased", t0, 4)) != nullptr);
    REQUIRE(store.erase("erased"));
  }
  auto store = fixture.open();
  CHECK(store.size() == 3);
  CHECK(ids_of(store) == std::vector<std::string>{"a", "moved", "paused"});
  CHECK(store.next_run_time() == t0 + 5s);
  JobRecord* job = store.find("a");
  REQUIRE(job != nullptr);
  CHECK(job->next_fire == t0 + 5s);
  CHECK(job->next_run == t0 + 5s);
  CHECK_FALSE(job->paused);
  REQUIRE(job->extras != nullptr);
  CHECK(job->extras->name == "the \"a\" job");
  CHECK(job->extras->misfire_grace_time == std::optional<Duration>{30s});
  CHECK(job->extras->timeout == std::optional<Duration>{2min});
  CHECK(job->coalesce == Coalesce::all);
  CHECK(job->max_instances == 3);
  CHECK(job->overlap == Overlap::queue);
  CHECK(job->abandoned == Abandoned::rerun);
  CHECK(job->executor == 2);
  CHECK(job->run_count == 7);
  CHECK(job->failure_count == 2);
  CHECK(job->last_run == t0 - 1s);
  CHECK(job->last_outcome == JobOutcome::error);
  CHECK(static_cast<bool>(job->body));
  const JobRecord original = fixture.record("a", t0 + 5s, 42);
  CHECK(job->trigger.describe() == original.trigger.describe());
  REQUIRE(original.extras != nullptr);
  if (original.extras->task) {
    REQUIRE(job->extras->task != nullptr);
    CHECK(job->extras->task->name == original.extras->task->name);
    CHECK(job->extras->task->arguments == original.extras->task->arguments);
  }
  for (const TimePoint now : {t0, t0 + 5s, t0 + 17s, t0 + 1h}) {
    CHECK(job->trigger.next_fire_time(std::nullopt, now) ==
          original.trigger.next_fire_time(std::nullopt, now));
    CHECK(job->trigger.next_fire_time(now, now) == original.trigger.next_fire_time(now, now));
  }
  REQUIRE(store.find("paused") != nullptr);
  CHECK(store.find("paused")->paused);
  REQUIRE(store.find("moved") != nullptr);
  CHECK(store.find("moved")->next_run == t0 + 2h);
  CHECK(store.find("moved")->next_fire == t0 + 2h);
  CHECK(store.find("erased") == nullptr);
}

template <class F>
void committed_batch_writes_at_once() {
  F fixture;
  auto store = fixture.open();
  auto other = fixture.open();
  REQUIRE(store.insert(fixture.record("old", t0, 1)) != nullptr);
  store.begin_batch();
  REQUIRE(store.insert(fixture.record("a", t0 + 1s, 2)) != nullptr);
  REQUIRE(store.insert(fixture.record("b", t0 + 2s, 3)) != nullptr);
  for (int i = 0; i < 50; ++i) {
    REQUIRE(store.insert(fixture.record("job-" + std::to_string(i), t0 + 1h + i * 1s, i)) !=
            nullptr);
  }
  // A failing write leaves the rest.
  CHECK(store.insert(fixture.record("a", t0, 4)) == nullptr);
  JobRecord* b = store.find("b");
  REQUIRE(b != nullptr);
  b->paused = true;
  store.update(*b);
  CHECK(store.erase("old"));
  CHECK(store.size() == 52);  // the batch sees its own writes
  CHECK(other.size() == 1);   // the others see none of them yet
  CHECK(other.find("a") == nullptr);
  store.commit_batch();
  CHECK(other.size() == 52);
  CHECK(other.find("old") == nullptr);
  REQUIRE(other.find("b") != nullptr);
  CHECK(other.find("b")->paused);
  CHECK(store.find("b") == b);
  // Commits work again after the batch.
  JobRecord* a = store.first_due(t0 + 1s);
  REQUIRE(a != nullptr);
  CHECK(a->id == "a");
  CHECK(commit_one(store, *a));
}

template <class F>
void rolled_back_batch_leaves_nothing() {
  F fixture;
  auto store = fixture.open();
  auto other = fixture.open();
  REQUIRE(store.insert(fixture.record("kept", t0, 1)) != nullptr);
  REQUIRE(store.insert(fixture.record("erased", t0 + 1s, 2)) != nullptr);
  JobRecord* kept = store.find("kept");
  REQUIRE(kept != nullptr);
  kept->running = 1;  // a run is outstanding: its record stays, reloaded
  store.begin_batch();
  REQUIRE(store.insert(fixture.record("new", t0 + 1s, 3)) != nullptr);
  move_to(store, *kept, t0 + 1h);
  CHECK(store.erase("erased"));
  store.rollback_batch();
  CHECK(store.size() == 2);
  CHECK(store.find("new") == nullptr);
  CHECK(store.find("erased") != nullptr);
  REQUIRE(store.find("kept") == kept);
  CHECK(kept->next_run == t0);
  CHECK(kept->next_fire == t0);
  CHECK(kept->running == 1);
  CHECK(store.next_run_time() == t0);
  CHECK(other.size() == 2);
  CHECK(other.next_run_time() == t0);
  CHECK(other.find("new") == nullptr);
  CHECK(other.find("erased") != nullptr);
}

template <class F>
void replace_keeps_counters() {
  F fixture;
  auto store = fixture.open();
  JobRecord stored = fixture.record("a", t0, 1);
  stored.run_count = 7;
  stored.failure_count = 2;
  stored.last_run = t0 - 1s;
  stored.last_outcome = JobOutcome::error;
  REQUIRE(store.insert(std::move(stored)) != nullptr);
  JobRecord* held = store.find("a");
  REQUIRE(held != nullptr);
  REQUIRE(commit_one(store, *held));  // a fire in its history

  JobRecord replacement = fixture.record("a", t0 + 1h, 9);
  replacement.extra().name = "replaced";
  replacement.max_instances = 4;
  JobRecord* replaced = store.replace(std::move(replacement), false);
  REQUIRE(replaced != nullptr);
  CHECK(replaced == store.find("a"));
  CHECK(store.size() == 1);
  // The new definition and schedule...
  CHECK(replaced->next_run == t0 + 1h);
  CHECK(replaced->next_fire == t0 + 1h);
  REQUIRE(replaced->extras != nullptr);
  CHECK(replaced->extras->name == "replaced");
  CHECK(replaced->max_instances == 4);
  const JobRecord expected = fixture.record("a", t0 + 1h, 9);
  if (expected.extras->task) {
    REQUIRE(replaced->extras->task != nullptr);
    CHECK(replaced->extras->task->arguments == expected.extras->task->arguments);
  }
  // ...and what the stored job did.
  CHECK(replaced->run_count == 7);
  CHECK(replaced->failure_count == 2);
  CHECK(replaced->last_run == t0 - 1s);
  CHECK(replaced->last_outcome == JobOutcome::error);
  CHECK(store.next_run_time() == t0 + 1h);
  if constexpr (WithFireHistory<typename F::Store>) {
    CHECK(store.fire_history("a").size() == 1);
  }
  if constexpr (F::shares_storage) {
    auto reopened = fixture.open();
    JobRecord* read = reopened.find("a");
    REQUIRE(read != nullptr);
    CHECK(read->run_count == 7);
    CHECK(read->next_run == t0 + 1h);
    CHECK(read->max_instances == 4);
  }
}

template <class F>
void replace_with_keep_schedule_keeps_schedule() {
  F fixture;
  auto store = fixture.open();
  REQUIRE(store.insert(fixture.record("same", t0, 1)) != nullptr);
  REQUIRE(store.insert(fixture.record("changed", t0, 1)) != nullptr);
  JobRecord* same = store.find("same");
  REQUIRE(same != nullptr);
  move_to(store, *same, t0 + 30s);  // where the stored job's schedule got to
  JobRecord* changed = store.find("changed");
  REQUIRE(changed != nullptr);
  move_to(store, *changed, t0 + 30s);

  // The same trigger (interval from t0): the stored schedule stays; a paused record pauses it.
  JobRecord paused = fixture.record("same", t0, 2);
  paused.paused = true;
  JobRecord* kept = store.replace(std::move(paused), true);
  REQUIRE(kept != nullptr);
  CHECK(kept->next_run == t0 + 30s);
  CHECK(kept->next_fire == t0 + 30s);
  CHECK(kept->paused);
  // Another trigger (interval from t0 + 1h): the record's schedule is taken.
  JobRecord* taken = store.replace(fixture.record("changed", t0 + 1h, 2), true);
  REQUIRE(taken != nullptr);
  CHECK(taken->next_run == t0 + 1h);
  CHECK_FALSE(taken->paused);
  CHECK(store.next_run_time() == t0 + 1h);
}

/// Registers the suite's cases for the store of fixture `F`: the JobStore cases and, for a
/// DurableJobStore, the durable ones, named "durable job store: <behaviour> - <F::name>". Call
/// once per fixture, from a namespace-scope initialiser; returns true.
template <StoreFixture F>
bool register_suite() {
  using Store = typename F::Store;
  register_job_store_cases<F>();
  const auto add = [](void (*test)(), std::string_view prefix, std::string_view behaviour) {
    add_case<F>(test, prefix, behaviour);
  };
  if constexpr (DurableJobStore<Store>) {
    constexpr std::string_view durable = "durable job store";
    add(&commit_due_records_fires_and_advances<F>, durable,
        "commit_due records the fires and advances the job");
    add(&commit_due_with_remove_deletes<F>, durable, "commit_due with remove deletes the job");
    add(&erase_and_clear_delete_history<F>, durable, "erase and clear delete jobs and history");
    add(&replace_keeps_counters<F>, durable,
        "replace takes the new definition and keeps the stored job's counters");
    if constexpr (F::shares_storage) {
      // Checked through a second store object or by reopening: a store that keeps nothing
      // beyond itself cannot show them.
      add(&jobs_survive_reopening<F>, durable, "jobs and their changes survive reopening");
      add(&committed_batch_writes_at_once<F>, durable, "a committed batch writes all at once");
      add(&rolled_back_batch_leaves_nothing<F>, durable,
          "a rolled back batch leaves nothing and forgets its writes");
      add(&replace_with_keep_schedule_keeps_schedule<F>, durable,
          "replace with keep_schedule keeps the schedule of an unchanged trigger");
      if constexpr (WithFireHistory<Store>) {
        add(&record_outcome_counters_add_up<F>, durable,
            "record_outcome counters add up across two store objects");
      }
    }
  }
  return true;
}

}  // namespace apsched::test::conformance
