// SPDX-License-Identifier: MIT
#include <apsched/event.hpp>

#include "support/catch.hpp"

#include <array>
#include <bit>
#include <set>
#include <string>
#include <string_view>

namespace event_test {

using apsched::all_events;
using apsched::EventMask;
using apsched::EventType;
using apsched::selects;

namespace {

constexpr std::array<EventType, 20> every_type{
    EventType::scheduler_started,  EventType::scheduler_shutdown, EventType::scheduler_paused,
    EventType::scheduler_resumed,  EventType::job_added,          EventType::job_removed,
    EventType::job_modified,       EventType::all_jobs_removed,   EventType::job_submitted,
    EventType::job_started,        EventType::job_executed,       EventType::job_error,
    EventType::job_missed,         EventType::job_max_instances,  EventType::job_timeout,
    EventType::job_dropped,        EventType::store_error,        EventType::executor_error,
    EventType::store_job_unusable, EventType::job_abandoned,
};

constexpr std::array<std::string_view, 20> every_name{
    "scheduler_started", "scheduler_shutdown", "scheduler_paused",   "scheduler_resumed",
    "job_added",         "job_removed",        "job_modified",       "all_jobs_removed",
    "job_submitted",     "job_started",        "job_executed",       "job_error",
    "job_missed",        "job_max_instances",  "job_timeout",        "job_dropped",
    "store_error",       "executor_error",     "store_job_unusable", "job_abandoned",
};

}  // namespace

TEST_CASE("every event type is a distinct single bit", "[event]") {
  EventMask seen = 0;
  for (const EventType type : every_type) {
    const auto bits = static_cast<EventMask>(type);
    INFO(apsched::to_string(type));
    CHECK(std::popcount(bits) == 1);
    CHECK((seen & bits) == 0);
    seen |= bits;
  }
}

TEST_CASE("all_events selects exactly every event type", "[event]") {
  EventMask combined = 0;
  for (const EventType type : every_type) {
    CHECK(selects(all_events, type));
    combined |= static_cast<EventMask>(type);
  }
  CHECK(combined == all_events);
  STATIC_REQUIRE(std::popcount(all_events) == 20);
}

TEST_CASE("event types combine into a mask with |", "[event]") {
  constexpr EventMask mask = EventType::job_error | EventType::job_missed;
  STATIC_REQUIRE(mask == ((1U << 11) | (1U << 12)));
  CHECK(selects(mask, EventType::job_error));
  CHECK(selects(mask, EventType::job_missed));
  CHECK_FALSE(selects(mask, EventType::job_executed));
  const EventMask three = EventType::job_added | EventType::job_removed | EventType::store_error;
  CHECK(selects(three, EventType::job_added));
  CHECK(selects(three, EventType::job_removed));
  CHECK(selects(three, EventType::store_error));
  CHECK_FALSE(selects(three, EventType::job_modified));
  CHECK((EventMask{0} | EventType::job_timeout) == static_cast<EventMask>(EventType::job_timeout));
  for (const EventType type : every_type) {
    CHECK_FALSE(selects(0, type));
    CHECK(selects(EventMask{0} | type, type));
  }
}

TEST_CASE("every event type has its own lower-case name", "[event]") {
  std::set<std::string_view> names;
  for (std::size_t i = 0; i < every_type.size(); ++i) {
    // Compared as std::string: Catch2 v2 prints std::string_view only when its main is C++17.
    CHECK(std::string{apsched::to_string(every_type[i])} == std::string{every_name[i]});
    names.insert(apsched::to_string(every_type[i]));
  }
  CHECK(names.size() == every_type.size());
  STATIC_REQUIRE(apsched::to_string(EventType::job_executed) == "job_executed");
  CHECK(std::string{apsched::to_string(static_cast<EventType>(1U << 20))} == "unknown");
  CHECK(std::string{apsched::to_string(EventType{})} == "unknown");
}

TEST_CASE("a default event has every optional field empty", "[event]") {
  const apsched::Event event;
  CHECK(event.job_id.empty());
  CHECK(event.store.empty());
  CHECK_FALSE(event.scheduled_run_time.has_value());
  CHECK_FALSE(event.started_at.has_value());
  CHECK(event.runs == 0);
  CHECK(event.exception == nullptr);
}

}  // namespace event_test
