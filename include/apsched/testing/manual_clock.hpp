// SPDX-License-Identifier: MIT
// ManualClock: a Clock whose time moves only when told to.
#pragma once

#include <apsched/clock.hpp>

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
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
  explicit ManualClock(TimePoint start = TimePoint{std::chrono::seconds{1'704'067'200}})
      : state_{std::make_shared<State>(start)} {}

  /// The clock's current time.
  [[nodiscard]] TimePoint now() const {
    std::lock_guard lock{state_->mutex};
    return state_->now;
  }

  /// Moves the time forward by `step` (a negative step moves it back) and wakes the waiters.
  void advance(Duration step) {
    move([step](TimePoint t) { return t + step; });
  }

  /// Sets the time to `t` (forward or back, as a system clock step would) and wakes the waiters.
  void set(TimePoint t) {
    move([t](TimePoint) { return t; });
  }

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
    void reset() noexcept {
      if (auto state = std::exchange(state_, nullptr)) {
        std::unique_lock guard{state->mutex};
        std::erase_if(state->observers, [this](const auto& entry) { return entry.first == id_; });
        state->done.wait(guard, [&state] { return state->observing == 0; });
      }
    }

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
  [[nodiscard]] Observation observe(std::function<void()> observer) const {
    std::lock_guard guard{state_->mutex};
    const std::uint64_t id = ++state_->next_observer;
    state_->observers.emplace_back(id,
                                   std::make_shared<std::function<void()>>(std::move(observer)));
    return Observation{state_, id};
  }

  /// See Clock: returns once `now() >= deadline`, or when `cv` is notified, or when the time is
  /// moved.
  void wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                  TimePoint deadline) const {
    Waiter waiter{&cv, lock.mutex()};
    {
      std::lock_guard guard{state_->mutex};
      if (state_->now >= deadline) {
        return;
      }
      state_->waiters.push_back(&waiter);
    }
    cv.wait(lock);
    // Deregister with `lock` released: `move` may be about to lock it to notify this waiter,
    // and must be done with `waiter` before it leaves this frame.
    lock.unlock();
    {
      std::unique_lock guard{state_->mutex};
      std::erase(state_->waiters, &waiter);
      state_->done.wait(guard, [&waiter] { return waiter.notifying == 0; });
    }
    lock.lock();
  }

 private:
  struct Waiter {
    std::condition_variable* cv;
    std::mutex* mutex;
    int notifying = 0;
  };
  struct State {
    explicit State(TimePoint start) : now{start} {}
    // Guards the members below and each waiter's `notifying` count. Lock order: a waiter's own
    // mutex, then this one; `move` never holds both.
    std::mutex mutex;
    std::condition_variable done;
    TimePoint now;
    std::vector<Waiter*> waiters;
    std::vector<std::pair<std::uint64_t, std::shared_ptr<std::function<void()>>>> observers;
    std::uint64_t next_observer = 0;
    // Observer calls in progress.
    int observing = 0;
  };

  template <class F>
  void move(F&& next) {
    std::vector<Waiter*> waiters;
    std::vector<std::shared_ptr<std::function<void()>>> observers;
    {
      std::lock_guard guard{state_->mutex};
      state_->now = next(state_->now);
      waiters = state_->waiters;
      for (Waiter* waiter : waiters) {
        ++waiter->notifying;
      }
      for (const auto& entry : state_->observers) {
        observers.push_back(entry.second);
      }
      state_->observing += observers.empty() ? 0 : 1;
    }
    for (Waiter* waiter : waiters) {
      // Taking the waiter's mutex orders this notification after its wait began.
      std::lock_guard waiter_lock{*waiter->mutex};
      waiter->cv->notify_all();
    }
    {
      std::lock_guard guard{state_->mutex};
      for (Waiter* waiter : waiters) {
        --waiter->notifying;
      }
    }
    state_->done.notify_all();
    if (!observers.empty()) {
      const auto finished = [this] {
        {
          std::lock_guard guard{state_->mutex};
          --state_->observing;
        }
        state_->done.notify_all();
      };
      try {
        for (const auto& observer : observers) {
          (*observer)();
        }
      } catch (...) {
        finished();
        throw;
      }
      finished();
    }
  }

  std::shared_ptr<State> state_;
};

static_assert(Clock<ManualClock>);

}  // namespace apsched
