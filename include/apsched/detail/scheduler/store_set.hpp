// SPDX-License-Identifier: MIT
// The store set: a scheduler's stores by index, the back-off of the ones that failed, and when
// each next wants the loop.
#pragma once

#include <apsched/clock.hpp>
#include <apsched/durable_job_store.hpp>
#include <apsched/job_store.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <deque>
#include <optional>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

namespace apsched::detail {

/// The stores of a scheduler, visited by index (an index is what JobRecord::store and the
/// aliases name), with the back-off of each: a store whose call failed is left alone for 10 ms,
/// doubling per failure in a row up to 5 s.
///
/// Thread safety: not thread-safe (guarded by the scheduler's lock).
template <JobStore... S>
class StoreSet {
 public:
  /// Whether any store is a DurableJobStore.
  static constexpr bool any_durable = (DurableJobStore<S> || ...);

  /// How long a failed store is left alone at first, and at most.
  static constexpr Duration first_back_off = std::chrono::milliseconds{10};
  static constexpr Duration longest_back_off = std::chrono::seconds{5};

  explicit StoreSet(std::tuple<S...> stores) : stores_{std::move(stores)} {
    retry_at_.fill(TimePoint::min());
  }

  /// Whether store `index` is a DurableJobStore.
  [[nodiscard]] static constexpr bool durable(std::size_t index) {
    constexpr std::array<bool, sizeof...(S)> durable{DurableJobStore<S>...};
    return durable[index];
  }

  /// Calls `visit(store)` with store `index`.
  template <class F>
  void with(std::size_t index, F&& visit) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      ((I == index ? (void)visit(std::get<I>(stores_)) : void()), ...);
    }
    (std::index_sequence_for<S...>{});
  }

  /// Calls `visit(index, store)` for each store, in index order.
  template <class F>
  void for_each(F&& visit) {
    [&]<std::size_t... I>(std::index_sequence<I...>) { (visit(I, std::get<I>(stores_)), ...); }
    (std::index_sequence_for<S...>{});
  }
  template <class F>
  void for_each(F&& visit) const {
    [&]<std::size_t... I>(std::index_sequence<I...>) { (visit(I, std::get<I>(stores_)), ...); }
    (std::index_sequence_for<S...>{});
  }

  /// Calls `visit(index, store)` for each DurableJobStore, in index order.
  template <class F>
  void for_each_durable(F&& visit) {
    for_each([&](std::size_t index, auto& store) {
      if constexpr (DurableJobStore<std::remove_cvref_t<decltype(store)>>) {
        visit(index, store);
      }
    });
  }

  /// The job with `id` (and its store's index) in any store but `skip`, searching in index
  /// order; a null job when none holds it.
  [[nodiscard]] std::pair<JobRecord*, std::size_t> find(std::string_view id,
                                                        std::size_t skip = sizeof...(S)) {
    std::pair<JobRecord*, std::size_t> found{nullptr, sizeof...(S)};
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (void)((I != skip && (found = {std::get<I>(stores_).find(id), I}, found.first != nullptr)) ||
             ...);
    }
    (std::index_sequence_for<S...>{});
    return found;
  }

  /// Whether store `index` is left alone at `now` after a failure.
  [[nodiscard]] bool backing_off(std::size_t index, TimePoint now) const noexcept {
    return now < retry_at_[index];
  }
  /// When store `index` is asked again after its last failure (min() when it did not fail).
  [[nodiscard]] TimePoint retry_at(std::size_t index) const noexcept { return retry_at_[index]; }

  /// Leaves store `index`, whose call failed at `now`, alone for twice as long as after its
  /// last failure in a row (first_back_off, at most longest_back_off).
  void back_off(std::size_t index, TimePoint now) noexcept {
    retry_delay_[index] = std::clamp(retry_delay_[index] * 2, first_back_off, longest_back_off);
    retry_at_[index] = now + retry_delay_[index];
  }

  /// Store `index` answered: its next failure backs off from the start again.
  void answered(std::size_t index) noexcept { retry_delay_[index] = Duration::zero(); }

  /// When the stores next want the loop, as of `now`: the earliest due job of each store (a
  /// failing one: its retry), a durable store within its poll interval at the latest. Leaves out
  /// the durable stores while `batching`, and their due jobs while `starved` (no executor has a
  /// free worker; a run's end asks again). A store failing to answer backs off.
  [[nodiscard]] std::optional<TimePoint> next_due(TimePoint now, bool batching, bool starved) {
    std::optional<TimePoint> next;
    for_each([&](std::size_t index, const auto& store) {
      constexpr bool is_durable = DurableJobStore<std::remove_cvref_t<decltype(store)>>;
      if (is_durable && batching) {
        return;  // asked again when the batch ends
      }
      std::optional<TimePoint> due;
      if (backing_off(index, now)) {
        due = retry_at_[index];
      } else {
        try {
          if (!(is_durable && starved)) {
            due = store.next_run_time();
          }
        } catch (...) {
          back_off(index, now);  // reported by the step that asks it again
          due = retry_at_[index];
        }
        if constexpr (is_durable) {
          // Other schedulers may add jobs to the store: ask it again within its poll interval.
          const TimePoint poll = now + std::chrono::duration_cast<Duration>(store.poll_interval());
          due = due ? std::min(*due, poll) : poll;
        }
      }
      if (due && (!next || *due < *next)) {
        next = due;
      }
    });
    return next;
  }

  /// How far the database clock of the first DatabaseClockStore is ahead of the scheduler's
  /// clock; zero without one.
  [[nodiscard]] Duration clock_offset() const noexcept {
    Duration offset = Duration::zero();
    bool found = false;
    for_each([&](std::size_t /*index*/, const auto& store) {
      if constexpr (DatabaseClockStore<std::remove_cvref_t<decltype(store)>>) {
        if (!found) {
          offset = store.clock_offset();
          found = true;
        }
      }
    });
    return offset;
  }

  /// Puts `record` in place of the job `store` holds under its id, changing the record held:
  /// its counters, last run and queued runs stay. Returns it, or null when none is held.
  template <class Store>
  static JobRecord* replace_in_place(Store& store, JobRecord&& record) {
    JobRecord* held = store.find(record.id);
    if (held == nullptr) {
      return nullptr;
    }
    std::deque<TimePoint> queued;
    if (held->extras) {
      queued = std::move(held->extras->queued_runs);
    }
    held->body = std::move(record.body);
    held->trigger = std::move(record.trigger);
    held->next_fire = record.next_fire;
    held->next_run = record.next_run;
    held->extras = std::move(record.extras);
    if (!queued.empty()) {
      held->extra().queued_runs = std::move(queued);
    }
    held->max_instances = record.max_instances;
    held->coalesce = record.coalesce;
    held->overlap = record.overlap;
    held->abandoned = record.abandoned;
    held->paused = record.paused;
    held->executor = record.executor;
    store.update(*held);
    return held;
  }

 private:
  std::tuple<S...> stores_;
  std::array<TimePoint, sizeof...(S)> retry_at_{};
  std::array<Duration, sizeof...(S)> retry_delay_{};
};

}  // namespace apsched::detail
