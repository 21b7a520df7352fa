// SPDX-License-Identifier: MIT
// The errors of the SQLite layer: StoreError messages built from SQLite's own, with its code.
#pragma once

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

/// `sql` shortened for a message: runs of whitespace become one space, the ends are trimmed,
/// and text past `max_size` bytes is cut (at a UTF-8 character boundary) and ends in "...".
///
/// Thread safety: thread-safe.
[[nodiscard]] inline std::string abbreviate_sql(std::string_view sql, std::size_t max_size = 60) {
  std::string result;
  result.reserve(sql.size() < max_size + 3 ? sql.size() : max_size + 3);
  bool pending_space = false;
  for (const char c : sql) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
      pending_space = !result.empty();
      continue;
    }
    if (pending_space) {
      result.push_back(' ');
      pending_space = false;
    }
    result.push_back(c);
  }
  if (result.size() > max_size) {
    std::size_t cut = max_size;
    // Never split a UTF-8 sequence: back up over continuation bytes (10xxxxxx).
    while (cut > 0 && (static_cast<unsigned char>(result[cut]) & 0xC0U) == 0x80U) {
      --cut;
    }
    result.resize(cut);
    result += "...";
  }
  return result;
}

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
