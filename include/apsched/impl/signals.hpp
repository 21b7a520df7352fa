// SPDX-License-Identifier: MIT
// The definitions of SignalGuard's members and of what stop_on_signals does for any scheduler.
// signals.hpp includes this in header-only mode; in the compiled mode the apsched::compiled
// library holds them.
#pragma once

#if __has_include(<unistd.h>)

#include <apsched/config.hpp>
#include <apsched/detail/signal_watch.hpp>
#include <apsched/event.hpp>
#include <apsched/signals.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <stop_token>
#include <utility>
#include <vector>

namespace apsched {

APSCHED_INLINE SignalGuard::SignalGuard(std::unique_ptr<detail::SignalWatch> watch) noexcept
    : watch_{std::move(watch)} {}

APSCHED_INLINE SignalGuard::SignalGuard(SignalGuard&& other) noexcept = default;

APSCHED_INLINE SignalGuard& SignalGuard::operator=(SignalGuard&& other) noexcept = default;

APSCHED_INLINE SignalGuard::~SignalGuard() = default;

APSCHED_INLINE std::optional<int> SignalGuard::signal() const { return state().signal(); }

APSCHED_INLINE int SignalGuard::wait() const { return state().wait(); }

APSCHED_INLINE std::optional<int> SignalGuard::wait_for_nanoseconds(
    std::chrono::nanoseconds timeout) const {
  return state().wait_for(timeout);
}

APSCHED_INLINE std::stop_token SignalGuard::stop_token() const noexcept {
  return state().stop_token();
}

APSCHED_INLINE const detail::SignalState& SignalGuard::state() const noexcept {
  return watch_->state();
}

APSCHED_INLINE SignalGuard detail::guard_signals(const std::vector<int>& signals,
                                                 SignalTarget target) {
  auto state = std::make_shared<SignalState>(std::move(target.shutdown));
  auto watch = std::make_unique<SignalWatch>(signals, state);
  // Closes the gap of a signal that arrives before start(): the watcher's shutdown then finds
  // the scheduler stopped, and this listener stops it once it runs.
  const ListenerId listener = target.add_listener(
      [state](const Event&) {
        if (state->signal()) {
          state->stop_scheduler();
        }
      },
      static_cast<EventMask>(EventType::scheduler_started));
  watch->on_close([remove = std::move(target.remove_listener), listener] { remove(listener); });
  return SignalGuard{std::move(watch)};
}

}  // namespace apsched

#endif  // __has_include(<unistd.h>)
