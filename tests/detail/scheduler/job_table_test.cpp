// SPDX-License-Identifier: MIT
// The job table alone: ids unique across the stores, random ids, and each conflict policy.
#include <apsched/detail/scheduler/job_table.hpp>
#include <apsched/error.hpp>
#include <apsched/stores/memory.hpp>

#include "support/catch.hpp"
#include "support/due_record.hpp"

#include <chrono>
#include <string>
#include <tuple>

namespace detail_scheduler_job_table_test {

using namespace std::chrono_literals;
using apsched::ConflictPolicy;
using apsched::Duration;
using apsched::EventType;
using apsched::JobRecord;
using apsched::MemoryJobStore;
using apsched::TimePoint;
using apsched::test::due_record;

const TimePoint t0 = TimePoint{} + std::chrono::hours{24 * 365 * 50};

// Two memory stores and what insert_job needs beside them.
struct Fixture {
  apsched::detail::StoreSet<MemoryJobStore, MemoryJobStore> stores{
      std::tuple<MemoryJobStore, MemoryJobStore>{}};
  apsched::detail::JobSettings settings{{}, 2, {}, 1};
  apsched::detail::ListenerRegistry listeners{{}};
  apsched::detail::StoreDriver<MemoryJobStore, MemoryJobStore> driver{stores, settings, listeners,
                                                                      Duration::zero()};
  apsched::detail::SplitMix64 random{3};

  apsched::detail::Insertion insert(JobRecord record, std::uint8_t store,
                                    ConflictPolicy policy = ConflictPolicy::error) {
    record.store = store;
    return apsched::detail::insert_job(stores, driver, std::move(record), policy, false, random);
  }
  std::size_t count(std::size_t store) {
    std::size_t jobs = 0;
    stores.with(store, [&](auto& each) { each.for_each([&](const JobRecord&) { ++jobs; }); });
    return jobs;
  }
};

TEST_CASE("job table: a job without an id gets a random one; a new id is added",
          "[scheduler][job_table]") {
  Fixture fixture;
  const apsched::detail::Insertion named = fixture.insert(due_record("job", t0), 0);
  REQUIRE(named.stored != nullptr);
  CHECK(named.id == "job");
  CHECK(named.event == EventType::job_added);
  const apsched::detail::Insertion unnamed = fixture.insert(due_record("", t0), 1);
  REQUIRE(unnamed.stored != nullptr);
  CHECK(unnamed.id.size() == 15);
  CHECK(unnamed.stored->id == unnamed.id);
  CHECK(fixture.count(0) == 1);
  CHECK(fixture.count(1) == 1);
}

TEST_CASE("job table: an id in use, in the same store or another, follows the conflict policy",
          "[scheduler][job_table]") {
  Fixture fixture;
  const std::uint8_t other = GENERATE(std::uint8_t{0}, std::uint8_t{1});
  JobRecord* held = fixture.insert(due_record("job", t0), 0).stored;
  REQUIRE(held != nullptr);
  held->run_count = 5;

  SECTION("error: refused, naming the id") {
    CHECK_THROWS_AS(fixture.insert(due_record("job", t0 + 1h), other), apsched::ConflictingIdError);
    CHECK_THROWS_WITH(fixture.insert(due_record("job", t0 + 1h), other),
                      Catch::Matchers::Contains("\"job\" already exists"));
    CHECK(held->next_run == t0);
  }
  SECTION("keep: the job held stays as it is") {
    const apsched::detail::Insertion kept =
        fixture.insert(due_record("job", t0 + 1h), other, ConflictPolicy::keep);
    CHECK(kept.stored == nullptr);
    CHECK(kept.id == "job");
    CHECK_FALSE(kept.event);
    CHECK(held->next_run == t0);
    CHECK(fixture.count(0) + fixture.count(1) == 1);
  }
  SECTION("replace: the new record takes the job's place, in the new record's store") {
    const apsched::detail::Insertion replaced =
        fixture.insert(due_record("job", t0 + 1h), other, ConflictPolicy::replace);
    REQUIRE(replaced.stored != nullptr);
    CHECK(replaced.id == "job");
    CHECK(replaced.stored->next_run == t0 + 1h);
    CHECK(fixture.count(other) == 1);
    CHECK(fixture.count(0) + fixture.count(1) == 1);
    // In its own store the record held is changed in place, keeping what the job did; moved
    // to another store it starts afresh there.
    CHECK(replaced.event == (other == 0 ? EventType::job_modified : EventType::job_added));
    CHECK(replaced.stored->run_count == (other == 0 ? 5U : 0U));
  }
}

}  // namespace detail_scheduler_job_table_test
