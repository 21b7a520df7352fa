// SPDX-License-Identifier: MIT
// BackgroundScheduler: runs the scheduler loop on a thread of its own.
#pragma once

#include <apsched/clock.hpp>
#include <apsched/executors/thread_pool.hpp>
#include <apsched/scheduler.hpp>
#include <apsched/stores/memory.hpp>

namespace apsched {

/// A scheduler whose `start()` runs the loop on a `std::jthread` and returns at once. The
/// destructor shuts down without waiting: running jobs are asked to stop through their stop
/// tokens and are waited for; queued runs are dropped, without events (see ~BasicScheduler).
/// Call `shutdown(true)` first to let queued runs finish. See BasicScheduler for the job API.
///
/// @code
/// apsched::BackgroundScheduler scheduler;
/// scheduler.add_job([] { fmt::print("tick\n"); },
/// apsched::IntervalTrigger{std::chrono::seconds{1}}); scheduler.start();
/// // ... the application goes on; jobs run on the executor's threads
/// scheduler.shutdown();
/// @endcode
///
/// Thread safety: thread-safe (as BasicScheduler).
template <class S = MemoryJobStore, class E = ThreadPoolExecutor, Clock C = SystemClock>
class BackgroundScheduler : public detail::NamedScheduler<SchedulerMode::background, S, E, C> {
 public:
  using detail::NamedScheduler<SchedulerMode::background, S, E, C>::NamedScheduler;
};

}  // namespace apsched
