// SPDX-License-Identifier: MIT
// A job added on one node and due now starts on another, idle node well under its poll
// interval: the add notifies (LISTEN/NOTIFY) and the other node's store wakes its loop. Real
// threads; the wait only times out when the wake-up never comes (the poll would take a minute).
#include <apsched/apsched.hpp>
#include <apsched/postgres/job_store.hpp>

#include "support/catch.hpp"
#include "support/postgres.hpp"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

namespace postgres_notify_test {

using namespace std::chrono_literals;
using apsched::PostgresJobStore;
using apsched::TimePoint;
using apsched::test::TestSchema;

TEST_CASE("postgres notify: a job added on one node starts on another well before its next poll",
          "[postgres][notify]") {
  TestSchema schema;
  std::mutex mutex;
  std::condition_variable changed;
  std::string last_run;
  apsched::BackgroundScheduler<PostgresJobStore> idle{
      PostgresJobStore{schema.conninfo(), {.poll_interval = 60s, .lease_duration = 120s}}};
  idle.register_task("mark", [&](const apsched::JobContext& context) {
    const std::lock_guard lock{mutex};
    last_run = context.job_id;
    changed.notify_all();
  });
  const auto ran = [&](const std::string& id) {
    std::unique_lock lock{mutex};
    return changed.wait_for(lock, 30s, [&] { return last_run == id; });
  };
  idle.start();
  // A first job of its own, so that its loop has stepped past it and sleeps for the poll.
  idle.add_job(apsched::task("mark"), apsched::DateTrigger{idle.now()}, {.id = "own"});
  REQUIRE(ran("own"));
  apsched::BackgroundScheduler<PostgresJobStore> other{
      PostgresJobStore{schema.conninfo(), {.listen = false}}};
  other.register_task("mark", [](const apsched::JobContext&) {});
  const TimePoint added = other.now();
  other.add_job(apsched::task("mark"), apsched::DateTrigger{added}, {.id = "elsewhere"});
  CHECK(ran("elsewhere"));  // well before the idle node's next poll, a minute away
  idle.shutdown();
  const std::vector<apsched::FireRecord> fires = idle.get_fire_history("elsewhere");
  REQUIRE(fires.size() == 1);
  CHECK(fires[0].state == apsched::FireState::succeeded);
}

}  // namespace postgres_notify_test
