// SPDX-License-Identifier: MIT
// How the named schedulers (BlockingScheduler, BackgroundScheduler, CallbackScheduler) take
// their stores and executors: one by value, or several as a tuple.
#pragma once

#include <apsched/scheduler_options.hpp>

#include <tuple>
#include <utility>

namespace apsched::detail {

/// How a named scheduler takes its stores: one store by value, several as a tuple.
template <class S>
struct StoreListOf {
  using List = Stores<S>;
  using Argument = S;
  using Tuple = std::tuple<S>;
  static std::tuple<S> tuple(S&& store) { return std::tuple<S>{std::move(store)}; }
};
template <class... S>
struct StoreListOf<Stores<S...>> {
  using List = Stores<S...>;
  using Argument = std::tuple<S...>;
  using Tuple = std::tuple<S...>;
  static std::tuple<S...> tuple(std::tuple<S...>&& stores) { return std::move(stores); }
};

/// How a named scheduler takes its executors: one by value, several as a tuple.
template <class E>
struct ExecutorListOf {
  using List = Executors<E>;
  using Argument = E;
  using Tuple = std::tuple<E>;
  static std::tuple<E> tuple(E&& executor) { return std::tuple<E>{std::move(executor)}; }
};
template <class... E>
struct ExecutorListOf<Executors<E...>> {
  using List = Executors<E...>;
  using Argument = std::tuple<E...>;
  using Tuple = std::tuple<E...>;
  static std::tuple<E...> tuple(std::tuple<E...>&& executors) { return std::move(executors); }
};

}  // namespace apsched::detail
