// SPDX-License-Identifier: MIT
// The loop's wake-up: the instant it sleeps until, the requests that end its sleep, the
// application's wake-up handler (callback mode), and the background loop's thread.
#pragma once

#include <apsched/clock.hpp>
#include <apsched/detail/listeners.hpp>

#include <fmt/core.h>

#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>

namespace apsched::detail {

/// What ends a scheduler loop's sleep. The loop sleeps until an instant (the next wake-up) or
/// until a change asks it to step (`request_locked`: a job added or changed, the state changed)
/// or to plan its wake-up again without a step (`replan_locked`: an outcome to write sooner).
/// A change wakes it only when it makes something due before that instant; while the loop
/// works (between sleeps) it reads the stores anew anyway. With `Handler` (callback mode) each
/// wake-up also calls the application's handler, whose errors are logged to `listeners`.
///
/// Thread safety: members ending in `_locked` need the scheduler's lock (which guards the
/// requests and the instant); `notify` and `set_handler` are thread-safe and take no lock the
/// caller holds.
template <bool Handler>
class Wakeup {
 public:
  /// A wake-up that logs its handler's errors to `listeners`.
  explicit Wakeup(ListenerRegistry& listeners) noexcept : listeners_{&listeners} {}

  /// Whether a change that makes something due at `at` must wake the loop (it sleeps until a
  /// later instant); if so, asks it to step.
  bool wants_locked(TimePoint at) noexcept {
    if (at < waiting_until_) {
      requested_ = true;
      return true;
    }
    return false;
  }

  /// Asks the loop to step once more before it sleeps.
  void request_locked() noexcept { requested_ = true; }

  /// Whether something must be done by `by`, before the loop would wake: if so, asks it to plan
  /// its wake-up again (without a step).
  bool replan_locked(TimePoint by) noexcept {
    if (by < waiting_until_) {
      replan_ = true;
      return true;
    }
    return false;
  }

  /// Whether a step was asked for; clears the request.
  bool take_request_locked() noexcept { return std::exchange(requested_, false); }

  /// Whether a step was asked for.
  [[nodiscard]] bool requested_locked() const noexcept { return requested_; }

  /// Whether the loop was asked to plan again since it last planned; clears the request.
  bool take_replan_locked() noexcept { return std::exchange(replan_, false); }

  /// Sets the instant the loop (or the application's loop) sleeps until: min() while it works,
  /// max() when nothing is scheduled.
  void set_waiting_locked(TimePoint until) noexcept { waiting_until_ = until; }

  /// Sleeps on `clock` until `deadline` (at `clock_deadline` on the clock's own time), a
  /// notify, or a spurious wake-up; releases `lock` meanwhile.
  template <Clock C>
  void wait_locked(std::unique_lock<std::mutex>& lock, const C& clock, TimePoint deadline,
                   TimePoint clock_deadline) {
    waiting_until_ = deadline;
    clock.wait_until(lock, cv_, clock_deadline);
    waiting_until_ = TimePoint::min();
  }

  /// Wakes the sleeping loop, and calls the application's handler (callback mode). Called
  /// without the scheduler's lock.
  void notify() {
    cv_.notify_one();
    if constexpr (Handler) {
      std::function<void()> handler;
      {
        std::lock_guard lock{handler_mutex_};
        handler = handler_;
      }
      if (handler) {
        try {
          handler();
        } catch (const std::exception& error) {
          listeners_->log(LogLevel::error,
                          fmt::format("the wake-up handler threw: {}", error.what()));
        } catch (...) {
          listeners_->log(LogLevel::error, "the wake-up handler threw a non-std exception");
        }
      }
    }
  }

  /// Sets (or, empty, removes) the application's wake-up handler.
  void set_handler(std::function<void()> handler) {
    std::lock_guard lock{handler_mutex_};
    handler_ = std::move(handler);
  }

 private:
  ListenerRegistry* listeners_;
  std::condition_variable cv_;
  bool requested_ = false;
  bool replan_ = false;
  TimePoint waiting_until_ = TimePoint::min();
  // Guards handler_.
  std::mutex handler_mutex_;
  std::function<void()> handler_;
};

/// The thread a background scheduler's loop runs on.
///
/// Thread safety: thread-safe.
class LoopThread {
 public:
  /// Runs `loop` on a new thread, after joining the thread of an earlier loop (which has
  /// ended or is ending).
  template <class F>
  void start(F&& loop) {
    std::lock_guard lock{mutex_};
    if (thread_.joinable()) {
      thread_.join();
    }
    thread_ = std::jthread{std::forward<F>(loop)};
  }

  /// Joins the loop's thread, unless called on it (a job or listener that shuts the scheduler
  /// down): the destructor joins it then.
  void join() {
    std::jthread loop;
    {
      std::lock_guard lock{mutex_};
      if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) {
        loop = std::move(thread_);
      }
    }
    if (loop.joinable()) {
      loop.join();
    }
  }

 private:
  // Guards thread_.
  std::mutex mutex_;
  std::jthread thread_;
};

}  // namespace apsched::detail
