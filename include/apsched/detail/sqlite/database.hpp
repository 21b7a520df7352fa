// SPDX-License-Identifier: MIT
// Database: an RAII SQLite connection configured for a durable job store, with a statement
// cache and IMMEDIATE transactions.
#pragma once

#include <apsched/detail/sqlite/busy.hpp>
#include <apsched/detail/sqlite/error.hpp>
#include <apsched/detail/sqlite/policies.hpp>
#include <apsched/detail/sqlite/statement.hpp>

#include <fmt/core.h>
#include <sqlite3.h>

#include <cassert>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace apsched::detail::sqlite {

/// How a database keeps the journal that makes its transactions atomic.
enum class Journal : std::uint8_t {
  wal,       ///< write-ahead log: readers never block the writer nor it them (the default)
  rollback,  ///< SQLite's classic rollback journal (journal_mode=DELETE)
};

/// How Database::open opens and configures a database.
///
/// Thread safety: not thread-safe (a plain value).
struct Options {
  /// Create the file when it does not exist; false: fail instead.
  bool create = true;
  /// Open the file for reading only (SQLITE_OPEN_READONLY; implies no `create`), leaving its
  /// journal mode and settings as they are: every write fails.
  bool read_only = false;
  Journal journal = Journal::wal;
  Synchronous synchronous = Synchronous::normal;
  /// How operations that find the database locked by another connection are retried.
  BusyPolicy busy;
  /// The most statements prepare_cached keeps; further SQL texts get one-off statements.
  std::size_t statement_cache_size = 64;
  /// The store the database belongs to, e.g. "SqliteJobStore" (a literal: it must outlive the
  /// Database). Its errors then read `<store> "<path>": <operation>: <SQLite's message>[;
  /// <cause>] (SQL: <sql>)`, the operation named by Database::operation (see
  /// durable::store_error_message). Empty: the layer's own messages, `<call>: "<sql or path>":
  /// <SQLite's message>`.
  std::string_view store;
};

class Database;
class Transaction;

/// A statement of the cache and whether a CachedStatement holds it now.
///
/// Thread safety: not thread-safe.
struct CacheEntry {
  Statement statement;
  bool in_use = false;
};

/// The state of an open connection, at a stable address so that statements may point into it.
///
/// Thread safety: not thread-safe.
struct Connection {
  Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() {
    // Finalise every statement before closing; sqlite3_close_v2 also copes with statements the
    // user still holds (it closes once the last one is finalised).
    begin.reset();
    commit.reset();
    cache.clear();
    sqlite3_close_v2(db);
  }

  // Hashes std::string and std::string_view alike, so the cache is searched without a copy.
  struct SqlHash {
    using is_transparent = void;
    // Not noexcept on purpose: libstdc++ then keeps each key's hash in its node, so a lookup
    // compares hashes instead of hashing every key it passes in the bucket chain.
    std::size_t operator()(std::string_view sql) const {
      return std::hash<std::string_view>{}(sql);
    }
  };

  sqlite3* db = nullptr;
  std::string path;
  // The path quoted, as errors show it, and what they name (Options::store).
  std::string shown_path;
  durable::ErrorLabel label;
  Options options;
  BusyContext busy;
  std::optional<Statement> begin;
  std::optional<Statement> commit;
  // The Transactions begun so far (Database::transactions_begun).
  std::uint64_t transactions = 0;
  std::unordered_map<std::string, CacheEntry, SqlHash, std::equal_to<>> cache;
};

/// A statement from Database::prepare_cached: while the handle lives, its statement is not
/// handed out again; when the handle is destroyed the statement is reset and its bindings are
/// cleared, ready for the next user. Use it like a pointer to Statement.
///
/// @pre The handle is destroyed before its Database.
///
/// Thread safety: not thread-safe.
class CachedStatement {
 public:
  CachedStatement(CachedStatement&& other) noexcept
      : entry_{std::exchange(other.entry_, nullptr)}, owned_{std::move(other.owned_)} {}
  CachedStatement& operator=(CachedStatement&&) = delete;
  CachedStatement(const CachedStatement&) = delete;
  CachedStatement& operator=(const CachedStatement&) = delete;
  ~CachedStatement() {
    if (entry_ != nullptr) {
      entry_->statement.reset();
      entry_->statement.clear_bindings();
      entry_->in_use = false;
    }
  }

  /// The statement.
  [[nodiscard]] Statement& operator*() const noexcept { return *get(); }
  /// The statement.
  [[nodiscard]] Statement* operator->() const noexcept { return get(); }

  /// Whether the statement belongs to the cache; false for a one-off statement, made when the
  /// cached one was in use already or the cache was full.
  [[nodiscard]] bool is_cached() const noexcept { return entry_ != nullptr; }

 private:
  friend class Database;

  explicit CachedStatement(CacheEntry& entry) noexcept : entry_{&entry} { entry.in_use = true; }
  explicit CachedStatement(Statement&& owned)
      : owned_{std::make_unique<Statement>(std::move(owned))} {}

  [[nodiscard]] Statement* get() const noexcept {
    return entry_ != nullptr ? &entry_->statement : owned_.get();
  }

  CacheEntry* entry_ = nullptr;
  // A one-off statement; on the heap so that a const handle still yields a mutable Statement.
  std::unique_ptr<Statement> owned_;
};

/// A connection to one SQLite database file, configured for a durable job store: WAL journal,
/// the chosen synchronous level, foreign keys on, extended result codes on, and busy handling
/// per a BusyPolicy instead of SQLite's busy timeout.
///
/// The connection is opened with SQLITE_OPEN_FULLMUTEX, so a misuse from two threads cannot
/// corrupt SQLite's own state; the cost, an uncontended mutex per call, is small next to the
/// disk. This class is not thread-safe nevertheless (its statement cache and jitter source are
/// unguarded): give each thread or scheduler its own Database, and serialise calls on one.
///
/// @code
/// auto db = Database::open("jobs.db");
/// db.transaction([&] {
///   auto insert = db.prepare_cached("INSERT INTO jobs (id) VALUES (?1)");
///   insert->bind(1, "nightly");
///   insert->execute();
/// });
/// @endcode
///
/// Thread safety: not thread-safe.
class Database {
 public:
  /// Opens (by default creating) the database at `path` and configures it: journal mode,
  /// synchronous level and foreign keys. A cheap check reads the schema, so a file that is not
  /// a database, or whose first page is corrupt, is refused here; integrity_check() checks the
  /// rest. ":memory:" opens a private in-memory database (its journal mode stays "memory").
  /// @throws SqliteError (a StoreError) naming "open", the path and SQLite's message, e.g.
  /// `open: "jobs.db": file is not a database`; with Options::store, the store's message, with
  /// what the file system tells of the cause: `SqliteJobStore "/srv/x/jobs.db": open: unable to
  /// open database file; directory "/srv/x" does not exist`
  [[nodiscard]] static Database open(const std::filesystem::path& path, Options options = {}) {
    auto connection = std::make_unique<Connection>();
    const std::u8string utf8 = path.u8string();
    connection->path.assign(utf8.begin(), utf8.end());
    if (!options.store.empty()) {
      connection->shown_path = fmt::format("\"{}\"", connection->path);
      // The Connection stays at its address: the views into it hold.
      connection->label = durable::ErrorLabel{.store = options.store,
                                              .database = connection->shown_path,
                                              .operation = "open",
                                              .step = {},
                                              .file = connection->path};
    }
    connection->busy.policy = options.busy;
    connection->options = std::move(options);
    const bool read_only = connection->options.read_only;
    int flags = (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) | SQLITE_OPEN_FULLMUTEX;
    if (connection->options.create && !read_only) {
      flags |= SQLITE_OPEN_CREATE;
    }
#ifdef SQLITE_OPEN_EXRESCODE
    flags |= SQLITE_OPEN_EXRESCODE;
#endif
    const int code = sqlite3_open_v2(connection->path.c_str(), &connection->db, flags, nullptr);
    // The handle is closed by ~Connection, also when opening failed.
    if (code != SQLITE_OK) {
      throw_last_error(open_site(*connection, {}), connection->db, code);
    }
    sqlite3_extended_result_codes(connection->db, 1);
    Database database{std::move(connection)};
    database.configure();
    database.state().label.operation = {};
    return database;
  }

  Database(Database&&) noexcept = default;
  Database& operator=(Database&&) noexcept = default;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database() = default;

  /// Prepares one SQL statement, retrying a busy database per the BusyPolicy.
  /// @throws SqliteError naming "prepare", the SQL and SQLite's message; also when `sql` holds
  /// more than one statement (use exec() for scripts)
  [[nodiscard]] Statement prepare(std::string_view sql) {
    return prepare_with(sql, 0, site("prepare", sql));
  }

  /// A prepared statement for `sql` from the connection's cache, prepared on first use: for
  /// statements run again and again with fixed SQL text. See CachedStatement.
  /// @throws SqliteError as prepare()
  [[nodiscard]] CachedStatement prepare_cached(std::string_view sql) {
    Connection& connection = state();
    if (const auto found = connection.cache.find(sql); found != connection.cache.end()) {
      if (!found->second.in_use) {
        return CachedStatement{found->second};
      }
      return CachedStatement{prepare(sql)};
    }
    Statement statement = prepare_with(sql, SQLITE_PREPARE_PERSISTENT, site("prepare", sql));
    if (connection.cache.size() >= connection.options.statement_cache_size) {
      return CachedStatement{std::move(statement)};
    }
    const auto [entry, inserted] =
        connection.cache.try_emplace(std::string{sql}, CacheEntry{std::move(statement)});
    assert(inserted);
    return CachedStatement{entry->second};
  }

  /// Runs every statement in `sql` (a script separated by semicolons) to completion, in order,
  /// each retried on a busy database as Statement::step() is. Statements already run stay run
  /// when a later one fails, unless the script runs inside a Transaction.
  /// @throws SqliteError naming "exec", the failing statement and SQLite's message
  void exec(std::string_view sql) {
    while (!sql.empty()) {
      const char* tail = nullptr;
      std::optional<Statement> statement = prepare_one(sql, 0, site("exec", sql), &tail);
      sql.remove_prefix(static_cast<std::size_t>(tail - sql.data()));
      if (!statement) {
        continue;
      }
      while (statement->step_at(statement->site("exec"))) {
      }
    }
  }

  /// Runs `body` inside a Transaction: commits when it returns, rolls back when it throws and
  /// rethrows. Transactions do not nest.
  /// @returns what `body` returns
  /// @throws SqliteError from BEGIN IMMEDIATE or COMMIT (see Transaction)
  /// @throws whatever `body` throws
  template <class F>
  std::invoke_result_t<F&> transaction(F&& body);

  /// Runs SQLite's full integrity check (PRAGMA integrity_check), which reads the whole file.
  /// @param max_errors the most problems reported
  /// @returns {"ok"} for a sound database, else one line per problem found; when the damage
  /// stops the check itself (SQLITE_CORRUPT), the lines so far and SQLite's message last
  /// @throws SqliteError if the check cannot run for another reason (busy, I/O error)
  [[nodiscard]] std::vector<std::string> integrity_check(int max_errors = 100) {
    Statement check = prepare(fmt::format("PRAGMA integrity_check({})", max_errors));
    std::vector<std::string> rows;
    try {
      while (check.step()) {
        rows.push_back(check.column_text(0));
      }
    } catch (const SqliteError& error) {
      if (error.primary_code() != SQLITE_CORRUPT && error.primary_code() != SQLITE_NOTADB) {
        throw;
      }
      rows.emplace_back(sqlite3_errstr(error.primary_code()));
    }
    return rows;
  }

  /// Whether a transaction is open on this connection.
  [[nodiscard]] bool in_transaction() const noexcept {
    return sqlite3_get_autocommit(handle()) == 0;
  }

  /// The rowid of the last row inserted on this connection.
  [[nodiscard]] std::int64_t last_insert_rowid() const noexcept {
    return sqlite3_last_insert_rowid(handle());
  }

  /// The rows changed by the last INSERT, UPDATE or DELETE on this connection.
  [[nodiscard]] std::int64_t changes() const noexcept { return sqlite3_changes64(handle()); }

  /// The rows changed by every INSERT, UPDATE or DELETE completed on this connection since it
  /// was opened, including those of triggers (sqlite3_total_changes64). It never decreases, not
  /// even when a rollback undoes changes.
  [[nodiscard]] std::int64_t total_changes() const noexcept {
    return sqlite3_total_changes64(handle());
  }

  /// The number of Transactions begun on this connection so far: while one is active, this
  /// number tells it from every other transaction of the connection.
  [[nodiscard]] std::uint64_t transactions_begun() const noexcept { return state().transactions; }

  /// The path the database was opened with, as UTF-8.
  [[nodiscard]] const std::string& path() const noexcept { return state().path; }

  /// The options the database was opened with.
  [[nodiscard]] const Options& options() const noexcept { return state().options; }

  /// The statements in the cache of prepare_cached.
  [[nodiscard]] std::size_t cached_statement_count() const noexcept { return state().cache.size(); }

  /// The underlying SQLite handle, for calls this class does not wrap.
  [[nodiscard]] sqlite3* handle() const noexcept { return state().db; }

  /// Names `operation` (a literal, in the user's terms: "add job") in the errors thrown while
  /// the returned scope lives, for a database opened with Options::store; an enclosing scope's
  /// name wins. Allocates nothing.
  /// @code
  /// const auto scope = db.operation("add job");
  /// @endcode
  [[nodiscard]] durable::OperationScope operation(std::string_view name) noexcept {
    return durable::OperationScope{&state().label, name};
  }

  /// What errors name: the store, the path and the operation running (empty store without
  /// Options::store).
  [[nodiscard]] const durable::ErrorLabel& error_label() const noexcept { return state().label; }

  /// The label, to name a step of the running operation (durable::StepScope).
  [[nodiscard]] durable::ErrorLabel& error_label() noexcept { return state().label; }

  /// The message of a StoreError about this database that SQLite did not report, such as a
  /// batch that failed partway: for a store's database, durable::store_error_message (`fallback`
  /// names the operation if none runs); else `"<path>": <problem>`.
  [[nodiscard]] std::string error_message(std::string_view problem,
                                          std::string_view fallback = "store") const {
    const Connection& connection = state();
    if (connection.label.for_store()) {
      return durable::store_error_message(connection.label, fallback, problem);
    }
    return fmt::format("\"{}\": {}", connection.path, problem);
  }

 private:
  friend class Transaction;

  explicit Database(std::unique_ptr<Connection> connection) noexcept
      : connection_{std::move(connection)} {}

  static CallSite open_site(const Connection& connection, std::string_view sql) noexcept {
    return CallSite{
        .call = "open", .sql = sql, .subject = connection.path, .label = &connection.label};
  }

  // Where a failure of `call` running `sql` comes from.
  [[nodiscard]] CallSite site(std::string_view call, std::string_view sql) const noexcept {
    return CallSite{.call = call, .sql = sql, .subject = {}, .label = &state().label};
  }

  [[nodiscard]] Connection& state() const noexcept {
    assert(connection_ && "use of a moved-from Database");
    return *connection_;
  }

  // The first statement of `sql`, or none when `sql` holds only whitespace and comments; `tail`
  // receives where the next statement starts.
  std::optional<Statement> prepare_one(std::string_view sql, unsigned flags, const CallSite& site,
                                       const char** tail) {
    Connection& connection = state();
    if (sql.size() > static_cast<std::size_t>(INT_MAX)) {
      throw_error(site, SQLITE_TOOBIG, "string or blob too big");
    }
    std::optional<Backoff> backoff;
    for (;;) {
      sqlite3_stmt* handle = nullptr;
      const int code = sqlite3_prepare_v3(connection.db, sql.data(), static_cast<int>(sql.size()),
                                          flags, &handle, tail);
      if (code == SQLITE_OK) {
        if (handle == nullptr) {
          return std::nullopt;
        }
        return Statement{handle, &connection.busy, &connection.label};
      }
      // Preparing reads the schema, which a connection rewriting it may hold locked.
      if (is_busy(code)) {
        if (!backoff) {
          backoff.emplace(connection.busy);
        }
        if (backoff->wait(site.call, sql)) {
          continue;
        }
      }
      throw_after_retries(site, connection.db, code, backoff);
    }
  }

  Statement prepare_with(std::string_view sql, unsigned flags, const CallSite& site) {
    const char* tail = nullptr;
    std::optional<Statement> statement = prepare_one(sql, flags, site, &tail);
    if (!statement) {
      throw_error(site, SQLITE_MISUSE, "no statement to prepare");
    }
    // SQLite prepares only the first statement of a script; refuse rather than drop the rest.
    // What follows may be comments and semicolons only; whatever else it holds, even a
    // statement that does not prepare, makes a script.
    std::string_view rest = sql.substr(static_cast<std::size_t>(tail - sql.data()));
    while (!rest.empty()) {
      const char* next = nullptr;
      bool more = false;
      try {
        more = prepare_one(rest, 0, site, &next).has_value();
      } catch (const SqliteError&) {
        more = true;
      }
      if (more) {
        throw_error(site, SQLITE_MISUSE, "holds more than one statement; use exec for scripts");
      }
      rest.remove_prefix(static_cast<std::size_t>(next - rest.data()));
    }
    return std::move(*statement);
  }

  // Runs `sql`, naming the open call and the path in errors, and returns the first column of its
  // first row, if any.
  std::optional<std::string> run_for_open(std::string_view sql) {
    const CallSite site = open_site(state(), sql);
    Statement statement = prepare_with(sql, 0, site);
    std::optional<std::string> first;
    while (statement.step_at(site)) {
      if (!first) {
        first = statement.column_text(0);
      }
    }
    return first;
  }

  void configure() {
    const Options& options = state().options;
    // Reads the header and the schema page: refuses non-databases and a corrupt first page.
    run_for_open("SELECT count(*) FROM sqlite_master");
    if (options.read_only) {
      return;  // the journal mode and settings are the writers' to choose
    }
    const std::string_view wanted = options.journal == Journal::wal ? "wal" : "delete";
    const std::optional<std::string> journal = run_for_open(
        options.journal == Journal::wal ? "PRAGMA journal_mode=WAL" : "PRAGMA journal_mode=DELETE");
    // SQLite reports the mode it kept when it cannot switch; in-memory databases keep "memory".
    if (journal != wanted && journal != "memory") {
      throw_error(
          open_site(state(), {}), SQLITE_ERROR,
          fmt::format("journal_mode stayed \"{}\", expected \"{}\"", journal.value_or(""), wanted));
    }
    switch (options.synchronous) {
      case Synchronous::normal:
        run_for_open("PRAGMA synchronous=NORMAL");
        break;
      case Synchronous::full:
        run_for_open("PRAGMA synchronous=FULL");
        break;
      case Synchronous::extra:
        run_for_open("PRAGMA synchronous=EXTRA");
        break;
    }
    run_for_open("PRAGMA foreign_keys=ON");
  }

  std::unique_ptr<Connection> connection_;
};

/// A write transaction, begun with BEGIN IMMEDIATE in the constructor: commit() makes it
/// permanent, and the destructor rolls back one not committed.
///
/// IMMEDIATE takes the write lock at the start, and BEGIN is retried per the BusyPolicy until
/// it gets it. A deferred BEGIN would take the lock only at the first write, and a busy result
/// there cannot be retried statement by statement (SQLite requires a rollback; in WAL mode the
/// transaction's snapshot may also be stale), so every statement inside would need its own
/// failure path. With IMMEDIATE, statements inside never meet a busy database in WAL mode.
///
/// @pre `db` outlives the transaction and is not moved from while it is active.
///
/// @code
/// Transaction tx{db};
/// db.exec("UPDATE jobs SET paused = 1");
/// tx.commit();
/// @endcode
///
/// Thread safety: not thread-safe.
class Transaction {
 public:
  /// Begins the transaction.
  /// @throws SqliteError naming "begin", the database path and SQLite's message: "database is
  /// locked" when another connection kept the write lock past the BusyPolicy's max_wait, or
  /// "cannot start a transaction within a transaction"
  explicit Transaction(Database& db) : db_{&db} {
    Connection& connection = db.state();
    if (!connection.begin) {
      connection.begin = db.prepare_with("BEGIN IMMEDIATE", SQLITE_PREPARE_PERSISTENT,
                                         site("begin", "BEGIN IMMEDIATE"));
    }
    connection.begin->step_at(site("begin", "BEGIN IMMEDIATE"));
    connection.begin->reset();
    ++connection.transactions;
  }

  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  /// Rolls back the transaction if it was neither committed nor rolled back.
  ~Transaction() {
    if (active_) {
      rollback_quietly();
    }
  }

  /// Commits the transaction; COMMIT is retried per the BusyPolicy (it can meet readers in
  /// rollback-journal mode).
  /// @pre the transaction is active (not committed nor rolled back)
  /// @throws SqliteError naming "commit", the path and SQLite's message; the transaction is
  /// then rolled back by the destructor, if SQLite has not done so already
  void commit() {
    assert(active_ && "commit of a transaction that is not active");
    Connection& connection = db_->state();
    if (!connection.commit) {
      connection.commit =
          db_->prepare_with("COMMIT", SQLITE_PREPARE_PERSISTENT, site("commit", "COMMIT"));
    }
    connection.commit->step_at(site("commit", "COMMIT"));
    connection.commit->reset();
    active_ = false;
  }

  /// Rolls the transaction back now.
  /// @pre the transaction is active
  void rollback() noexcept {
    assert(active_ && "rollback of a transaction that is not active");
    rollback_quietly();
  }

  /// Whether the transaction is neither committed nor rolled back.
  [[nodiscard]] bool active() const noexcept { return active_; }

 private:
  // The message names the path rather than the SQL, unless the database is a store's.
  [[nodiscard]] CallSite site(std::string_view call, std::string_view sql) const noexcept {
    const Connection& connection = db_->state();
    return CallSite{
        .call = call, .sql = sql, .subject = connection.path, .label = &connection.label};
  }

  void rollback_quietly() noexcept {
    active_ = false;
    sqlite3* handle = db_->handle();
    // A failed COMMIT or statement may have rolled back already; ROLLBACK would then fail.
    if (sqlite3_get_autocommit(handle) == 0) {
      // ROLLBACK needs no lock it does not hold, so it cannot be busy; nothing to retry.
      sqlite3_exec(handle, "ROLLBACK", nullptr, nullptr, nullptr);
    }
  }

  Database* db_;
  bool active_ = true;
};

template <class F>
std::invoke_result_t<F&> Database::transaction(F&& body) {
  Transaction tx{*this};
  if constexpr (std::is_void_v<std::invoke_result_t<F&>>) {
    std::invoke(body);
    tx.commit();
  } else {
    std::invoke_result_t<F&> result = std::invoke(body);
    tx.commit();
    return result;
  }
}

}  // namespace apsched::detail::sqlite
