// SPDX-License-Identifier: MIT
// The task registry of a scheduler's durable stores, and the call a registry prepares: the types
// BasicScheduler's declarations name, without the rooms that use them.
#pragma once

#include <apsched/durable_job_store.hpp>
#include <apsched/job.hpp>

#include <string_view>
#include <type_traits>
#include <utility>

namespace apsched::detail {

/// The task registry type of the first durable store among `S...` (void if there is none).
template <class... S>
struct DurableTasksOf {
  using Type = void;
};
template <class First, class... Rest>
struct DurableTasksOf<First, Rest...> {
  static auto pick() {
    if constexpr (DurableJobStore<First>) {
      return std::type_identity<typename First::Tasks>{};
    } else {
      return std::type_identity<typename DurableTasksOf<Rest...>::Type>{};
    }
  }
  using Type = typename decltype(pick())::type;
};

/// Stands for the prepared call of a scheduler without a durable store, which has none.
struct NoPreparedCall {};

/// What `R::prepare(call, TaskCall)` returns: a call of a registered task, checked and ready to
/// run (DurableTasks); NoPreparedCall for `void`, a scheduler without a durable store.
template <class R>
struct PreparedCallOf {
  using Type = decltype(std::declval<const R&>().prepare(std::string_view{}, TaskCall{}));
};
template <>
struct PreparedCallOf<void> {
  using Type = NoPreparedCall;
};
template <class R>
using PreparedOf = typename PreparedCallOf<R>::Type;

/// What a scheduler over the stores `S...` knows of their durability: BasicScheduler and
/// SchedulerCore take these names from here, so the two agree by construction.
template <class... S>
struct Durability {
  /// Whether a store is durable (DurableJobStore): then the scheduler has a task registry.
  static constexpr bool any_durable = (DurableJobStore<S> || ...);
  /// Whether every store is durable: then closure jobs are a compile error.
  static constexpr bool all_durable = (DurableJobStore<S> && ...);
  /// The registry of tasks durable jobs name (void without a durable store).
  using TaskRegistry = typename DurableTasksOf<S...>::Type;
  static_assert(!any_durable || DurableTasks<TaskRegistry>,
                "BasicScheduler: the Tasks of its durable stores must model DurableTasks");
};

}  // namespace apsched::detail
