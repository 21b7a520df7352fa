// SPDX-License-Identifier: MIT
// The event feed: each event's fields, the scheduler's time with a store's clock offset, store
// aliases, and events nobody listens to left unbuilt.
#include <apsched/detail/scheduler/event_feed.hpp>

#include <apsched/testing/manual_clock.hpp>

#include "support/catch.hpp"
#include "support/event_log.hpp"

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace detail_scheduler_event_feed_test {

using namespace std::chrono_literals;
using apsched::Duration;
using apsched::Event;
using apsched::EventType;
using apsched::JobOutcome;
using apsched::TimePoint;

const TimePoint t0 = TimePoint{} + std::chrono::hours{24 * 365 * 50};

// A store set whose database clock runs `offset` ahead of the scheduler's clock.
struct OffsetStores {
  Duration offset = Duration::zero();
  [[nodiscard]] Duration clock_offset() const noexcept { return offset; }
};

// The members of a run the feed reads.
struct FakeRun {
  std::string job_id;
  std::uint8_t store = 0;
  TimePoint scheduled;
  unsigned attempt = 1;
};

struct Fixture {
  apsched::ManualClock clock{t0};
  OffsetStores stores;
  apsched::detail::JobSettings settings{{"", "archive"}, 2, {}, 1};
  apsched::detail::ListenerRegistry listeners{[](apsched::LogLevel, std::string_view) {}};
  apsched::detail::EventFeed<apsched::ManualClock, OffsetStores> feed{clock, stores, settings,
                                                                      listeners};
  apsched::test::EventLog log;
  Fixture() { listeners.add(log.listener(), apsched::all_events); }
};

TEST_CASE("events carry the scheduler's time, which includes a store's clock offset",
          "[event_feed]") {
  Fixture fixture;
  CHECK(fixture.feed.now() == t0);
  fixture.stores.offset = 250ms;
  CHECK(fixture.feed.now() == t0 + 250ms);
  fixture.feed.scheduler(EventType::scheduler_started);
  fixture.feed.job(EventType::job_added, "report", 1);
  fixture.feed.all_removed("archive");
  const std::vector<Event> events = fixture.log.events();
  REQUIRE(events.size() == 3);
  CHECK(events[0].type == EventType::scheduler_started);
  CHECK(events[0].time == t0 + 250ms);
  CHECK(events[0].job_id.empty());
  CHECK(events[1].type == EventType::job_added);
  CHECK(events[1].job_id == "report");
  CHECK(events[1].store == "archive");
  CHECK(events[2].type == EventType::all_jobs_removed);
  CHECK(events[2].store == "archive");
}

TEST_CASE("a run's events name its job, store, scheduled time, attempt, start and error",
          "[event_feed]") {
  Fixture fixture;
  const FakeRun run{.job_id = "sync", .store = 0, .scheduled = t0 - 5s, .attempt = 3};
  fixture.feed.submitted(run, 4);
  fixture.feed.started(run, t0 - 1s);
  fixture.feed.ended(run, JobOutcome::error, t0 - 1s,
                     std::make_exception_ptr(std::runtime_error{"disk full"}));
  fixture.feed.ended(run, JobOutcome::success, t0 - 1s, nullptr);
  fixture.feed.ended(run, JobOutcome::dropped, std::nullopt, nullptr);
  const std::vector<Event> events = fixture.log.events();
  REQUIRE(events.size() == 5);
  for (const Event& event : events) {
    CHECK(event.job_id == "sync");
    CHECK(event.store == "default");
    CHECK(event.scheduled_run_time == t0 - 5s);
    CHECK(event.attempt == 3);
  }
  CHECK(events[0].type == EventType::job_submitted);
  CHECK(events[0].runs == 4);
  CHECK(events[0].time == t0);
  CHECK(events[1].type == EventType::job_started);
  CHECK(events[1].time == t0 - 1s);
  CHECK(events[1].started_at == t0 - 1s);
  CHECK(events[2].type == EventType::job_error);
  CHECK(events[2].started_at == t0 - 1s);
  CHECK(events[2].message == "disk full");
  CHECK(events[3].type == EventType::job_executed);
  CHECK_FALSE(events[3].exception);
  CHECK(events[4].type == EventType::job_dropped);
  CHECK_FALSE(events[4].started_at);
}

TEST_CASE("store and executor errors carry their exception; a store without failure has none",
          "[event_feed]") {
  Fixture fixture;
  fixture.feed.store_error(1, nullptr);
  fixture.feed.store_error(1, std::make_exception_ptr(std::runtime_error{"locked"}));
  try {
    throw std::runtime_error{"queue full"};
  } catch (...) {
    fixture.feed.executor_error();
  }
  const std::vector<Event> events = fixture.log.events();
  REQUIRE(events.size() == 2);
  CHECK(events[0].type == EventType::store_error);
  CHECK(events[0].store == "archive");
  CHECK(events[0].message == "locked");
  CHECK(events[1].type == EventType::executor_error);
  CHECK(events[1].message == "queue full");
}

TEST_CASE("an event type nobody listens to is not emitted", "[event_feed]") {
  Fixture fixture;
  apsched::test::EventLog started_only;
  apsched::detail::ListenerRegistry listeners{[](apsched::LogLevel, std::string_view) {}};
  listeners.add(started_only.listener(), static_cast<apsched::EventMask>(EventType::job_started));
  const apsched::detail::EventFeed<apsched::ManualClock, OffsetStores> feed{
      fixture.clock, fixture.stores, fixture.settings, listeners};
  const FakeRun run{.job_id = "sync"};
  feed.submitted(run, 1);
  feed.started(run, t0);
  feed.ended(run, JobOutcome::success, t0, nullptr);
  feed.scheduler(EventType::scheduler_started);
  const std::vector<Event> events = started_only.events();
  REQUIRE(events.size() == 1);
  CHECK(events[0].type == EventType::job_started);
}

}  // namespace detail_scheduler_event_feed_test
