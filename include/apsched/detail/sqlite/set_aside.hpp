// SPDX-License-Identifier: MIT
// SetAsideJobs: the stored jobs SqliteJobStore cannot use, kept out of its due queries and
// reported once each.
#pragma once

#include <apsched/detail/sqlite/database.hpp>
#include <apsched/detail/sqlite/store_schema.hpp>
#include <apsched/durable_job_store.hpp>

#include <fmt/core.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace apsched::detail::sqlite {

/// The stored jobs a store cannot use (unknown task; arguments, trigger or options that do not
/// decode), each at the row version it saw. They are mirrored in the connection's temporary
/// table `temp.apsched_unusable (id, version)`, which the store's due queries leave out, so a
/// row changed since (another program repaired it) is tried again. Each (job, cause) is
/// reported once per object.
///
/// Thread safety: not thread-safe.
class SetAsideJobs {
 public:
  /// Creates the temporary table on `db` (once per connection).
  /// @throws SqliteError if that fails
  static void create_table(Database& db) {
    db.exec(
        "CREATE TEMP TABLE IF NOT EXISTS apsched_unusable "
        "(id TEXT PRIMARY KEY NOT NULL, version INTEGER NOT NULL) WITHOUT ROWID");
  }

  /// Whether job `id` at row version `version` is set aside.
  [[nodiscard]] bool holds(std::string_view id, std::int64_t version) const {
    const auto it = jobs_.find(id);
    return it != jobs_.end() && it->second.version == version;
  }

  /// Sets `row` aside for `cause` (an error message) and reports it, unless reported already.
  /// `unknown_task`: the cause is that the row's task is not registered.
  /// @throws SqliteError if the temporary table cannot be written
  void add(Database& db, const JobRow& row, std::string_view cause, bool unknown_task) {
    jobs_.insert_or_assign(row.id, Entry{row.task, unknown_task, row.version});
    mark(db, row.id, row.version);
    std::string message = fmt::format(
        "SqliteJobStore: stored job \"{}\" (task \"{}\") in \"{}\" cannot be used and is left "
        "unchanged until its task is registered or the store is opened again: {}",
        row.id, row.task, db.path(), cause);
    if (reported_.emplace(row.id, message).second) {
      reports_.push_back(StoreReport{row.id, std::move(message)});
    }
  }

  /// Tries job `id` again: it is no longer set aside.
  /// @throws SqliteError if the temporary table cannot be written
  void forget(Database& db, std::string_view id) {
    const auto it = jobs_.find(id);
    if (it == jobs_.end()) {
      return;
    }
    jobs_.erase(it);
    auto forget = db.prepare_cached("DELETE FROM temp.apsched_unusable WHERE id = ?1");
    forget->bind(1, id);
    forget->execute();
  }

  /// Tries again the jobs set aside for naming `task` while it was unknown; every such job
  /// when `task` is empty.
  /// @throws SqliteError if the temporary table cannot be written
  void retry_unknown_task(Database& db, std::string_view task) {
    std::vector<std::string> retry;
    for (const auto& [id, entry] : jobs_) {
      if (entry.unknown_task && (task.empty() || entry.task == task)) {
        retry.push_back(id);
      }
    }
    for (const std::string& id : retry) {
      forget(db, id);
    }
  }

  /// Forgets every job (they were deleted).
  /// @throws SqliteError if the temporary table cannot be written
  void clear(Database& db) {
    jobs_.clear();
    db.exec("DELETE FROM temp.apsched_unusable");
  }

  /// Writes the temporary table again from memory, after a rollback undid changes to it. If
  /// that fails, forgets every job instead (they are only tried, and set aside, again).
  void restore(Database& db) noexcept {
    try {
      db.exec("DELETE FROM temp.apsched_unusable");
      for (const auto& [id, entry] : jobs_) {
        mark(db, id, entry.version);
      }
    } catch (...) {
      jobs_.clear();
    }
  }

  /// The reports made since the last call.
  [[nodiscard]] std::vector<StoreReport> take_reports() noexcept {
    return std::exchange(reports_, {});
  }

 private:
  struct Entry {
    std::string task;
    bool unknown_task = false;
    std::int64_t version = 0;
  };

  struct Hash {
    using is_transparent = void;
    // Not noexcept on purpose: libstdc++ then keeps each key's hash in its node, so a lookup
    // compares hashes instead of hashing every key it passes in the bucket chain.
    std::size_t operator()(std::string_view text) const {
      return std::hash<std::string_view>{}(text);
    }
  };

  static void mark(Database& db, std::string_view id, std::int64_t version) {
    auto mark = db.prepare_cached(
        "INSERT OR REPLACE INTO temp.apsched_unusable (id, version) VALUES (?1, ?2)");
    mark->bind_all(id, version);
    mark->execute();
  }

  std::unordered_map<std::string, Entry, Hash, std::equal_to<>> jobs_;
  std::vector<StoreReport> reports_;
  // (id, message) of every report made.
  std::set<std::pair<std::string, std::string>, std::less<>> reported_;
};

}  // namespace apsched::detail::sqlite
