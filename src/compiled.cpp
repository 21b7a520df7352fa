// SPDX-License-Identifier: MIT
// The compiled mode's core library (apsched::compiled): the definitions of the named
// schedulers over the memory store, with either standard executor and the system clock,
// compiled once. A program whose units define APSCHED_SEPARATE_COMPILATION (linking the target
// does that) takes them from here instead of compiling them in every unit.
#include <apsched/apsched.hpp>
#include <apsched/impl/detail/combining.hpp>
#include <apsched/impl/detail/format_time.hpp>
#include <apsched/impl/durable_job_store.hpp>
#include <apsched/impl/executors/thread_pool.hpp>
#include <apsched/impl/scheduler.hpp>
#include <apsched/impl/signals.hpp>
#include <apsched/impl/stores/memory.hpp>
#include <apsched/impl/testing/manual_clock.hpp>
#include <apsched/impl/triggers/interval.hpp>

#include "instantiate_schedulers.hpp"

#if !APSCHED_SEPARATE_COMPILATION
#error "compile the apsched::compiled library with APSCHED_SEPARATE_COMPILATION=1"
#endif

namespace apsched {

APSCHED_INSTANTIATE_SCHEDULERS(MemoryJobStore);

}  // namespace apsched
