// SPDX-License-Identifier: MIT
// ManualClock: a Clock whose time moves only when told to.
#pragma once

#include <apsched/clock.hpp>
#include <apsched/config.hpp>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

namespace apsched {

/// A Clock that stands still until `advance` or `set` moves it; moving it wakes every scheduler
/// waiting on it, so tests need no sleeps. Copies share one time (a ManualClock is a handle):
/// keep one copy in the test and give another to the scheduler.
///
/// @code
/// apsched::ManualClock clock{start};
/// apsched::CallbackScheduler<apsched::MemoryJobStore, apsched::InlineExecutor,
///                            apsched::ManualClock> scheduler{{}, {}, clock};
/// clock.advance(std::chrono::seconds{10});
/// @endcode
///
/// Thread safety: thread-safe.
class ManualClock {
 public:
  /// Its time is set by hand: the scheduler does not correct it by a database clock (see
  /// follows_real_time).
  static constexpr bool real_time = false;

  /// A clock reading `start` (default: 2024-01-01T00:00:00Z).
  APSCHED_INLINE explicit ManualClock(TimePoint start = TimePoint{
                                          std::chrono::seconds{1'704'067'200}});

  /// The clock's current time.
  [[nodiscard]] APSCHED_INLINE TimePoint now() const;

  /// Moves the time forward by `step` (a negative step moves it back) and wakes the waiters.
  void advance(Duration step) { move(std::nullopt, step); }

  /// Sets the time to `t` (forward or back, as a system clock step would) and wakes the waiters.
  void set(TimePoint t) { move(t, Duration::zero()); }

 private:
  struct State;

 public:
  /// Unregisters its observer on destruction; see `observe`. Move-only.
  ///
  /// Thread safety: not thread-safe.
  class Observation {
   public:
    Observation() noexcept = default;
    Observation(Observation&& other) noexcept : state_{std::move(other.state_)}, id_{other.id_} {}
    Observation& operator=(Observation&& other) noexcept {
      if (this != &other) {
        reset();
        state_ = std::move(other.state_);
        id_ = other.id_;
      }
      return *this;
    }
    Observation(const Observation&) = delete;
    Observation& operator=(const Observation&) = delete;
    ~Observation() { reset(); }

    /// Unregisters the observer; returns once no call of it is in progress.
    /// @pre not called from the observer itself.
    APSCHED_INLINE void reset() noexcept;

   private:
    friend class ManualClock;
    Observation(std::shared_ptr<State> state, std::uint64_t id) noexcept
        : state_{std::move(state)}, id_{id} {}
    std::shared_ptr<State> state_;
    std::uint64_t id_ = 0;
  };

  /// Calls `observer` after every `advance` and `set`, on the thread that moved the time, with
  /// no lock held, until the returned Observation is destroyed: how a scheduler driven by an
  /// event loop (AsioScheduler) notices that manual time moved. The observer must not move the
  /// clock or destroy its Observation.
  [[nodiscard]] APSCHED_INLINE Observation observe(std::function<void()> observer) const;

  /// See Clock: returns once `now() >= deadline`, or when `cv` is notified, or when the time is
  /// moved.
  APSCHED_INLINE void wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                                 TimePoint deadline) const;

 private:
  struct Waiter {
    std::condition_variable* cv;
    std::mutex* mutex;
    int notifying = 0;
  };

  // Sets the time to `to`, or moves it by `step` when `to` is empty, then wakes the waiters and
  // calls the observers.
  APSCHED_INLINE void move(std::optional<TimePoint> to, Duration step);

  std::shared_ptr<State> state_;
};

static_assert(Clock<ManualClock>);

}  // namespace apsched

#if !APSCHED_SEPARATE_COMPILATION
#include <apsched/impl/testing/manual_clock.hpp>
#endif
