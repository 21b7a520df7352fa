// SPDX-License-Identifier: MIT
// Per-thread timer slack: how late the kernel may wake a sleeping thread.
#pragma once

#if defined(__linux__)
#include <sys/prctl.h>
#endif

namespace apsched::detail {

/// Lowers the calling thread's timer slack to 1 ns for its lifetime and restores it afterwards.
/// Linux lets a sleeping thread wake up to 50 us late by default, to batch wake-ups; the
/// scheduler's thread wants its deadlines kept. Elsewhere it does nothing.
class ScopedTimerSlack {
 public:
  explicit ScopedTimerSlack(bool enabled) noexcept {
#if defined(__linux__)
    if (enabled) {
      const int previous = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
      if (previous > 0 && prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0) == 0) {
        previous_ = static_cast<unsigned long>(previous);
      }
    }
#else
    static_cast<void>(enabled);
#endif
  }
  ScopedTimerSlack(const ScopedTimerSlack&) = delete;
  ScopedTimerSlack& operator=(const ScopedTimerSlack&) = delete;
  ~ScopedTimerSlack() {
#if defined(__linux__)
    if (previous_ != 0) {
      prctl(PR_SET_TIMERSLACK, previous_, 0, 0, 0);
    }
#endif
  }

 private:
  unsigned long previous_ = 0;
};

}  // namespace apsched::detail
