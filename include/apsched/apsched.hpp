// SPDX-License-Identifier: MIT
// The umbrella header: every public header of the apsched core (CMake target apsched::apsched,
// needing fmt and threads). The optional parts, each its own CMake target and dependency:
//
//   part               headers                                        CMake target
//   cron triggers      triggers/cron.hpp, triggers/cron_policies.hpp, apsched::cron
//                      triggers/calendar_interval.hpp,                (date/tz)
//                      triggers/exclusion.hpp
//   JSON and tasks     json/task_registry.hpp, json/trigger_codec.hpp, apsched::json
//                      json/job_options.hpp, json/export.hpp          (nlohmann/json)
//   SQLite store       stores/sqlite.hpp, stores/sqlite_view.hpp      apsched::sqlite (SQLite3)
//   PostgreSQL store   stores/postgres.hpp, stores/postgres_view.hpp  apsched::postgres (libpq)
//   Asio               asio_scheduler.hpp, asio/io_context_executor.hpp, apsched::asio
//                      asio/coroutine_job.hpp                         (Asio or Boost.Asio)
//
// The core's concepts: Clock (clock.hpp), Trigger (trigger.hpp), JobStore (job_store.hpp),
// DurableJobStore and its optional parts (durable_job_store.hpp), Executor (executor.hpp),
// StoreView (store_view.hpp); the schedulers over them: scheduler.hpp and its named forms.
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
