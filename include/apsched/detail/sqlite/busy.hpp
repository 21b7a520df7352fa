// SPDX-License-Identifier: MIT
// The busy retries of the SQLite layer: how an operation on a locked database waits between its
// retries, under a BusyPolicy (detail/sqlite/policies.hpp).
#pragma once

#include <apsched/detail/hash.hpp>
#include <apsched/detail/sqlite/error.hpp>
#include <apsched/detail/sqlite/policies.hpp>

#include <fmt/core.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string_view>
#include <thread>

namespace apsched::detail::sqlite {

/// A connection's busy policy and the random source of its jitter; its statements point to it.
///
/// Thread safety: not thread-safe.
struct BusyContext {
  BusyPolicy policy;
  SplitMix64 random{std::random_device{}()};
};

/// The retries of one operation under a BusyPolicy: create one when the operation first finds
/// the database locked, and call wait() after each busy result.
///
/// Thread safety: not thread-safe.
class Backoff {
 public:
  /// @pre `context` outlives this object.
  explicit Backoff(BusyContext& context) noexcept
      : context_{&context}, backoff_{std::max(context.policy.initial_backoff, shortest)} {}

  /// The delay before the next retry, then doubles the backoff up to max_backoff. Does not sleep.
  [[nodiscard]] std::chrono::nanoseconds next_delay() noexcept {
    const std::chrono::nanoseconds cap = std::max(context_->policy.max_backoff, shortest);
    const std::chrono::nanoseconds current = std::min(backoff_, cap);
    backoff_ = current < cap / 2 ? current * 2 : cap;
    const auto spread = static_cast<std::uint64_t>(current.count() / 4);
    const std::uint64_t jitter = spread == 0 ? 0 : context_->random() % (spread + 1);
    return current - std::chrono::nanoseconds{static_cast<std::int64_t>(jitter)};
  }

  /// After a busy result: when the budget allows another attempt, calls on_retry, sleeps for the
  /// next delay (cut to what is left of the budget) and returns true; otherwise returns false.
  /// @throws whatever on_retry throws
  [[nodiscard]] bool wait(std::string_view call, std::string_view sql) {
    const auto now = std::chrono::steady_clock::now();
    if (!first_busy_) {
      first_busy_ = now;
    }
    const auto waited = std::chrono::duration_cast<std::chrono::nanoseconds>(now - *first_busy_);
    const std::chrono::nanoseconds budget = context_->policy.max_wait;
    if (waited >= budget) {
      return false;
    }
    const std::chrono::nanoseconds delay = std::min(next_delay(), budget - waited);
    ++attempts_;
    if (context_->policy.on_retry) {
      context_->policy.on_retry(BusyRetry{call, sql, attempts_, waited, delay});
    }
    std::this_thread::sleep_for(delay);
    return true;
  }

  /// The retries made so far.
  [[nodiscard]] int attempts() const noexcept { return attempts_; }

  /// Time since the first busy result (zero before it).
  [[nodiscard]] std::chrono::nanoseconds waited() const noexcept {
    if (!first_busy_) {
      return {};
    }
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() -
                                                                *first_busy_);
  }

 private:
  // A zero backoff would spin on the lock; this is the floor.
  static constexpr std::chrono::nanoseconds shortest = std::chrono::microseconds{1};

  BusyContext* context_;
  std::chrono::nanoseconds backoff_;
  std::optional<std::chrono::steady_clock::time_point> first_busy_;
  int attempts_ = 0;
};

/// Throws SqliteError for the last failure on `db`, as throw_last_error does, adding how often
/// and how long the operation was retried when `backoff` made any retries:
/// `step: "INSERT INTO t VALUES (?1)": database is locked (after 6 retries in 50 ms)`.
///
/// Thread safety: not thread-safe for the same `db`.
[[noreturn]] inline void throw_after_retries(const CallSite& site, sqlite3* db, int code,
                                             const std::optional<Backoff>& backoff) {
  if (!backoff || backoff->attempts() == 0) {
    throw_last_error(site, db, code);
  }
  const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(backoff->waited());
  throw_error(site, code,
              fmt::format("{} (after {} retries in {} ms)", sqlite3_errmsg(db), backoff->attempts(),
                          waited.count()));
}

}  // namespace apsched::detail::sqlite
