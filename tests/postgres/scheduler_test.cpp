// SPDX-License-Identifier: MIT
// A scheduler on a PostgreSQL database: changes to a job and the conflict policies of add_job
// are written to the database, seen by another scheduler and by a store connected again. Time
// moves by a manual clock; jobs run inline.
#include <apsched/apsched.hpp>
#include <apsched/postgres/job_store.hpp>
#include <apsched/testing/manual_clock.hpp>

#include "support/catch.hpp"
#include "support/durable_changes.hpp"
#include "support/postgres.hpp"

#include <chrono>
#include <memory>

namespace postgres_scheduler_test {

using apsched::PostgresJobStore;
using apsched::TimePoint;
using apsched::test::TestSchema;

namespace {

const TimePoint t0 = TimePoint{std::chrono::sys_days{std::chrono::year{2026} / 1 / 1}};

// Opens a scheduler on `schema` at `now`.
auto opener(const TestSchema& schema) {
  using Scheduler =
      apsched::CallbackScheduler<PostgresJobStore, apsched::InlineExecutor, apsched::ManualClock>;
  return [&schema](TimePoint now) {
    return std::make_unique<apsched::test::DurableProcess<Scheduler>>(
        PostgresJobStore{schema.conninfo()}, now);
  };
}

}  // namespace

TEST_CASE("postgres scheduler: modify, reschedule, pause and resume are written to the database",
          "[postgres]") {
  TestSchema schema;
  apsched::test::check_changes_are_durable(opener(schema), t0);
}

TEST_CASE("postgres scheduler: adding a job again keeps or replaces it without losing what ran",
          "[postgres]") {
  TestSchema schema;
  apsched::test::check_conflict_policies_keep_what_ran(opener(schema), t0);
}

}  // namespace postgres_scheduler_test
