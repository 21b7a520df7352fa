// SPDX-License-Identifier: MIT
// stop_on_signals: shuts a scheduler down when the process receives SIGINT, SIGTERM or the like.
#pragma once

// POSIX signals only; elsewhere this header declares nothing.
#if __has_include(<unistd.h>)

#include <apsched/config.hpp>
#include <apsched/error.hpp>
#include <apsched/event.hpp>
#include <apsched/scheduler.hpp>

#include <chrono>
#include <csignal>  // SIGINT, SIGTERM: what callers pass
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <vector>

namespace apsched {

class SignalGuard;

// Declared ahead of SignalGuard, which befriends it; documented at its definition below.
template <SchedulerMode M, Clock C, class StoreList, class ExecutorList>
[[nodiscard]] SignalGuard stop_on_signals(BasicScheduler<M, C, StoreList, ExecutorList>& scheduler,
                                          const std::vector<int>& signals, bool wait = true);

namespace detail {

class SignalState;
class SignalWatch;

/// What a SignalGuard does to the scheduler it guards, with the scheduler's type erased.
///
/// Thread safety: not thread-safe (a plain value).
struct SignalTarget {
  /// Shuts the scheduler down (ignoring that it is not running).
  std::function<void()> shutdown;
  /// Registers a listener for the event types of a mask; returns its id.
  std::function<ListenerId(std::function<void(const Event&)>, EventMask)> add_listener;
  /// Unregisters a listener.
  std::function<void(ListenerId)> remove_listener;
};

/// What stop_on_signals does for any scheduler: installs the handlers of `signals` and starts
/// the watcher that shuts `target` down (see stop_on_signals).
/// @throws as stop_on_signals.
[[nodiscard]] SignalGuard guard_signals(const std::vector<int>& signals, SignalTarget target);

}  // namespace detail

/// Keeps the signal handlers of `stop_on_signals` installed while it lives, and tells whether
/// and which signal arrived. Destruction restores the actions the handlers replaced, stops and
/// joins the watcher thread (first waiting for a shutdown it is running, so never destroy the
/// guard from a job) and closes the pipe. A moved-from guard owns nothing; calling its members
/// other than assignment and destruction is undefined.
///
/// @code
/// apsched::BackgroundScheduler scheduler;
/// const auto guard = apsched::stop_on_signals(scheduler, {SIGINT, SIGTERM});
/// scheduler.start();
/// const int signal = guard.wait();  // the scheduler is shut down, its running jobs finished
/// @endcode
///
/// Thread safety: thread-safe, except that destruction and assignment must not race with other
/// members.
class SignalGuard {
 public:
  /// Takes over `other`'s handlers and watcher; `other` owns nothing afterwards.
  SignalGuard(SignalGuard&& other) noexcept;
  /// Restores the handlers this guard installed, then takes over `other`'s.
  SignalGuard& operator=(SignalGuard&& other) noexcept;
  SignalGuard(const SignalGuard&) = delete;
  SignalGuard& operator=(const SignalGuard&) = delete;
  /// Restores the replaced actions, stops and joins the watcher (see the class).
  ~SignalGuard();

  /// The first signal that arrived, or empty while none has; set just before the guard asks
  /// the scheduler to shut down.
  [[nodiscard]] std::optional<int> signal() const;

  /// Blocks until a signal has arrived and the guard's call to the scheduler's `shutdown` has
  /// returned (with `wait`, after the running jobs finished), and returns the signal. If the
  /// scheduler was not running, or was already being shut down by another call, returns once
  /// the signal has been handled.
  /// @throws what the scheduler's `shutdown` threw, other than SchedulerNotRunningError.
  int wait() const;

  /// As `wait()`, for at most `timeout`; empty if it has not returned by then.
  /// @throws as `wait()`.
  template <class Rep, class Period>
  [[nodiscard]] std::optional<int> wait_for(
      const std::chrono::duration<Rep, Period>& timeout) const {
    return wait_for_nanoseconds(std::chrono::ceil<std::chrono::nanoseconds>(timeout));
  }

  /// A token whose stop is requested when the first signal arrives, before the scheduler is
  /// shut down: for the application's own loops, or jobs that should end early on a signal
  /// while the scheduler waits for them. Stop callbacks run on the guard's watcher thread and
  /// must not throw.
  [[nodiscard]] std::stop_token stop_token() const noexcept;

 private:
  friend SignalGuard detail::guard_signals(const std::vector<int>& signals,
                                           detail::SignalTarget target);

  explicit SignalGuard(std::unique_ptr<detail::SignalWatch> watch) noexcept;

  // wait_for, past the conversion of its duration.
  [[nodiscard]] std::optional<int> wait_for_nanoseconds(std::chrono::nanoseconds timeout) const;
  [[nodiscard]] const detail::SignalState& state() const noexcept;

  std::unique_ptr<detail::SignalWatch> watch_;
};

/// Shuts `scheduler` down, as `shutdown(wait)` does, when the process receives one of
/// `signals` (POSIX), for as long as the returned guard lives. With BlockingScheduler,
/// `start()` then returns; with BackgroundScheduler, the application learns of the signal
/// through the guard (`wait()`, `signal()`, `stop_token()`).
///
/// The handlers (installed with sigaction and SA_RESTART) do only async-signal-safe work: they
/// write the signal's number to a pipe, from which a watcher thread (a std::jthread) reads it
/// and calls `shutdown(wait)`. `wait` defaults to true, as a service usually wants running jobs
/// to finish. A BlockingScheduler's `start()` may return while those jobs still run;
/// `guard.wait()`, or destroying the guard, waits for them.
/// - A signal that arrives while the scheduler is stopped (before `start()`) is kept: the
///   scheduler is shut down as soon as it starts, and so is any later start while the guard
///   lives.
/// - From the first signal on, each of `signals` has its default action (SIG_DFL) again, so a
///   second Ctrl-C or SIGTERM ends a process whose shutdown hangs, as many services do.
/// - Handlers are process-wide: each signal may be watched by one guard at a time. The watcher
///   thread unblocks (pthread_sigmask) the signals it watches, so a program that blocks them in
///   its own threads before starting any still receives them, on the watcher.
///
/// @code
/// apsched::BlockingScheduler scheduler;
/// scheduler.add_job([] { sync_mailboxes(); }, apsched::IntervalTrigger{std::chrono::minutes{5}});
/// const auto guard = apsched::stop_on_signals(scheduler, {SIGINT, SIGTERM});
/// scheduler.start();  // returns after SIGINT or SIGTERM
/// @endcode
///
/// @pre `scheduler` outlives the guard.
/// @throws InvalidArgumentError for an empty list, a number out of range, SIGKILL or SIGSTOP
///         (which cannot be caught), a fault signal (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP,
///         SIGABRT) or a signal another live guard handles; Error when pipe2, fcntl or
///         sigaction fail, naming the call and the system's message. Nothing stays installed.
///
/// Thread safety: thread-safe.
template <SchedulerMode M, Clock C, class StoreList, class ExecutorList>
SignalGuard stop_on_signals(BasicScheduler<M, C, StoreList, ExecutorList>& scheduler,
                            const std::vector<int>& signals, bool wait) {
  return detail::guard_signals(
      signals,
      detail::SignalTarget{
          .shutdown =
              [&scheduler, wait] {
                try {
                  scheduler.shutdown(wait);
                } catch (const SchedulerNotRunningError&) {
                  // Not started yet (guard_signals' listener stops it when it starts), or
                  // already stopped.
                }
              },
          .add_listener =
              [&scheduler](std::function<void(const Event&)> listener, EventMask mask) {
                return scheduler.add_listener(std::move(listener), mask);
              },
          .remove_listener = [&scheduler](ListenerId id) { scheduler.remove_listener(id); }});
}

}  // namespace apsched

#if !APSCHED_SEPARATE_COMPILATION
#include <apsched/impl/signals.hpp>
#endif

#endif  // __has_include(<unistd.h>)
