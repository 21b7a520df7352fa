// SPDX-License-Identifier: MIT
// The task registry a scheduler takes from its stores, and the prepared call its declarations
// name: void and NoPreparedCall without a durable store.
#include <apsched/detail/scheduler/durable_tasks.hpp>
#include <apsched/stores/memory.hpp>

#include "support/catch.hpp"

#include <string_view>
#include <type_traits>

namespace detail_durable_tasks_test {

using apsched::MemoryJobStore;
using apsched::TaskCall;
using apsched::detail::DurableTasksOf;
using apsched::detail::NoPreparedCall;
using apsched::detail::PreparedOf;

// A registry whose prepare returns a call of its own type.
struct PreparedGreeting {
  TaskCall call;
};
struct GreetingRegistry {
  [[nodiscard]] PreparedGreeting prepare(std::string_view, TaskCall stored) const {
    return PreparedGreeting{std::move(stored)};
  }
};

TEST_CASE("a scheduler without a durable store has no task registry", "[durable_tasks]") {
  STATIC_REQUIRE(std::is_void_v<DurableTasksOf<>::Type>);
  STATIC_REQUIRE(std::is_void_v<DurableTasksOf<MemoryJobStore>::Type>);
  STATIC_REQUIRE(std::is_void_v<DurableTasksOf<MemoryJobStore, MemoryJobStore>::Type>);
  STATIC_REQUIRE(std::is_same_v<PreparedOf<void>, NoPreparedCall>);
}

TEST_CASE("the prepared call is what the registry's prepare returns", "[durable_tasks]") {
  STATIC_REQUIRE(std::is_same_v<PreparedOf<GreetingRegistry>, PreparedGreeting>);
  const PreparedGreeting prepared =
      GreetingRegistry{}.prepare("add_job", TaskCall{.name = "greet", .arguments = "[]"});
  CHECK(prepared.call.name == "greet");
}

}  // namespace detail_durable_tasks_test
