// SPDX-License-Identifier: MIT
// The Dialect concept: the dialect of the memory tests models it, and a type that lacks any one
// of its requirements does not.
#include <apsched/detail/durable/dialect.hpp>

#include "support/catch.hpp"
#include "support/memory_dialect.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace detail_durable_dialect_test {

using apsched::FireState;
using apsched::JobRecord;
using apsched::detail::durable::Dialect;
using apsched::detail::durable::DueCommit;
using apsched::detail::durable::ErrorLabel;
using apsched::detail::durable::FireRow;
using apsched::detail::durable::InFlightFire;
using apsched::detail::durable::JobRow;
using apsched::detail::durable::LeaseRow;
using apsched::detail::durable::PendingOutcome;

namespace {

struct Named {
  static constexpr std::string_view store_name = "PartialJobStore";
};
struct Unnamed {};

// A dialect with every requirement but number `Missing` (0: with all of them). Declared only:
// the concept reads declarations.
template <int Missing>
struct Partial : std::conditional_t<Missing == 1, Unnamed, Named> {
  const ErrorLabel& error_label() const noexcept requires(Missing != 2);
  void set_aside(const JobRow&, std::string_view, bool) requires(Missing != 3);
  std::optional<JobRow> retired_row(const std::string&) requires(Missing != 4);
  std::vector<LeaseRow> owner_rows(std::int64_t) requires(Missing != 5);
  std::vector<std::string> orphan_owners() requires(Missing != 6);
  template <class F>
  void atomically(F&&) requires(Missing != 7);
  bool release_owner(const std::string&, std::int64_t) requires(Missing != 8);
  std::vector<InFlightFire> in_flight_fires(const std::string&) requires(Missing != 9);
  void take_fire(const std::string&, std::int64_t, std::int64_t,
                 std::int64_t) requires(Missing != 10);
  void end_fire(const std::string&, std::int64_t, FireState, const std::string&, bool,
                std::int64_t) requires(Missing != 11);
  void trim_history(std::string_view) requires(Missing != 12);
  std::vector<FireRow> fire_rows(std::string_view, std::int64_t) requires(Missing != 13);
  std::optional<std::int64_t> update_job(const JobRecord&,
                                         const std::string&) requires(Missing != 14);
  bool erase_job(std::string_view) requires(Missing != 15);
  void clear_jobs() requires(Missing != 16);
  void prepare_release() requires(Missing != 17);
  bool drop_lease() requires(Missing != 17);
  void lapse_lease() requires(Missing != 17);
  void forget_set_aside(std::string_view) requires(Missing != 18);
  void forget_all_set_aside() requires(Missing != 18);
  void retry_unknown_task(std::string_view) requires(Missing != 19);
  bool commit_due(const DueCommit&) requires(Missing != 20);
  void write_outcomes(std::span<const PendingOutcome>) requires(Missing != 21);
};

template <int... Missing>
constexpr bool none_models(std::integer_sequence<int, Missing...> /*numbers*/) {
  return (!Dialect<Partial<Missing + 1>> && ...);
}

}  // namespace

TEST_CASE("a dialect with every requirement models Dialect", "[durable][dialect]") {
  STATIC_REQUIRE(Dialect<apsched::test::MemoryDialect>);
  STATIC_REQUIRE(Dialect<Partial<0>>);
}

TEST_CASE("a dialect lacking any one requirement does not model Dialect", "[durable][dialect]") {
  STATIC_REQUIRE_FALSE(Dialect<Partial<1>>);
  STATIC_REQUIRE_FALSE(Dialect<Partial<7>>);
  STATIC_REQUIRE_FALSE(Dialect<Partial<17>>);
  STATIC_REQUIRE(none_models(std::make_integer_sequence<int, 21>{}));
}

}  // namespace detail_durable_dialect_test
