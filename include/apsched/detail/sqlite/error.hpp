// SPDX-License-Identifier: MIT
// The errors of the SQLite layer: StoreError messages built from SQLite's own, with its code,
// naming the store, its file and its operation when the database belongs to a store.
#pragma once

#include <apsched/detail/abbreviate_sql.hpp>
#include <apsched/detail/durable/error_label.hpp>
#include <apsched/error.hpp>

#include <fmt/core.h>
#include <sqlite3.h>

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#include <cerrno>
#endif

namespace apsched::detail::sqlite {

/// A StoreError from a failing SQLite call. It keeps SQLite's extended result code, so the store
/// can tell a constraint violation (SQLITE_CONSTRAINT_PRIMARYKEY) from a locked database
/// (SQLITE_BUSY) or an I/O error without parsing the message.
///
/// Thread safety: const-thread-safe.
class SqliteError : public StoreError {
 public:
  /// @param message the whole message: `<call>: "<sql or path>": <SQLite's message>`, or for a
  /// store's database `<store> "<path>": <operation>: <SQLite's message>[; <cause>] (SQL: <sql>)`
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
  /// The connection's label: when it names a store, the message is the store's
  /// (durable::store_error_message: the store, the path, the operation, then SQLite's message,
  /// the SQL last), whatever `subject` says.
  const durable::ErrorLabel* label = nullptr;
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

/// What the file system tells about a failure SQLite reports as `code` (extended) on `file`,
/// beyond SQLite's message: "; " and the cause, or empty. For SQLITE_CANTOPEN, whether the
/// directory exists, is a directory and is writable, whether the file is readable and writable,
/// else the system error SQLite met (sqlite3_system_errno); for SQLITE_READONLY, whether the file
/// was moved or deleted while open, is read-only (SQLite then opened it for reading only) or its
/// directory is; for an I/O error, the system error. Called only when a store's database fails.
///
/// Thread safety: not thread-safe for the same `db` (SQLite's errno is per connection).
[[nodiscard]] inline std::string explain_failure(int code, sqlite3* db, std::string_view file) {
  namespace fs = std::filesystem;
  const int primary = code & 0xff;
  const int system = db != nullptr ? sqlite3_system_errno(db) : 0;
  const auto system_error = [](int number) {
    return std::error_code{number, std::generic_category()}.message();
  };
  if (primary == SQLITE_IOERR && system != 0) {
    return fmt::format("; {}", system_error(system));
  }
  if ((primary != SQLITE_CANTOPEN && primary != SQLITE_READONLY) || file.empty() ||
      file == ":memory:") {
    return {};
  }
  const fs::path path{std::u8string{file.begin(), file.end()}};
  const fs::path directory = path.has_parent_path() ? path.parent_path() : fs::path{"."};
  const std::u8string directory_utf8 = directory.u8string();
  const std::string shown{directory_utf8.begin(), directory_utf8.end()};
  std::error_code error;
  const fs::file_status status = fs::status(directory, error);
  if (primary == SQLITE_CANTOPEN) {
    if (status.type() == fs::file_type::not_found) {
      return fmt::format("; directory \"{}\" does not exist", shown);
    }
    if (fs::exists(status) && !fs::is_directory(status)) {
      return fmt::format("; \"{}\" is not a directory", shown);
    }
    if (fs::is_directory(fs::status(path, error))) {
      return "; the path is a directory";
    }
  }
#if defined(__unix__) || defined(__APPLE__)
  // access() checks the real user's rights; a store runs with its process's own.
  const bool file_exists = fs::exists(fs::status(path, error));
  if (primary == SQLITE_CANTOPEN) {
    if (::access(directory.c_str(), X_OK) != 0) {
      return fmt::format("; directory \"{}\" cannot be entered ({})", shown, system_error(errno));
    }
    if (file_exists && ::access(path.c_str(), R_OK | W_OK) != 0) {
      return fmt::format("; the file is not readable and writable ({})", system_error(errno));
    }
    if (!file_exists && ::access(directory.c_str(), W_OK) != 0) {
      return fmt::format("; directory \"{}\" is not writable, so the file cannot be created ({})",
                         shown, system_error(errno));
    }
  }
#endif
  if (primary == SQLITE_READONLY) {
    if (code == SQLITE_READONLY_DBMOVED) {
      return "; the file was moved or deleted while the store had it open";
    }
    if (db != nullptr && sqlite3_db_readonly(db, "main") == 1) {
      return "; the file is read-only, so SQLite opened it for reading only";
    }
#if defined(__unix__) || defined(__APPLE__)
    if (file_exists && ::access(path.c_str(), W_OK) != 0) {
      return "; the file is read-only";
    }
    if (code == SQLITE_READONLY_DIRECTORY || ::access(directory.c_str(), W_OK) != 0) {
      return fmt::format(
          "; directory \"{}\" is read-only, so SQLite cannot create the file's "
          "journal (-wal, -shm) beside it",
          shown);
    }
#endif
    return "; the file or its directory is read-only";
  }
  if (system != 0) {
    return fmt::format("; {}", system_error(system));
  }
  return {};
}

/// The message of a failure at `site`: `<call>: "<subject or abbreviated sql>": <message>`, or
/// when `site.label` names a store, durable::store_error_message (`<store> "<path>":
/// <operation>: <message><explanation> (SQL: <sql>)`).
///
/// Thread safety: thread-safe.
[[nodiscard]] inline std::string error_message(const CallSite& site, std::string_view message,
                                               std::string_view explanation = {}) {
  if (site.label != nullptr && site.label->for_store()) {
    return durable::store_error_message(*site.label, site.call,
                                        fmt::format("{}{}", message, explanation), site.sql);
  }
  const std::string subject = site.subject ? std::string{*site.subject} : abbreviate_sql(site.sql);
  return fmt::format("{}: \"{}\": {}", site.call, subject, message);
}

/// Throws SqliteError with the message error_message(site, message).
///
/// Thread safety: thread-safe.
[[noreturn]] inline void throw_error(const CallSite& site, int code, std::string_view message) {
  throw SqliteError{error_message(site, message), code};
}

/// Throws SqliteError for the last failure on `db` (sqlite3_errmsg; "out of memory" for a null
/// `db`), with `code` as the result code. For a store's database the message adds what the file
/// system tells (explain_failure).
///
/// Thread safety: not thread-safe for the same `db` (SQLite's error message is per connection).
[[noreturn]] inline void throw_last_error(const CallSite& site, sqlite3* db, int code) {
  if (site.label != nullptr && site.label->for_store()) {
    throw SqliteError{
        error_message(site, sqlite3_errmsg(db), explain_failure(code, db, site.label->file)), code};
  }
  throw_error(site, code, sqlite3_errmsg(db));
}

}  // namespace apsched::detail::sqlite
