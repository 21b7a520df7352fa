// SPDX-License-Identifier: MIT
// PostgresStoreView: a read-only StoreView of a PostgresJobStore's tables, on a connection of
// its own, for monitoring and admin tools that do not run the jobs.
#pragma once

#include <apsched/config.hpp>
#include <apsched/detail/durable/core_ptr.hpp>
#include <apsched/postgres/job_store.hpp>
#include <apsched/store_view.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace apsched {

/// How a PostgresStoreView reads its database.
///
/// Thread safety: not thread-safe (a plain value).
struct PostgresViewOptions {
  /// The trigger codecs that describe the stored triggers; null: TriggerCodecs::builtin(). A
  /// trigger of a type they lack is listed as unreadable. Must outlive the view.
  const TriggerCodecs* codecs = nullptr;
};

/// A StoreView of the tables of a PostgresJobStore (apsched_jobs, apsched_fires,
/// apsched_owners in the connection's search_path): the jobs, fires and owners its schedulers
/// keep, read from outside them. The view has a connection of its own, whose session is
/// read-only (default_transaction_read_only): it needs no TaskRegistry (a job is listed by task
/// name, whoever can run it), takes no lease, migrates nothing and writes nothing. Each call is
/// one statement, so it reads one snapshot. A lost connection makes the call that met it throw;
/// the next call connects again.
///
/// @code
/// apsched::PostgresStoreView view{"host=db.internal dbname=app user=monitor"};
/// for (const apsched::StoredFire& fire : view.fires_in_flight()) {
///   fmt::print("{} on {} (pid {})\n", fire.job_id, fire.fire.owner.host, fire.fire.owner.pid);
/// }
/// @endcode
///
/// Thread safety: not thread-safe (one connection); open a view per thread.
class PostgresStoreView {
 public:
  /// Connects with `conninfo` (a libpq connection string or URI) and checks the tables.
  /// @throws StoreError naming the view, the database (never a password) and "open" when the
  /// server cannot be reached or the search_path holds no job store tables
  /// @throws SchemaVersionError when the tables are newer than this apsched reads, or older (a
  /// PostgresJobStore of this apsched migrates them when it connects)
  APSCHED_INLINE explicit PostgresStoreView(std::string conninfo, PostgresViewOptions options = {});

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

  /// See StoreView: the schedulers registered on the database, their leases judged by the
  /// database clock (the clock PostgresJobStore writes them by).
  /// @throws StoreError if the database fails
  [[nodiscard]] APSCHED_INLINE std::vector<StoreOwner> owners() const;

 private:
  // The connection and the codecs, defined with the members' definitions.
  struct State;

  // The state, connected again (read-only) if the connection was lost.
  APSCHED_INLINE State& ready(std::string_view operation) const;

  // On the heap: the const members use the connection, and a view moves cheaply.
  detail::durable::CorePtr<State> state_;
};

static_assert(StoreView<PostgresStoreView>);

}  // namespace apsched

#if !APSCHED_SEPARATE_COMPILATION
#include <apsched/impl/postgres/store_view.hpp>
#endif
