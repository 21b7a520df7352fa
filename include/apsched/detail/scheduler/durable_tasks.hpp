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

}  // namespace apsched::detail
