// SPDX-License-Identifier: MIT
// MemoryDialect: a Dialect of the durable engine over tables in memory, which logs each call,
// for the tests of the engine without a database.
#pragma once

#include <apsched/detail/durable/dialect.hpp>
#include <apsched/detail/durable/job_row.hpp>
#include <apsched/detail/durable/stored_view.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace apsched::test {

/// The "database" of a MemoryDialect: what its statements read, and the log of what they did.
struct MemoryTables {
  detail::durable::ErrorLabel label{.store = "MemoryJobStore", .database = "memory"};
  std::map<std::string, detail::durable::JobRow, std::less<>> jobs;
  std::map<std::string, detail::durable::JobRow, std::less<>> retired;
  std::vector<detail::durable::LeaseRow> owners;
  std::vector<std::string> orphans;
  std::map<std::string, std::vector<detail::durable::InFlightFire>, std::less<>> in_flight;
  std::vector<detail::durable::FireRow> fires;
  // What release_owner, drop_lease and commit_due answer.
  bool owner_released = true;
  bool lease_dropped = true;
  bool committed = true;
  // One line per call that writes, in order: "set_aside a unknown", "take_fire a 5 2", ...
  std::vector<std::string> log;
};

/// A Dialect over MemoryTables (see detail::durable::Dialect).
struct MemoryDialect {
  static constexpr std::string_view store_name = "MemoryJobStore";

  [[nodiscard]] const detail::durable::ErrorLabel& error_label() const noexcept {
    return db->label;
  }
  void set_aside(const detail::durable::JobRow& row, std::string_view /*cause*/,
                 bool unknown_task) {
    db->log.push_back(fmt::format("set_aside {} {}", row.id, unknown_task ? "unknown" : "bad"));
  }
  [[nodiscard]] std::optional<detail::durable::JobRow> retired_row(const std::string& id) {
    const auto it = db->retired.find(id);
    return it == db->retired.end() ? std::nullopt : std::optional{it->second};
  }
  [[nodiscard]] std::vector<detail::durable::LeaseRow> owner_rows(std::int64_t /*now*/) {
    return db->owners;
  }
  [[nodiscard]] std::vector<std::string> orphan_owners() { return db->orphans; }
  template <class F>
  void atomically(F&& body) {
    db->log.emplace_back("begin");
    std::forward<F>(body)();
    db->log.emplace_back("commit");
  }
  bool release_owner(const std::string& owner, std::int64_t lease_until) {
    db->log.push_back(fmt::format("release_owner {} {}", owner, lease_until));
    return db->owner_released;
  }
  [[nodiscard]] std::vector<detail::durable::InFlightFire> in_flight_fires(
      const std::string& owner) {
    return db->in_flight[owner];
  }
  void take_fire(const std::string& job_id, std::int64_t scheduled, std::int64_t attempt,
                 std::int64_t now) {
    db->log.push_back(fmt::format("take_fire {} {} {} {}", job_id, scheduled, attempt, now));
  }
  void end_fire(const std::string& job_id, std::int64_t scheduled, FireState state,
                const std::string& error, bool release_retired, std::int64_t /*now*/) {
    db->log.push_back(fmt::format("end_fire {} {} {} {}{}", job_id, scheduled,
                                  detail::durable::state_text(state), error,
                                  release_retired ? " (released)" : ""));
  }
  void trim_history(std::string_view job_id) {
    db->log.push_back(fmt::format("trim_history {}", job_id));
  }
  [[nodiscard]] std::vector<detail::durable::FireRow> fire_rows(std::string_view job_id,
                                                                std::int64_t limit) {
    std::vector<detail::durable::FireRow> rows;
    for (const detail::durable::FireRow& row : db->fires) {
      if (row.job_id == job_id && static_cast<std::int64_t>(rows.size()) < limit) {
        rows.push_back(row);
      }
    }
    return rows;
  }
  [[nodiscard]] std::optional<std::int64_t> update_job(const JobRecord& record,
                                                       const std::string& /*trigger*/) {
    const auto it = db->jobs.find(record.id);
    if (it == db->jobs.end()) {
      return std::nullopt;
    }
    return ++it->second.version;
  }
  bool erase_job(std::string_view id) {
    db->log.push_back(fmt::format("erase_job {}", id));
    return db->jobs.erase(std::string{id}) > 0;
  }
  void clear_jobs() {
    db->log.emplace_back("clear_jobs");
    db->jobs.clear();
  }
  void prepare_release() { db->log.emplace_back("prepare_release"); }
  bool drop_lease() {
    db->log.emplace_back("drop_lease");
    return db->lease_dropped;
  }
  void lapse_lease() { db->log.emplace_back("lapse_lease"); }
  void forget_set_aside(std::string_view id) {
    db->log.push_back(fmt::format("forget_set_aside {}", id));
  }
  void forget_all_set_aside() { db->log.emplace_back("forget_all_set_aside"); }
  void retry_unknown_task(std::string_view task) {
    db->log.push_back(fmt::format("retry_unknown_task {}", task));
  }
  void write_outcomes(std::span<const detail::durable::PendingOutcome> outcomes) {
    for (const detail::durable::PendingOutcome& outcome : outcomes) {
      db->log.push_back(fmt::format("write_outcome {} {} {}", outcome.id, outcome.scheduled,
                                    detail::durable::state_text(outcome.state)));
    }
  }
  bool commit_due(const detail::durable::DueCommit& commit) {
    db->log.push_back(
        fmt::format("commit_due {} v{} {} next {} fires {}{}{}{}", commit.job.id, commit.version,
                    commit.remove ? "remove" : "advance", commit.next_run,
                    fmt::join(commit.scheduled, ","), commit.missed ? " missed" : "",
                    commit.finished ? " finished" : "", commit.retire ? " retire" : ""));
    return db->committed;
  }

  MemoryTables* db;
};

static_assert(detail::durable::Dialect<MemoryDialect>);

}  // namespace apsched::test
