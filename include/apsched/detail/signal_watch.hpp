// SPDX-License-Identifier: MIT
// The machinery of stop_on_signals: the process-wide handler that writes each signal to a
// guard's pipe, and the watcher thread that reads it and stops the scheduler.
#pragma once

// POSIX signals only; elsewhere this header declares nothing.
#if __has_include(<unistd.h>)

#include <apsched/clock.hpp>
#include <apsched/error.hpp>
#include <apsched/event.hpp>

#include <fcntl.h>
#include <fmt/core.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace apsched::detail {

/// One more than the highest signal number.
#if defined(NSIG)
inline constexpr int signal_limit = NSIG;
#else
inline constexpr int signal_limit = 65;
#endif
static_assert(signal_limit <= 256, "a signal number travels through the pipe as one byte");
static_assert(std::atomic<int>::is_always_lock_free, "the signal handler needs lock-free atomics");

/// Per signal number: 0 while no guard handles it; the write end of the handling guard's pipe
/// plus one; or minus that while the guard is being destroyed (its handler then only writes).
/// Process-wide, since signal dispositions are.
inline std::array<std::atomic<int>, signal_limit> signal_slots{};

/// How many calls of handle_stop_signal are running, so that a guard closes its pipe only
/// after the last one that may write to it has returned.
inline std::atomic<int> signal_handlers_running{0};

/// The handler of every signal a guard watches. Async-signal-safe: lock-free atomics,
/// sigaction and write only, and errno is preserved.
inline void handle_stop_signal(int signal) noexcept {
  const int saved_errno = errno;
  signal_handlers_running.fetch_add(1);
  const int slot = signal_slots[static_cast<std::size_t>(signal)].load();
  if (slot > 0) {
    // From the first signal on, every signal of this guard takes its default action again, so
    // a second one (Ctrl-C twice) ends a process whose shutdown hangs.
    for (int other = 1; other < signal_limit; ++other) {
      if (signal_slots[static_cast<std::size_t>(other)].load() == slot) {
        struct sigaction default_action {};
        default_action.sa_handler = SIG_DFL;
        sigemptyset(&default_action.sa_mask);
        ::sigaction(other, &default_action, nullptr);
      }
    }
  }
  if (slot != 0) {
    const int fd = (slot > 0 ? slot : -slot) - 1;
    const auto byte = static_cast<unsigned char>(signal);
    // A full pipe (EAGAIN) already holds a signal for the watcher, which acts on the first.
    const ssize_t written = ::write(fd, &byte, 1);
    static_cast<void>(written);
  }
  signal_handlers_running.fetch_sub(1);
  errno = saved_errno;
}

/// The symbolic name of `signal` ("SIGTERM"), or empty when it has none here.
///
/// Thread safety: thread-safe.
[[nodiscard]] inline std::string signal_name(int signal) {
  static constexpr std::array<std::pair<int, std::string_view>, 27> names{{
      {SIGHUP, "SIGHUP"},   {SIGINT, "SIGINT"},       {SIGQUIT, "SIGQUIT"}, {SIGILL, "SIGILL"},
      {SIGTRAP, "SIGTRAP"}, {SIGABRT, "SIGABRT"},     {SIGBUS, "SIGBUS"},   {SIGFPE, "SIGFPE"},
      {SIGKILL, "SIGKILL"}, {SIGUSR1, "SIGUSR1"},     {SIGSEGV, "SIGSEGV"}, {SIGUSR2, "SIGUSR2"},
      {SIGPIPE, "SIGPIPE"}, {SIGALRM, "SIGALRM"},     {SIGTERM, "SIGTERM"}, {SIGCHLD, "SIGCHLD"},
      {SIGCONT, "SIGCONT"}, {SIGSTOP, "SIGSTOP"},     {SIGTSTP, "SIGTSTP"}, {SIGTTIN, "SIGTTIN"},
      {SIGTTOU, "SIGTTOU"}, {SIGURG, "SIGURG"},       {SIGXCPU, "SIGXCPU"}, {SIGXFSZ, "SIGXFSZ"},
      {SIGPROF, "SIGPROF"}, {SIGVTALRM, "SIGVTALRM"}, {SIGSYS, "SIGSYS"},
  }};
  for (const auto& [number, name] : names) {
    if (number == signal) {
      return std::string{name};
    }
  }
#if defined(SIGRTMIN) && defined(SIGRTMAX)
  if (signal >= SIGRTMIN && signal <= SIGRTMAX) {
    return fmt::format("SIGRTMIN+{}", signal - SIGRTMIN);
  }
#endif
  return {};
}

/// "signal 15 (SIGTERM)", or "signal 40" for a signal without a name here.
///
/// Thread safety: thread-safe.
[[nodiscard]] inline std::string describe_signal(int signal) {
  const std::string name = signal_name(signal);
  return name.empty() ? fmt::format("signal {}", signal)
                      : fmt::format("signal {} ({})", signal, name);
}

/// `signals` without repetitions, in their order.
/// @throws InvalidArgumentError for an empty list, a number out of range, a signal that cannot
///         be caught (SIGKILL, SIGSTOP) or one that reports a fault of the program.
[[nodiscard]] inline std::vector<int> checked_signals(const std::vector<int>& signals) {
  if (signals.empty()) {
    throw InvalidArgumentError{
        "stop_on_signals: no signals given; expected at least one, such as SIGINT or SIGTERM"};
  }
  std::vector<int> checked;
  for (const int signal : signals) {
    if (signal < 1 || signal >= signal_limit) {
      throw InvalidArgumentError{fmt::format(
          "stop_on_signals: signal {} is out of range; expected a signal number from 1 to {}, "
          "such as SIGINT or SIGTERM",
          signal, signal_limit - 1)};
    }
    if (signal == SIGKILL || signal == SIGSTOP) {
      throw InvalidArgumentError{
          fmt::format("stop_on_signals: cannot catch {}; expected a signal a process may "
                      "handle, such as SIGINT or SIGTERM",
                      describe_signal(signal))};
    }
    // Returning from the handler of a fault re-runs the faulting instruction.
    if (signal == SIGSEGV || signal == SIGBUS || signal == SIGFPE || signal == SIGILL ||
        signal == SIGTRAP || signal == SIGABRT) {
      throw InvalidArgumentError{
          fmt::format("stop_on_signals: cannot stop on {}, which reports a fault of the "
                      "program; expected a signal a process may handle, such as SIGINT or "
                      "SIGTERM",
                      describe_signal(signal))};
    }
    if (std::find(checked.begin(), checked.end(), signal) == checked.end()) {
      checked.push_back(signal);
    }
  }
  return checked;
}

/// Throws Error naming the failed system call `call` and the text of its errno `error`.
[[noreturn]] inline void throw_signal_system_error(std::string_view call, int error) {
  throw Error{
      fmt::format("stop_on_signals: {} failed: {}", call, std::generic_category().message(error))};
}

/// What a guard's watcher thread, its scheduler listener and its members share: the signal
/// that arrived and whether the shutdown it asked for has returned.
///
/// Thread safety: thread-safe.
class SignalState {
 public:
  /// `stop` shuts the scheduler down; it is called on the watcher thread and by the
  /// scheduler_started listener, and must tolerate a scheduler that is not running.
  explicit SignalState(std::function<void()> stop) : stop_{std::move(stop)} {}

  /// The watcher read `signal` from the pipe: the first one requests stop, shuts the scheduler
  /// down and then wakes waiters; later ones change nothing.
  void arrived(int signal) {
    {
      std::lock_guard lock{mutex_};
      if (signal_ != 0) {
        return;
      }
      signal_ = signal;
    }
    stop_source_.request_stop();
    std::exception_ptr error;
    try {
      stop_();
    } catch (...) {
      error = std::current_exception();
    }
    {
      std::lock_guard lock{mutex_};
      done_ = true;
      error_ = error;
    }
    done_changed_.notify_all();
  }

  /// Shuts the scheduler down (for a start after the signal).
  void stop_scheduler() const { stop_(); }

  /// The first signal, or empty.
  [[nodiscard]] std::optional<int> signal() const {
    std::lock_guard lock{mutex_};
    return signal_ == 0 ? std::nullopt : std::optional<int>{signal_};
  }

  /// Blocks until the shutdown for the first signal returned; returns the signal.
  [[nodiscard]] int wait() const {
    std::unique_lock lock{mutex_};
    done_changed_.wait(lock, [this] { return done_; });
    return signal_or_rethrow_locked();
  }

  /// As wait(), for at most `timeout`.
  template <class Rep, class Period>
  [[nodiscard]] std::optional<int> wait_for(
      const std::chrono::duration<Rep, Period>& timeout) const {
    std::unique_lock lock{mutex_};
    if (!done_changed_.wait_for(lock, timeout, [this] { return done_; })) {
      return std::nullopt;
    }
    return signal_or_rethrow_locked();
  }

  /// Requested by the first signal.
  [[nodiscard]] std::stop_token stop_token() const noexcept { return stop_source_.get_token(); }

 private:
  int signal_or_rethrow_locked() const {
    if (error_) {
      std::rethrow_exception(error_);
    }
    return signal_;
  }

  const std::function<void()> stop_;
  std::stop_source stop_source_;
  // Guards signal_, done_ and error_; done_changed_ is notified when done_ is set.
  mutable std::mutex mutex_;
  mutable std::condition_variable done_changed_;
  int signal_ = 0;
  bool done_ = false;
  std::exception_ptr error_;
};

/// The machinery of one guard: the self-pipe, the claimed signal slots, the installed handlers
/// (with the actions they replaced) and the watcher thread. Everything is undone, in a safe
/// order, by the destructor, also after a constructor that threw halfway.
///
/// Thread safety: not thread-safe (owned by one SignalGuard).
class SignalWatch {
 public:
  /// Validates `signals`, opens the pipe, claims the slots, starts the watcher and installs
  /// the handlers.
  /// @throws InvalidArgumentError for bad signals or one another guard handles; Error when
  ///         pipe2, fcntl or sigaction fail.
  SignalWatch(const std::vector<int>& signals, std::shared_ptr<SignalState> state)
      : state_{std::move(state)} {
    const std::vector<int> checked = checked_signals(signals);
    try {
      open_pipe();
      for (const int signal : checked) {
        claim(signal);
      }
      sigset_t watched;
      sigemptyset(&watched);
      for (const int signal : checked) {
        sigaddset(&watched, signal);
      }
      watcher_ =
          std::jthread{[fd = read_fd_, shared = state_, watched](const std::stop_token& stop) {
            // A program that blocks the signals in its threads (so that none lands on a worker)
            // still receives them here.
            ::pthread_sigmask(SIG_UNBLOCK, &watched, nullptr);
            watch(stop, fd, *shared);
          }};
      for (const int signal : checked) {
        install(signal);
      }
    } catch (...) {
      close();
      throw;
    }
  }

  SignalWatch(const SignalWatch&) = delete;
  SignalWatch& operator=(const SignalWatch&) = delete;
  SignalWatch(SignalWatch&&) = delete;
  SignalWatch& operator=(SignalWatch&&) = delete;

  ~SignalWatch() { close(); }

  /// Sets what the destructor calls last (removing the scheduler listener).
  void on_close(std::function<void()> cleanup) { cleanup_ = std::move(cleanup); }

  [[nodiscard]] const SignalState& state() const noexcept { return *state_; }

 private:
  static void watch(const std::stop_token& stop, int fd, SignalState& state) {
    for (;;) {
      // Waits in poll, then reads what is there: ThreadSanitizer (GCC 12) delivers a signal to
      // a thread waiting in poll at once, but one that lands on a thread in read only when the
      // thread next enters an intercepted call, which a read restarted by SA_RESTART never does.
      pollfd readable{.fd = fd, .events = POLLIN, .revents = 0};
      if (::poll(&readable, 1, -1) < 0) {
        if (errno == EINTR) {
          continue;
        }
        return;
      }
      unsigned char byte = 0;
      const ssize_t count = ::read(fd, &byte, 1);
      if (count < 0 && errno == EINTR) {
        continue;
      }
      if (count != 1 || stop.stop_requested()) {
        return;
      }
      state.arrived(static_cast<int>(byte));
    }
  }

  void open_pipe() {
    std::array<int, 2> ends{-1, -1};
#if defined(__linux__) || defined(__FreeBSD__) || defined(__NetBSD__) || defined(__OpenBSD__)
    if (::pipe2(ends.data(), O_CLOEXEC) != 0) {
      throw_signal_system_error("pipe2", errno);
    }
    read_fd_ = ends[0];
    write_fd_ = ends[1];
#else
    // No pipe2 (macOS): a fork+exec in another thread may inherit the ends in between.
    if (::pipe(ends.data()) != 0) {
      throw_signal_system_error("pipe", errno);
    }
    read_fd_ = ends[0];
    write_fd_ = ends[1];
    if (::fcntl(read_fd_, F_SETFD, FD_CLOEXEC) != 0 ||
        ::fcntl(write_fd_, F_SETFD, FD_CLOEXEC) != 0) {
      throw_signal_system_error("fcntl", errno);
    }
#endif
    // A handler must never block: a full pipe makes its write fail instead.
    const int flags = ::fcntl(write_fd_, F_GETFL);
    if (flags < 0 || ::fcntl(write_fd_, F_SETFL, flags | O_NONBLOCK) != 0) {
      throw_signal_system_error("fcntl", errno);
    }
  }

  void claim(int signal) {
    int expected = 0;
    if (!signal_slots[static_cast<std::size_t>(signal)].compare_exchange_strong(expected,
                                                                                write_fd_ + 1)) {
      throw InvalidArgumentError{fmt::format(
          "stop_on_signals: {} is already handled by another live stop_on_signals guard; "
          "expected each signal in at most one guard at a time",
          describe_signal(signal))};
    }
    claimed_.push_back(signal);
  }

  void install(int signal) {
    struct sigaction action {};
    action.sa_handler = &handle_stop_signal;
    sigemptyset(&action.sa_mask);
    // SA_RESETHAND: the default action is back before the handler runs, so even a second
    // signal of the same kind that interrupts the handler takes it.
    // glibc's SA_RESETHAND is unsigned (0x80000000); sa_flags is int.
    action.sa_flags = static_cast<int>(SA_RESTART | SA_RESETHAND);
    struct sigaction previous {};
    if (::sigaction(signal, &action, &previous) != 0) {
      const int error = errno;
      throw_signal_system_error(fmt::format("sigaction for {}", describe_signal(signal)), error);
    }
    previous_.emplace_back(signal, previous);
  }

  static void wait_for_handlers() noexcept {
    while (signal_handlers_running.load() != 0) {
      std::this_thread::yield();
    }
  }

  // Restores the handlers first, so that a signal arriving while the watcher finishes a
  // shutdown gets the previous action, then stops the watcher and closes the pipe once no
  // handler can still be writing to it.
  void close() noexcept {
    for (const int signal : claimed_) {
      signal_slots[static_cast<std::size_t>(signal)].store(-(write_fd_ + 1));
    }
    // A handler that saw the slot positive may still reset actions to SIG_DFL.
    wait_for_handlers();
    for (const auto& [signal, previous] : previous_) {
      ::sigaction(signal, &previous, nullptr);
    }
    for (const int signal : claimed_) {
      signal_slots[static_cast<std::size_t>(signal)].store(0);
    }
    wait_for_handlers();
    if (watcher_.joinable()) {
      watcher_.request_stop();
      // Wakes the watcher without relying on end-of-file, which a forked child holding the
      // write end would prevent; a full pipe wakes it as well.
      const unsigned char wake = 0;
      const ssize_t written = ::write(write_fd_, &wake, 1);
      static_cast<void>(written);
      watcher_.join();
    }
    for (int* fd : {&write_fd_, &read_fd_}) {
      if (*fd >= 0) {
        ::close(*fd);
        *fd = -1;
      }
    }
    claimed_.clear();
    previous_.clear();
    if (cleanup_) {
      try {
        cleanup_();
      } catch (...) {  // NOLINT(bugprone-empty-catch): a destructor has nowhere to report it
      }
    }
  }

  std::shared_ptr<SignalState> state_;
  int read_fd_ = -1;
  int write_fd_ = -1;
  std::vector<int> claimed_;
  std::vector<std::pair<int, struct sigaction>> previous_;
  std::jthread watcher_;
  std::function<void()> cleanup_;
};

}  // namespace apsched::detail

#endif  // __has_include(<unistd.h>)
