// SPDX-License-Identifier: MIT
// The definitions of ManualClock's members. testing/manual_clock.hpp includes this in header-only
// mode; in the compiled mode the apsched::compiled library holds them.
#pragma once

#include <apsched/config.hpp>
#include <apsched/testing/manual_clock.hpp>

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

namespace apsched {

// What a ManualClock and its copies share.
struct ManualClock::State {
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

APSCHED_INLINE ManualClock::ManualClock(TimePoint start) : state_{std::make_shared<State>(start)} {}

APSCHED_INLINE TimePoint ManualClock::now() const {
  std::lock_guard lock{state_->mutex};
  return state_->now;
}

APSCHED_INLINE void ManualClock::Observation::reset() noexcept {
  if (auto state = std::exchange(state_, nullptr)) {
    std::unique_lock guard{state->mutex};
    std::erase_if(state->observers, [this](const auto& entry) { return entry.first == id_; });
    state->done.wait(guard, [&state] { return state->observing == 0; });
  }
}

APSCHED_INLINE ManualClock::Observation ManualClock::observe(std::function<void()> observer) const {
  std::lock_guard guard{state_->mutex};
  const std::uint64_t id = ++state_->next_observer;
  state_->observers.emplace_back(id, std::make_shared<std::function<void()>>(std::move(observer)));
  return Observation{state_, id};
}

APSCHED_INLINE void ManualClock::wait_until(std::unique_lock<std::mutex>& lock,
                                            std::condition_variable& cv, TimePoint deadline) const {
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

APSCHED_INLINE void ManualClock::move(std::optional<TimePoint> to, Duration step) {
  std::vector<Waiter*> waiters;
  std::vector<std::shared_ptr<std::function<void()>>> observers;
  {
    std::lock_guard guard{state_->mutex};
    state_->now = to ? *to : state_->now + step;
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

}  // namespace apsched
