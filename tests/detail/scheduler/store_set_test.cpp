// SPDX-License-Identifier: MIT
// The store set alone: stores by index, back-off of a failing store, when the stores next want
// the loop, and the clock offset of a database store.
#include <apsched/detail/scheduler/store_set.hpp>
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
#include <vector>

namespace detail_scheduler_store_set_test {

using namespace std::chrono_literals;
using apsched::Duration;
using apsched::JobRecord;
using apsched::MemoryJobStore;
using apsched::TimePoint;

const TimePoint t0 = TimePoint{} + std::chrono::hours{24 * 365 * 50};

// A memory store whose next_run_time fails while `failing` is set.
struct FlakyStore : MemoryJobStore {
  std::shared_ptr<bool> failing = std::make_shared<bool>(false);
  [[nodiscard]] std::optional<TimePoint> next_run_time() const {
    if (*failing) {
      throw std::runtime_error{"the disk is gone"};
    }
    return MemoryJobStore::next_run_time();
  }
};

// A durable store in name only, polled every 2 s, whose database clock is 3 s ahead.
struct PolledStore : MemoryJobStore {
  static constexpr bool durable = true;
  struct Tasks {};
  bool commit_due(JobRecord&, std::span<const apsched::FireDecision>, bool) { return true; }
  void record_outcome(std::string_view, const JobRecord*, TimePoint, apsched::FireState,
                      std::string_view) {}
  std::vector<apsched::StoreReport> take_reports() { return {}; }
  void task_registered(std::string_view) {}
  [[nodiscard]] Duration poll_interval() const { return 2s; }
  void attach(std::shared_ptr<const Tasks>, std::uint8_t) {}
  void begin_batch() {}
  void commit_batch() {}
  void rollback_batch() noexcept {}
  JobRecord* replace(JobRecord&&, bool) { return nullptr; }
  std::vector<apsched::ClaimVerdict> start_claimed(std::span<const apsched::ClaimedFire>) {
    return {};
  }
  void set_clock(std::function<TimePoint()>) {}
  [[nodiscard]] Duration clock_offset() const noexcept { return 3s; }
};
static_assert(apsched::DurableJobStore<PolledStore>);
static_assert(apsched::DatabaseClockStore<PolledStore>);

TEST_CASE("store set: stores are found by index, and a job in the first store holding it",
          "[scheduler][store_set]") {
  apsched::detail::StoreSet<MemoryJobStore, PolledStore> set{
      std::tuple<MemoryJobStore, PolledStore>{}};
  STATIC_REQUIRE(decltype(set)::any_durable);
  CHECK_FALSE(decltype(set)::durable(0));
  CHECK(decltype(set)::durable(1));
  set.with(1, [](auto& store) { (void)store.insert(apsched::test::due_record("b", t0)); });
  set.with(0, [](auto& store) { (void)store.insert(apsched::test::due_record("a", t0)); });
  CHECK(set.find("b").second == 1);
  CHECK(set.find("a").second == 0);
  CHECK(set.find("a").first->id == "a");
  CHECK(set.find("a", 0).first == nullptr);  // skipping the store holding it
  CHECK(set.find("c").first == nullptr);
  std::vector<std::size_t> durable;
  set.for_each_durable([&](std::size_t index, auto&) { durable.push_back(index); });
  CHECK(durable == std::vector<std::size_t>{1});
  CHECK(set.clock_offset() == 3s);
}

TEST_CASE("store set: a failing store backs off 10 ms, doubling to 5 s, until it answers",
          "[scheduler][store_set]") {
  apsched::detail::StoreSet<MemoryJobStore> set{std::tuple<MemoryJobStore>{}};
  CHECK_FALSE(set.backing_off(0, t0));
  CHECK(set.retry_at(0) == TimePoint::min());
  set.back_off(0, t0);
  CHECK(set.retry_at(0) == t0 + 10ms);
  CHECK(set.backing_off(0, t0 + 9ms));
  CHECK_FALSE(set.backing_off(0, t0 + 10ms));
  set.back_off(0, t0);
  CHECK(set.retry_at(0) == t0 + 20ms);
  for (int i = 0; i < 20; ++i) {
    set.back_off(0, t0);
  }
  CHECK(set.retry_at(0) == t0 + 5s);
  set.answered(0);
  set.back_off(0, t0);
  CHECK(set.retry_at(0) == t0 + 10ms);
  CHECK(set.clock_offset() == Duration::zero());
}

TEST_CASE("store set: the next due time is the earliest job, a retry, or a durable store's poll",
          "[scheduler][store_set]") {
  FlakyStore flaky;
  const std::shared_ptr<bool> failing = flaky.failing;
  apsched::detail::StoreSet<FlakyStore, PolledStore> set{
      std::tuple<FlakyStore, PolledStore>{std::move(flaky), PolledStore{}}};
  CHECK(set.next_due(t0, false, false) == t0 + 2s);  // nothing stored: the durable poll
  set.with(0, [](auto& store) { (void)store.insert(apsched::test::due_record("soon", t0 + 1s)); });
  CHECK(set.next_due(t0, false, false) == t0 + 1s);
  set.with(
      1, [](auto& store) { (void)store.insert(apsched::test::due_record("sooner", t0 + 500ms)); });
  CHECK(set.next_due(t0, false, false) == t0 + 500ms);
  CHECK(set.next_due(t0, true, false) == t0 + 1s);  // batching: the durable store is left out
  CHECK(set.next_due(t0, false, true) == t0 + 1s);  // starved: its due jobs wait, its poll not
  *failing = true;
  CHECK(set.next_due(t0, true, false) == t0 + 10ms);  // the failing store's retry
  CHECK(set.backing_off(0, t0));
  CHECK(set.next_due(t0 + 5ms, true, false) == t0 + 10ms);  // not asked while backing off
}

}  // namespace detail_scheduler_store_set_test
