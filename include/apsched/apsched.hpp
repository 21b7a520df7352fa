// SPDX-License-Identifier: MIT
// The umbrella header: every public header of the apsched core.
#pragma once

#include <apsched/any_trigger.hpp>
#include <apsched/background_scheduler.hpp>
#include <apsched/blocking_scheduler.hpp>
#include <apsched/callback_scheduler.hpp>
#include <apsched/clock.hpp>
#include <apsched/durable_job_store.hpp>
#include <apsched/error.hpp>
#include <apsched/event.hpp>
#include <apsched/executor.hpp>
#include <apsched/executors/inline.hpp>
#include <apsched/executors/thread_pool.hpp>
#include <apsched/job.hpp>
#include <apsched/job_store.hpp>
#include <apsched/scheduler.hpp>
#include <apsched/signals.hpp>  // declares nothing without POSIX signals
#include <apsched/store_view.hpp>
#include <apsched/stores/memory.hpp>
#include <apsched/testing/manual_clock.hpp>
#include <apsched/testing/manual_executor.hpp>
#include <apsched/trigger.hpp>
#include <apsched/triggers/combining.hpp>
#include <apsched/triggers/date.hpp>
#include <apsched/triggers/interval.hpp>
#include <apsched/version.hpp>
