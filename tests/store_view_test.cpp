// SPDX-License-Identifier: MIT
// The StoreView concept: a minimal user-written view satisfies it, and a view missing any one
// requirement, or returning the wrong type from it, does not.
#include <apsched/store_view.hpp>

#include "support/catch.hpp"

#include <optional>
#include <string_view>
#include <vector>

namespace store_view_test {

using apsched::FirePage;
using apsched::FireQuery;
using apsched::JobPage;
using apsched::JobQuery;
using apsched::StoredFire;
using apsched::StoredJob;
using apsched::StoreOwner;
using apsched::StoreView;

namespace {

// A view of a store that holds nothing.
struct EmptyView {
  [[nodiscard]] std::vector<StoredJob> jobs() const { return {}; }
  [[nodiscard]] JobPage jobs(const JobQuery& /*query*/) const { return {}; }
  [[nodiscard]] std::optional<StoredJob> job(std::string_view /*id*/) const { return {}; }
  [[nodiscard]] FirePage fires(const FireQuery& /*query*/) const { return {}; }
  [[nodiscard]] std::vector<StoredFire> fires_in_flight() const { return {}; }
  [[nodiscard]] std::vector<StoreOwner> owners() const { return {}; }
};

struct NoPagedJobs {  // requirement 2
  [[nodiscard]] std::vector<StoredJob> jobs() const { return {}; }
  [[nodiscard]] std::optional<StoredJob> job(std::string_view /*id*/) const { return {}; }
  [[nodiscard]] FirePage fires(const FireQuery& /*query*/) const { return {}; }
  [[nodiscard]] std::vector<StoredFire> fires_in_flight() const { return {}; }
  [[nodiscard]] std::vector<StoreOwner> owners() const { return {}; }
};

struct NoJob : EmptyView {  // requirement 3: a pointer is not an optional
  [[nodiscard]] const StoredJob* job(std::string_view /*id*/) const { return nullptr; }
};

struct FiresAsVector : EmptyView {  // requirement 4
  [[nodiscard]] std::vector<StoredFire> fires(const FireQuery& /*query*/) const { return {}; }
};

struct NoInFlight {  // requirement 5
  [[nodiscard]] std::vector<StoredJob> jobs() const { return {}; }
  [[nodiscard]] JobPage jobs(const JobQuery& /*query*/) const { return {}; }
  [[nodiscard]] std::optional<StoredJob> job(std::string_view /*id*/) const { return {}; }
  [[nodiscard]] FirePage fires(const FireQuery& /*query*/) const { return {}; }
  [[nodiscard]] std::vector<StoreOwner> owners() const { return {}; }
};

struct OwnersAsText : EmptyView {  // requirement 6
  [[nodiscard]] std::vector<std::string_view> owners() const { return {}; }
};

struct MutableOnly {  // every requirement, but not on a const view
  [[nodiscard]] std::vector<StoredJob> jobs() { return {}; }
  [[nodiscard]] JobPage jobs(const JobQuery& /*query*/) { return {}; }
  [[nodiscard]] std::optional<StoredJob> job(std::string_view /*id*/) { return {}; }
  [[nodiscard]] FirePage fires(const FireQuery& /*query*/) { return {}; }
  [[nodiscard]] std::vector<StoredFire> fires_in_flight() { return {}; }
  [[nodiscard]] std::vector<StoreOwner> owners() { return {}; }
};

}  // namespace

TEST_CASE("store view concept: a user-written view satisfies it", "[store_view][concept]") {
  STATIC_REQUIRE(StoreView<EmptyView>);
}

TEST_CASE("store view concept: a view missing a requirement does not", "[store_view][concept]") {
  STATIC_REQUIRE_FALSE(StoreView<NoPagedJobs>);
  STATIC_REQUIRE_FALSE(StoreView<NoJob>);
  STATIC_REQUIRE_FALSE(StoreView<FiresAsVector>);
  STATIC_REQUIRE_FALSE(StoreView<NoInFlight>);
  STATIC_REQUIRE_FALSE(StoreView<OwnersAsText>);
  STATIC_REQUIRE_FALSE(StoreView<MutableOnly>);
}

TEST_CASE("store view values: a job counts its fires in flight", "[store_view]") {
  const StoredJob job{.id = "a", .fires_claimed = 2, .fires_submitted = 3};
  CHECK(job.fires_in_flight() == 5);
  CHECK(StoredJob{}.fires_in_flight() == 0);
  CHECK(FireQuery{}.limit == 100);
  CHECK(JobQuery{}.limit == 100);
}

}  // namespace store_view_test
