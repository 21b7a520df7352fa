// SPDX-License-Identifier: MIT
// stop_on_signals: real signals reach only forked children, which report through pipes and their
// exit status; the refused inputs are checked in the test process, where nothing is installed.
#include <apsched/background_scheduler.hpp>
#include <apsched/blocking_scheduler.hpp>
#include <apsched/error.hpp>
#include <apsched/job.hpp>
#include <apsched/signals.hpp>
#include <apsched/triggers/date.hpp>

#include "support/catch.hpp"
#include "support/processes.hpp"

#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <initializer_list>
#include <mutex>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace signals_test {

using namespace std::chrono_literals;
using apsched::test::spawn;
using apsched::test::wait_for;

namespace {

// A pipe between the test and a child: each side writes and reads single bytes.
class Pipe {
 public:
  Pipe() { REQUIRE(::pipe(ends_.data()) == 0); }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  ~Pipe() {
    for (const int end : ends_) {
      if (end >= 0) {
        ::close(end);
      }
    }
  }

  void send(char byte) const {
    if (::write(ends_[1], &byte, 1) != 1) {
      throw std::runtime_error{"a write to the test's pipe failed"};
    }
  }

  // In the test: the next byte, or 0 once the child has exited; fails only a hung child.
  char receive() const {
    pollfd readable{ends_[0], POLLIN, 0};
    const auto limit =
        std::chrono::duration_cast<std::chrono::milliseconds>(apsched::test::hang_limit);
    REQUIRE(::poll(&readable, 1, static_cast<int>(limit.count())) == 1);
    char byte = 0;
    return ::read(ends_[0], &byte, 1) == 1 ? byte : '\0';
  }

  // In a child: blocks until a byte arrives (never, for a pipe nobody writes to).
  void block() const {
    char byte = 0;
    static_cast<void>(::read(ends_[0], &byte, 1));
  }

  // In the test after the fork: its write end closed, a child that exits ends receive().
  void close_write_end() {
    ::close(ends_[1]);
    ends_[1] = -1;
  }

 private:
  std::array<int, 2> ends_{-1, -1};
};

// In a child: fails it (exit status 2, the reason on standard error) unless `ok`.
void expect(bool ok, std::string_view what) {
  if (!ok) {
    throw std::runtime_error{fmt::format("expected {}", what)};
  }
}

// In a child: blocks the calling job until stop is requested through `token`.
void wait_for_stop(const std::stop_token& token) {
  std::mutex mutex;
  std::condition_variable_any never_notified;
  std::unique_lock lock{mutex};
  never_notified.wait(lock, token, [] { return false; });
}

// In a child: a one-shot gate between its threads. Not std::latch: ThreadSanitizer (GCC 12)
// runs a signal handler only once the receiving thread enters a call it intercepts, and a
// thread blocked in std::latch's futex wait never does, so the signal would wait with it.
class Gate {
 public:
  void open() {
    {
      std::lock_guard lock{mutex_};
      open_ = true;
    }
    opened_.notify_all();
  }

  void wait() {
    std::unique_lock lock{mutex_};
    opened_.wait(lock, [this] { return open_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable opened_;
  bool open_ = false;
};

// The disposition of `signal` right now.
struct sigaction current_action(int signal) {
  struct sigaction action {};
  REQUIRE(::sigaction(signal, nullptr, &action) == 0);
  return action;
}

// Blocks `signals` in the calling thread, and so in the threads it starts afterwards.
void block(std::initializer_list<int> signals) {
  sigset_t set;
  sigemptyset(&set);
  for (const int signal : signals) {
    sigaddset(&set, signal);
  }
  expect(::pthread_sigmask(SIG_BLOCK, &set, nullptr) == 0, "pthread_sigmask to block");
}

// ThreadSanitizer (GCC 12) runs a signal handler only when the receiving thread passes an
// intercepted call, or at once if it waits in poll; a signal that lands on a thread waiting
// elsewhere (an idle pool worker in pthread_cond_wait) waits with it, and the child hangs (about
// one run in 150 under load). Under TSan, the children of the tests with a job running block the
// signals before any thread starts, so that only the guard's watcher, which unblocks them and
// waits in poll, receives them.
void block_under_thread_sanitizer(std::initializer_list<int> signals) {
#if defined(__SANITIZE_THREAD__)
  block(signals);
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
  block(signals);
#else
  static_cast<void>(signals);
#endif
#else
  static_cast<void>(signals);
#endif
}

bool handled_by_a_guard(int signal) {
  return current_action(signal).sa_handler == &apsched::detail::handle_stop_signal;
}

volatile std::sig_atomic_t own_handler_calls = 0;

void own_handler(int /*signal*/) { own_handler_calls = own_handler_calls + 1; }

}  // namespace

TEST_CASE(
    "a blocking scheduler's start returns on SIGTERM, and wait() returns after the running "
    "job finished",
    "[signals][process]") {
  Pipe ready;
  const pid_t child = spawn([&] {
    block_under_thread_sanitizer({SIGINT, SIGTERM});
    std::atomic<bool> finished{false};
    Gate release;
    apsched::BlockingScheduler scheduler;
    const auto guard = apsched::stop_on_signals(scheduler, {SIGINT, SIGTERM});
    scheduler.add_job(
        [&] {
          ready.send('r');
          // Still running when start() returns: the guard's shutdown waits for it.
          release.wait();
          finished = true;
        },
        apsched::DateTrigger{std::chrono::system_clock::now()});
    scheduler.start();
    expect(scheduler.state() == apsched::SchedulerState::stopped, "a stopped scheduler");
    expect(guard.stop_token().stop_requested(), "the guard's stop token to be requested");
    release.open();
    expect(guard.wait() == SIGTERM, "wait() to return SIGTERM");
    expect(finished, "the running job to have finished when wait() returns");
  });
  ready.close_write_end();
  REQUIRE(ready.receive() == 'r');
  REQUIRE(::kill(child, SIGTERM) == 0);
  CHECK(wait_for(child) == 0);
}

TEST_CASE("a blocking scheduler stops on SIGINT without waiting: running jobs are asked to stop",
          "[signals][process]") {
  Pipe ready;
  const pid_t child = spawn([&] {
    block_under_thread_sanitizer({SIGINT, SIGTERM});
    std::atomic<bool> asked_to_stop{false};
    {
      apsched::BlockingScheduler scheduler;
      const auto guard = apsched::stop_on_signals(scheduler, {SIGINT, SIGTERM}, false);
      scheduler.add_job(
          [&](const apsched::JobContext& context) {
            ready.send('r');
            wait_for_stop(context.stop_token);
            asked_to_stop = true;
          },
          apsched::DateTrigger{std::chrono::system_clock::now()});
      scheduler.start();
      expect(scheduler.state() == apsched::SchedulerState::stopped, "a stopped scheduler");
      expect(guard.wait() == SIGINT, "wait() to return SIGINT");
      expect(guard.signal() == SIGINT, "signal() to be SIGINT");
    }
    // The scheduler's destructor waited for the job.
    expect(asked_to_stop, "the running job to have been asked to stop");
  });
  ready.close_write_end();
  REQUIRE(ready.receive() == 'r');
  REQUIRE(::kill(child, SIGINT) == 0);
  CHECK(wait_for(child) == 0);
}

TEST_CASE("a background scheduler's program learns of SIGTERM from the guard",
          "[signals][process]") {
  Pipe ready;
  const pid_t child = spawn([&] {
    apsched::BackgroundScheduler scheduler;
    const auto guard = apsched::stop_on_signals(scheduler, {SIGTERM});
    expect(!guard.signal(), "no signal before one is sent");
    expect(!guard.wait_for(0ms), "wait_for to time out before a signal");
    expect(!guard.stop_token().stop_requested(), "no stop request before a signal");
    scheduler.add_job([&] { ready.send('r'); },
                      apsched::DateTrigger{std::chrono::system_clock::now()});
    scheduler.start();
    expect(guard.wait() == SIGTERM, "wait() to return SIGTERM");
    expect(guard.wait_for(0ms) == SIGTERM, "wait_for to return SIGTERM at once afterwards");
    expect(guard.stop_token().stop_requested(), "the guard's stop token to be requested");
    expect(scheduler.state() == apsched::SchedulerState::stopped, "a stopped scheduler");
  });
  ready.close_write_end();
  REQUIRE(ready.receive() == 'r');
  REQUIRE(::kill(child, SIGTERM) == 0);
  CHECK(wait_for(child) == 0);
}

TEST_CASE(
    "a program that blocks the signals in its threads still stops on them, on the "
    "guard's watcher",
    "[signals][process]") {
  Pipe ready;
  const pid_t child = spawn([&] {
    // Before any thread starts: the scheduler's threads and the pool's inherit the mask.
    block({SIGTERM});
    apsched::BackgroundScheduler scheduler;
    const auto guard = apsched::stop_on_signals(scheduler, {SIGTERM});
    scheduler.add_job([&] { ready.send('r'); },
                      apsched::DateTrigger{std::chrono::system_clock::now()});
    scheduler.start();
    expect(guard.wait() == SIGTERM, "wait() to return SIGTERM");
    expect(scheduler.state() == apsched::SchedulerState::stopped, "a stopped scheduler");
    sigset_t mask;
    expect(::pthread_sigmask(SIG_BLOCK, nullptr, &mask) == 0, "pthread_sigmask to read");
    expect(sigismember(&mask, SIGTERM) == 1, "SIGTERM still blocked in the program's thread");
  });
  ready.close_write_end();
  REQUIRE(ready.receive() == 'r');
  REQUIRE(::kill(child, SIGTERM) == 0);
  CHECK(wait_for(child) == 0);
}

TEST_CASE("a signal that arrives before start stops the scheduler as soon as it starts",
          "[signals][process]") {
  const pid_t child = spawn([] {
    apsched::BlockingScheduler scheduler;
    const auto guard = apsched::stop_on_signals(scheduler, {SIGTERM});
    std::atomic<bool> ran{false};
    scheduler.add_job([&] { ran = true; }, apsched::DateTrigger{std::chrono::system_clock::now()});
    // Delivered to this thread before raise returns; the watcher finds the scheduler stopped.
    expect(::raise(SIGTERM) == 0, "raise to succeed");
    expect(guard.wait() == SIGTERM, "wait() to return SIGTERM while stopped");
    scheduler.start();
    expect(scheduler.state() == apsched::SchedulerState::stopped, "a stopped scheduler");
    expect(!ran, "no job to run");
  });
  CHECK(wait_for(child) == 0);
}

TEST_CASE("a second SIGTERM during a shutdown that hangs ends the process", "[signals][process]") {
  Pipe ready;
  Pipe never;
  const pid_t child = spawn([&] {
    apsched::BlockingScheduler scheduler;
    const auto guard = apsched::stop_on_signals(scheduler, {SIGINT, SIGTERM});
    scheduler.add_job(
        [&] {
          ready.send('r');
          wait_for_stop(guard.stop_token());
          ready.send('s');
          never.block();  // the guard's shutdown waits for this job forever
        },
        apsched::DateTrigger{std::chrono::system_clock::now()});
    scheduler.start();
    static_cast<void>(guard.wait());
  });
  ready.close_write_end();
  REQUIRE(ready.receive() == 'r');
  REQUIRE(::kill(child, SIGTERM) == 0);
  REQUIRE(ready.receive() == 's');
  REQUIRE(::kill(child, SIGTERM) == 0);
  CHECK(wait_for(child) == 128 + SIGTERM);
}

TEST_CASE("destroying the guard restores the previous handlers and frees its signals",
          "[signals][process]") {
  const pid_t child = spawn([] {
    struct sigaction own {};
    own.sa_handler = &own_handler;
    sigemptyset(&own.sa_mask);
    expect(::sigaction(SIGTERM, &own, nullptr) == 0, "the own handler to be installed");
    expect(std::signal(SIGINT, SIG_IGN) != SIG_ERR, "SIGINT to be ignored");
    expect(std::signal(SIGUSR1, SIG_DFL) != SIG_ERR, "SIGUSR1 to have its default action");
    {
      apsched::BlockingScheduler scheduler;
      auto guard = apsched::stop_on_signals(scheduler, {SIGTERM, SIGINT, SIGUSR1, SIGTERM});
      expect(
          handled_by_a_guard(SIGTERM) && handled_by_a_guard(SIGINT) && handled_by_a_guard(SIGUSR1),
          "the guard's handlers while it lives");
      const auto moved = std::move(guard);
      expect(handled_by_a_guard(SIGTERM), "the handlers to stay installed in the moved guard");
      expect(::raise(SIGUSR1) == 0 && moved.wait() == SIGUSR1, "wait() to return SIGUSR1");
      expect(current_action(SIGTERM).sa_handler == SIG_DFL,
             "default actions for every signal of the guard after the first signal");
    }
    expect(current_action(SIGTERM).sa_handler == &own_handler, "the own SIGTERM handler back");
    expect(current_action(SIGINT).sa_handler == SIG_IGN, "SIGINT ignored again");
    expect(current_action(SIGUSR1).sa_handler == SIG_DFL, "SIGUSR1's default action back");
    expect(::raise(SIGTERM) == 0 && own_handler_calls == 1, "the own handler to run");
    apsched::BlockingScheduler scheduler;
    const auto again = apsched::stop_on_signals(scheduler, {SIGTERM, SIGINT, SIGUSR1});
    expect(handled_by_a_guard(SIGTERM), "a new guard to take the freed signals");
  });
  CHECK(wait_for(child) == 0);
}

TEST_CASE("a signal another guard handles is refused, leaving nothing of the refused guard",
          "[signals][process]") {
  const pid_t child = spawn([] {
    apsched::BlockingScheduler first;
    apsched::BlockingScheduler second;
    const auto guard = apsched::stop_on_signals(first, {SIGTERM});
    try {
      static_cast<void>(apsched::stop_on_signals(second, {SIGUSR1, SIGTERM}));
      expect(false, "an InvalidArgumentError");
    } catch (const apsched::InvalidArgumentError& error) {
      expect(error.what() == fmt::format("stop_on_signals: signal {} (SIGTERM) is already handled "
                                         "by another live stop_on_signals guard; expected each "
                                         "signal in at most one guard at a time",
                                         SIGTERM),
             fmt::format("the conflict named, not \"{}\"", error.what()));
    }
    expect(current_action(SIGUSR1).sa_handler == SIG_DFL, "SIGUSR1 left as it was");
    const auto other = apsched::stop_on_signals(second, {SIGUSR1});
    expect(handled_by_a_guard(SIGUSR1) && handled_by_a_guard(SIGTERM),
           "two guards on different signals");
  });
  CHECK(wait_for(child) == 0);
}

TEST_CASE("stop_on_signals refuses signals it cannot stop on, naming the call and the signal",
          "[signals]") {
  apsched::BlockingScheduler scheduler;
  const auto before = current_action(SIGTERM);
  const auto refused = [&](const std::vector<int>& signals) {
    static_cast<void>(apsched::stop_on_signals(scheduler, signals));
  };
  const std::string may_handle =
      "expected a signal a process may handle, such as SIGINT or SIGTERM";

  REQUIRE_THROWS_AS(refused({SIGKILL}), apsched::InvalidArgumentError);
  REQUIRE_THROWS_WITH(refused({SIGKILL}), fmt::format("stop_on_signals: cannot catch signal {} "
                                                      "(SIGKILL); {}",
                                                      SIGKILL, may_handle));
  REQUIRE_THROWS_WITH(
      refused({SIGTERM, SIGSTOP}),
      fmt::format("stop_on_signals: cannot catch signal {} (SIGSTOP); {}", SIGSTOP, may_handle));
  REQUIRE_THROWS_AS(refused({SIGSEGV}), apsched::InvalidArgumentError);
  REQUIRE_THROWS_WITH(refused({SIGSEGV}),
                      fmt::format("stop_on_signals: cannot stop on signal {} (SIGSEGV), which "
                                  "reports a fault of the program; {}",
                                  SIGSEGV, may_handle));
  for (const int out_of_range : {0, -1, apsched::detail::signal_limit, 1000}) {
    REQUIRE_THROWS_AS(refused({SIGTERM, out_of_range}), apsched::InvalidArgumentError);
    REQUIRE_THROWS_WITH(
        refused({SIGTERM, out_of_range}),
        fmt::format("stop_on_signals: signal {} is out of range; expected a signal number from 1 "
                    "to {}, such as SIGINT or SIGTERM",
                    out_of_range, apsched::detail::signal_limit - 1));
  }
  REQUIRE_THROWS_AS(refused({}), apsched::InvalidArgumentError);
  REQUIRE_THROWS_WITH(
      refused({}),
      "stop_on_signals: no signals given; expected at least one, such as SIGINT or SIGTERM");
  // Refused before anything was installed.
  CHECK(current_action(SIGTERM).sa_handler == before.sa_handler);
}

}  // namespace signals_test
