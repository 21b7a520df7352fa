// SPDX-License-Identifier: MIT
// RecordCache: lookups, replacement, eviction of idle entries oldest first, stable addresses,
// and a long random sequence of operations checked against a std::map model.
#include <apsched/detail/durable/record_cache.hpp>

#include <apsched/triggers/date.hpp>

#include "support/catch.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace detail_durable_record_cache_test {

using apsched::JobRecord;
using apsched::TimePoint;
using apsched::detail::durable::CachedRecord;
using apsched::detail::durable::RecordCache;

namespace {

JobRecord make_record(std::string id) {
  return JobRecord{.id = std::move(id),
                   .body = {},
                   .trigger = apsched::AnyTrigger{apsched::DateTrigger{TimePoint{}}}};
}

std::vector<std::string> ids_of(RecordCache& cache) {
  std::vector<std::string> ids;
  cache.for_each([&ids](JobRecord& record) { ids.push_back(record.id); });
  return ids;
}

}  // namespace

TEST_CASE("RecordCache finds what it holds and nothing else", "[durable]") {
  RecordCache cache{100};
  CHECK(cache.find("a") == nullptr);
  JobRecord* a = cache.put(make_record("a"), 3);
  JobRecord* b = cache.put(make_record("b"), 1);
  REQUIRE(cache.find("a") != nullptr);
  CHECK(&cache.find("a")->record == a);
  CHECK(cache.find("a")->version == 3);
  CHECK(&cache.find("b")->record == b);
  CHECK(cache.find("c") == nullptr);
  CHECK(cache.find("") == nullptr);
  CHECK(cache.holding(*a) == cache.find("a"));
  JobRecord other = make_record("a");
  CHECK(cache.holding(other) == nullptr);
  CHECK(cache.size() == 2);
}

TEST_CASE("RecordCache::put replaces the entry of the same id in place", "[durable]") {
  RecordCache cache{100};
  cache.put(make_record("first"), 1);
  cache.put(make_record("x"), 1);
  cache.put(make_record("last"), 1);
  JobRecord* replaced = cache.put(make_record("x"), 7);
  CHECK(cache.size() == 3);
  CHECK(&cache.find("x")->record == replaced);
  CHECK(cache.find("x")->version == 7);
  CHECK(ids_of(cache) == std::vector<std::string>{"first", "x", "last"});
}

TEST_CASE("RecordCache keeps addresses stable while it grows and others are erased", "[durable]") {
  RecordCache cache{100'000};
  std::vector<JobRecord*> records;
  for (int i = 0; i < 5'000; ++i) {
    records.push_back(cache.put(make_record(std::to_string(i)), i));
  }
  for (int i = 0; i < 5'000; i += 2) {
    cache.erase(std::to_string(i));
  }
  CHECK(cache.size() == 2'500);
  for (int i = 0; i < 5'000; ++i) {
    const CachedRecord* entry = cache.find(std::to_string(i));
    if (i % 2 == 0) {
      CHECK(entry == nullptr);
    } else {
      REQUIRE(entry != nullptr);
      CHECK(&entry->record == records[static_cast<std::size_t>(i)]);
      CHECK(entry->version == i);
    }
  }
}

TEST_CASE("RecordCache drops idle entries oldest first, never busy ones or the new one",
          "[durable]") {
  RecordCache cache{4};
  cache.put(make_record("a"), 1)->running = 1;  // busy: kept
  cache.put(make_record("b"), 1);
  cache.put(make_record("c"), 1);
  cache.put(make_record("d"), 1);
  CHECK(cache.size() == 4);
  // A fifth entry: idle ones go, oldest first, down to half the limit.
  cache.put(make_record("e"), 1);
  CHECK(ids_of(cache) == std::vector<std::string>{"a", "e"});
  CHECK(cache.find("b") == nullptr);
  CHECK(cache.find("c") == nullptr);
  CHECK(cache.find("d") == nullptr);

  SECTION("add_new caches below the limit and overflows at it") {
    std::optional<JobRecord> overflow;
    for (const char* id : {"f", "g"}) {
      JobRecord* added = cache.add_new(make_record(id), overflow);
      CHECK(cache.holding(*added) != nullptr);
      CHECK_FALSE(overflow.has_value());
    }
    JobRecord* h = cache.add_new(make_record("h"), overflow);
    REQUIRE(overflow.has_value());
    CHECK(h == &*overflow);
    CHECK(cache.find("h") == nullptr);
    CHECK(ids_of(cache) == std::vector<std::string>{"a", "e", "f", "g"});
  }
  SECTION("add_new of a busy id marks the cached one stale and overflows") {
    std::optional<JobRecord> overflow;
    JobRecord* again = cache.add_new(make_record("a"), overflow);
    CHECK(again == &*overflow);
    CHECK(cache.find("a")->stale);
  }
  SECTION("add_new of an idle id replaces the cached one") {
    std::optional<JobRecord> overflow;
    JobRecord* again = cache.add_new(make_record("e"), overflow);
    CHECK_FALSE(overflow.has_value());
    CHECK(cache.holding(*again) != nullptr);
    CHECK_FALSE(cache.find("e")->stale);
  }
  SECTION("drop_if_idle and drop_all_idle keep busy entries, marked stale") {
    cache.put(make_record("f"), 1);
    cache.drop_if_idle("a");
    REQUIRE(cache.find("a") != nullptr);
    CHECK(cache.find("a")->stale);
    cache.drop_if_idle("e");
    CHECK(cache.find("e") == nullptr);
    CHECK(cache.find("f") != nullptr);
    cache.put(make_record("g"), 1)->running = 1;
    cache.put(make_record("h"), 1);
    cache.drop_all_idle();
    CHECK(ids_of(cache) == std::vector<std::string>{"a", "g"});
    CHECK(cache.size() == 2);
    CHECK(cache.find("g")->stale);
  }
}

TEST_CASE("RecordCache agrees with a map model over a long random sequence", "[durable]") {
  // Ids from a small set, so that puts replace, erases hit and probe runs wrap and collide;
  // a limit that makes evictions happen, with some entries busy. With the small limit the index
  // has 16 or 32 slots, so probe runs wrap around its end.
  const std::size_t limit = GENERATE(std::size_t{6}, std::size_t{64});
  CAPTURE(limit);
  RecordCache cache{limit};
  struct Model {
    JobRecord* address = nullptr;
    std::int64_t version = 0;
    bool busy = false;
  };
  std::map<std::string, Model> model;
  std::vector<std::string> order;  // ids in the order they entered the cache
  std::mt19937 random{static_cast<std::mt19937::result_type>(20261202 + limit)};
  std::uniform_int_distribution<int> pick_id{0, 149};
  std::uniform_int_distribution<int> pick_operation{0, 99};
  std::int64_t version = 0;
  const auto forget = [&](const std::string& id) {
    model.erase(id);
    order.erase(std::find(order.begin(), order.end(), id));
  };
  for (int step = 0; step < 40'000; ++step) {
    const std::string id = "job-" + std::to_string(pick_id(random));
    const int operation = pick_operation(random);
    if (operation < 45) {
      const bool existed = model.contains(id);
      JobRecord* stored = cache.put(make_record(id), ++version);
      const bool busy = operation < 5;
      stored->running = busy ? 1 : 0;
      model[id] = Model{stored, version, busy};
      if (!existed) {
        order.push_back(id);
      }
      if (model.size() > limit) {
        // Idle ones but the new one go, oldest first, down to limit / 2.
        std::size_t excess = model.size() - limit / 2;
        for (auto it = order.begin(); it != order.end() && excess > 0;) {
          const Model& entry = model.at(*it);
          if (*it != id && !entry.busy) {
            model.erase(*it);
            it = order.erase(it);
            --excess;
          } else {
            ++it;
          }
        }
      }
    } else if (operation < 75) {
      cache.erase(id);
      if (model.contains(id)) {
        forget(id);
      }
    } else if (operation < 90) {
      cache.drop_if_idle(id);
      if (model.contains(id) && !model.at(id).busy) {
        forget(id);
      }
    } else if (operation < 91) {
      cache.drop_all_idle();
      for (auto it = order.begin(); it != order.end();) {
        if (!model.at(*it).busy) {
          model.erase(*it);
          it = order.erase(it);
        } else {
          ++it;
        }
      }
    } else {
      // Lookups, including ids never added.
      const std::string absent = "absent-" + std::to_string(step);
      REQUIRE(cache.find(absent) == nullptr);
    }
    REQUIRE(cache.size() == model.size());
    const CachedRecord* entry = cache.find(id);
    REQUIRE((entry != nullptr) == model.contains(id));
    if (entry != nullptr) {
      REQUIRE(&entry->record == model.at(id).address);
      REQUIRE(entry->version == model.at(id).version);
    }
    if (limit < 16 || step % 997 == 0) {
      REQUIRE(ids_of(cache) == order);
      for (const auto& [known, expected] : model) {
        const CachedRecord* found = cache.find(known);
        REQUIRE(found != nullptr);
        REQUIRE(&found->record == expected.address);
      }
    }
  }
  cache.clear();
  CHECK(cache.size() == 0);
  CHECK(cache.find("job-1") == nullptr);
}

}  // namespace detail_durable_record_cache_test
