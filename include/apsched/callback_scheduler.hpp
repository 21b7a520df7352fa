// SPDX-License-Identifier: MIT
// CallbackScheduler: driven by the application's own event loop (the callback model).
#pragma once

#include <apsched/clock.hpp>
#include <apsched/executors/inline.hpp>
#include <apsched/scheduler.hpp>
#include <apsched/stores/memory.hpp>

namespace apsched {

/// A scheduler with no loop of its own: the application's event loop calls
/// `process_due_jobs()`, which runs what is due and returns when to call again, and arms its
/// own timer for that instant. `set_wakeup_handler` tells the loop, from any thread, when a
/// change made the next wake-up earlier (a job added, modified or resumed). Jobs run on the
/// executor, by default inline in the loop's thread. See BasicScheduler for the job API.
///
/// @code
/// apsched::CallbackScheduler scheduler;
/// scheduler.set_wakeup_handler([&] { loop.post_rearm(); });  // your loop's "wake me" call
/// scheduler.start();
/// // in the loop's timer callback:
/// if (auto next = scheduler.process_due_jobs()) { timer.arm_at(*next); }
/// @endcode
///
/// Thread safety: thread-safe (as BasicScheduler); `process_due_jobs` must not be called
/// concurrently with itself.
template <class S = MemoryJobStore, class E = InlineExecutor, Clock C = SystemClock>
class CallbackScheduler : public detail::NamedScheduler<SchedulerMode::callback, S, E, C> {
 public:
  using detail::NamedScheduler<SchedulerMode::callback, S, E, C>::NamedScheduler;
};

}  // namespace apsched
