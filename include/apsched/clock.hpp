// SPDX-License-Identifier: MIT
// Time types, the Clock concept through which the scheduler reads time and waits, and the system
// clock model.
#pragma once

#include <chrono>
#include <concepts>
#include <condition_variable>
#include <mutex>

namespace apsched {

/// A UTC instant: a `std::chrono::system_clock` time point (nanoseconds with libstdc++ and
/// libc++, so at least microsecond precision).
using TimePoint = std::chrono::system_clock::time_point;

/// A length of time at the precision of TimePoint.
using Duration = TimePoint::duration;

/// The scheduler's source of time, and the way it sleeps until a time.
///
/// Requirements, for a `const C c`, `std::unique_lock<std::mutex> lock` that owns its mutex,
/// `std::condition_variable cv` and `TimePoint deadline`:
/// 1. `c.now()` returns the current instant as a TimePoint. It never blocks and never throws.
/// 2. `c.wait_until(lock, cv, deadline)` blocks the calling thread, releasing `lock` while it
///    blocks, and returns with `lock` held: no later than shortly after `now() >= deadline`, and
///    also when `cv` is notified. It may return early (spuriously); the caller re-checks. It must
///    not throw.
/// 3. `C` is copy-constructible; copies observe the same time (a clock is a handle).
///
/// The scheduler calls `now()` from its own thread and from threads that call its members, and
/// `wait_until` only from its loop thread.
template <class C>
concept Clock = std::copy_constructible<C> &&
    requires(const C& clock, std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
             TimePoint deadline) {
  { clock.now() } -> std::same_as<TimePoint>;
  clock.wait_until(lock, cv, deadline);
};

/// The real clock: `std::chrono::system_clock`, waited on in slices of at most one second of the
/// monotonic clock, so a step of the system clock (NTP, suspend and resume) is noticed within a
/// second: runs that became due start, and nothing runs twice.
///
/// Thread safety: thread-safe.
class SystemClock {
 public:
  /// The longest the clock sleeps before it reads the system clock again.
  static constexpr std::chrono::seconds max_slice{1};

  /// The current system time.
  [[nodiscard]] TimePoint now() const noexcept { return std::chrono::system_clock::now(); }

  /// Waits on `cv` until notified, until `deadline`, or for one slice, whichever is first.
  void wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                  TimePoint deadline) const {
    const TimePoint start = now();
    if (deadline <= start) {
      return;
    }
    const Duration left = deadline - start;
    // wait_for measures on the steady clock, so a system clock step cannot stretch the sleep.
    cv.wait_for(lock, left < max_slice ? left : Duration{max_slice});
  }
};

static_assert(Clock<SystemClock>);

/// Whether clock type `C` reads real time: true unless `C` declares `static constexpr bool
/// real_time = false` (as ManualClock does). The scheduler corrects only a real-time clock by
/// the offset of a store that follows a database's clock (PostgresJobStore).
template <class C>
inline constexpr bool follows_real_time = !requires {
  requires !C::real_time;
};

}  // namespace apsched
