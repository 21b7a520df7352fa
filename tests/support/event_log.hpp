// SPDX-License-Identifier: MIT
// EventLog: a listener that records events, for tests that check what a scheduler reported.
#pragma once

#include <apsched/event.hpp>

#include <algorithm>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace apsched::test {

/// Records every event it receives; thread-safe.
class EventLog {
 public:
  /// The listener to register: `scheduler.add_listener(log.listener())`.
  auto listener() {
    return [this](const Event& event) {
      std::lock_guard lock{mutex_};
      events_.push_back(event);
    };
  }

  /// A copy of the events so far.
  [[nodiscard]] std::vector<Event> events() const {
    std::lock_guard lock{mutex_};
    return events_;
  }

  /// The events of `type` so far.
  [[nodiscard]] std::vector<Event> of(EventType type) const {
    std::vector<Event> found;
    std::lock_guard lock{mutex_};
    std::copy_if(events_.begin(), events_.end(), std::back_inserter(found),
                 [type](const Event& e) { return e.type == type; });
    return found;
  }

  /// How many events of `type` were received.
  [[nodiscard]] std::size_t count(EventType type) const { return of(type).size(); }

  /// The names of the job events (types selected by `mask`) in order, e.g. "job_submitted".
  [[nodiscard]] std::vector<std::string> names(EventMask mask = all_events) const {
    std::vector<std::string> found;
    std::lock_guard lock{mutex_};
    for (const Event& event : events_) {
      if (selects(mask, event.type)) {
        found.emplace_back(to_string(event.type));
      }
    }
    return found;
  }

  void clear() {
    std::lock_guard lock{mutex_};
    events_.clear();
  }

 private:
  mutable std::mutex mutex_;
  std::vector<Event> events_;
};

/// The per-run events: submitted, started, executed, error, missed, max instances, timeout,
/// dropped.
inline constexpr EventMask run_events = EventType::job_submitted | EventType::job_started |
                                        EventType::job_executed | EventType::job_error |
                                        EventType::job_missed | EventType::job_max_instances |
                                        EventType::job_timeout | EventType::job_dropped;

}  // namespace apsched::test
