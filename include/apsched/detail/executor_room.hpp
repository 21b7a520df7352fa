// SPDX-License-Identifier: MIT
// ExecutorRoom: how many more runs each of a scheduler's executors takes in one step.
#pragma once

#include <apsched/clock.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace apsched::detail {

/// The room of each of a scheduler's `N` executors for the runs of one step: what each reports
/// it would start at once (Executor requirement 5; `unlimited` for one that cannot tell), plus,
/// with a start window, the runs it ended over the last window or two scaled to one window (at
/// most `most`): as many as it starts within the window at that pace. Short runs then flow at
/// the executor's pace instead of one step's free workers at a time, while a run handed over
/// beyond the free workers waits about one window at most.
///
/// Thread safety: not thread-safe (guarded by the scheduler's lock).
template <std::size_t N>
class ExecutorRoom {
 public:
  /// No limit known.
  static constexpr std::size_t unlimited = std::numeric_limits<std::size_t>::max();

  /// Room without limit until the first `measure`; `window` zero adds nothing for pace.
  ExecutorRoom(Duration window, std::size_t most) noexcept : window_{window}, most_{most} {
    open();
  }

  /// Sets the room from what each executor `reported`, at `now`, adding its pace.
  void measure(const std::array<std::size_t, N>& reported, TimePoint now) noexcept {
    room_ = reported;
    if (window_ <= Duration::zero()) {
      return;
    }
    const Duration elapsed = std::max(now - measured_at_, window_);
    for (std::size_t i = 0; i < N; ++i) {
      const std::uint64_t ended = ended_[i] - ended_at_measure_[i];
      if (room_[i] != unlimited && ended > 0) {
        const double expected = static_cast<double>(ended) * static_cast<double>(window_.count()) /
                                static_cast<double>(elapsed.count());
        room_[i] += static_cast<std::size_t>(std::min(expected, static_cast<double>(most_)));
      }
    }
    if (now - measured_at_ >= window_) {
      measured_at_ = now;
      ended_at_measure_ = ended_;
    }
  }

  /// Room without limit for every executor (until the next `measure`).
  void open() noexcept { room_.fill(unlimited); }

  /// Takes room for one run of executor `executor`; false (nothing taken) when it has none.
  bool take(std::size_t executor) noexcept {
    std::size_t& room = room_[executor];
    if (room == 0) {
      return false;
    }
    if (room != unlimited) {
      --room;
    }
    return true;
  }

  /// The room executor `executor` has left in this step (`unlimited` for no limit).
  [[nodiscard]] std::size_t left(std::size_t executor) const noexcept { return room_[executor]; }

  /// Gives back what `take` took for executor `executor`.
  void give_back(std::size_t executor) noexcept {
    if (room_[executor] != unlimited) {
      ++room_[executor];
    }
  }

  /// Whether no executor has room left.
  [[nodiscard]] bool none() const noexcept {
    return std::all_of(room_.begin(), room_.end(), [](std::size_t room) { return room == 0; });
  }

  /// Counts a run of executor `executor` that ended, for its pace.
  void run_ended(std::size_t executor) noexcept { ++ended_[executor]; }

 private:
  Duration window_;
  std::size_t most_;
  std::array<std::size_t, N> room_{};
  // Runs each executor ended, that count at the last measure that moved measured_at_, and when.
  std::array<std::uint64_t, N> ended_{};
  std::array<std::uint64_t, N> ended_at_measure_{};
  TimePoint measured_at_{};
};

}  // namespace apsched::detail
