// SPDX-License-Identifier: MIT
// BlockingScheduler: runs the scheduler loop in the thread that calls start().
#pragma once

#include <apsched/clock.hpp>
#include <apsched/executors/thread_pool.hpp>
#include <apsched/scheduler.hpp>
#include <apsched/stores/memory.hpp>

namespace apsched {

/// A scheduler whose `start()` runs the loop in the calling thread and returns once
/// `shutdown()` is called from a job, a listener or another thread. For programs that do
/// nothing but run jobs. See BasicScheduler for the job API.
///
/// @code
/// apsched::BlockingScheduler scheduler;
/// scheduler.add_job([] { keep_warm(); }, apsched::IntervalTrigger{std::chrono::seconds{10}},
///                   {.id = "keep-warm"});
/// scheduler.start();  // returns after shutdown()
/// @endcode
///
/// Thread safety: thread-safe (as BasicScheduler).
template <class S = MemoryJobStore, class E = ThreadPoolExecutor, Clock C = SystemClock>
class BlockingScheduler : public detail::NamedScheduler<SchedulerMode::blocking, S, E, C> {
 public:
  using detail::NamedScheduler<SchedulerMode::blocking, S, E, C>::NamedScheduler;
};

}  // namespace apsched
