// SPDX-License-Identifier: MIT
// The run set: runs linked in and out in any order, the stop sources shutdown uses, and the
// deadlines of runs with a timeout.
#include <apsched/detail/scheduler/run_set.hpp>

#include "support/catch.hpp"

#include <chrono>
#include <optional>
#include <stop_token>
#include <vector>

namespace detail_scheduler_run_set_test {

using namespace std::chrono_literals;
using apsched::Duration;
using apsched::TimePoint;

// The members RunSet needs, and an id to tell runs apart.
struct FakeRun {
  int id = 0;
  std::stop_source stop;
  std::optional<Duration> timeout;
  TimePoint deadline = TimePoint::max();
  bool timed_out = false;
  FakeRun* previous = nullptr;
  FakeRun* next = nullptr;
};

using RunSet = apsched::detail::RunSet<FakeRun>;

const TimePoint t0 = TimePoint{} + std::chrono::hours{24 * 365 * 50};

// The ids of the runs whose stop sources stop_sources() returns, by stopping each alone.
std::vector<int> linked(const RunSet& set, std::vector<FakeRun*> runs) {
  std::vector<int> ids;
  for (std::stop_source& source : set.stop_sources()) {
    for (FakeRun* run : runs) {
      if (run->stop == source) {
        ids.push_back(run->id);
      }
    }
  }
  return ids;
}

TEST_CASE("run set: runs are linked newest first and unlinked from anywhere",
          "[scheduler][run_set]") {
  RunSet set;
  FakeRun a{.id = 1};
  FakeRun b{.id = 2};
  FakeRun c{.id = 3};
  set.add(a);
  set.add(b);
  set.add(c);
  CHECK(linked(set, {&a, &b, &c}) == std::vector{3, 2, 1});
  set.remove(b);  // the middle
  CHECK(linked(set, {&a, &b, &c}) == std::vector{3, 1});
  CHECK(b.previous == nullptr);
  CHECK(b.next == nullptr);
  set.remove(c);  // the head
  CHECK(linked(set, {&a, &b, &c}) == std::vector{1});
  set.remove(a);  // the last
  CHECK(set.stop_sources().empty());
  set.add(b);
  CHECK(linked(set, {&a, &b, &c}) == std::vector{2});
}

TEST_CASE("run set: release_all unlinks every run", "[scheduler][run_set]") {
  RunSet set;
  FakeRun a{.id = 1, .timeout = 1s};
  FakeRun b{.id = 2};
  set.add(a);
  set.add(b);
  set.time(a, t0 + 1s);
  set.release_all();
  CHECK(set.stop_sources().empty());
  CHECK(a.next == nullptr);
  CHECK(b.next == nullptr);
  CHECK(a.previous == nullptr);
  CHECK_FALSE(set.next_deadline(std::nullopt).has_value());
}

TEST_CASE("run set: the shared stop source is renewed only once it was used",
          "[scheduler][run_set]") {
  RunSet set;
  const std::stop_source first = set.shared_stop();
  set.renew_shared_stop();
  CHECK(set.shared_stop() == first);
  std::stop_source copy = set.shared_stop();
  copy.request_stop();
  set.renew_shared_stop();
  CHECK(set.shared_stop() != first);
  CHECK_FALSE(set.shared_stop().stop_requested());
}

TEST_CASE("run set: deadlines wake the loop and expire each timed run once",
          "[scheduler][run_set]") {
  RunSet set;
  FakeRun a{.id = 1, .timeout = 5s};
  FakeRun b{.id = 2, .timeout = 2s};
  FakeRun c{.id = 3};
  set.add(a);
  set.add(b);
  set.add(c);
  CHECK_FALSE(set.next_deadline(std::nullopt).has_value());
  set.time(a, t0 + 5s);
  set.time(b, t0 + 2s);
  CHECK(set.next_deadline(std::nullopt) == t0 + 2s);
  CHECK(set.next_deadline(t0 + 1s) == t0 + 1s);

  CHECK(set.expire(t0 + 1s).empty());
  const std::vector<FakeRun*> first = set.expire(t0 + 2s);
  REQUIRE(first.size() == 1);
  CHECK(first.front()->id == 2);
  CHECK(b.timed_out);
  CHECK(set.expire(t0 + 3s).empty());  // once
  CHECK(set.next_deadline(std::nullopt) == t0 + 5s);

  set.remove(a);  // ended before its deadline
  CHECK(set.expire(t0 + 10s).empty());
  CHECK_FALSE(set.next_deadline(std::nullopt).has_value());
}

}  // namespace detail_scheduler_run_set_test
