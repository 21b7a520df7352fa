// SPDX-License-Identifier: MIT
// The store driver alone: what a durable store records for a plan, batches across stores, the
// writing of run outcomes, passes and rounds, take-over of abandoned fires, and replacement.
#include <apsched/detail/scheduler/store_driver.hpp>
#include <apsched/stores/memory.hpp>
#include <apsched/triggers/interval.hpp>

#include "support/catch.hpp"
#include "support/due_record.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace detail_scheduler_store_driver_test {

using namespace std::chrono_literals;
using apsched::Duration;
using apsched::EventType;
using apsched::FireDecision;
using apsched::FireState;
using apsched::JobRecord;
using apsched::MemoryJobStore;
using apsched::TimePoint;
using apsched::detail::FirePlan;
using apsched::detail::FireStep;
using Kind = apsched::detail::FireStep::Kind;

const TimePoint t0 = TimePoint{} + std::chrono::hours{24 * 365 * 50};

// What a TestStore was asked, shared with the test after the store moved into the set.
struct Calls {
  std::vector<std::string> log;
  bool fail_begin_batch = false;
  bool fail_commit_batch = false;
  bool refuse_commit = false;
  bool fail_flush = false;
  std::vector<FireDecision> committed;
  std::vector<apsched::AbandonedFire> abandoned;
  std::vector<std::pair<std::string, FireState>> outcomes;
};

// A durable memory store with every optional hook, which logs the calls of the protocol.
struct TestStore : MemoryJobStore {
  static constexpr bool durable = true;
  struct Tasks {};
  std::shared_ptr<Calls> calls = std::make_shared<Calls>();
  std::string name = "s";

  void note(std::string_view what) const { calls->log.push_back(name + "." + std::string{what}); }
  bool commit_due(JobRecord& job, std::span<const FireDecision> fires, bool remove) {
    note(remove ? "commit_due(remove)" : "commit_due");
    if (calls->refuse_commit) {
      return false;
    }
    calls->committed.assign(fires.begin(), fires.end());
    update(job);
    return true;
  }
  void record_outcome(std::string_view id, const JobRecord*, TimePoint, FireState state,
                      std::string_view) {
    calls->outcomes.emplace_back(std::string{id}, state);
  }
  std::vector<apsched::StoreReport> take_reports() { return {}; }
  void task_registered(std::string_view) {}
  [[nodiscard]] Duration poll_interval() const { return 1h; }
  void attach(std::shared_ptr<const Tasks>, std::uint8_t) {}
  void begin_batch() {
    if (calls->fail_begin_batch) {
      throw std::runtime_error{"locked"};
    }
    note("begin_batch");
  }
  void commit_batch() {
    if (calls->fail_commit_batch) {
      throw std::runtime_error{"disk full"};
    }
    note("commit_batch");
  }
  void rollback_batch() noexcept { note("rollback_batch"); }
  JobRecord* replace(JobRecord&&, bool) { return nullptr; }
  std::vector<apsched::ClaimVerdict> start_claimed(std::span<const apsched::ClaimedFire>) {
    return {};
  }
  std::vector<apsched::AbandonedFire> take_abandoned() { return std::move(calls->abandoned); }
  void begin_round() { note("begin_round"); }
  void end_round() { note("end_round"); }
  void abort_round() { note("abort_round"); }
  bool defer_outcome(std::string_view id, const JobRecord*, TimePoint, FireState state,
                     std::string_view) {
    calls->outcomes.emplace_back("deferred " + std::string{id}, state);
    return true;
  }
  void flush_outcomes() {
    if (calls->fail_flush) {
      throw std::runtime_error{"gone"};
    }
    note("flush_outcomes");
  }
};
static_assert(apsched::RoundStore<TestStore>);
static_assert(apsched::DeferredOutcomeStore<TestStore>);
static_assert(apsched::AbandonedFireSource<TestStore>);

// Calls `visit(store)` with store `index` of `stores` if it is a TestStore.
template <class Set, class F>
void with_test_store(Set& stores, std::size_t index, F&& visit) {
  stores.with(index, [&](auto& store) {
    if constexpr (std::is_same_v<std::remove_cvref_t<decltype(store)>, TestStore>) {
      visit(store);
    }
  });
}

// A memory store, a TestStore named "a" and one named "b", and a driver over them.
struct Fixture {
  explicit Fixture(Duration outcome_window = Duration::zero())
      : calls_a{std::make_shared<Calls>()},
        calls_b{std::make_shared<Calls>()},
        stores{std::tuple<MemoryJobStore, TestStore, TestStore>{
            MemoryJobStore{}, TestStore{.calls = calls_a, .name = "a"},
            TestStore{.calls = calls_b, .name = "b"}}},
        driver{stores, settings, listeners, outcome_window} {
    (void)listeners.add([this](const apsched::Event& event) { seen.push_back(event.type); },
                        apsched::all_events, {});
  }
  std::shared_ptr<Calls> calls_a;
  std::shared_ptr<Calls> calls_b;
  apsched::detail::StoreSet<MemoryJobStore, TestStore, TestStore> stores;
  apsched::detail::JobSettings settings{{"memory", "a", "b"}, 3, {}, 1};
  apsched::detail::ListenerRegistry listeners{{}};
  apsched::detail::StoreDriver<MemoryJobStore, TestStore, TestStore> driver;
  std::vector<EventType> seen;
};

TEST_CASE("store driver: a durable store records each step of a plan as a fire decision",
          "[scheduler][store_driver]") {
  FirePlan plan;
  plan.steps = {FireStep{.kind = Kind::missed, .scheduled = t0, .count = 3},
                FireStep{.kind = Kind::coalesced, .scheduled = t0 + 3s, .count = 2},
                FireStep{.kind = Kind::run, .scheduled = t0 + 5s, .count = 2},
                FireStep{.kind = Kind::run, .scheduled = t0 + 6s, .claimed = true},
                FireStep{.kind = Kind::queue, .scheduled = t0 + 7s},
                FireStep{.kind = Kind::skip, .scheduled = t0 + 8s}};
  std::vector<FireDecision> fires{FireDecision{.scheduled = t0 - 1s}};  // replaced, not added to
  apsched::detail::fire_decisions(plan, fires);
  REQUIRE(fires.size() == 6);
  CHECK((fires[0].state == FireState::missed && fires[0].runs == 3 && fires[0].scheduled == t0));
  CHECK((fires[1].state == FireState::coalesced && fires[1].runs == 2));
  CHECK((fires[2].state == FireState::submitted && fires[2].runs == 1));
  CHECK(fires[3].state == FireState::claimed);
  CHECK((fires[4].state == FireState::claimed && fires[4].scheduled == t0 + 7s));
  CHECK((fires[5].state == FireState::skipped && fires[5].scheduled == t0 + 8s));
}

TEST_CASE("store driver: a batch opens in every durable store, one at a time, all or none",
          "[scheduler][store_driver]") {
  Fixture fixture;
  fixture.driver.begin_batch();
  CHECK(fixture.driver.batching());
  CHECK_FALSE(fixture.driver.passable(1, t0));  // durable stores wait for the batch
  CHECK(fixture.driver.passable(0, t0));
  CHECK_THROWS_WITH(fixture.driver.begin_batch(),
                    Catch::Matchers::Contains("batch: a batch is already open"));
  fixture.calls_b->fail_commit_batch = true;
  const std::exception_ptr failure = fixture.driver.end_batch(true);
  REQUIRE(failure);
  CHECK_THROWS_WITH(std::rethrow_exception(failure), "disk full");
  CHECK_FALSE(fixture.driver.batching());
  CHECK(fixture.calls_a->log ==
        std::vector<std::string>{"a.begin_batch", "a.commit_batch"});  // committed first
  CHECK(fixture.calls_b->log == std::vector<std::string>{"b.begin_batch", "b.rollback_batch"});

  SECTION("a store that cannot begin makes the ones begun roll back") {
    fixture.calls_a->log.clear();
    fixture.calls_b->log.clear();
    fixture.calls_b->fail_begin_batch = true;
    CHECK_THROWS_WITH(fixture.driver.begin_batch(), "locked");
    CHECK_FALSE(fixture.driver.batching());
    CHECK(fixture.calls_a->log == std::vector<std::string>{"a.begin_batch", "a.rollback_batch"});
    CHECK(fixture.calls_b->log.empty());
  }
}

TEST_CASE("store driver: a run's outcome is kept for a step, at once or within the window",
          "[scheduler][store_driver]") {
  SECTION("with no window, the next step is asked for at once") {
    Fixture fixture;
    const apsched::detail::OutcomeWrite write =
        fixture.driver.run_ended(1, "job", nullptr, t0, apsched::JobOutcome::success, nullptr, t0);
    CHECK(write.step_now);
    CHECK_FALSE(write.write_by);
    CHECK(fixture.calls_a->outcomes ==
          std::vector<std::pair<std::string, FireState>>{{"deferred job", FireState::succeeded}});
  }
  SECTION("with a window, by the end of it, which the next wake-up includes") {
    Fixture fixture{10ms};
    const apsched::detail::OutcomeWrite write =
        fixture.driver.run_ended(2, "job", nullptr, t0, apsched::JobOutcome::error,
                                 std::make_exception_ptr(std::runtime_error{"boom"}), t0 + 1s);
    CHECK_FALSE(write.step_now);
    CHECK(write.write_by == t0 + 1s + 10ms);
    CHECK(fixture.driver.next_due(t0 + 1s, false) == t0 + 1s + 10ms);
    CHECK(fixture.calls_b->outcomes ==
          std::vector<std::pair<std::string, FireState>>{{"deferred job", FireState::failed}});
    std::vector<apsched::Event> events;
    fixture.driver.write_outcomes(t0 + 2s, events);
    CHECK(events.empty());
    CHECK(fixture.calls_b->log == std::vector<std::string>{"b.flush_outcomes"});
    CHECK(fixture.driver.next_due(t0 + 2s, false) == t0 + 2s + 1h);  // the poll, not the write
  }
  SECTION("a job that reruns abandoned fires has its outcome written at once") {
    Fixture fixture;
    JobRecord job = apsched::test::due_record("job", t0);
    job.abandoned = apsched::Abandoned::rerun;
    const apsched::detail::OutcomeWrite write =
        fixture.driver.run_ended(1, "job", &job, t0, apsched::JobOutcome::dropped, nullptr, t0);
    CHECK_FALSE(write.step_now);
    CHECK(fixture.calls_a->outcomes ==
          std::vector<std::pair<std::string, FireState>>{{"job", FireState::dropped}});
  }
  SECTION("a store that is not durable records nothing") {
    Fixture fixture;
    const apsched::detail::OutcomeWrite write =
        fixture.driver.run_ended(0, "job", nullptr, t0, apsched::JobOutcome::success, nullptr, t0);
    CHECK_FALSE(write.step_now);
    CHECK(fixture.calls_a->outcomes.empty());
  }
  SECTION("a store failing to write its outcomes is reported") {
    Fixture fixture;
    fixture.calls_a->fail_flush = true;
    std::vector<apsched::Event> events;
    fixture.driver.write_outcomes(t0, events);
    REQUIRE(events.size() == 1);
    CHECK(events[0].type == EventType::store_error);
    CHECK(events[0].store == "a");
    CHECK(fixture.calls_b->log == std::vector<std::string>{"b.flush_outcomes"});
  }
}

TEST_CASE("store driver: a round commits its pass, or rolls back what it changed in memory",
          "[scheduler][store_driver]") {
  Fixture fixture;
  JobRecord* job = nullptr;
  fixture.stores.with(
      1, [&](auto& store) { job = store.insert(apsched::test::due_record("job", t0)); });
  REQUIRE(job != nullptr);
  job->running = 1;  // a run from an earlier step
  FirePlan plan;
  plan.steps = {FireStep{.kind = Kind::run, .scheduled = t0}};
  with_test_store(fixture.stores, 1, [&](TestStore& store) {
    fixture.driver.begin_handout(store);
    ++job->running;  // the scheduler started the plan's run
    job->extra().queued_runs.push_back(t0 + 1s);
    CHECK(fixture.driver.commit(*job, store, plan, false, 1, 0));
    CHECK(job->running == 2);
    CHECK(fixture.calls_a->committed.size() == 1);
    SECTION("committed") {
      fixture.driver.end_pass(store);
      CHECK(fixture.calls_a->log ==
            std::vector<std::string>{"a.begin_round", "a.commit_due", "a.end_round"});
    }
    SECTION("aborted: the caller undoes its runs; the job's counts go back") {
      CHECK(fixture.driver.abort_pass(store));
      CHECK(fixture.calls_a->log ==
            std::vector<std::string>{"a.begin_round", "a.commit_due", "a.abort_round"});
      CHECK(job->running == 1);
      CHECK(job->extras->queued_runs.empty());
    }
  });
  SECTION("a store without rounds has nothing to undo") {
    fixture.stores.with(0, [&](auto& store) {
      if constexpr (std::is_same_v<std::remove_cvref_t<decltype(store)>, MemoryJobStore>) {
        CHECK_FALSE(fixture.driver.abort_pass(store));
      }
    });
  }
}

TEST_CASE("store driver: a refused commit leaves the job its runs from before the step",
          "[scheduler][store_driver]") {
  Fixture fixture;
  fixture.calls_a->refuse_commit = true;
  JobRecord* job = nullptr;
  fixture.stores.with(
      1, [&](auto& store) { job = store.insert(apsched::test::due_record("job", t0)); });
  job->running = 3;  // 2 before the step, 1 started by it
  FirePlan plan;
  plan.steps = {FireStep{.kind = Kind::run, .scheduled = t0}};
  with_test_store(fixture.stores, 1, [&](TestStore& store) {
    CHECK_FALSE(fixture.driver.commit(*job, store, plan, false, 1, 0));
  });
  CHECK(job->running == 2);
  CHECK(fixture.calls_a->committed.empty());
}

TEST_CASE("store driver: fires abandoned by a dead scheduler are reported and run again",
          "[scheduler][store_driver]") {
  Fixture fixture;
  fixture.stores.with(
      1, [&](auto& store) { (void)store.insert(apsched::test::due_record("kept", t0)); });
  fixture.calls_a->abandoned = {
      apsched::AbandonedFire{.job_id = "kept", .scheduled = t0, .attempt = 2, .rerun = true},
      apsched::AbandonedFire{.job_id = "claimed",
                             .scheduled = t0 + 1s,
                             .rerun = true,
                             .started = false},  // a job gone since: recorded dropped
      apsched::AbandonedFire{.job_id = "dropped", .scheduled = t0 + 2s},  // reported only
  };
  std::vector<apsched::Event> events;
  std::vector<std::string> reruns;
  fixture.stores.with(1, [&](auto& store) {
    fixture.driver.take_over(1, store, t0, events, [&](const auto& rerun) {
      reruns.push_back(rerun.job.id + (rerun.started ? " started " : " claimed ") +
                       std::to_string(rerun.attempt));
    });
  });
  CHECK(reruns == std::vector<std::string>{"kept started 2"});
  REQUIRE(events.size() == 2);  // the started ones
  CHECK((events[0].type == EventType::job_abandoned && events[0].job_id == "kept" &&
         events[0].runs == 1 && events[0].store == "a"));
  CHECK((events[1].job_id == "dropped" && events[1].runs == 0));
  CHECK(fixture.calls_a->outcomes ==
        std::vector<std::pair<std::string, FireState>>{{"claimed", FireState::dropped}});
  events.clear();
  reruns.clear();
  fixture.stores.with(1, [&](auto& store) {
    fixture.driver.take_over(1, store, t0, events, [&](const auto&) { reruns.emplace_back(); });
  });
  CHECK(reruns.empty());  // each taken over once
}

TEST_CASE("store driver: replacing a job of a store that is not durable keeps its queued runs",
          "[scheduler][store_driver]") {
  Fixture fixture;
  JobRecord* held = nullptr;
  fixture.stores.with(
      0, [&](auto& store) { held = store.insert(apsched::test::due_record("job", t0)); });
  held->extra().queued_runs.push_back(t0 - 1s);
  held->run_count = 4;
  JobRecord replacement = apsched::test::due_record("job", t0 + 1h);
  replacement.max_instances = 3;
  JobRecord* replaced = fixture.driver.replace(0, std::move(replacement), false);
  REQUIRE(replaced == held);
  CHECK(held->next_run == t0 + 1h);
  CHECK(held->max_instances == 3);
  CHECK(held->run_count == 4);
  CHECK(held->extras->queued_runs.size() == 1);
  CHECK(fixture.driver.replace(0, apsched::test::due_record("other", t0), false) == nullptr);
}

}  // namespace detail_scheduler_store_driver_test
