// SPDX-License-Identifier: MIT
// The dispatcher alone, over a memory store: due jobs become runs a round at a time, queued runs
// go when a run ends, timeouts stop runs, and a run's end is counted in its job.
#include <apsched/detail/scheduler/dispatcher.hpp>
#include <apsched/stores/memory.hpp>

#include "support/catch.hpp"
#include "support/due_record.hpp"

#include <array>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <tuple>
#include <vector>

namespace detail_scheduler_dispatcher_test {

using namespace std::chrono_literals;
using apsched::Duration;
using apsched::Event;
using apsched::EventType;
using apsched::JobOutcome;
using apsched::JobRecord;
using apsched::MemoryJobStore;
using apsched::TimePoint;
using apsched::test::due_record;

const TimePoint t0 = TimePoint{} + std::chrono::hours{24 * 365 * 50};

// What runs call back; the dispatcher only stores a pointer to it.
struct Owner {};

using Dispatcher = apsched::detail::Dispatcher<Owner, 1, MemoryJobStore>;
constexpr std::array<std::size_t, 1> unlimited{apsched::detail::ExecutorRoom<1>::unlimited};

// A dispatcher over one memory store, with the vectors a step fills.
struct Fixture {
  Owner owner;
  apsched::detail::StoreSet<MemoryJobStore> stores{std::tuple<MemoryJobStore>{}};
  apsched::detail::JobSettings settings{{}, 1, {}, 1};
  apsched::detail::ListenerRegistry listeners{{}};
  apsched::detail::StoreDriver<MemoryJobStore> driver{stores, settings, listeners,
                                                      Duration::zero()};
  apsched::detail::SplitMix64 random{7};
  Dispatcher dispatcher{&owner, stores, driver, settings, listeners, random, Duration::zero()};
  std::vector<Dispatcher::Dispatch> dispatches;
  std::vector<Event> events;
  std::vector<std::stop_source> to_stop;

  Fixture() {
    (void)listeners.add([](const Event&) {}, apsched::all_events, {});
  }
  Fixture(const Fixture&) = delete;
  Fixture& operator=(const Fixture&) = delete;
  // The runs still handed out end before they are freed, as they would in a scheduler.
  ~Fixture() { drop_all(); }

  JobRecord* add(JobRecord record) {
    JobRecord* stored = nullptr;
    stores.with(0, [&](auto& store) { stored = store.insert(std::move(record)); });
    return stored;
  }

  // One step at `now`: its first round and every round after it; returns the rounds taken.
  int step(TimePoint now) {
    dispatcher.begin_step(now, unlimited, dispatches, events, to_stop);
    int rounds = 1;
    while (dispatcher.collect_due(now, dispatches, events)) {
      ++rounds;
    }
    return rounds;
  }

  // Ends every run handed out, as a refusing executor would, and forgets them.
  void drop_all() {
    for (Dispatcher::Dispatch& dispatch : dispatches) {
      (void)dispatcher.run_ended(*dispatch.run, JobOutcome::dropped, std::nullopt, false);
    }
    dispatches.clear();
  }

  // Ends the run of `dispatches[i]` with `outcome`, as its executor would.
  Dispatcher::Ended end(std::size_t i, JobOutcome outcome, TimePoint started) {
    return dispatcher.run_ended(*dispatches.at(i).run, outcome, started, false);
  }
};

TEST_CASE("dispatcher: a due job becomes a run, its schedule advances, its end is counted",
          "[scheduler][dispatcher]") {
  Fixture fixture;
  JobRecord* job = fixture.add(due_record("job", t0));
  fixture.add(due_record("later", t0 + 1s));
  CHECK(fixture.step(t0) == 1);
  REQUIRE(fixture.dispatches.size() == 1);
  const Dispatcher::Run& run = *fixture.dispatches[0].run;
  CHECK(run.job_id == "job");
  CHECK(run.scheduled == t0);
  CHECK(run.owner == &fixture.owner);
  CHECK(job->next_run == t0 + 1h);
  CHECK(job->running == 1);
  const Dispatcher::Ended ended = fixture.end(0, JobOutcome::error, t0 + 1ms);
  CHECK(ended.job == job);
  CHECK_FALSE(ended.wake);
  CHECK(job->running == 0);
  CHECK(job->run_count == 1);
  CHECK(job->failure_count == 1);
  CHECK(job->last_outcome == JobOutcome::error);
  CHECK(job->last_run == t0 + 1ms);
}

TEST_CASE("dispatcher: very many due jobs are handed out a round of round_size at a time",
          "[scheduler][dispatcher]") {
  Fixture fixture;
  const std::size_t count = Dispatcher::round_size + Dispatcher::round_size / 2;
  for (std::size_t i = 0; i < count; ++i) {
    fixture.add(due_record("job" + std::to_string(i), t0));
  }
  fixture.dispatcher.begin_step(t0, unlimited, fixture.dispatches, fixture.events, fixture.to_stop);
  CHECK(fixture.dispatcher.collect_due(t0, fixture.dispatches, fixture.events));
  CHECK(fixture.dispatches.size() == Dispatcher::round_size);
  fixture.drop_all();
  CHECK_FALSE(fixture.dispatcher.collect_due(t0, fixture.dispatches, fixture.events));
  CHECK(fixture.dispatches.size() == count - Dispatcher::round_size);
}

TEST_CASE("dispatcher: a fire beyond max_instances waits with Overlap::queue until a run ends",
          "[scheduler][dispatcher]") {
  Fixture fixture;
  JobRecord record = due_record("job", t0);
  record.overlap = apsched::Overlap::queue;
  JobRecord* job = fixture.add(std::move(record));
  fixture.step(t0);
  REQUIRE(fixture.dispatches.size() == 1);
  auto first = std::move(fixture.dispatches[0].run);
  fixture.dispatches.clear();
  fixture.step(t0 + 1h);
  CHECK(fixture.dispatches.empty());
  REQUIRE(job->extras);
  CHECK(job->extras->queued_runs.size() == 1);
  CHECK_FALSE(fixture.dispatcher.queues_pending());
  const Dispatcher::Ended ended =
      fixture.dispatcher.run_ended(*first, JobOutcome::success, t0, false);
  CHECK(ended.wake);
  CHECK(fixture.dispatcher.queues_pending());
  fixture.step(t0 + 1h);
  REQUIRE(fixture.dispatches.size() == 1);
  CHECK(fixture.dispatches[0].run->scheduled == t0 + 1h);
  CHECK(job->extras->queued_runs.empty());
  CHECK_FALSE(fixture.dispatcher.queues_pending());
}

TEST_CASE("dispatcher: a run past its timeout is asked to stop, and job_timeout reported",
          "[scheduler][dispatcher]") {
  Fixture fixture;
  JobRecord record = due_record("job", t0);
  record.extra().timeout = 5s;
  fixture.add(std::move(record));
  fixture.step(t0);
  REQUIRE(fixture.dispatches.size() == 1);
  Dispatcher::Run& run = *fixture.dispatches[0].run;
  fixture.dispatcher.runs().time(run, t0 + 5s);  // it started at t0
  fixture.dispatcher.begin_step(t0 + 4s, unlimited, fixture.dispatches, fixture.events,
                                fixture.to_stop);
  CHECK(fixture.to_stop.empty());
  fixture.dispatcher.begin_step(t0 + 5s, unlimited, fixture.dispatches, fixture.events,
                                fixture.to_stop);
  REQUIRE(fixture.to_stop.size() == 1);
  REQUIRE(fixture.events.size() == 1);
  CHECK(fixture.events[0].type == EventType::job_timeout);
  CHECK(fixture.events[0].started_at == t0);
  CHECK(run.timed_out);
}

TEST_CASE("dispatcher: run_now offers a run outside the schedule, within max_instances",
          "[scheduler][dispatcher]") {
  Fixture fixture;
  JobRecord* job = fixture.add(due_record("job", t0 + 1h));
  fixture.dispatcher.measure_room(unlimited, t0);
  CHECK(fixture.dispatcher.run_now(*job, 0, t0, fixture.dispatches, fixture.events));
  REQUIRE(fixture.dispatches.size() == 1);
  CHECK(fixture.dispatches[0].run->scheduled == t0);
  CHECK(job->next_run == t0 + 1h);  // the schedule is unchanged
  // max_instances (1) is reached: the offer is skipped and reported.
  CHECK_FALSE(fixture.dispatcher.run_now(*job, 0, t0, fixture.dispatches, fixture.events));
  CHECK(fixture.dispatches.size() == 1);
  REQUIRE(fixture.events.size() == 1);
  CHECK(fixture.events[0].type == EventType::job_max_instances);
}

}  // namespace detail_scheduler_dispatcher_test
