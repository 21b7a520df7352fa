// SPDX-License-Identifier: MIT
// The state of a SqliteJobStore: the values it was opened with, its connection, and what its
// rounds, batches and lease keep between calls.
#pragma once

#include <apsched/clock.hpp>
#include <apsched/detail/durable/coding.hpp>
#include <apsched/detail/durable/engine.hpp>
#include <apsched/detail/sqlite/database.hpp>
#include <apsched/detail/sqlite/set_aside.hpp>
#include <apsched/detail/sqlite/statement.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>

namespace apsched::detail::sqlite {

/// What a SqliteJobStore takes from its public options (SqliteStoreOptions documents each),
/// besides how it opens its connection.
///
/// Thread safety: not thread-safe (a plain value).
struct Settings {
  Duration poll_interval{};
  std::size_t history_per_job = 0;
  // The store's codecs, or the built-in ones.
  durable::AnyTriggerCodecs codecs;
  std::size_t cache_size = 0;
  Duration lease_duration{};
  std::size_t page_cache_kib = 0;
};

/// Whether the fires table was empty in transaction `transaction`
/// (Database::transactions_begun) of the store's connection, as of `changes`
/// (Database::total_changes).
///
/// Thread safety: not thread-safe (a plain value).
struct FiresSeen {
  std::uint64_t transaction = 0;
  std::int64_t changes = 0;
  bool empty = false;
};

/// What the engine shares (owner, registry, record cache, pending outcomes: see
/// durable::EngineState), and the connection with what only SQLite needs.
///
/// Thread safety: not thread-safe (the store's calls are serialised).
struct State : durable::EngineState {
  State(Database database, const Settings& store_settings)
      : EngineState{store_settings.codecs, store_settings.cache_size},
        db{std::move(database)},
        settings{store_settings} {}

  Database db;
  Settings settings;
  // When take_abandoned looks at the leases next (system clock, nanoseconds).
  std::int64_t next_lease_check = 0;
  // When this store's lease was last written (system clock, nanoseconds).
  std::int64_t lease_renewed = 0;
  // Whether a round is open (see begin_round); its transaction is `batch`, opened lazily.
  bool round = false;
  // Whether other processes have fires recorded submitted, as read once per round under its
  // write lock (empty until read).
  std::optional<bool> others_running;
  SetAsideJobs set_aside;
  // The transaction of the open batch, if any.
  std::optional<Transaction> batch;
  // Whether a write inside the open batch or round failed partway (see write_direct).
  bool batch_failed = false;
  // What insert saw of the fires table (see fires_known_empty).
  FiresSeen fires_seen;
};

}  // namespace apsched::detail::sqlite
