// SPDX-License-Identifier: MIT
// The executor set: a scheduler's executors by index, started, fed and shut down together, and
// the free workers each reports.
#pragma once

#include <apsched/detail/executor_room.hpp>
#include <apsched/executor.hpp>

#include <array>
#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

namespace apsched::detail {

/// The executors of a scheduler, by index (the index JobRecord::executor and the aliases name).
///
/// Thread safety: as the executors (thread-safe by the Executor concept); the tuple itself is
/// not changed after construction.
template <Executor... E>
class ExecutorSet {
 public:
  explicit ExecutorSet(std::tuple<E...> executors) : executors_{std::move(executors)} {}

  /// The executors, in order.
  [[nodiscard]] std::tuple<E...>& all() noexcept { return executors_; }

  /// Starts the executors that stop at shutdown and start again (RestartableExecutor).
  void start() {
    for_each([](auto& executor) {
      if constexpr (RestartableExecutor<std::remove_cvref_t<decltype(executor)>>) {
        executor.start();
      }
    });
  }

  /// Hands `work` to executor `index`.
  /// @throws what the executor throws (its work is then destroyed unrun).
  void submit(std::size_t index, Work&& work) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      ((I == index ? (void)std::get<I>(executors_).submit(std::move(work)) : void()), ...);
    }
    (std::index_sequence_for<E...>{});
  }

  /// Shuts every executor down; with `wait`, after its work has run.
  void shutdown(bool wait) {
    for_each([wait](auto& executor) { executor.shutdown(wait); });
  }

  /// The free workers each executor reports (RoomReportingExecutor), ExecutorRoom::unlimited
  /// for one that does not say.
  [[nodiscard]] std::array<std::size_t, sizeof...(E)> room() {
    std::array<std::size_t, sizeof...(E)> reported{};
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      ((reported[I] = room_of(std::get<I>(executors_))), ...);
    }
    (std::index_sequence_for<E...>{});
    return reported;
  }

 private:
  template <class F>
  void for_each(F&& visit) {
    std::apply([&](auto&... executors) { (visit(executors), ...); }, executors_);
  }

  template <class X>
  static std::size_t room_of(X& executor) {
    if constexpr (RoomReportingExecutor<X>) {
      return executor.available();
    } else {
      return ExecutorRoom<sizeof...(E)>::unlimited;
    }
  }

  std::tuple<E...> executors_;
};

}  // namespace apsched::detail
