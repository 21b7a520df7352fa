// SPDX-License-Identifier: MIT
// SqliteStoreView: a read-only StoreView of a SqliteJobStore's file, for monitoring and admin
// tools that do not run the jobs.
#pragma once

#include <apsched/config.hpp>
#include <apsched/detail/durable/core_ptr.hpp>
#include <apsched/sqlite/job_store.hpp>
#include <apsched/store_view.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace apsched {

/// How a SqliteStoreView reads its file.
///
/// Thread safety: not thread-safe (a plain value).
struct SqliteViewOptions {
  /// The trigger codecs that describe the stored triggers; null: TriggerCodecs::builtin(). A
  /// trigger of a type they lack is listed as unreadable. Must outlive the view.
  const TriggerCodecs* codecs = nullptr;
  /// How long and how often a read that finds the file locked is retried.
  SqliteBusyPolicy busy{};
};

/// A StoreView of the file of a SqliteJobStore: the jobs, fires and owners its schedulers
/// keep, read from outside them. The file is opened for reading only: the view needs no
/// TaskRegistry (a job is listed by task name, whoever can run it), takes no lease, migrates
/// nothing and writes nothing, so it never changes what the schedulers on the file do. Each call
/// reads one snapshot of the file (SQLite's WAL lets it read while schedulers write).
///
/// @code
/// apsched::SqliteStoreView view{"jobs.db"};
/// for (const apsched::StoredJob& job : view.jobs()) {
///   fmt::print("{} runs {}: {}\n", job.id, job.task, job.trigger_description);
/// }
/// apsched::FirePage page = view.fires({.states = {apsched::FireState::failed}, .limit = 50});
/// @endcode
///
/// Thread safety: not thread-safe (one connection); open a view per thread. Views and stores
/// on one file, in any processes, are safe: SQLite locks the file.
class SqliteStoreView {
 public:
  /// Opens the file of a SqliteJobStore for reading.
  /// @throws StoreError naming the view, the path and "open" when the file does not exist
  /// (`SqliteStoreView "/srv/jobs.db": open: the file does not exist; expected the file of a
  /// SqliteJobStore (a view creates nothing)`), cannot be read, is not an SQLite database or
  /// holds no job store
  /// @throws SchemaVersionError when its schema is newer than this apsched reads, or older (a
  /// SqliteJobStore of this apsched migrates it when it opens the file)
  APSCHED_INLINE explicit SqliteStoreView(const std::filesystem::path& file,
                                          SqliteViewOptions options = {});

  /// See StoreView: every stored job, ordered by id.
  /// @throws StoreError if the database fails
  [[nodiscard]] APSCHED_INLINE std::vector<StoredJob> jobs() const;

  /// See StoreView and JobQuery: one page of the jobs `query` selects. The text filter reads
  /// every job; the others go through the primary key.
  /// @throws StoreError if the database fails
  [[nodiscard]] APSCHED_INLINE JobPage jobs(const JobQuery& query) const;

  /// See StoreView: the stored job `id`, or empty.
  /// @throws StoreError if the database fails
  [[nodiscard]] APSCHED_INLINE std::optional<StoredJob> job(std::string_view id) const;

  /// See StoreView and FireQuery: one page of the fires `query` selects. The fires of one job
  /// are read through the primary key; a query across jobs reads the whole fires table per page.
  /// @throws StoreError if the database fails, or a fire holds a state this apsched does not
  /// know
  [[nodiscard]] APSCHED_INLINE FirePage fires(const FireQuery& query) const;

  /// See StoreView: every fire recorded claimed or submitted, newest first.
  /// @throws StoreError as fires
  [[nodiscard]] APSCHED_INLINE std::vector<StoredFire> fires_in_flight() const;

  /// See StoreView: the schedulers registered on the file, their leases judged by this process's
  /// system clock (the clock SqliteJobStore writes them by).
  /// @throws StoreError if the database fails
  [[nodiscard]] APSCHED_INLINE std::vector<StoreOwner> owners() const;

  /// The path of the file, as UTF-8.
  [[nodiscard]] APSCHED_INLINE const std::string& path() const noexcept;

 private:
  // The connection and the codecs, defined with the members' definitions.
  struct State;

  // On the heap: the const members use the connection, and a view moves cheaply.
  detail::durable::CorePtr<State> state_;
};

static_assert(StoreView<SqliteStoreView>);

}  // namespace apsched

#if !APSCHED_SEPARATE_COMPILATION
#include <apsched/impl/sqlite/store_view.hpp>
#endif
