// SPDX-License-Identifier: MIT
// Schedulers whose clocks are an hour off keep the database server's time: jobs start when
// they are due by the server's clock, neither an hour early nor an hour late, and each fire
// runs once across nodes with different clocks. Real threads; the waits only time out when a
// job never runs.
#include <apsched/apsched.hpp>
#include <apsched/postgres/job_store.hpp>

#include "support/catch.hpp"
#include "support/postgres.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace postgres_clock_test {

using namespace std::chrono_literals;
using apsched::Duration;
using apsched::PostgresJobStore;
using apsched::TimePoint;
using apsched::test::TestSchema;

namespace {

// The system clock moved by `skew`: a machine whose clock is off.
class SkewedClock {
 public:
  explicit SkewedClock(Duration skew = Duration::zero()) : skew_{skew} {}

  [[nodiscard]] TimePoint now() const noexcept { return std::chrono::system_clock::now() + skew_; }

  void wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                  TimePoint deadline) const {
    apsched::SystemClock{}.wait_until(lock, cv,
                                      deadline == TimePoint::max() ? deadline : deadline - skew_);
  }

 private:
  Duration skew_;
};

static_assert(apsched::Clock<SkewedClock>);
static_assert(apsched::follows_real_time<SkewedClock>);
static_assert(!apsched::follows_real_time<apsched::ManualClock>);

using Node =
    apsched::BackgroundScheduler<PostgresJobStore, apsched::ThreadPoolExecutor, SkewedClock>;

// One run: when it was due, and when it started by the system clock (the server's, on this
// machine).
struct Start {
  TimePoint scheduled;
  TimePoint started;
};

// The runs of every job, by job id; waits for a number of them.
class Ledger {
 public:
  void add(std::string_view job, TimePoint scheduled) {
    const TimePoint started = std::chrono::system_clock::now();
    const std::lock_guard lock{mutex_};
    runs_[std::string{job}].push_back(Start{scheduled, started});
    ++count_;
    changed_.notify_all();
  }

  // Whether `count` runs happened within a time-out that only a run that never comes reaches.
  bool wait_for(std::size_t count) {
    std::unique_lock lock{mutex_};
    return changed_.wait_for(lock, 60s, [&] { return count_ >= count; });
  }

  [[nodiscard]] std::map<std::string, std::vector<Start>> runs() const {
    const std::lock_guard lock{mutex_};
    return runs_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::string, std::vector<Start>> runs_;
  std::size_t count_ = 0;
};

std::unique_ptr<Node> make_node(const TestSchema& schema, Duration skew, Ledger& ledger,
                                bool database_clock = true) {
  auto node = std::make_unique<Node>(
      PostgresJobStore{
          schema.conninfo(),
          {.poll_interval = 100ms, .lease_duration = 5s, .database_clock = database_clock}},
      apsched::ThreadPoolExecutor{}, SkewedClock{skew});
  node->register_task("record", [&ledger](const apsched::JobContext& context) {
    ledger.add(context.job_id, context.scheduled_run_time);
  });
  return node;
}

Duration distance(TimePoint a, TimePoint b) { return a < b ? b - a : a - b; }

// How early a run may start by the system clock: the offset is measured from a round trip's
// midpoint, so it is off by at most half of one (far below this).
constexpr Duration tolerance = 50ms;

}  // namespace

TEST_CASE("postgres clock: a scheduler's time is the server's, whatever its clock says",
          "[postgres][clock]") {
  TestSchema schema;
  Ledger ledger;
  for (const Duration skew : {Duration{1h}, Duration{-1h}, Duration{25h}}) {
    const auto node = make_node(schema, skew, ledger);
    INFO("skew " << std::chrono::duration_cast<std::chrono::seconds>(skew).count() << " s");
    CHECK(distance(node->now(), std::chrono::system_clock::now()) < 1min);
    CHECK(distance(node->clock().now(), std::chrono::system_clock::now()) > 59min);
  }
  // Without database_clock, the scheduler keeps its own clock.
  const auto own = make_node(schema, 1h, ledger, false);
  CHECK(distance(own->now(), std::chrono::system_clock::now() + 1h) < 1min);
}

TEST_CASE("postgres clock: on a node an hour ahead or behind, jobs start on time",
          "[postgres][clock]") {
  for (const Duration skew : {Duration{1h}, Duration{-1h}}) {
    INFO("skew " << std::chrono::duration_cast<std::chrono::seconds>(skew).count() << " s");
    TestSchema schema;
    Ledger ledger;
    const auto node = make_node(schema, skew, ledger);
    node->start();
    const TimePoint first = std::chrono::system_clock::now() + 500ms;
    constexpr int dates = 5;
    for (int i = 0; i < dates; ++i) {
      node->add_job(apsched::task("record"), apsched::DateTrigger{first + i * 200ms},
                    {.id = "date-" + std::to_string(i)});
    }
    // Its first run one interval from now, by the server's time.
    const TimePoint added = std::chrono::system_clock::now();
    node->add_job(apsched::task("record"), apsched::IntervalTrigger{500ms}, {.id = "interval"});
    REQUIRE(ledger.wait_for(dates + 2));
    node->shutdown();
    for (const auto& [job, starts] : ledger.runs()) {
      INFO(job);
      if (job == "interval") {
        REQUIRE(starts.size() >= 2);
        CHECK(distance(starts[0].scheduled, added + 500ms) < 1s);
        CHECK(starts[1].scheduled - starts[0].scheduled == 500ms);
      } else {
        CHECK(starts.size() == 1);
      }
      for (const Start& start : starts) {
        CHECK(start.started >= start.scheduled - tolerance);  // not early
      }
    }
  }
}

TEST_CASE("postgres clock: nodes an hour apart share the jobs and run each fire once",
          "[postgres][clock]") {
  TestSchema schema;
  Ledger ledger;
  std::vector<std::unique_ptr<Node>> nodes;
  for (const Duration skew : {Duration{-1h}, Duration::zero(), Duration{1h}}) {
    nodes.push_back(make_node(schema, skew, ledger));
  }
  constexpr int jobs = 300;
  const TimePoint first = std::chrono::system_clock::now() + 1s;
  nodes[0]->batch([&] {
    for (int i = 0; i < jobs; ++i) {
      nodes[0]->add_job(apsched::task("record"), apsched::DateTrigger{first + i * 5ms},
                        {.id = "job-" + std::to_string(i)});
    }
  });
  for (const auto& node : nodes) {
    node->start();
  }
  REQUIRE(ledger.wait_for(jobs));
  for (const auto& node : nodes) {
    node->shutdown();
  }
  const auto runs = ledger.runs();
  CHECK(runs.size() == jobs);
  for (const auto& [job, starts] : runs) {
    INFO(job);
    REQUIRE(starts.size() == 1);
    CHECK(starts[0].started >= starts[0].scheduled - tolerance);
  }
}

}  // namespace postgres_clock_test
