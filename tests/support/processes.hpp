// SPDX-License-Identifier: MIT
// Child processes for the multi-process tests: forked from the single-threaded test process,
// waited for with a time-out that only a hung child reaches.
#pragma once

#include "support/catch.hpp"

#include <fmt/format.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <exception>
#include <functional>
#include <string>
#include <thread>

namespace apsched::test {

/// How long a child may take before the test calls it hung.
inline constexpr std::chrono::seconds hang_limit{120};

/// Forks a child running `body`; the child never returns into the test (it exits 0, or 2 when
/// `body` throws).
template <class F>
pid_t spawn(F body) {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int status = 0;
    try {
      body();
    } catch (const std::exception& error) {
      fmt::print(stderr, "child {}: {}\n", ::getpid(), error.what());
      status = 2;
    } catch (...) {
      status = 2;
    }
    std::_Exit(status);
  }
  return pid;
}

/// Waits for `pid` to exit on its own; kills it after hang_limit. Returns its exit status.
/// Before it kills a hung child, `explain()` (if given) says what the child waits for, e.g. the
/// state of the store the children share.
inline int wait_for(pid_t pid, const std::function<std::string()>& explain = {}) {
  const auto deadline = std::chrono::steady_clock::now() + hang_limit;
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      if (explain) {
        try {
          WARN("child " << pid << " still running after " << hang_limit.count() << " s; "
                        << explain());
        } catch (const std::exception& error) {
          WARN("child " << pid << " hung, and explaining it failed: " << error.what());
        }
      }
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      FAIL("a child process hung");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace apsched::test
