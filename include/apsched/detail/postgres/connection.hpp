// SPDX-License-Identifier: MIT
// The libpq layer of the PostgreSQL part: a connection with parameterized queries, errors that
// carry the server's SQLSTATE and whether the connection was lost, reconnection, and
// LISTEN/NOTIFY.
#pragma once

#include <apsched/detail/abbreviate_sql.hpp>
#include <apsched/detail/durable/error_label.hpp>
#include <apsched/error.hpp>

#include <fmt/core.h>
#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace apsched::detail::postgres {

/// A StoreError from a failing libpq call or statement. It keeps the server's SQLSTATE (empty
/// when the call failed before the server answered) and whether the connection was lost, so the
/// store can tell a lost connection (reconnect and retry) from a statement error.
///
/// Thread safety: const-thread-safe.
class PgError : public StoreError {
 public:
  /// @param message the whole message, `<call>: "<sql or server>": <libpq's message>`, or for a
  /// store's connection `<store> database "<name>" (user "<user>", server <host>:<port>):
  /// <operation>: <the server's message> (SQLSTATE <code>) (SQL: <sql>)`
  /// @param sqlstate the five-character SQLSTATE, or empty
  /// @param connection_lost whether the connection was unusable after the failure
  PgError(const std::string& message, std::string sqlstate, bool connection_lost)
      : StoreError{message}, sqlstate_{std::move(sqlstate)}, connection_lost_{connection_lost} {}

  /// The SQLSTATE, e.g. "23505" (unique violation), or empty.
  [[nodiscard]] const std::string& sqlstate() const noexcept { return sqlstate_; }

  /// Whether the connection broke (the server went away, the socket closed, or the server ended
  /// the session): reconnecting may help.
  [[nodiscard]] bool connection_lost() const noexcept { return connection_lost_; }

  /// Whether trying again (after reconnecting, if the connection was lost) may succeed: a lost
  /// connection, a server starting up or shutting down (class 57P), a serialization failure or
  /// deadlock (40001, 40P01).
  [[nodiscard]] bool transient() const noexcept {
    return connection_lost_ || sqlstate_.starts_with("08") || sqlstate_.starts_with("57P") ||
           sqlstate_ == "40001" || sqlstate_ == "40P01";
  }

 private:
  std::string sqlstate_;
  bool connection_lost_;
};

/// libpq's message without its trailing newline, or `fallback` when it is empty.
///
/// Thread safety: thread-safe.
[[nodiscard]] inline std::string trim_message(const char* message, std::string_view fallback) {
  std::string_view text = message == nullptr ? std::string_view{} : std::string_view{message};
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
    text.remove_suffix(1);
  }
  return text.empty() ? std::string{fallback} : std::string{text};
}

/// trim_message on one line: each run of whitespace (libpq's messages span lines, indented with
/// tabs) becomes one space.
///
/// Thread safety: thread-safe.
[[nodiscard]] inline std::string one_line_message(const char* message, std::string_view fallback) {
  const std::string text = trim_message(message, fallback);
  std::string result;
  result.reserve(text.size());
  bool space = false;
  for (const char c : text) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      space = !result.empty();
      continue;
    }
    if (space) {
      result.push_back(' ');
      space = false;
    }
    result.push_back(c);
  }
  return result;
}

/// The rows (or the command status) of one statement.
///
/// Thread safety: const-thread-safe.
class Result {
 public:
  /// @param label the label of the connection the result came from, for the messages of
  /// errors: it must outlive the result (null: the layer's own messages)
  explicit Result(PGresult* result, const durable::ErrorLabel* label = nullptr) noexcept
      : result_{result}, label_{label} {}

  /// The number of rows.
  [[nodiscard]] int rows() const noexcept { return PQntuples(result_.get()); }
  /// The number of columns.
  [[nodiscard]] int columns() const noexcept { return PQnfields(result_.get()); }

  /// Whether the value in row `row`, column `column` is NULL.
  /// @pre row < rows(), column < the number of columns
  [[nodiscard]] bool is_null(int row, int column) const noexcept {
    return PQgetisnull(result_.get(), row, column) != 0;
  }

  /// The value in row `row`, column `column` as text ("" for NULL); valid while the Result is.
  /// @pre row < rows(), column < the number of columns
  [[nodiscard]] std::string_view text(int row, int column) const noexcept {
    return {PQgetvalue(result_.get(), row, column),
            static_cast<std::size_t>(PQgetlength(result_.get(), row, column))};
  }

  /// The value in row `row`, column `column` as a 64-bit integer.
  /// @throws PgError if it is NULL or not an integer
  [[nodiscard]] std::int64_t int64(int row, int column) const {
    const std::string_view value = text(row, column);
    std::int64_t number = 0;
    const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), number);
    if (is_null(row, column) || error != std::errc{} || end != value.data() + value.size()) {
      const std::string problem =
          fmt::format("row {} column {} holds \"{}\"{}; expected an integer", row, column, value,
                      is_null(row, column) ? " (NULL)" : "");
      if (label_ != nullptr && label_->for_store()) {
        throw PgError{durable::store_error_message(*label_, "read", problem), "", false};
      }
      throw PgError{fmt::format("Result::int64: {}", problem), "", false};
    }
    return number;
  }

  /// The rows an INSERT, UPDATE, DELETE (or other command) changed; 0 for others.
  [[nodiscard]] std::int64_t affected() const noexcept {
    const char* count = PQcmdTuples(result_.get());
    std::int64_t number = 0;
    if (count != nullptr) {
      std::from_chars(count, count + std::char_traits<char>::length(count), number);
    }
    return number;
  }

 private:
  struct Clear {
    void operator()(PGresult* result) const noexcept { PQclear(result); }
  };
  std::unique_ptr<PGresult, Clear> result_;
  const durable::ErrorLabel* label_;
};

/// A notification received on a channel the connection listens to.
///
/// Thread safety: not thread-safe (a plain value).
struct Notification {
  std::string channel;
  std::string payload;
  /// The server process that sent it.
  int sender = 0;
};

/// A query parameter: text, or NULL. Integers and bools are written as text by Connection.
///
/// Thread safety: not thread-safe (a plain value viewing its text).
using Param = std::optional<std::string_view>;

/// One connection to a PostgreSQL server through libpq. Statements run with their parameters
/// sent apart from the SQL text (never spliced into it). A failure throws PgError; when it broke
/// the connection, reconnect() opens it again with the same connection string.
///
/// Notices (such as "relation already exists, skipping") are dropped rather than written to
/// stderr as libpq does by default.
///
/// Thread safety: not thread-safe; a connection is used by one thread at a time.
class Connection {
 public:
  /// Connects with `conninfo`, a libpq connection string ("host=... port=... dbname=...") or
  /// URI ("postgresql://...").
  /// @param store the store the connection belongs to, e.g. "PostgresJobStore" (a literal: it
  /// must outlive the connection). Its errors then read `<store> database "<name>" (user
  /// "<user>", server <host>:<port>): <operation>: <the server's message> (SQLSTATE <code>)
  /// (SQL: <sql>)`, the operation named by operation() (see durable::store_error_message).
  /// Empty: the layer's own messages, `<call>: "<sql>": <libpq's message>`.
  /// @throws PgError naming the server (host, port, database; never the password) and libpq's
  /// message, e.g. `open: server 127.0.0.1:5432 database "jobs": connection to server ... failed:
  /// Connection refused`; with `store`, `PostgresJobStore database "jobs" (user "app", server
  /// 127.0.0.1:5432): open: connection to server ... failed: Connection refused`
  /// @param session statements run at the start of each session (after open and reconnect),
  /// e.g. settings
  [[nodiscard]] static Connection open(std::string conninfo, std::string_view store = {},
                                       std::string_view session = {}) {
    Connection connection{std::move(conninfo)};
    connection.session_ = session;
    if (!store.empty()) {
      connection.label_ = std::make_unique<StoreLabel>();
      connection.label_->label.store = store;
      connection.label_->label.operation = "open";
    }
    connection.connect("open");
    if (connection.label_) {
      connection.label_->label.operation = {};
    }
    return connection;
  }

  Connection(Connection&& other) noexcept
      : conninfo_{std::move(other.conninfo_)},
        conn_{std::exchange(other.conn_, nullptr)},
        label_{std::move(other.label_)},
        session_{std::move(other.session_)},
        statements_{std::move(other.statements_)},
        prepared_count_{other.prepared_count_} {}
  Connection& operator=(Connection&& other) noexcept {
    if (this != &other) {
      PQfinish(conn_);
      conninfo_ = std::move(other.conninfo_);
      conn_ = std::exchange(other.conn_, nullptr);
      label_ = std::move(other.label_);
      session_ = std::move(other.session_);
      statements_ = std::move(other.statements_);
      prepared_count_ = other.prepared_count_;
    }
    return *this;
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() { PQfinish(conn_); }

  /// Runs `sql`, which may hold several statements and no parameters (schema scripts,
  /// BEGIN/COMMIT); returns the result of the last statement.
  /// @throws PgError naming "exec", the SQL (abbreviated) and the server's message
  Result exec(std::string_view sql) {
    const std::string text{sql};
    return check("exec", sql, PQexec(conn_, text.c_str()));
  }

  /// Runs the single statement `sql` with `params` as $1, $2, ... Integers and bools are sent as
  /// text, std::nullopt (or an empty optional integer) as NULL. A text run a second time is
  /// prepared on the server (a named statement of the session), so that from then on it is
  /// parsed and planned once; at most `prepared_limit` texts are, and reconnecting forgets them.
  /// @throws PgError naming "query", the SQL (abbreviated) and the server's message
  template <class... Args>
  Result query(std::string_view sql, const Args&... params) {
    [[maybe_unused]] std::array<std::array<char, 24>, sizeof...(Args) + 1> buffers{};
    std::array<Param, sizeof...(Args) + 1> values{};
    [[maybe_unused]] std::size_t index = 0;
    ((values[index] = to_param(params, buffers[index]), ++index), ...);
    return query_values(sql, std::span{values.data(), sizeof...(Args)});
  }

  /// As query, with the parameters already as text (or NULL).
  /// @throws PgError as query
  Result query_values(std::string_view sql, std::span<const Param> params) {
    const std::string text{sql};
    std::vector<std::string> owned;  // NUL-terminated copies: libpq reads C strings
    owned.reserve(params.size());
    std::vector<const char*> pointers;
    pointers.reserve(params.size());
    for (const Param& param : params) {
      if (param) {
        owned.emplace_back(*param);
        pointers.push_back(owned.back().c_str());
      } else {
        pointers.push_back(nullptr);
      }
    }
    if (const std::string* name = prepared(text, static_cast<int>(params.size()))) {
      PGresult* raw = PQexecPrepared(conn_, name->c_str(), static_cast<int>(params.size()),
                                     pointers.data(), nullptr, nullptr, 0);
      const char* state = raw == nullptr ? nullptr : PQresultErrorField(raw, PG_DIAG_SQLSTATE);
      if (state != nullptr && std::string_view{state} == "26000" &&
          PQtransactionStatus(conn_) == PQTRANS_IDLE) {
        // Deallocated behind its back (DEALLOCATE ALL, DISCARD ALL): nothing ran, so it runs
        // unprepared now and is prepared again at its next use.
        PQclear(raw);
        statements_[text].clear();
      } else {
        return check_prepared(sql, raw);
      }
    }
    return check("query", sql,
                 PQexecParams(conn_, text.c_str(), static_cast<int>(params.size()), nullptr,
                              pointers.data(), nullptr, nullptr, 0));
  }

  /// How many statement texts a connection prepares at most (see query).
  static constexpr std::size_t prepared_limit = 256;

  /// Whether the connection is usable (it may still find the server gone at the next call).
  [[nodiscard]] bool connected() const noexcept { return PQstatus(conn_) == CONNECTION_OK; }

  /// Opens the connection again with its connection string; what the server kept for the old
  /// session (LISTEN channels, session settings) is gone.
  /// @throws PgError as open
  void reconnect() { connect("reconnect"); }

  /// The process id of the server session, for pg_terminate_backend and notifications.
  [[nodiscard]] int backend_pid() const noexcept { return PQbackendPID(conn_); }

  /// Starts listening on `channel` (LISTEN, with the name quoted as an identifier).
  /// @throws PgError as exec
  void listen(std::string_view channel) {
    exec(fmt::format("LISTEN {}", quote_identifier(channel)));
  }

  /// Sends `payload` on `channel` (pg_notify), delivered when the current transaction commits.
  /// @throws PgError as query
  void notify(std::string_view channel, std::string_view payload) {
    query("SELECT pg_notify($1, $2)", channel, payload);
  }

  /// The notifications received so far, waiting up to `timeout` for the first when there is
  /// none yet (zero: do not wait; negative: no limit), or until file descriptor `interrupt`
  /// (when not negative) becomes readable.
  /// @throws PgError naming "wait_for_notifications" if the connection is lost
  std::vector<Notification> wait_for_notifications(std::chrono::milliseconds timeout,
                                                   int interrupt = -1) {
    std::vector<Notification> received = take_notifications();
    if (!received.empty() || timeout == std::chrono::milliseconds::zero()) {
      return received;
    }
    std::array<pollfd, 2> descriptors{{{.fd = PQsocket(conn_), .events = POLLIN, .revents = 0},
                                       {.fd = interrupt, .events = POLLIN, .revents = 0}}};
    if (descriptors[0].fd < 0) {
      throw lost("wait_for_notifications");
    }
    const int ready = ::poll(descriptors.data(), interrupt < 0 ? 1 : 2,
                             timeout < std::chrono::milliseconds::zero()
                                 ? -1
                                 : static_cast<int>(std::min<std::chrono::milliseconds::rep>(
                                       timeout.count(), std::numeric_limits<int>::max())));
    if (ready < 0 && errno != EINTR) {
      throw PgError{failure("wait_for_notifications", fmt::format("poll failed: errno {}", errno)),
                    "", false};
    }
    return take_notifications();
  }

  /// `name` quoted as an SQL identifier ("my ""table""").
  /// @throws PgError if libpq refuses it (e.g. not valid in the client encoding)
  [[nodiscard]] std::string quote_identifier(std::string_view name) const {
    char* quoted = PQescapeIdentifier(conn_, name.data(), name.size());
    if (quoted == nullptr) {
      throw PgError{
          failure("quote_identifier",
                  fmt::format("\"{}\": {}", name, trim_message(PQerrorMessage(conn_), "refused"))),
          "", false};
    }
    std::string result{quoted};
    PQfreemem(quoted);
    return result;
  }

  /// The libpq handle, for calls this class does not wrap.
  [[nodiscard]] PGconn* handle() const noexcept { return conn_; }

  /// Names `name` (a literal, in the user's terms: "add job") in the errors thrown while the
  /// returned scope lives, for a connection opened for a store; an enclosing scope's name wins.
  /// Allocates nothing.
  [[nodiscard]] durable::OperationScope operation(std::string_view name) noexcept {
    return durable::OperationScope{store_label(), name};
  }

  /// What errors name: the store, the database and the operation running (an empty label for a
  /// connection that belongs to no store).
  [[nodiscard]] const durable::ErrorLabel& error_label() const noexcept {
    static const durable::ErrorLabel none{};
    return label_ ? label_->label : none;
  }

  /// The label of a store's connection, to name a step of the running operation
  /// (durable::StepScope); null for a connection that belongs to no store.
  [[nodiscard]] durable::ErrorLabel* store_label() noexcept {
    return label_ ? &label_->label : nullptr;
  }

  /// The message of a StoreError about this connection that libpq did not report, such as a
  /// lost connection not retried yet: for a store's connection, durable::store_error_message
  /// (`fallback` names the operation if none runs); else `<server>: <problem>`.
  [[nodiscard]] std::string error_message(std::string_view problem,
                                          std::string_view fallback = "store") const {
    if (label_) {
      return durable::store_error_message(label_->label, fallback, problem);
    }
    return fmt::format("{}: {}", server(), problem);
  }

 private:
  // What the errors of a store's connection name; on the heap, so that moving the connection
  // keeps the views into it (and Results point to it).
  struct StoreLabel {
    durable::ErrorLabel label;
    // `database "<name>" (user "<user>", server <host>:<port>)`, set at each connection.
    std::string database;
  };

  explicit Connection(std::string conninfo) noexcept : conninfo_{std::move(conninfo)} {}

  void connect(std::string_view call) {
    PQfinish(std::exchange(conn_, nullptr));
    statements_.clear();  // a new session holds none
    conn_ = PQconnectdb(conninfo_.c_str());
    if (conn_ == nullptr) {
      throw PgError{failure(call, "out of memory"), "", true};
    }
    if (label_) {
      const char* db = PQdb(conn_);
      const char* user = PQuser(conn_);
      label_->database = fmt::format("database \"{}\" (user \"{}\", {})", db == nullptr ? "" : db,
                                     user == nullptr ? "" : user, server_address());
      label_->label.database = label_->database;
    }
    if (PQstatus(conn_) != CONNECTION_OK) {
      if (label_) {
        throw PgError{
            failure(call, fmt::format("{}{}", call == "reconnect" ? "reconnecting: " : "",
                                      one_line_message(PQerrorMessage(conn_), "cannot connect"))),
            "", true};
      }
      throw PgError{fmt::format("{}: {}: {}", call, server(),
                                trim_message(PQerrorMessage(conn_), "cannot connect")),
                    "", true};
    }
    PQsetNoticeProcessor(
        conn_, [](void*, const char*) {}, nullptr);
    if (!session_.empty()) {
      exec(session_);
    }
  }

  // "server HOST:PORT database "NAME"", from the connection's settings (no password).
  [[nodiscard]] std::string server() const {
    const char* db = PQdb(conn_);
    return fmt::format("{} database \"{}\"", server_address(), db == nullptr ? "" : db);
  }

  // "server HOST:PORT", from the connection's settings.
  [[nodiscard]] std::string server_address() const {
    const char* host = PQhost(conn_);
    const char* port = PQport(conn_);
    return fmt::format("server {}:{}", host == nullptr ? "" : host, port == nullptr ? "" : port);
  }

  // The message of a failure of `call` that is not a statement's: the store's, or
  // `<call>: <problem>`.
  [[nodiscard]] std::string failure(std::string_view call, std::string_view problem) const {
    if (label_) {
      return durable::store_error_message(label_->label, call, problem);
    }
    return fmt::format("{}: {}", call, problem);
  }

  Result check(std::string_view call, std::string_view sql, PGresult* raw) {
    Result result{raw, label_ ? &label_->label : nullptr};
    const ExecStatusType status = raw == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(raw);
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY) {
      return result;
    }
    const char* state = raw == nullptr ? nullptr : PQresultErrorField(raw, PG_DIAG_SQLSTATE);
    const bool gone = PQstatus(conn_) != CONNECTION_OK;
    if (label_) {
      // The server's primary message and its detail read better than the whole report, whose
      // further lines quote the statement with a caret under the error.
      const char* primary =
          raw == nullptr ? nullptr : PQresultErrorField(raw, PG_DIAG_MESSAGE_PRIMARY);
      const char* detail =
          raw == nullptr ? nullptr : PQresultErrorField(raw, PG_DIAG_MESSAGE_DETAIL);
      std::string problem =
          primary != nullptr
              ? std::string{primary}
              : one_line_message(raw == nullptr ? PQerrorMessage(conn_) : PQresultErrorMessage(raw),
                                 gone ? "the connection to the server was lost" : "failed");
      if (detail != nullptr) {
        problem += fmt::format("; {}", detail);
      }
      if (state != nullptr) {
        problem += fmt::format(" (SQLSTATE {})", state);
      }
      throw PgError{durable::store_error_message(label_->label, call, problem, sql),
                    state == nullptr ? std::string{} : std::string{state}, gone};
    }
    const std::string message =
        trim_message(raw == nullptr ? PQerrorMessage(conn_) : PQresultErrorMessage(raw),
                     gone ? "the connection to the server was lost" : "failed");
    throw PgError{
        fmt::format("{}: \"{}\": {}{}", call, abbreviate_sql(sql), message,
                    state == nullptr ? std::string{} : fmt::format(" (SQLSTATE {})", state)),
        state == nullptr ? std::string{} : std::string{state}, gone};
  }

  [[nodiscard]] PgError lost(std::string_view call) const {
    if (label_) {
      return PgError{failure(call, one_line_message(PQerrorMessage(conn_),
                                                    "the connection to the server was lost")),
                     "", true};
    }
    return PgError{
        fmt::format("{}: {}: {}", call, server(),
                    trim_message(PQerrorMessage(conn_), "the connection to the server was lost")),
        "", true};
  }

  std::vector<Notification> take_notifications() {
    if (PQconsumeInput(conn_) == 0) {
      throw lost("wait_for_notifications");
    }
    std::vector<Notification> received;
    while (PGnotify* notification = PQnotifies(conn_)) {
      received.push_back(Notification{.channel = notification->relname,
                                      .payload = notification->extra,
                                      .sender = notification->be_pid});
      PQfreemem(notification);
    }
    return received;
  }

  template <std::integral T>
  static Param to_param(T value, std::array<char, 24>& buffer) {
    if constexpr (std::same_as<T, bool>) {
      return value ? std::string_view{"true"} : std::string_view{"false"};
    } else {
      const auto end = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value).ptr;
      return std::string_view{buffer.data(), static_cast<std::size_t>(end - buffer.data())};
    }
  }
  template <std::integral T>
  static Param to_param(const std::optional<T>& value, std::array<char, 24>& buffer) {
    return value ? to_param(*value, buffer) : std::nullopt;
  }
  static Param to_param(std::string_view value, std::array<char, 24>& /*buffer*/) { return value; }
  static Param to_param(const std::string& value, std::array<char, 24>& /*buffer*/) {
    return std::string_view{value};
  }
  static Param to_param(const char* value, std::array<char, 24>& /*buffer*/) {
    return std::string_view{value};
  }
  static Param to_param(const Param& value, std::array<char, 24>& /*buffer*/) { return value; }
  static Param to_param(std::nullopt_t /*null*/, std::array<char, 24>& /*buffer*/) {
    return std::nullopt;
  }

  // The name of the statement prepared for `text` on the server, preparing it at its second
  // use; null while it runs once only, or when prepared_limit texts are known already.
  // @throws PgError naming "query" if the server refuses to prepare it
  const std::string* prepared(const std::string& text, int params) {
    auto found = statements_.find(text);
    if (found == statements_.end()) {
      if (statements_.size() < prepared_limit) {
        statements_.emplace(text, std::string{});  // seen once: prepared if it runs again
      }
      return nullptr;
    }
    std::string& name = found->second;
    if (name.empty()) {
      std::string fresh = fmt::format("apsched_{}", ++prepared_count_);
      check("query", text, PQprepare(conn_, fresh.c_str(), text.c_str(), params, nullptr));
      name = std::move(fresh);
    }
    return &name;
  }

  // As check, for a prepared statement: one the server no longer has, or whose plan no longer
  // fits (a table changed), is prepared again at its next use.
  Result check_prepared(std::string_view sql, PGresult* raw) {
    try {
      return check("query", sql, raw);
    } catch (const PgError& error) {
      if (error.sqlstate() == "26000" || error.sqlstate() == "0A000") {
        statements_[std::string{sql}].clear();
      }
      throw;
    }
  }

  std::string conninfo_;
  PGconn* conn_ = nullptr;
  // Null for a connection that belongs to no store.
  std::unique_ptr<StoreLabel> label_;
  // Run at the start of each session.
  std::string session_;
  // Statement texts run: the name of the statement prepared for each, or empty when it ran once.
  std::unordered_map<std::string, std::string> statements_;
  std::uint64_t prepared_count_ = 0;
};

}  // namespace apsched::detail::postgres
