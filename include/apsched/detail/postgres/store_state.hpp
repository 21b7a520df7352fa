// SPDX-License-Identifier: MIT
// The state of a PostgresJobStore: the values it was opened with, its connection, and what its
// rounds, batches, set-aside jobs, lease and listener keep between calls.
#pragma once

#include <apsched/clock.hpp>
#include <apsched/detail/durable/coding.hpp>
#include <apsched/detail/durable/engine.hpp>
#include <apsched/detail/durable/job_row.hpp>
#include <apsched/detail/postgres/connection.hpp>
#include <apsched/detail/postgres/listener.hpp>
#include <apsched/durable_job_store.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace apsched::detail::postgres {

/// What a PostgresJobStore takes from its public options (PostgresStoreOptions documents each).
///
/// Thread safety: not thread-safe (a plain value).
struct Settings {
  Duration poll_interval{};
  std::size_t cache_size = 0;
  std::size_t history_per_job = 0;
  // The store's codecs, or the built-in ones.
  durable::AnyTriggerCodecs codecs;
  Duration lease_duration{};
  bool listen = true;
  bool database_clock = true;
};

/// A commit_due of a job the open round claimed, written at the round's next query.
///
/// Thread safety: not thread-safe (a plain value).
struct DeferredCommit {
  std::string id;
  std::int64_t version = 0;
  bool remove = false;
  bool retire = false;  // see durable::retires
  std::int64_t next_fire = 0;
  std::int64_t next_run = 0;
  bool missed = false;
  bool finished = false;
};

/// A job set aside as unusable: the task it names, whether that task is unknown, and the row
/// version it was set aside at.
///
/// Thread safety: not thread-safe (a plain value).
struct Unusable {
  std::string task;
  bool unknown_task = false;
  std::int64_t version = 0;
};

/// What the engine shares (owner, registry, record cache, pending outcomes: see
/// durable::EngineState), and the connection with what only PostgreSQL needs.
///
/// Thread safety: not thread-safe, but for `owners_changed`, `clock_offset` and `waker` (under
/// `wake_mutex`), which the listener and other threads use.
struct State : durable::EngineState {
  State(Connection connection, const Settings& store_settings)
      : EngineState{store_settings.codecs, store_settings.cache_size},
        db{std::move(connection)},
        settings{store_settings} {}

  Connection db;
  Settings settings;
  // Due rows the open round has locked and not yet handed out, by next_run; the ids of all
  // it has locked.
  std::deque<durable::JobRow> claimed;
  std::unordered_set<std::string> claimed_ids;
  // The commits of claimed jobs not yet written, and their fires as array literals.
  std::vector<DeferredCommit> commits;
  std::string fire_ids = "{";
  std::string fire_scheduled = "{";
  std::string fire_states = "{";
  std::string fire_runs = "{";
  std::size_t fire_count = 0;
  // Unusable jobs by id, and the reports about them not yet taken; each job reported once.
  std::map<std::string, Unusable, std::less<>> unusable;
  std::vector<StoreReport> reports;
  std::map<std::string, std::string, std::less<>> reported;
  // Whether a batch or round is open, whether its transaction is, and whether a statement
  // of it failed.
  bool batch = false;
  bool round = false;
  bool open = false;
  bool failed = false;
  // When take_abandoned renews the lease and looks at the others' next.
  std::chrono::steady_clock::time_point next_lease_check{};
  // When a lost connection may be tried again, and the next back-off.
  std::chrono::steady_clock::time_point retry_at{};
  std::chrono::milliseconds backoff{100};
  // The connection string (the listener opens a connection of its own) and the
  // notification channel.
  std::string conninfo;
  std::string channel;
  // Set by the listener when a lease was given up (or notifications may have been lost):
  // take_abandoned looks at the other owners at its next call.
  std::atomic<bool> owners_changed{false};
  // Guards waker, which the listener calls.
  std::mutex wake_mutex;
  std::function<void()> waker;
  // The scheduler's clock (with PostgresStoreOptions::database_clock), and the database
  // clock's offset from it in nanoseconds, read by any thread.
  std::function<TimePoint()> clock;
  bool offset_known = false;
  std::atomic<std::int64_t> clock_offset{0};
  // The time (stored form) up to which a round last found no due job it could claim.
  std::int64_t none_due_at = std::numeric_limits<std::int64_t>::min();
  // Per job, the finished fires this store wrote since it last trimmed the job's history.
  std::unordered_map<std::string, std::uint32_t> untrimmed;
  // Last: destroyed first, joining its thread before what it uses goes.
  std::unique_ptr<Listener> listener;
};

}  // namespace apsched::detail::postgres
