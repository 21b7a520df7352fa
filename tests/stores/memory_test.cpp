// SPDX-License-Identifier: MIT
#include <apsched/stores/memory.hpp>
#include <apsched/triggers/date.hpp>
#include <apsched/triggers/interval.hpp>

#include <fmt/format.h>

#include "support/catch.hpp"
#include "support/job_store_conformance.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stores_memory_test {

using namespace std::chrono_literals;
using apsched::JobRecord;
using apsched::MemoryJobStore;
using apsched::TimePoint;

namespace {

const TimePoint t0 = TimePoint{std::chrono::sys_days{std::chrono::year{2024} / 1 / 1}};

// Live instances of CountedTrigger: every stored record holds one, so this counts records alive.
int live_records = 0;

struct CountedTrigger {
  CountedTrigger() { ++live_records; }
  CountedTrigger(const CountedTrigger& /*other*/) { ++live_records; }
  CountedTrigger(CountedTrigger&& /*other*/) noexcept { ++live_records; }
  CountedTrigger& operator=(const CountedTrigger&) = default;
  CountedTrigger& operator=(CountedTrigger&&) = default;
  ~CountedTrigger() { --live_records; }
  [[nodiscard]] std::optional<TimePoint> next_fire_time(std::optional<TimePoint>,
                                                        TimePoint now) const {
    return now;
  }
};

JobRecord make_record(std::string id, TimePoint next_run, bool paused = false) {
  JobRecord record{.id = std::move(id),
                   .body = {},
                   .trigger = apsched::AnyTrigger{apsched::DateTrigger{next_run}}};
  record.next_run = next_run;
  record.paused = paused;
  return record;
}

JobRecord make_counted_record(std::string id, TimePoint next_run) {
  JobRecord record{
      .id = std::move(id), .body = {}, .trigger = apsched::AnyTrigger{CountedTrigger{}}};
  record.next_run = next_run;
  return record;
}

std::multiset<std::string> ids_of(const MemoryJobStore& store) {
  std::multiset<std::string> ids;
  store.for_each([&ids](const JobRecord& record) { ids.insert(record.id); });
  return ids;
}

// The reference model's view of one record.
struct Expected {
  TimePoint next_run;
  bool paused = false;
};

// A minimal complete store, declarations only, and the same without first_due.
struct DeclaredStore {
  JobRecord* insert(JobRecord&& record);
  JobRecord* find(std::string_view id);
  bool erase(std::string_view id);
  void clear();
  void update(JobRecord& stored);
  [[nodiscard]] std::optional<TimePoint> next_run_time() const;
  JobRecord* first_due(TimePoint now);
  [[nodiscard]] std::size_t size() const;
  void for_each(void (*visit)(const JobRecord&)) const;
};
struct StoreWithoutFirstDue {
  JobRecord* insert(JobRecord&& record);
  JobRecord* find(std::string_view id);
  bool erase(std::string_view id);
  void clear();
  void update(JobRecord& stored);
  [[nodiscard]] std::optional<TimePoint> next_run_time() const;
  [[nodiscard]] std::size_t size() const;
  void for_each(void (*visit)(const JobRecord&)) const;
};
struct StoreWithNonConstSize {
  JobRecord* insert(JobRecord&& record);
  JobRecord* find(std::string_view id);
  bool erase(std::string_view id);
  void clear();
  void update(JobRecord& stored);
  [[nodiscard]] std::optional<TimePoint> next_run_time() const;
  JobRecord* first_due(TimePoint now);
  [[nodiscard]] std::size_t size();
  void for_each(void (*visit)(const JobRecord&)) const;
};
struct StoreInsertReturnsReference {
  JobRecord& insert(JobRecord&& record);
  JobRecord* find(std::string_view id);
  bool erase(std::string_view id);
  void clear();
  void update(JobRecord& stored);
  [[nodiscard]] std::optional<TimePoint> next_run_time() const;
  JobRecord* first_due(TimePoint now);
  [[nodiscard]] std::size_t size() const;
  void for_each(void (*visit)(const JobRecord&)) const;
};

// The conformance suite's fixture: each store a fresh one, holding closure jobs.
struct MemoryStoreFixture {
  using Store = MemoryJobStore;
  static constexpr std::string_view name = "MemoryJobStore";
  static constexpr std::string_view tags = "[memory]";
  static constexpr bool shares_storage = false;

  [[nodiscard]] Store open() const { return Store{}; }

  // A closure job (no task) every 10 s from `first`, named after `value`.
  [[nodiscard]] JobRecord record(std::string id, TimePoint first, int value) const {
    JobRecord job{
        .id = std::move(id),
        .body = {},
        .trigger = apsched::AnyTrigger{apsched::IntervalTrigger{10s, {.start_date = first}}}};
    job.extra().name = fmt::format("job {}", value);
    job.next_fire = first;
    job.next_run = first;
    return job;
  }
};

}  // namespace

// JobStore requirements 1-8, as every store meets them (support/job_store_conformance.hpp).
[[maybe_unused]] const bool conformance_registered =
    apsched::test::conformance::register_job_store_cases<MemoryStoreFixture>();

TEST_CASE("memory store is a JobStore", "[store][memory][concept]") {
  STATIC_REQUIRE(apsched::JobStore<MemoryJobStore>);
  STATIC_REQUIRE(apsched::JobStore<DeclaredStore>);
}

TEST_CASE("types breaking a JobStore requirement are not JobStores", "[store][memory][concept]") {
  STATIC_REQUIRE_FALSE(apsched::JobStore<StoreWithoutFirstDue>);
  STATIC_REQUIRE_FALSE(apsched::JobStore<StoreWithNonConstSize>);
  STATIC_REQUIRE_FALSE(apsched::JobStore<StoreInsertReturnsReference>);
  STATIC_REQUIRE_FALSE(apsched::JobStore<int>);
}

TEST_CASE("memory store inserts, finds and erases records by id", "[store][memory]") {
  MemoryJobStore store;
  JobRecord& a = *store.insert(make_record("a", t0 + 1s));
  CHECK(a.id == "a");
  CHECK(a.next_run == t0 + 1s);
  store.insert(make_record("b", t0 + 2s));
  store.insert(make_record("a-job-id-that-is-longer-than-sso", t0 + 3s));
  CHECK(store.size() == 3);
  CHECK(store.find("a") == &a);
  const std::string key = "b";
  REQUIRE(store.find(key) != nullptr);
  CHECK(store.find(key)->next_run == t0 + 2s);
  REQUIRE(store.find("a-job-id-that-is-longer-than-sso") != nullptr);
  const MemoryJobStore& const_store = store;
  REQUIRE(const_store.find("a") != nullptr);
  CHECK(const_store.find("a")->id == "a");
  CHECK(store.find("c") == nullptr);
  CHECK(store.find("") == nullptr);
  CHECK(store.find("A") == nullptr);
  CHECK(ids_of(store) == std::multiset<std::string>{"a", "b", "a-job-id-that-is-longer-than-sso"});

  CHECK(store.erase("a"));
  CHECK(store.size() == 2);
  CHECK(store.find("a") == nullptr);
  CHECK_FALSE(store.erase("a"));
  CHECK(store.find("b") != nullptr);
  CHECK(ids_of(store) == std::multiset<std::string>{"b", "a-job-id-that-is-longer-than-sso"});
}

TEST_CASE("memory store's clear removes every record", "[store][memory]") {
  {
    MemoryJobStore store;
    for (int i = 0; i < 100; ++i) {
      store.insert(make_counted_record("job" + std::to_string(i), t0 + i * 1s));
    }
    CHECK(live_records == 100);
    store.clear();
    CHECK(live_records == 0);
    CHECK(store.size() == 0);
    CHECK(store.find("job1") == nullptr);
    CHECK_FALSE(store.next_run_time().has_value());
    CHECK(store.first_due(TimePoint::max()) == nullptr);
    CHECK(ids_of(store).empty());
    // The store is usable after clear.
    store.insert(make_counted_record("job1", t0));
    CHECK(store.find("job1") != nullptr);
    CHECK(store.first_due(t0) == store.find("job1"));
  }
  CHECK(live_records == 0);
}

TEST_CASE("memory store's references stay valid across updates, inserts and other erases",
          "[store][memory]") {
  MemoryJobStore store;
  JobRecord& kept = *store.insert(make_record("kept", t0 + 500s));
  std::vector<JobRecord*> others;
  for (int i = 0; i < 3000; ++i) {
    others.push_back(store.insert(make_record("job" + std::to_string(i), t0 + i * 1s)));
  }
  for (int i = 0; i < 3000; i += 2) {
    others[static_cast<std::size_t>(i)]->next_run = t0 - 1s * i;
    store.update(*others[static_cast<std::size_t>(i)]);
  }
  for (int i = 1; i < 3000; i += 2) {
    REQUIRE(store.erase("job" + std::to_string(i)));
  }
  kept.next_run = t0 - 1h;
  store.update(kept);
  CHECK(store.find("kept") == &kept);
  CHECK(kept.id == "kept");
  CHECK(store.first_due(t0) == &kept);
  for (int i = 0; i < 3000; i += 2) {
    REQUIRE(store.find("job" + std::to_string(i)) == others[static_cast<std::size_t>(i)]);
  }
}

TEST_CASE("memory store reuses the memory of erased records", "[store][memory]") {
  {
    MemoryJobStore store;
    JobRecord* first = store.insert(make_counted_record("first", t0));
    store.insert(make_counted_record("second", t0 + 1s));
    REQUIRE(store.erase("first"));
    CHECK(live_records == 1);
    JobRecord* third = store.insert(make_counted_record("third", t0 + 2s));
    CHECK(third == first);
    CHECK(store.find("first") == nullptr);
    CHECK(store.find("third") == third);
    CHECK(store.first_due(TimePoint::max())->id == "second");
    // Many erase/insert cycles keep the store consistent.
    for (int i = 0; i < 5000; ++i) {
      store.insert(make_counted_record("cycle" + std::to_string(i), t0 - 1s * i));
      if (i >= 10) {
        REQUIRE(store.erase("cycle" + std::to_string(i - 10)));
      }
    }
    CHECK(store.size() == 12);
    CHECK(live_records == 12);
    CHECK(store.first_due(TimePoint::max())->id == "cycle4999");
  }
  CHECK(live_records == 0);
}

TEST_CASE("memory store grows to many records", "[store][memory]") {
  MemoryJobStore store;
  store.reserve(10);
  constexpr int count = 20'000;
  for (int i = 0; i < count; ++i) {
    store.insert(make_record("job-number-" + std::to_string(i), t0 + 1s * ((i * 7919) % count)));
  }
  CHECK(store.size() == count);
  for (int i = 0; i < count; i += 97) {
    REQUIRE(store.find("job-number-" + std::to_string(i)) != nullptr);
  }
  TimePoint previous = TimePoint::min();
  for (int i = 0; i < count; ++i) {
    JobRecord* due = store.first_due(TimePoint::max());
    REQUIRE(due != nullptr);
    REQUIRE(due->next_run >= previous);
    previous = due->next_run;
    REQUIRE(store.erase(due->id));
  }
  CHECK(store.size() == 0);
}

TEST_CASE("memory store reserves room up front", "[store][memory]") {
  for (const std::size_t reserved : {1U, 2U, 3U, 4U, 5U, 17U, 1000U}) {
    INFO("reserved " << reserved);
    MemoryJobStore store;
    store.reserve(reserved);
    for (std::size_t i = 0; i < reserved + 5; ++i) {
      store.insert(make_record("id" + std::to_string(i), t0 + 1s * static_cast<int>(i)));
    }
    for (std::size_t i = 0; i < reserved + 5; ++i) {
      REQUIRE(store.find("id" + std::to_string(i)) != nullptr);
    }
    CHECK(store.first_due(t0)->id == "id0");
  }
}

TEST_CASE("memory store moves its records with it", "[store][memory]") {
  {
    MemoryJobStore original;
    JobRecord& a = *original.insert(make_counted_record("a", t0 + 1s));
    original.insert(make_counted_record("b", t0));
    MemoryJobStore moved{std::move(original)};
    CHECK(moved.size() == 2);
    CHECK(moved.find("a") == &a);
    CHECK(moved.first_due(t0)->id == "b");
    CHECK(live_records == 2);
    // The moved-from store is empty and usable.
    CHECK(original.size() == 0);  // NOLINT(bugprone-use-after-move): checks the state
    CHECK(original.find("a") == nullptr);
    CHECK(original.first_due(TimePoint::max()) == nullptr);
    original.insert(make_counted_record("c", t0));
    CHECK(original.find("c") != nullptr);
    CHECK(live_records == 3);

    MemoryJobStore assigned;
    assigned.insert(make_counted_record("old", t0));
    assigned = std::move(moved);
    CHECK(live_records == 3);
    CHECK(assigned.find("old") == nullptr);
    CHECK(assigned.find("a") == &a);
    CHECK(assigned.size() == 2);
    MemoryJobStore& alias = assigned;
    assigned = std::move(alias);
    CHECK(assigned.size() == 2);
    CHECK(assigned.first_due(t0)->id == "b");
  }
  CHECK(live_records == 0);
}

TEST_CASE("memory store destroys its records with itself", "[store][memory]") {
  {
    MemoryJobStore store;
    for (int i = 0; i < 50; ++i) {
      store.insert(make_counted_record("job" + std::to_string(i), t0));
    }
    store.erase("job3");
    CHECK(live_records == 49);
  }
  CHECK(live_records == 0);
}

namespace {

// Random operations on a MemoryJobStore, each checked against a std::map model.
void check_against_model(std::uint64_t seed, int id_pool, int operations) {
  INFO("seed " << seed << ", " << id_pool << " ids, " << operations << " operations");
  std::mt19937_64 random{seed};
  const auto pick = [&random](int bound) {
    return std::uniform_int_distribution<int>{0, bound - 1}(random);
  };
  const auto random_time = [&] { return t0 + 1s * pick(200); };  // a narrow range: many ties
  const auto random_id = [&]() -> std::string {
    const int n = pick(id_pool);
    // Every third id is longer than the small-string buffer.
    // fmt::format, not "literal" + std::string: GCC 12 at -O3 reports a false -Wrestrict there.
    return n % 3 == 0 ? fmt::format("a-long-job-identifier-number-{}", n) : fmt::format("j{}", n);
  };
  const auto random_existing = [&](const std::map<std::string, Expected>& model) {
    auto it = model.begin();
    std::advance(it, pick(static_cast<int>(model.size())));
    return it->first;
  };

  MemoryJobStore store;
  std::map<std::string, Expected> model;

  const auto check_due = [&](TimePoint now) {
    std::optional<TimePoint> smallest;
    for (const auto& [id, expected] : model) {
      if (!expected.paused && (!smallest || expected.next_run < *smallest)) {
        smallest = expected.next_run;
      }
    }
    REQUIRE(store.next_run_time() == smallest);
    JobRecord* due = store.first_due(now);
    if (smallest && *smallest <= now) {
      REQUIRE(due != nullptr);
      REQUIRE_FALSE(due->paused);
      REQUIRE(due->next_run == *smallest);
      REQUIRE(model.count(due->id) == 1);
      REQUIRE(model.at(due->id).next_run == *smallest);
    } else {
      REQUIRE(due == nullptr);
    }
  };
  const auto check_all = [&] {
    REQUIRE(store.size() == model.size());
    std::map<std::string, Expected> seen;
    store.for_each([&seen](const JobRecord& record) {
      seen.emplace(record.id, Expected{record.next_run, record.paused});
    });
    REQUIRE(seen.size() == model.size());
    for (const auto& [id, expected] : model) {
      const JobRecord* found = store.find(id);
      REQUIRE(found != nullptr);
      REQUIRE(found->id == id);
      REQUIRE(found->next_run == expected.next_run);
      REQUIRE(found->paused == expected.paused);
      REQUIRE(seen.count(id) == 1);
    }
  };

  for (int step = 0; step < operations; ++step) {
    const int operation = pick(100);
    if (operation < 30) {
      std::string id = random_id();
      if (model.count(id) == 0) {
        const bool paused = pick(8) == 0;
        const TimePoint next_run = random_time();
        JobRecord& stored = *store.insert(make_record(id, next_run, paused));
        REQUIRE(stored.id == id);
        model.emplace(std::move(id), Expected{next_run, paused});
      }
    } else if (operation < 50) {
      const std::string id = random_id();
      REQUIRE(store.erase(id) == (model.erase(id) == 1));
    } else if (operation < 65 && !model.empty()) {
      const std::string id = random_existing(model);
      JobRecord* stored = store.find(id);
      REQUIRE(stored != nullptr);
      stored->next_run = random_time();
      model.at(id).next_run = stored->next_run;
      store.update(*stored);
    } else if (operation < 75 && !model.empty()) {
      const std::string id = random_existing(model);
      JobRecord* stored = store.find(id);
      REQUIRE(stored != nullptr);
      stored->paused = !stored->paused;
      model.at(id).paused = stored->paused;
      store.update(*stored);
    } else if (operation < 85) {
      // As the scheduler does: take the first due record and move it on.
      const TimePoint now = random_time();
      check_due(now);
      JobRecord* due = store.first_due(now);
      if (due != nullptr) {
        due->next_run += 1s * (1 + pick(50));
        model.at(due->id).next_run = due->next_run;
        store.update(*due);
      }
    } else if (operation < 95) {
      const std::string id = random_id();
      const JobRecord* found = store.find(id);
      const auto expected = model.find(id);
      REQUIRE((found != nullptr) == (expected != model.end()));
      if (found != nullptr) {
        REQUIRE(found->next_run == expected->second.next_run);
        REQUIRE(found->paused == expected->second.paused);
      }
    } else if (operation < 96 && pick(20) == 0) {
      store.clear();
      model.clear();
    } else {
      check_due(random_time());
    }
    if (step % 500 == 0) {
      check_all();
    }
  }
  check_all();
  check_due(TimePoint::max());
}

}  // namespace

TEST_CASE("memory store agrees with a reference model under random operations",
          "[store][memory][model]") {
  // A small id pool keeps the table small and crowded, so probes wrap around and backward-shift
  // deletion moves entries across the end; larger pools make the table and heap grow.
  check_against_model(1, 12, 20'000);
  check_against_model(2, 13, 20'000);
  check_against_model(3, 40, 30'000);
  check_against_model(4, 300, 40'000);
  check_against_model(5, 3000, 60'000);
}

}  // namespace stores_memory_test
