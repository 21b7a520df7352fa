// SPDX-License-Identifier: MIT
// The durable protocol: the concepts of DurableJobStore's optional parts, each met by a minimal
// model and failed by one that breaks a requirement; and FireOwner, the owner text of a durable
// store's fires, parsed into host, pid and token and written back exactly as stored.
#include <apsched/durable_job_store.hpp>
#include <apsched/stores/memory.hpp>

#include "support/catch.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace durable_job_store_test {

using apsched::AbandonedFire;
using apsched::AbandonedFireSource;
using apsched::CachedRecordStore;
using apsched::ClaimedFire;
using apsched::ClaimVerdict;
using apsched::DatabaseClockStore;
using apsched::DeferredOutcomeStore;
using apsched::DurableJobStore;
using apsched::Duration;
using apsched::FireDecision;
using apsched::FireHistoryStore;
using apsched::FireOwner;
using apsched::FireRecord;
using apsched::FireState;
using apsched::JobRecord;
using apsched::JobStore;
using apsched::RoundStore;
using apsched::StoreReport;
using apsched::TimePoint;
using apsched::WakingStore;

namespace {

// A durable store with the required members only (declared: the concepts look, nobody calls).
struct MinimalDurable : apsched::MemoryJobStore {
  static constexpr bool durable = true;
  struct Tasks {};
  bool commit_due(JobRecord& job, std::span<const FireDecision> fires, bool remove);
  void record_outcome(std::string_view id, const JobRecord* record, TimePoint scheduled,
                      FireState state, std::string_view error);
  std::vector<StoreReport> take_reports();
  void task_registered(std::string_view task);
  [[nodiscard]] Duration poll_interval() const;
  void attach(std::shared_ptr<const Tasks> tasks, std::uint8_t index);
  void begin_batch();
  void commit_batch();
  void rollback_batch() noexcept;
  JobRecord* replace(JobRecord&& record, bool keep_schedule);
  std::vector<ClaimVerdict> start_claimed(std::span<const ClaimedFire> claims);
};

// One model per optional part, and beside it the ways to get it wrong.
struct TakesAbandoned : MinimalDurable {
  std::vector<AbandonedFire> take_abandoned();
};
struct TakesAbandonedMisspelt : MinimalDurable {
  std::vector<AbandonedFire> take_abandonned();
};
struct TakesAbandonedAsRecords : MinimalDurable {
  std::vector<FireRecord> take_abandoned();
};
struct MemoryTakingAbandoned : apsched::MemoryJobStore {  // not durable
  std::vector<AbandonedFire> take_abandoned();
};

struct Rounds : MinimalDurable {
  void begin_round();
  void end_round();
  void abort_round() noexcept;
};
struct RoundsWithoutAbort : MinimalDurable {
  void begin_round();
  void end_round();
};
struct RoundsMisspelt : MinimalDurable {
  void begin_round();
  void end_rounds();
  void abort_round() noexcept;
};

struct DefersOutcomes : MinimalDurable {
  bool defer_outcome(std::string_view id, const JobRecord* record, TimePoint scheduled,
                     FireState state, std::string_view error);
  void flush_outcomes();
};
struct DefersWithoutAnswer : MinimalDurable {  // must say whether it is the only one pending
  void defer_outcome(std::string_view id, const JobRecord* record, TimePoint scheduled,
                     FireState state, std::string_view error);
  void flush_outcomes();
};
struct DefersWithoutFlush : MinimalDurable {
  bool defer_outcome(std::string_view id, const JobRecord* record, TimePoint scheduled,
                     FireState state, std::string_view error);
  void flush_outcome();
};

struct Wakes : apsched::MemoryJobStore {
  void set_waker(std::function<void()> wake);
};
struct WakesMisspelt : apsched::MemoryJobStore {
  void set_wakeup(std::function<void()> wake);
};
struct WakesWithPointer : apsched::MemoryJobStore {  // cannot keep a capturing lambda
  void set_waker(void (*wake)());
};

struct FollowsDatabaseClock : apsched::MemoryJobStore {
  void set_clock(std::function<TimePoint()> now);
  [[nodiscard]] Duration clock_offset() const noexcept;
};
struct OffsetThatThrows : apsched::MemoryJobStore {  // read from any thread, in noexcept code
  void set_clock(std::function<TimePoint()> now);
  [[nodiscard]] Duration clock_offset() const;
};
struct OffsetWithoutClock : apsched::MemoryJobStore {
  [[nodiscard]] Duration clock_offset() const noexcept;
};

struct Caches : apsched::MemoryJobStore {
  [[nodiscard]] JobRecord* find_cached(std::string_view id) const;
};
struct CachesMutably : apsched::MemoryJobStore {  // must not change the store
  [[nodiscard]] JobRecord* find_cached(std::string_view id);
};

struct KeepsHistory : apsched::MemoryJobStore {
  [[nodiscard]] std::vector<FireRecord> fire_history(std::string_view id, std::size_t limit) const;
};
struct KeepsHistoryAsText : apsched::MemoryJobStore {
  [[nodiscard]] std::vector<std::string> fire_history(std::string_view id, std::size_t limit) const;
};
struct KeepsHistoryWithoutLimit : apsched::MemoryJobStore {
  [[nodiscard]] std::vector<FireRecord> fire_history(std::string_view id) const;
};

}  // namespace

TEST_CASE("durable job store: a minimal model meets DurableJobStore and none of the options",
          "[job_store][concept]") {
  STATIC_REQUIRE(JobStore<MinimalDurable>);
  STATIC_REQUIRE(DurableJobStore<MinimalDurable>);
  STATIC_REQUIRE_FALSE(DurableJobStore<apsched::MemoryJobStore>);
  STATIC_REQUIRE_FALSE(AbandonedFireSource<MinimalDurable>);
  STATIC_REQUIRE_FALSE(RoundStore<MinimalDurable>);
  STATIC_REQUIRE_FALSE(DeferredOutcomeStore<MinimalDurable>);
  STATIC_REQUIRE_FALSE(WakingStore<MinimalDurable>);
  STATIC_REQUIRE_FALSE(DatabaseClockStore<MinimalDurable>);
  STATIC_REQUIRE_FALSE(CachedRecordStore<MinimalDurable>);
  STATIC_REQUIRE_FALSE(FireHistoryStore<MinimalDurable>);
}

TEST_CASE("durable job store: each optional part is met by its model and by nothing less",
          "[job_store][concept]") {
  STATIC_REQUIRE(AbandonedFireSource<TakesAbandoned>);
  STATIC_REQUIRE_FALSE(AbandonedFireSource<TakesAbandonedMisspelt>);
  STATIC_REQUIRE_FALSE(AbandonedFireSource<TakesAbandonedAsRecords>);
  STATIC_REQUIRE_FALSE(AbandonedFireSource<MemoryTakingAbandoned>);

  STATIC_REQUIRE(RoundStore<Rounds>);
  STATIC_REQUIRE_FALSE(RoundStore<RoundsWithoutAbort>);
  STATIC_REQUIRE_FALSE(RoundStore<RoundsMisspelt>);

  STATIC_REQUIRE(DeferredOutcomeStore<DefersOutcomes>);
  STATIC_REQUIRE_FALSE(DeferredOutcomeStore<DefersWithoutAnswer>);
  STATIC_REQUIRE_FALSE(DeferredOutcomeStore<DefersWithoutFlush>);

  STATIC_REQUIRE(WakingStore<Wakes>);
  STATIC_REQUIRE_FALSE(WakingStore<WakesMisspelt>);
  STATIC_REQUIRE_FALSE(WakingStore<WakesWithPointer>);

  STATIC_REQUIRE(DatabaseClockStore<FollowsDatabaseClock>);
  STATIC_REQUIRE_FALSE(DatabaseClockStore<OffsetThatThrows>);
  STATIC_REQUIRE_FALSE(DatabaseClockStore<OffsetWithoutClock>);

  STATIC_REQUIRE(CachedRecordStore<Caches>);
  STATIC_REQUIRE_FALSE(CachedRecordStore<CachesMutably>);

  STATIC_REQUIRE(FireHistoryStore<KeepsHistory>);
  STATIC_REQUIRE_FALSE(FireHistoryStore<KeepsHistoryAsText>);
  STATIC_REQUIRE_FALSE(FireHistoryStore<KeepsHistoryWithoutLimit>);
}

TEST_CASE("fire owner: host:pid:token is parsed into its parts and written back",
          "[job_store][owner]") {
  const FireOwner owner = FireOwner::parse("node-1:4242:9f86d081884c7d65");
  CHECK(owner.host == "node-1");
  CHECK(owner.pid == 4242);
  CHECK(owner.token == "9f86d081884c7d65");
  CHECK(owner.structured());
  CHECK(owner.text() == "node-1:4242:9f86d081884c7d65");
  CHECK(owner == FireOwner{.host = "node-1", .pid = 4242, .token = "9f86d081884c7d65"});
  CHECK(owner != FireOwner::parse("node-1:4243:9f86d081884c7d65"));
}

TEST_CASE("fire owner: a host with colons, or none, still parses", "[job_store][owner]") {
  const FireOwner colons = FireOwner::parse("fe80::1:77:abc");
  CHECK(colons.host == "fe80::1");
  CHECK(colons.pid == 77);
  CHECK(colons.token == "abc");
  CHECK(colons.text() == "fe80::1:77:abc");
  // A store that could not read its host name or pid (no POSIX) writes ":0:token".
  const FireOwner bare = FireOwner::parse(":0:abc");
  CHECK(bare.structured());
  CHECK(bare.host.empty());
  CHECK(bare.pid == 0);
  CHECK(bare.text() == ":0:abc");
}

TEST_CASE("fire owner: other text is kept whole in the token, never an error",
          "[job_store][owner]") {
  for (const std::string text :
       {"", "legacy-token", "a:b", "host:pid:token", "host:-1:x", "host:+1:x", "host:01:x",
        "host::x", ":", "::", "host:99999999999999999999:x", "héllo:1"}) {
    INFO(text);
    const FireOwner owner = FireOwner::parse(text);
    CHECK_FALSE(owner.structured());
    CHECK(owner.host.empty());
    CHECK(owner.pid == -1);
    CHECK(owner.token == text);
    CHECK(owner.text() == text);
  }
  CHECK(FireOwner::parse("") == FireOwner{});
  CHECK(FireOwner{}.text().empty());
}

}  // namespace durable_job_store_test
