// SPDX-License-Identifier: MIT
// What a scheduler is made of beyond its mode and clock: its settings, and the tags that list
// several stores or executors.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace apsched {

/// How serious a message the scheduler logs is.
///
/// Thread safety: thread-safe (a value).
enum class LogLevel : std::uint8_t { warning, error };

/// Receives the scheduler's log messages (a listener that threw, an event nobody could take).
///
/// Thread safety: may be called from several threads at once (the loop's, executors'); a logger
/// that keeps state guards it.
using Logger = std::function<void(LogLevel, std::string_view)>;

/// Identifies a registered listener, for `remove_listener`.
///
/// Thread safety: thread-safe (a value).
enum class ListenerId : std::uint64_t {};

/// Scheduler-wide settings.
///
/// Thread safety: not thread-safe (a plain value).
struct SchedulerOptions {
  /// Aliases of the stores, in the order of the scheduler's store types; missing ones default
  /// to "default" for the first and "store<i>" for the others.
  std::vector<std::string> store_aliases;
  /// Aliases of the executors, likewise ("default", "executor<i>").
  std::vector<std::string> executor_aliases;
  /// Receives log messages (listeners that threw); empty: standard error.
  Logger logger;
  /// Seeds the jitter and id generator; 0: a random seed.
  std::uint64_t random_seed = 0;
  /// Lower the loop thread's timer slack to 1 ns while it runs (Linux), so that it wakes on
  /// time rather than up to 50 µs late; restored when the loop ends.
  bool lower_timer_slack = true;
};

/// The job store types of a scheduler that keeps jobs in more than one store.
///
/// Thread safety: thread-safe (an empty tag type).
template <class... S>
struct Stores {};

/// The executor types of a scheduler that runs jobs on more than one executor.
///
/// Thread safety: thread-safe (an empty tag type).
template <class... E>
struct Executors {};

}  // namespace apsched
