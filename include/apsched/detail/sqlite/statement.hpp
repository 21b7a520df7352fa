// SPDX-License-Identifier: MIT
// Statement: an RAII prepared SQLite statement with typed binding, busy-retrying step and typed
// column getters.
#pragma once

#include <apsched/detail/sqlite/busy.hpp>
#include <apsched/detail/sqlite/error.hpp>

#include <fmt/core.h>
#include <sqlite3.h>

#include <cassert>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace apsched::detail::sqlite {

class Database;
class Transaction;

/// Whether `sql` is a COMMIT (or its synonym END): the one statement of an open transaction that
/// may be retried after SQLITE_BUSY.
///
/// Thread safety: thread-safe.
[[nodiscard]] constexpr bool is_commit_sql(std::string_view sql) noexcept {
  std::size_t start = 0;
  while (start < sql.size() &&
         (sql[start] == ' ' || sql[start] == '\t' || sql[start] == '\n' || sql[start] == '\r')) {
    ++start;
  }
  std::size_t end = start;
  while (end < sql.size() &&
         ((sql[end] >= 'a' && sql[end] <= 'z') || (sql[end] >= 'A' && sql[end] <= 'Z'))) {
    ++end;
  }
  const std::string_view word = sql.substr(start, end - start);
  const auto equals_upper = [word](std::string_view upper) {
    if (word.size() != upper.size()) {
      return false;
    }
    for (std::size_t i = 0; i < word.size(); ++i) {
      const char c =
          word[i] >= 'a' && word[i] <= 'z' ? static_cast<char>(word[i] - 'a' + 'A') : word[i];
      if (c != upper[i]) {
        return false;
      }
    }
    return true;
  };
  return equals_upper("COMMIT") || equals_upper("END");
}

/// An integer type Statement binds and reads as an SQLite INTEGER: any integral type except
/// bool (stored as 0 or 1) and the character types (text, not numbers).
template <class T>
concept SqlInteger =
    std::integral<T> && !std::same_as<T, bool> && !std::same_as<T, char> &&
    !std::same_as<T, signed char> && !std::same_as<T, unsigned char> && !std::same_as<T, wchar_t> &&
    !std::same_as<T, char8_t> && !std::same_as<T, char16_t> && !std::same_as<T, char32_t>;

/// Whether T is a std::optional (Statement::column<T> reads NULL as an empty one).
template <class T>
inline constexpr bool is_optional = false;
template <class T>
inline constexpr bool is_optional<std::optional<T>> = true;

/// False for every T: the condition of a static_assert in a discarded `if constexpr` branch.
template <class T>
inline constexpr bool always_false = false;

/// A prepared statement, made by Database::prepare or Database::prepare_cached. Parameters are
/// numbered from 1 (`?1` or `?` in the SQL), columns from 0, as in SQLite's C API.
///
/// step() retries a busy database per the connection's BusyPolicy, but only where SQLite allows
/// it: outside an explicit transaction, or for COMMIT. Inside a transaction any other statement
/// fails at once with SQLITE_BUSY, since the transaction must then be rolled back; Transaction
/// begins with BEGIN IMMEDIATE so that its statements do not meet a busy database.
///
/// @code
/// auto insert = db.prepare("INSERT INTO jobs (id, next_run) VALUES (?1, ?2)");
/// insert.bind_all(std::string_view{"nightly"}, std::optional<std::int64_t>{});
/// insert.execute();
/// @endcode
///
/// @pre A Statement is destroyed before its Database is moved from or destroyed, or at least is
/// not used after that (destroying it later is harmless: SQLite closes the connection then).
///
/// Thread safety: not thread-safe; use it only on the thread that uses its Database.
class Statement {
 public:
  Statement(Statement&& other) noexcept
      : handle_{std::exchange(other.handle_, nullptr)},
        busy_{other.busy_},
        label_{other.label_},
        has_row_{std::exchange(other.has_row_, false)},
        is_commit_{other.is_commit_} {}
  Statement& operator=(Statement&& other) noexcept {
    if (this != &other) {
      sqlite3_finalize(handle_);
      handle_ = std::exchange(other.handle_, nullptr);
      busy_ = other.busy_;
      label_ = other.label_;
      has_row_ = std::exchange(other.has_row_, false);
      is_commit_ = other.is_commit_;
    }
    return *this;
  }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement() { sqlite3_finalize(handle_); }

  /// Binds an integer to parameter `index` (from 1).
  /// @throws SqliteError if `index` is out of range or `value` does not fit in 64 signed bits
  template <SqlInteger T>
  void bind(int index, T value) {
    if (!std::in_range<std::int64_t>(value)) {
      fail_bind(index, SQLITE_RANGE, fmt::format("{} does not fit in a 64-bit integer", value));
    }
    check_bind(index, sqlite3_bind_int64(handle_, index, static_cast<std::int64_t>(value)));
  }

  /// Binds a bool to parameter `index` as the integer 0 or 1.
  /// @throws SqliteError if `index` is out of range
  void bind(int index, bool value) { bind(index, std::int64_t{value ? 1 : 0}); }

  /// Binds a floating-point number to parameter `index`.
  /// @throws SqliteError if `index` is out of range
  void bind(int index, double value) {
    check_bind(index, sqlite3_bind_double(handle_, index, value));
  }

  /// Binds UTF-8 text to parameter `index`; SQLite copies it, so it need not outlive the call.
  /// An empty view binds the empty string, not NULL.
  /// @throws SqliteError if `index` is out of range or the text exceeds SQLite's length limit
  void bind(int index, std::string_view text) {
    const char* data = text.data() == nullptr ? "" : text.data();
    check_bind(index, sqlite3_bind_text64(handle_, index, data, text.size(), SQLITE_TRANSIENT,
                                          SQLITE_UTF8));
  }

  /// Binds UTF-8 text to parameter `index` without copying it: SQLite reads `text` in place, so
  /// it must stay alive and unchanged until the binding is replaced or cleared (for a statement
  /// from Database::prepare_cached: until its handle is destroyed). For large texts bound often.
  /// @throws SqliteError as bind(int, std::string_view)
  void bind_static(int index, std::string_view text) {
    const char* data = text.data() == nullptr ? "" : text.data();
    check_bind(index,
               sqlite3_bind_text64(handle_, index, data, text.size(), SQLITE_STATIC, SQLITE_UTF8));
  }

  /// Binds NUL-terminated UTF-8 text (this overload keeps a string literal from binding as bool).
  /// @throws SqliteError as bind(int, std::string_view)
  void bind(int index, const char* text) { bind(index, std::string_view{text}); }

  /// Binds a blob to parameter `index`; SQLite copies it. An empty span binds an empty blob, not
  /// NULL.
  /// @throws SqliteError if `index` is out of range or the blob exceeds SQLite's length limit
  void bind(int index, std::span<const std::byte> blob) {
    if (blob.empty()) {
      check_bind(index, sqlite3_bind_zeroblob(handle_, index, 0));
      return;
    }
    check_bind(index,
               sqlite3_bind_blob64(handle_, index, blob.data(), blob.size(), SQLITE_TRANSIENT));
  }

  /// Binds NULL to parameter `index`.
  /// @throws SqliteError if `index` is out of range
  void bind(int index, std::nullopt_t /*null*/) { bind_null(index); }

  /// Binds NULL to parameter `index`.
  /// @throws SqliteError if `index` is out of range
  void bind(int index, std::nullptr_t /*null*/) { bind_null(index); }

  /// Binds `*value` to parameter `index`, or NULL when `value` is empty.
  /// @throws SqliteError as the overload for T
  template <class T>
  void bind(int index, const std::optional<T>& value) {
    if (value) {
      bind(index, *value);
    } else {
      bind_null(index);
    }
  }

  /// Binds NULL to parameter `index`.
  /// @throws SqliteError if `index` is out of range
  void bind_null(int index) { check_bind(index, sqlite3_bind_null(handle_, index)); }

  /// Binds `values` to the parameters 1, 2, ... in order.
  /// @throws SqliteError as the bind overloads
  template <class... Args>
  void bind_all(const Args&... values) {
    int index = 0;
    (bind(++index, values), ...);
  }

  /// Sets every parameter back to NULL.
  void clear_bindings() noexcept { sqlite3_clear_bindings(handle_); }

  /// Runs the statement to its next row, retrying a busy database per the BusyPolicy (see the
  /// class doc for when). After an error the statement is reset, so it can be stepped again.
  /// @returns true when a row is available to the column getters, false when the statement is
  /// done (stepping again then starts over)
  /// @throws SqliteError naming "step", the SQL and SQLite's message (for a store's database:
  /// the store, the path, the operation, SQLite's message, then the SQL); for a database still
  /// locked after the policy's max_wait, "database is locked" and the retries made
  /// @throws whatever BusyPolicy::on_retry throws
  bool step() { return step_at(site("step")); }

  /// Runs the statement to completion, skipping any rows, then resets it (bindings stay).
  /// @returns the rows changed by the statement (sqlite3_changes64)
  /// @throws SqliteError as step()
  std::int64_t execute() {
    while (step()) {
    }
    const std::int64_t changes = sqlite3_changes64(sqlite3_db_handle(handle_));
    reset();
    return changes;
  }

  /// Rewinds the statement so the next step() runs it again from the start; the bindings stay.
  /// It also ends the read transaction an unfinished SELECT holds. Errors of the last step were
  /// reported by step() and are not repeated.
  void reset() noexcept {
    sqlite3_reset(handle_);
    has_row_ = false;
  }

  /// The number of columns in the result (0 for a statement that returns no data).
  [[nodiscard]] int column_count() const noexcept { return sqlite3_column_count(handle_); }

  /// The name of column `index` as the SQL declares it (`AS` name, else the column's name).
  [[nodiscard]] std::string_view column_name(int index) const noexcept {
    const char* name = sqlite3_column_name(handle_, index);
    return name == nullptr ? std::string_view{} : std::string_view{name};
  }

  /// The storage class of column `index` in the current row: SQLITE_INTEGER, SQLITE_FLOAT,
  /// SQLITE_TEXT, SQLITE_BLOB or SQLITE_NULL.
  /// @pre step() returned true and has not been followed by reset()
  [[nodiscard]] int column_type(int index) const noexcept {
    assert(has_row_);
    return sqlite3_column_type(handle_, index);
  }

  /// Whether column `index` of the current row is NULL.
  /// @pre as column_type
  [[nodiscard]] bool column_is_null(int index) const noexcept {
    return column_type(index) == SQLITE_NULL;
  }

  /// Column `index` of the current row as an integer (NULL reads as 0, text is converted).
  /// @pre as column_type
  [[nodiscard]] std::int64_t column_int64(int index) const noexcept {
    assert(has_row_);
    return sqlite3_column_int64(handle_, index);
  }

  /// Column `index` of the current row as a floating-point number (NULL reads as 0.0).
  /// @pre as column_type
  [[nodiscard]] double column_double(int index) const noexcept {
    assert(has_row_);
    return sqlite3_column_double(handle_, index);
  }

  /// Column `index` of the current row as UTF-8 text, valid until the next step(), reset() or
  /// getter call on the same column with another type. NULL reads as "".
  /// @pre as column_type
  [[nodiscard]] std::string_view column_text_view(int index) const noexcept {
    assert(has_row_);
    // sqlite3_column_text before sqlite3_column_bytes: the length is of the converted text.
    const unsigned char* text = sqlite3_column_text(handle_, index);
    const int size = sqlite3_column_bytes(handle_, index);
    if (text == nullptr) {
      return {};
    }
    return {reinterpret_cast<const char*>(text), static_cast<std::size_t>(size)};
  }

  /// Column `index` of the current row as UTF-8 text, copied. NULL reads as "".
  /// @pre as column_type
  [[nodiscard]] std::string column_text(int index) const {
    return std::string{column_text_view(index)};
  }

  /// Column `index` of the current row as a blob, valid as long as column_text_view's result.
  /// NULL and the empty blob read as an empty span.
  /// @pre as column_type
  [[nodiscard]] std::span<const std::byte> column_blob(int index) const noexcept {
    assert(has_row_);
    const void* data = sqlite3_column_blob(handle_, index);
    const int size = sqlite3_column_bytes(handle_, index);
    if (data == nullptr) {
      return {};
    }
    return {static_cast<const std::byte*>(data), static_cast<std::size_t>(size)};
  }

  /// Column `index` of the current row as `T`: an integer type, bool, float or double,
  /// std::string, std::string_view (valid as column_text_view's), std::vector<std::byte>, or
  /// std::optional of one of these (empty for NULL).
  /// @pre as column_type
  /// @throws SqliteError if an integer value does not fit in `T`
  template <class T>
  [[nodiscard]] T column(int index) const {
    if constexpr (is_optional<T>) {
      if (column_is_null(index)) {
        return std::nullopt;
      }
      return column<typename T::value_type>(index);
    } else if constexpr (std::same_as<T, bool>) {
      return column_int64(index) != 0;
    } else if constexpr (SqlInteger<T>) {
      const std::int64_t value = column_int64(index);
      if (!std::in_range<T>(value)) {
        throw_error(site("column"), SQLITE_RANGE,
                    fmt::format("column {} holds {}, out of the range of the requested type", index,
                                value));
      }
      return static_cast<T>(value);
    } else if constexpr (std::floating_point<T>) {
      return static_cast<T>(column_double(index));
    } else if constexpr (std::same_as<T, std::string>) {
      return column_text(index);
    } else if constexpr (std::same_as<T, std::string_view>) {
      return column_text_view(index);
    } else if constexpr (std::same_as<T, std::vector<std::byte>>) {
      const std::span<const std::byte> blob = column_blob(index);
      return std::vector<std::byte>(blob.begin(), blob.end());
    } else {
      static_assert(always_false<T>, "column<T>: T is not a type Statement reads");
    }
  }

  /// The SQL text the statement was prepared from.
  [[nodiscard]] std::string_view sql() const noexcept {
    const char* text = sqlite3_sql(handle_);
    return text == nullptr ? std::string_view{} : std::string_view{text};
  }

  /// The underlying SQLite handle, for calls this class does not wrap.
  [[nodiscard]] sqlite3_stmt* handle() const noexcept { return handle_; }

 private:
  friend class Database;
  friend class Transaction;

  // Adopts `handle`; `busy` and `label` are the connection's, which outlives the statement (see
  // @pre).
  Statement(sqlite3_stmt* handle, BusyContext* busy, const durable::ErrorLabel* label) noexcept
      : handle_{handle}, busy_{busy}, label_{label}, is_commit_{is_commit_sql(sql())} {}

  // Where a failure of `call` on this statement comes from.
  [[nodiscard]] CallSite site(std::string_view call) const noexcept {
    return CallSite{.call = call, .sql = sql(), .subject = {}, .label = label_};
  }

  // step() with the message naming `site` instead of "step" and the SQL.
  bool step_at(const CallSite& site) {
    assert(handle_ != nullptr);
    std::optional<Backoff> backoff;
    for (;;) {
      const int code = sqlite3_step(handle_);
      if (code == SQLITE_ROW) {
        has_row_ = true;
        return true;
      }
      if (code == SQLITE_DONE) {
        has_row_ = false;
        return false;
      }
      if (is_busy(code) && may_retry()) {
        if (!backoff) {
          backoff.emplace(*busy_);
        }
        bool retry = false;
        try {
          retry = backoff->wait(site.call, sql());
        } catch (...) {
          reset();
          throw;
        }
        if (retry) {
          reset();
          continue;
        }
      }
      sqlite3* db = sqlite3_db_handle(handle_);
      // Reset only after building the message: the reset may replace the connection's error.
      try {
        throw_after_retries(site, db, code, backoff);
      } catch (...) {
        reset();
        throw;
      }
    }
  }

  // SQLite allows a retry after SQLITE_BUSY outside an explicit transaction, and for COMMIT; a
  // statement that has produced rows must not start over either.
  [[nodiscard]] bool may_retry() const noexcept {
    return busy_ != nullptr && !has_row_ &&
           (is_commit_ || sqlite3_get_autocommit(sqlite3_db_handle(handle_)) != 0);
  }

  void check_bind(int index, int code) {
    if (code != SQLITE_OK) {
      fail_bind(index, code, sqlite3_errmsg(sqlite3_db_handle(handle_)));
    }
  }

  [[noreturn]] void fail_bind(int index, int code, std::string_view message) const {
    if (label_ != nullptr && label_->for_store()) {
      throw SqliteError{
          durable::store_error_message(*label_, "bind",
                                       fmt::format("parameter {}: {}", index, message), sql()),
          code};
    }
    throw SqliteError{
        fmt::format("bind: parameter {} of \"{}\": {}", index, abbreviate_sql(sql()), message),
        code};
  }

  sqlite3_stmt* handle_;
  BusyContext* busy_;
  // Names the store, file and operation in errors (Connection::label).
  const durable::ErrorLabel* label_;
  bool has_row_ = false;
  bool is_commit_ = false;
};

}  // namespace apsched::detail::sqlite
