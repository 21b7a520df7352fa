// SPDX-License-Identifier: MIT
// The policies of the SQLite layer that SqliteStoreOptions shows its users: how often SQLite waits
// for the disk, and how an operation on a locked database is retried. Without <sqlite3.h>.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string_view>

namespace apsched::detail::sqlite {

/// How often SQLite waits for the disk (PRAGMA synchronous).
enum class Synchronous : std::uint8_t {
  normal,  ///< in WAL mode, a power loss may lose the last commits but never corrupts (default)
  full,    ///< every commit is on disk when it returns
  extra,   ///< full, and the directory is synced too after a rollback journal is deleted
};

/// One retry of an operation that found the database locked, as BusyPolicy::on_retry sees it.
///
/// Thread safety: not thread-safe (a plain value; its views live as long as the call).
struct BusyRetry {
  /// The operation retried: "prepare", "step", "exec", "begin", "commit", "open".
  std::string_view call;
  /// The whole statement retried.
  std::string_view sql;
  /// 1 for the first retry of this operation, then 2, 3, ...
  int attempt = 0;
  /// Time since the operation first found the database locked.
  std::chrono::nanoseconds waited{};
  /// How long the layer sleeps after the hook returns and before it tries again.
  std::chrono::nanoseconds delay{};
};

/// How an operation that finds the database locked (SQLITE_BUSY) is retried: after
/// `initial_backoff`, then after twice as long each time up to `max_backoff`, until `max_wait`
/// has passed since the first busy result; then it fails with SQLite's "database is locked".
/// Each delay is shortened by a random jitter of up to a quarter, so connections that collided
/// once do not retry in lockstep.
///
/// The layer does its own waiting instead of relying on sqlite3_busy_timeout (which it leaves
/// off): one budget then covers prepare, step, BEGIN and COMMIT alike, the jitter and the
/// on_retry hook are possible, and statements that SQLite's busy handler never sees (a BUSY
/// while a WAL reader opens its snapshot) are retried too.
///
/// Thread safety: not thread-safe (a plain value).
struct BusyPolicy {
  /// The total time an operation may spend retrying; zero: fail on the first busy result.
  std::chrono::nanoseconds max_wait = std::chrono::seconds{5};
  /// The delay before the first retry; at least 1 microsecond is used.
  std::chrono::nanoseconds initial_backoff = std::chrono::milliseconds{1};
  /// The longest delay between two retries.
  std::chrono::nanoseconds max_backoff = std::chrono::milliseconds{50};
  /// Called before each retry's delay, on the thread running the operation (for tests and
  /// metrics). It may use other connections, e.g. commit the one holding the lock; it must not
  /// use the connection being retried. An exception from it ends the operation and propagates.
  std::function<void(const BusyRetry&)> on_retry;
};

}  // namespace apsched::detail::sqlite
