// SPDX-License-Identifier: MIT
// The listener registry: who wants which events, and delivery that survives throwing listeners.
#pragma once

#include <apsched/error.hpp>
#include <apsched/event.hpp>
#include <apsched/scheduler_options.hpp>

#include <fmt/core.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace apsched::detail {

/// Writes `message` to standard error; the default Logger.
inline void log_to_stderr(LogLevel level, std::string_view message) {
  fmt::print(stderr, "apsched {}: {}\n", level == LogLevel::error ? "error" : "warning", message);
}

/// Listeners with their masks and job filters. Delivery copies a snapshot of the list, so listeners
/// may add or remove listeners, and call the scheduler, while they run.
class ListenerRegistry {
 public:
  using Listener = std::function<void(const Event&)>;

  explicit ListenerRegistry(Logger logger)
      : logger_{logger ? std::move(logger) : Logger{log_to_stderr}} {}

  /// Registers `listener` for the types in `mask` and, with a non-empty `job_id`, only for the
  /// events of that job.
  ListenerId add(Listener listener, EventMask mask, std::string job_id = {}) {
    std::lock_guard lock{mutex_};
    auto next = std::make_shared<std::vector<Entry>>(*entries_);
    const ListenerId id{++last_id_};
    next->push_back(
        Entry{id, mask, std::make_shared<Listener>(std::move(listener)), std::move(job_id)});
    publish_locked(std::move(next));
    return id;
  }

  bool remove(ListenerId id) {
    std::lock_guard lock{mutex_};
    auto next = std::make_shared<std::vector<Entry>>(*entries_);
    const auto erased = std::erase_if(*next, [id](const Entry& e) { return e.id == id; });
    publish_locked(std::move(next));
    return erased != 0;
  }

  /// Unregisters every listener.
  void clear() {
    std::lock_guard lock{mutex_};
    publish_locked(std::make_shared<std::vector<Entry>>());
  }

  /// Whether any listener wants `type`; lets callers skip building events nobody reads.
  [[nodiscard]] bool wants(EventType type) const noexcept {
    return selects(mask_.load(std::memory_order_relaxed), type);
  }

  /// Calls each listener that wants `event.type` (and, if it asked for one job, is that job's),
  /// in the order they were added. An event with an exception gets its text in
  /// Event::message first. A listener that throws is logged and the others still run.
  void emit(const Event& given) const {
    if (!wants(given.type)) {
      return;
    }
    std::optional<Event> described;
    if (given.exception && given.message.empty()) {
      described.emplace(given);
      described->message = describe(given.exception);
    }
    const Event& event = described ? *described : given;
    std::shared_ptr<const std::vector<Entry>> entries;
    {
      std::lock_guard lock{mutex_};
      entries = entries_;
    }
    for (const Entry& entry : *entries) {
      if (!selects(entry.mask, event.type) ||
          (!entry.job_id.empty() && entry.job_id != event.job_id)) {
        continue;
      }
      try {
        (*entry.listener)(event);
      } catch (const std::exception& error) {
        log(LogLevel::error,
            fmt::format("a listener of {} threw: {}", to_string(event.type), error.what()));
      } catch (...) {
        log(LogLevel::error,
            fmt::format("a listener of {} threw a non-std exception", to_string(event.type)));
      }
    }
  }

  /// Passes `message` to the logger; a logger that throws is ignored.
  void log(LogLevel level, std::string_view message) const noexcept {
    try {
      logger_(level, message);
    } catch (...) {  // NOLINT(bugprone-empty-catch): nowhere left to report it
    }
  }

 private:
  struct Entry {
    ListenerId id;
    EventMask mask;
    std::shared_ptr<Listener> listener;
    // Empty: every job's events.
    std::string job_id;
  };

  void publish_locked(std::shared_ptr<std::vector<Entry>> next) {
    EventMask mask = 0;
    for (const Entry& entry : *next) {
      mask |= entry.mask;
    }
    entries_ = std::move(next);
    mask_.store(mask, std::memory_order_relaxed);
  }

  Logger logger_;
  // Guards entries_ and last_id_; mask_ mirrors the union of the entries' masks.
  mutable std::mutex mutex_;
  std::shared_ptr<const std::vector<Entry>> entries_ = std::make_shared<std::vector<Entry>>();
  std::uint64_t last_id_ = 0;
  std::atomic<EventMask> mask_{0};
};

}  // namespace apsched::detail
