// SPDX-License-Identifier: MIT
// The job store conformance suite: JobStore requirements 1-8, written once and registered per
// store; durable_job_store_conformance.hpp adds the DurableJobStore cases.
#pragma once

#include <apsched/job_store.hpp>

#include "support/catch.hpp"

#include <algorithm>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// A fixture `F` tells the suite how to use one store:
// - `typename F::Store`, the store (a JobStore);
// - `F::name`, the store's name in the test names, and `F::tags`, its Catch2 tags;
// - `F::shares_storage`: whether the store objects a fixture opens share their jobs (a durable
//   store on one file or database: opened again, or twice at once, they see each other's
//   writes), else each starts empty;
// - `F{}` makes what the stores of one test use (a file, a schema) and `f.open()` opens a store
//   on it, ready to use;
// - `f.record(id, first, value)` makes a record the store accepts: a job every 10 s from
//   `first`, with extras, whose definition differs by `value` (a durable store's records name
//   a registered task taking `value`).
// Durable stores (DurableJobStore) get the durable cases of durable_job_store_conformance.hpp
// too; a store with `fire_history(id[, limit])` and `owner()` has its recorded fires checked.
namespace apsched::test::conformance {

using namespace std::chrono_literals;

inline const TimePoint t0 = TimePoint{std::chrono::sys_days{std::chrono::year{2026} / 1 / 1}};

/// What a fixture must provide.
template <class F>
concept StoreFixture = JobStore<typename F::Store> && std::default_initializable<F> &&
    requires(F& fixture, std::string id, TimePoint first, int value) {
  { F::name } -> std::convertible_to<std::string_view>;
  { F::tags } -> std::convertible_to<std::string_view>;
  { F::shares_storage } -> std::convertible_to<bool>;
  { fixture.open() } -> std::same_as<typename F::Store>;
  { fixture.record(std::move(id), first, value) } -> std::same_as<JobRecord>;
};

/// The ids of the store's records, sorted.
template <class S>
std::vector<std::string> ids_of(const S& store) {
  std::vector<std::string> ids;
  store.for_each([&ids](const JobRecord& record) { ids.push_back(record.id); });
  std::sort(ids.begin(), ids.end());
  return ids;
}

/// Moves `job` to `when` (next fire and next run) and tells the store.
template <class S>
void move_to(S& store, JobRecord& job, TimePoint when) {
  job.next_fire = when;
  job.next_run = when;
  store.update(job);
}

// JobStore requirements 1-8.

template <class F>
void empty_store_has_nothing() {
  F fixture;
  auto store = fixture.open();
  CHECK(store.size() == 0);
  CHECK(store.find("a") == nullptr);
  CHECK_FALSE(store.erase("a"));
  CHECK_FALSE(store.next_run_time().has_value());
  CHECK(store.first_due(TimePoint::max()) == nullptr);
  CHECK(ids_of(store).empty());
  store.clear();
  CHECK(store.size() == 0);
}

template <class F>
void insert_and_find() {
  F fixture;
  auto store = fixture.open();
  const std::string long_id = "a-job-id-that-is-longer-than-sso";
  JobRecord* a = store.insert(fixture.record("a", t0 + 1s, 1));
  REQUIRE(a != nullptr);
  CHECK(a->id == "a");
  CHECK(a->next_run == t0 + 1s);
  REQUIRE(store.insert(fixture.record("b", t0 + 2s, 2)) != nullptr);
  REQUIRE(store.insert(fixture.record(long_id, t0 + 3s, 3)) != nullptr);
  CHECK(store.size() == 3);
  const std::string key = "b";
  REQUIRE(store.find(key) != nullptr);
  CHECK(store.find(key)->id == "b");
  CHECK(store.find(key)->next_run == t0 + 2s);
  REQUIRE(store.find("a") != nullptr);
  CHECK(store.find("a")->next_run == t0 + 1s);
  REQUIRE(store.find(long_id) != nullptr);
  CHECK(store.find(long_id)->id == long_id);
  CHECK(store.find("c") == nullptr);
  CHECK(store.find("") == nullptr);
  CHECK(store.find("A") == nullptr);
  CHECK(ids_of(store) == std::vector<std::string>{"a", long_id, "b"});
}

template <class F>
void insert_of_stored_id_leaves_record_unmoved() {
  F fixture;
  auto store = fixture.open();
  REQUIRE(store.insert(fixture.record("a", t0, 1)) != nullptr);
  JobRecord again = fixture.record("a", t0 + 1s, 5);
  REQUIRE(again.extras != nullptr);
  const JobExtras* extras = again.extras.get();
  const bool has_body = static_cast<bool>(again.body);
  const std::string trigger = again.trigger.describe();
  const std::string arguments = again.extras->task ? again.extras->task->arguments : "";
  CHECK(store.insert(std::move(again)) == nullptr);
  // Not moved from: every member still holds what it held.
  CHECK(again.id == "a");  // NOLINT(bugprone-use-after-move): insert must not move from it
  CHECK(again.extras.get() == extras);
  CHECK(static_cast<bool>(again.body) == has_body);
  CHECK(again.trigger.describe() == trigger);
  CHECK(again.next_run == t0 + 1s);
  if (again.extras->task) {
    CHECK(again.extras->task->arguments == arguments);
  }
  CHECK(store.size() == 1);
  REQUIRE(store.find("a") != nullptr);
  CHECK(store.find("a")->next_run == t0);
}

template <class F>
void erase_removes_by_id() {
  F fixture;
  auto store = fixture.open();
  REQUIRE(store.insert(fixture.record("a", t0 + 1s, 1)) != nullptr);
  REQUIRE(store.insert(fixture.record("b", t0 + 2s, 2)) != nullptr);
  CHECK(store.erase("a"));
  CHECK(store.size() == 1);
  CHECK(store.find("a") == nullptr);
  CHECK_FALSE(store.erase("a"));
  CHECK_FALSE(store.erase("never"));
  CHECK(store.find("b") != nullptr);
  CHECK(ids_of(store) == std::vector<std::string>{"b"});
  CHECK(store.next_run_time() == t0 + 2s);
}

template <class F>
void clear_removes_everything() {
  F fixture;
  auto store = fixture.open();
  for (int i = 0; i < 10; ++i) {
    REQUIRE(store.insert(fixture.record("job" + std::to_string(i), t0 + i * 1s, i)) != nullptr);
  }
  JobRecord* paused = store.find("job3");
  REQUIRE(paused != nullptr);
  paused->paused = true;
  store.update(*paused);
  store.clear();
  CHECK(store.size() == 0);
  CHECK(store.find("job1") == nullptr);
  CHECK(store.find("job3") == nullptr);
  CHECK_FALSE(store.next_run_time().has_value());
  CHECK(store.first_due(TimePoint::max()) == nullptr);
  CHECK(ids_of(store).empty());
  // The store works on after clear.
  REQUIRE(store.insert(fixture.record("job1", t0, 1)) != nullptr);
  JobRecord* found = store.find("job1");
  REQUIRE(found != nullptr);
  CHECK(store.first_due(t0) == found);
  CHECK(store.size() == 1);
}

template <class F>
void first_due_follows_next_run_and_skips_paused() {
  F fixture;
  auto store = fixture.open();
  CHECK(store.next_run_time() == std::nullopt);
  CHECK(store.first_due(t0 + 1h) == nullptr);
  REQUIRE(store.insert(fixture.record("late", t0 + 30s, 1)) != nullptr);
  REQUIRE(store.insert(fixture.record("early", t0 + 10s, 2)) != nullptr);
  REQUIRE(store.insert(fixture.record("middle", t0 + 20s, 3)) != nullptr);
  JobRecord paused = fixture.record("paused", t0 + 1s, 4);
  paused.paused = true;
  REQUIRE(store.insert(std::move(paused)) != nullptr);

  CHECK(store.next_run_time() == t0 + 10s);
  CHECK(store.first_due(t0 + 9s) == nullptr);
  CHECK(store.first_due(t0 + 10s - 1ns) == nullptr);
  JobRecord* due = store.first_due(t0 + 10s);
  REQUIRE(due != nullptr);
  CHECK(due->id == "early");
  REQUIRE(store.first_due(TimePoint::max()) != nullptr);
  CHECK(store.first_due(TimePoint::max())->id == "early");

  due = store.first_due(t0 + 10s);
  REQUIRE(due != nullptr);
  move_to(store, *due, t0 + 40s);
  CHECK(store.next_run_time() == t0 + 20s);
  REQUIRE(store.first_due(t0 + 35s) != nullptr);
  CHECK(store.first_due(t0 + 35s)->id == "middle");
  CHECK(store.erase("middle"));
  CHECK(store.next_run_time() == t0 + 30s);
  REQUIRE(store.first_due(t0 + 35s) != nullptr);
  CHECK(store.first_due(t0 + 35s)->id == "late");

  JobRecord* resumed = store.find("paused");
  REQUIRE(resumed != nullptr);
  resumed->paused = false;
  store.update(*resumed);
  CHECK(store.next_run_time() == t0 + 1s);
  REQUIRE(store.first_due(t0 + 1s) != nullptr);
  CHECK(store.first_due(t0 + 1s)->id == "paused");
  CHECK(ids_of(store) == std::vector<std::string>{"early", "late", "paused"});
}

template <class F>
void update_reorders() {
  F fixture;
  auto store = fixture.open();
  REQUIRE(store.insert(fixture.record("a", t0 + 10s, 1)) != nullptr);
  REQUIRE(store.insert(fixture.record("b", t0 + 20s, 2)) != nullptr);
  JobRecord* c = store.insert(fixture.record("c", t0 + 30s, 3));
  REQUIRE(c != nullptr);
  move_to(store, *c, t0 + 5s);
  CHECK(store.next_run_time() == t0 + 5s);
  CHECK(store.first_due(t0 + 5s) == c);
  move_to(store, *c, t0 + 40s);
  CHECK(store.next_run_time() == t0 + 10s);
  REQUIRE(store.first_due(t0 + 1h) != nullptr);
  CHECK(store.first_due(t0 + 1h)->id == "a");
  // The way the scheduler uses it: take the first due, move it on, repeat.
  std::vector<std::string> order;
  for (JobRecord* due = store.first_due(t0 + 100s); due != nullptr && order.size() < 6;
       due = store.first_due(t0 + 100s)) {
    order.push_back(due->id);
    move_to(store, *due, due->next_run + 100s);
  }
  CHECK(order == std::vector<std::string>{"a", "b", "c"});
  CHECK(store.next_run_time() == t0 + 110s);
}

template <class F>
void paused_records_are_not_due() {
  F fixture;
  auto store = fixture.open();
  REQUIRE(store.insert(fixture.record("a", t0 + 10s, 1)) != nullptr);
  REQUIRE(store.insert(fixture.record("b", t0 + 20s, 2)) != nullptr);
  JobRecord* a = store.find("a");
  REQUIRE(a != nullptr);
  a->paused = true;
  store.update(*a);
  CHECK(store.next_run_time() == t0 + 20s);
  REQUIRE(store.first_due(t0 + 1h) != nullptr);
  CHECK(store.first_due(t0 + 1h)->id == "b");
  CHECK(store.find("a") == a);
  CHECK(store.find("a")->paused);
  CHECK(store.size() == 2);
  // Updating a paused record again changes nothing.
  move_to(store, *a, t0);
  CHECK(store.next_run_time() == t0 + 20s);
  a->paused = false;
  store.update(*a);
  CHECK(store.next_run_time() == t0);
  CHECK(store.first_due(t0) == a);

  SECTION("a record inserted paused is due only once resumed") {
    JobRecord record = fixture.record("p", t0 - 1h, 3);
    record.paused = true;
    JobRecord* p = store.insert(std::move(record));
    REQUIRE(p != nullptr);
    CHECK(store.next_run_time() == t0);
    CHECK(store.first_due(t0 - 1h) == nullptr);
    p->paused = false;
    store.update(*p);
    CHECK(store.first_due(t0 - 1h) == p);
  }
  SECTION("all paused means nothing due") {
    a->paused = true;
    store.update(*a);
    JobRecord* b = store.find("b");
    REQUIRE(b != nullptr);
    b->paused = true;
    store.update(*b);
    CHECK_FALSE(store.next_run_time().has_value());
    CHECK(store.first_due(TimePoint::max()) == nullptr);
    CHECK(ids_of(store).size() == 2);
  }
  SECTION("a paused record can be erased") {
    a->paused = true;
    store.update(*a);
    CHECK(store.erase("a"));
    CHECK(store.next_run_time() == t0 + 20s);
  }
}

template <class F>
void records_due_at_once_are_each_handed_out() {
  F fixture;
  auto store = fixture.open();
  int value = 0;
  for (const char* id : {"x", "y", "z"}) {
    REQUIRE(store.insert(fixture.record(id, t0, ++value)) != nullptr);
  }
  REQUIRE(store.insert(fixture.record("later", t0 + 1s, ++value)) != nullptr);
  std::vector<std::string> seen;
  for (int i = 0; i < 3; ++i) {
    JobRecord* due = store.first_due(t0);
    REQUIRE(due != nullptr);
    CHECK(due->next_run == t0);
    seen.push_back(due->id);
    REQUIRE(store.erase(std::string{due->id}));
  }
  std::sort(seen.begin(), seen.end());
  CHECK(seen == std::vector<std::string>{"x", "y", "z"});
  CHECK(store.first_due(t0) == nullptr);
  REQUIRE(store.first_due(t0 + 1s) != nullptr);
  CHECK(store.first_due(t0 + 1s)->id == "later");
}

template <class F>
void size_and_for_each_see_every_record() {
  F fixture;
  auto store = fixture.open();
  for (int i = 0; i < 5; ++i) {
    JobRecord record = fixture.record("job" + std::to_string(i), t0 + i * 1s, i);
    record.paused = i % 2 == 1;
    REQUIRE(store.insert(std::move(record)) != nullptr);
  }
  CHECK(store.size() == 5);
  std::vector<std::string> ids;
  std::size_t paused = 0;
  store.for_each([&](const JobRecord& record) {
    ids.push_back(record.id);
    paused += record.paused ? 1U : 0U;
  });
  std::sort(ids.begin(), ids.end());
  CHECK(ids == std::vector<std::string>{"job0", "job1", "job2", "job3", "job4"});
  CHECK(paused == 2);
  REQUIRE(store.erase("job1"));
  CHECK(store.size() == 4);
  CHECK(ids_of(store) == std::vector<std::string>{"job0", "job2", "job3", "job4"});
}

/// Registers `test` as a case for the store of fixture `F`, named "<prefix>: <behaviour> -
/// <F::name>" and tagged [store][conformance] plus F::tags.
template <StoreFixture F>
void add_case(void (*test)(), std::string_view prefix, std::string_view behaviour) {
  std::string name{prefix};
  name.append(": ").append(behaviour).append(" - ").append(F::name);
  const std::string tags = std::string{"[store][conformance]"} + std::string{F::tags};
  // What TEST_CASE and TEMPLATE_TEST_CASE expand to, in Catch2 2 and 3 alike; Catch2 copies
  // the name and tags, so they may be built at run time, with each store's own tags.
  (void)Catch::AutoReg(Catch::makeTestInvoker(test),
                       Catch::SourceLineInfo{__FILE__, static_cast<std::size_t>(__LINE__)},
                       Catch::StringRef{}, Catch::NameAndTags{name, tags});
}

/// Registers the JobStore cases (requirements 1-8) for the store of fixture `F`, named "job
/// store: <behaviour> - <F::name>". Call once per fixture, from a namespace-scope initialiser
/// (durable stores: register_suite of durable_job_store_conformance.hpp); returns true.
template <StoreFixture F>
bool register_job_store_cases() {
  const auto add = [](void (*test)(), std::string_view prefix, std::string_view behaviour) {
    add_case<F>(test, prefix, behaviour);
  };
  constexpr std::string_view job = "job store";
  add(&empty_store_has_nothing<F>, job, "an empty store has no records and nothing due");
  add(&insert_and_find<F>, job, "insert returns the stored record and find returns it by id");
  add(&insert_of_stored_id_leaves_record_unmoved<F>, job,
      "insert of a stored id returns nullptr and leaves the record unmoved");
  add(&erase_removes_by_id<F>, job,
      "erase removes the record with an id and says whether there was one");
  add(&clear_removes_everything<F>, job, "clear removes every record and the store works on");
  add(&first_due_follows_next_run_and_skips_paused<F>, job,
      "first_due and next_run_time follow next_run and skip paused records");
  add(&update_reorders<F>, job, "update reorders a record whose next_run changed");
  add(&paused_records_are_not_due<F>, job, "paused records are left out of the due order");
  add(&records_due_at_once_are_each_handed_out<F>, job,
      "each of several records due at the same time is handed out");
  add(&size_and_for_each_see_every_record<F>, job,
      "size counts the records and for_each visits each once");
  return true;
}

}  // namespace apsched::test::conformance
