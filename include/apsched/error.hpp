// SPDX-License-Identifier: MIT
// The whole exception hierarchy: one class per condition a caller may want to catch on its own.
#pragma once

#include <exception>
#include <stdexcept>
#include <string>

namespace apsched {

/// Base of every exception apsched throws; messages name the call, the value and what was
/// expected, e.g. `add_job: a job with id "nightly" already exists`.
///
/// Thread safety: const-thread-safe, as is every exception class in this header.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A job id that names no job (get_job, modify_job, remove_job, ...).
class JobLookupError : public Error {
 public:
  using Error::Error;
};

/// add_job with an id that is already taken, with JobOptions::on_conflict ConflictPolicy::error.
class ConflictingIdError : public Error {
 public:
  using Error::Error;
};

/// start() on a scheduler that is already running.
class SchedulerAlreadyRunningError : public Error {
 public:
  using Error::Error;
};

/// A call that needs a running scheduler (pause, resume, shutdown) on one that is not running.
class SchedulerNotRunningError : public Error {
 public:
  using Error::Error;
};

/// A value a call cannot accept; the subclasses name the kind of value.
class InvalidArgumentError : public Error {
 public:
  using Error::Error;
};

/// Invalid trigger arguments: non-positive interval, end before start, bad cron expression.
class InvalidTriggerError : public InvalidArgumentError {
 public:
  using InvalidArgumentError::InvalidArgumentError;
};

/// A time-zone name the time-zone database does not know, or no local zone could be found.
class UnknownTimeZoneError : public InvalidTriggerError {
 public:
  using InvalidTriggerError::InvalidTriggerError;
};

/// Invalid job options: zero max_instances, negative grace time or timeout, unknown store or
/// executor alias.
class InvalidJobOptionError : public InvalidArgumentError {
 public:
  using InvalidArgumentError::InvalidArgumentError;
};

/// A task name no task is registered under (add_job of a durable job, run of a stored job); the
/// message lists the registered names: `add_job: no task is registered as "reprot"; the
/// registered tasks are "cleanup", "report"`.
class UnknownTaskError : public InvalidArgumentError {
 public:
  using InvalidArgumentError::InvalidArgumentError;
};

/// Data that cannot be encoded or decoded: arguments that do not match a task's parameters, a
/// trigger type without a codec, malformed or incomplete JSON.
class SerializationError : public InvalidArgumentError {
 public:
  using InvalidArgumentError::InvalidArgumentError;
};

/// A job store's backing storage failed: a database that cannot be opened, is corrupt, stays
/// busy past the retries, or fails a statement. The message names the store, its database (the
/// file, or the PostgreSQL database, user and server; never a password), the operation and the
/// database's own reason, with the SQL last: `SqliteJobStore "/srv/jobs.db": add job: attempt
/// to write a readonly database; the file is read-only (SQL: INSERT INTO jobs ...)`.
class StoreError : public Error {
 public:
  using Error::Error;
};

/// A database whose schema was written by a newer apsched (or is not an apsched schema), or, for
/// a read-only store view, by an older one it cannot read.
class SchemaVersionError : public StoreError {
 public:
  using StoreError::StoreError;
};

/// Work submitted to an executor that has been shut down.
class ExecutorShutdownError : public Error {
 public:
  using Error::Error;
};

}  // namespace apsched

namespace apsched::detail {

/// What `error` says: the what() of a std::exception, else a fixed text.
///
/// Thread safety: thread-safe.
[[nodiscard]] inline std::string describe(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& thrown) {
    return thrown.what();
  } catch (...) {
    return "a non-std exception";
  }
}

}  // namespace apsched::detail
