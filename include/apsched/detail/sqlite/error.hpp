// SPDX-License-Identifier: MIT
// The errors of the SQLite layer: StoreError messages built from SQLite's own, with its code.
#pragma once

#include <apsched/detail/abbreviate_sql.hpp>
#include <apsched/error.hpp>

#include <fmt/format.h>
#include <sqlite3.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace apsched::detail::sqlite {

/// A StoreError from a failing SQLite call. It keeps SQLite's extended result code, so the store
/// can tell a constraint violation (SQLITE_CONSTRAINT_PRIMARYKEY) from a locked database
/// (SQLITE_BUSY) or an I/O error without parsing the message.
///
/// Thread safety: const-thread-safe.
class SqliteError : public StoreError {
 public:
  /// @param message the whole message, `<call>: "<sql or path>": <SQLite's message>`
  /// @param code SQLite's extended result code
  SqliteError(const std::string& message, int code) : StoreError{message}, code_{code} {}

  /// SQLite's extended result code, e.g. SQLITE_BUSY or SQLITE_CONSTRAINT_UNIQUE.
  [[nodiscard]] int code() const noexcept { return code_; }

  /// The primary result code: code() without its extended bits, e.g. SQLITE_CONSTRAINT.
  [[nodiscard]] int primary_code() const noexcept { return code_ & 0xff; }

 private:
  int code_;
};

/// Where a failing SQLite call came from, for its message.
///
/// Thread safety: not thread-safe (a plain value).
struct CallSite {
  /// The operation: "open", "prepare", "step", "exec", "begin", "commit", ...
  std::string_view call;
  /// The statement, if any: the message shows it abbreviated unless `subject` is set.
  std::string_view sql;
  /// What the message names instead of the SQL, such as the database path.
  std::optional<std::string_view> subject;
};

/// See apsched::detail::abbreviate_sql (shared with the PostgreSQL part).
using detail::abbreviate_sql;

/// Whether `code` (primary or extended) means that another connection holds a lock that waiting
/// may release: SQLITE_BUSY in all its variants, and SQLITE_LOCKED_SHAREDCACHE. Plain
/// SQLITE_LOCKED is a conflict inside one connection (a table dropped while a statement reads
/// it) that no amount of waiting resolves, so it is not retried.
///
/// Thread safety: thread-safe.
[[nodiscard]] constexpr bool is_busy(int code) noexcept {
  return (code & 0xff) == SQLITE_BUSY || code == SQLITE_LOCKED_SHAREDCACHE;
}

/// Throws SqliteError with the message `<call>: "<subject or abbreviated sql>": <message>`.
///
/// Thread safety: thread-safe.
[[noreturn]] inline void throw_error(const CallSite& site, int code, std::string_view message) {
  const std::string subject = site.subject ? std::string{*site.subject} : abbreviate_sql(site.sql);
  throw SqliteError{fmt::format("{}: \"{}\": {}", site.call, subject, message), code};
}

/// Throws SqliteError for the last failure on `db` (sqlite3_errmsg; "out of memory" for a null
/// `db`), with `code` as the result code.
///
/// Thread safety: not thread-safe for the same `db` (SQLite's error message is per connection).
[[noreturn]] inline void throw_last_error(const CallSite& site, sqlite3* db, int code) {
  throw_error(site, code, sqlite3_errmsg(db));
}

}  // namespace apsched::detail::sqlite
