// SPDX-License-Identifier: MIT
// What the errors of a durable store name: the store, its database and the operation running.
#pragma once

#include <apsched/detail/abbreviate_sql.hpp>

#include <fmt/core.h>

#include <iterator>
#include <string>
#include <string_view>

namespace apsched::detail::durable {

/// Who uses a database connection, and for what, for the messages of its errors. A store names
/// itself and its database when it opens the connection; each of its public members names its
/// operation (OperationScope) while it runs. The views refer to text that outlives the label:
/// string literals, or strings the connection owns.
///
/// Thread safety: not thread-safe (a plain value).
struct ErrorLabel {
  /// The store class, e.g. "SqliteJobStore"; empty: the connection belongs to no store, and its
  /// errors keep the database layer's own messages.
  std::string_view store;
  /// The database as messages show it: `"/var/lib/app/jobs.db"`, or
  /// `database "jobs" (user "app", server db.internal:5432)`; never a password.
  std::string_view database;
  /// The operation running, in the user's terms ("add job"); empty between operations.
  std::string_view operation;
  /// A step of the operation worth naming ("migrate apsched_jobs to version 3"), or empty.
  std::string_view step;
  /// The database's file, when it is one (to ask the file system why it failed), or empty.
  std::string_view file;

  /// Whether the connection belongs to a store (its errors then use store_error_message).
  [[nodiscard]] bool for_store() const noexcept { return !store.empty(); }
};

/// The message of an error of a store's database:
/// `<store> <database>: <operation>[: <step>]: <problem>[ (SQL: <sql, abbreviated>)]`, e.g.
/// `SqliteJobStore "/tmp/jobs.db": add job: attempt to write a readonly database; the file is
/// read-only (SQL: INSERT INTO jobs ...)`. The SQL comes last: it is for debugging, the rest for
/// the user. `fallback` names the operation when none runs (the database call, e.g. "step").
///
/// Thread safety: thread-safe.
[[nodiscard]] inline std::string store_error_message(const ErrorLabel& label,
                                                     std::string_view fallback,
                                                     std::string_view problem,
                                                     std::string_view sql = {}) {
  std::string message = fmt::format("{} {}: {}", label.store, label.database,
                                    label.operation.empty() ? fallback : label.operation);
  if (!label.step.empty()) {
    message.append(": ").append(label.step);
  }
  message.append(": ").append(problem);
  if (!sql.empty()) {
    message.append(" (SQL: ").append(abbreviate_sql(sql)).append(")");
  }
  return message;
}

/// Names the operation of a label while it lives, for a public member of a store: errors
/// thrown meanwhile name it. The outermost scope wins, so a member that calls another public
/// member keeps its own name (the one the user called). Cheap: it copies two views, and
/// allocates nothing. A null label is left alone.
///
/// Thread safety: not thread-safe (it changes the label, which belongs to one connection).
class OperationScope {
 public:
  /// @pre `label`, when not null, outlives the scope; `operation` outlives it too (a literal).
  OperationScope(ErrorLabel* label, std::string_view operation) noexcept
      : label_{label}, previous_{label != nullptr ? label->operation : std::string_view{}} {
    if (label_ != nullptr && label_->operation.empty()) {
      label_->operation = operation;
    }
  }
  OperationScope(const OperationScope&) = delete;
  OperationScope& operator=(const OperationScope&) = delete;
  ~OperationScope() {
    if (label_ != nullptr) {
      label_->operation = previous_;
    }
  }

 private:
  ErrorLabel* label_;
  std::string_view previous_;
};

/// Names a step of the running operation while it lives (the innermost scope wins), such as
/// one migration of the schema; a null label is left alone.
///
/// Thread safety: not thread-safe.
class StepScope {
 public:
  /// @pre `label`, when not null, and the text `step` views outlive the scope.
  StepScope(ErrorLabel* label, std::string_view step) noexcept
      : label_{label}, previous_{label != nullptr ? label->step : std::string_view{}} {
    if (label_ != nullptr) {
      label_->step = step;
    }
  }
  StepScope(const StepScope&) = delete;
  StepScope& operator=(const StepScope&) = delete;
  ~StepScope() {
    if (label_ != nullptr) {
      label_->step = previous_;
    }
  }

 private:
  ErrorLabel* label_;
  std::string_view previous_;
};

}  // namespace apsched::detail::durable
