// SPDX-License-Identifier: MIT
// SqliteStoreView: a read-only StoreView of a SqliteJobStore's file, for monitoring and admin
// tools that do not run the jobs.
#pragma once

#include <apsched/detail/durable/stored_view.hpp>
#include <apsched/detail/sqlite/database.hpp>
#include <apsched/detail/sqlite/view_queries.hpp>
#include <apsched/error.hpp>
#include <apsched/json/trigger_codec.hpp>
#include <apsched/sqlite/job_store.hpp>
#include <apsched/store_view.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
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
  explicit SqliteStoreView(const std::filesystem::path& file, SqliteViewOptions options = {})
      : state_{std::make_unique<State>(State{
            .db = detail::sqlite::open_view_database(file, options.busy),
            .codecs = options.codecs != nullptr ? options.codecs : &TriggerCodecs::builtin()})} {}

  /// See StoreView: every stored job, ordered by id.
  /// @throws StoreError if the database fails
  [[nodiscard]] std::vector<StoredJob> jobs() const {
    State& s = *state_;
    const auto operation = s.db.operation("list jobs");
    auto select = s.db.prepare_cached(detail::sqlite::view_jobs_sql(""));
    detail::sqlite::bind_view_jobs(*select, {}, -1);
    std::vector<StoredJob> jobs;
    while (select->step()) {
      jobs.push_back(
          detail::durable::stored_job(detail::sqlite::read_view_job(*select), *s.codecs));
    }
    return jobs;
  }

  /// See StoreView and JobQuery: one page of the jobs `query` selects. The text filter reads
  /// every job; the others go through the primary key.
  /// @throws StoreError if the database fails
  [[nodiscard]] JobPage jobs(const JobQuery& query) const {
    State& s = *state_;
    const auto operation = s.db.operation("list jobs");
    auto select =
        s.db.prepare_cached(detail::sqlite::view_jobs_sql(detail::sqlite::view_jobs_where(query)));
    detail::sqlite::bind_view_jobs(*select, query, detail::durable::page_rows(query.limit));
    std::vector<detail::durable::ViewJobRow> rows;
    while (select->step()) {
      rows.push_back(detail::sqlite::read_view_job(*select));
    }
    return detail::durable::job_page(std::move(rows), query.limit, *s.codecs);
  }

  /// See StoreView: the stored job `id`, or empty.
  /// @throws StoreError if the database fails
  [[nodiscard]] std::optional<StoredJob> job(std::string_view id) const {
    State& s = *state_;
    const auto operation = s.db.operation("read job");
    auto select = s.db.prepare_cached(detail::sqlite::view_jobs_sql(" AND id = ?1"));
    detail::sqlite::bind_view_jobs(*select, {.after = std::string{id}}, 1);
    if (!select->step()) {
      return std::nullopt;
    }
    return detail::durable::stored_job(detail::sqlite::read_view_job(*select), *s.codecs);
  }

  /// See StoreView and FireQuery: one page of the fires `query` selects. The fires of one job
  /// are read through the primary key; a query across jobs reads the whole fires table per page.
  /// @throws StoreError if the database fails, or a fire holds a state this apsched does not
  /// know
  [[nodiscard]] FirePage fires(const FireQuery& query) const {
    State& s = *state_;
    const auto operation = s.db.operation("list fires");
    auto select = s.db.prepare_cached(detail::sqlite::view_fires_sql(query));
    detail::sqlite::bind_view_fires(*select, query);
    std::vector<detail::durable::FireRow> rows;
    while (select->step()) {
      rows.push_back(detail::sqlite::read_view_fire(*select));
    }
    return detail::durable::fire_page(std::move(rows), query.limit, s.db.error_label());
  }

  /// See StoreView: every fire recorded claimed or submitted, newest first.
  /// @throws StoreError as fires
  [[nodiscard]] std::vector<StoredFire> fires_in_flight() const {
    State& s = *state_;
    const auto operation = s.db.operation("list fires in flight");
    auto select = s.db.prepare_cached(detail::sqlite::view_in_flight_sql);
    std::vector<StoredFire> fires;
    while (select->step()) {
      fires.push_back(detail::durable::stored_fire(detail::sqlite::read_view_fire(*select),
                                                   s.db.error_label()));
    }
    return fires;
  }

  /// See StoreView: the schedulers registered on the file, their leases judged by this process's
  /// system clock (the clock SqliteJobStore writes them by).
  /// @throws StoreError if the database fails
  [[nodiscard]] std::vector<StoreOwner> owners() const {
    State& s = *state_;
    const auto operation = s.db.operation("list owners");
    auto select = s.db.prepare_cached(detail::sqlite::view_owners_sql);
    select->bind(1, detail::durable::system_now());
    std::vector<StoreOwner> owners;
    while (select->step()) {
      owners.push_back(detail::durable::stored_owner(detail::sqlite::read_view_owner(*select)));
    }
    return owners;
  }

  /// The path of the file, as UTF-8.
  [[nodiscard]] const std::string& path() const noexcept { return state_->db.path(); }

 private:
  struct State {
    detail::sqlite::Database db;
    const TriggerCodecs* codecs;
  };

  // On the heap: the const members use the connection, and a view moves cheaply.
  std::unique_ptr<State> state_;
};

static_assert(StoreView<SqliteStoreView>);

}  // namespace apsched
