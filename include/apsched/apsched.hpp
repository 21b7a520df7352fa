// SPDX-License-Identifier: MIT
// The umbrella header: every public header of the apsched core (CMake target apsched::apsched,
// needing fmt and threads). Each optional part is a folder of its own with an umbrella header,
// its own CMake target and dependency, and its internals under detail/<part>/:
//
//   part               umbrella        headers                                 CMake target
//   cron triggers      cron.hpp        cron/cron_trigger.hpp, cron/policies.hpp,  apsched::cron
//                                      cron/calendar_interval.hpp,             (date/tz)
//                                      cron/exclusion.hpp
//   JSON and tasks     json.hpp        json/task_registry.hpp,                 apsched::json
//                                      json/task_arguments.hpp,                (nlohmann/json)
//                                      json/trigger_codec.hpp,
//                                      json/job_options.hpp, json/export.hpp
//   SQLite store       sqlite.hpp      sqlite/job_store.hpp,                   apsched::sqlite
//                                      sqlite/store_view.hpp                   (SQLite3)
//   PostgreSQL store   postgres.hpp    postgres/job_store.hpp,                 apsched::postgres
//                                      postgres/store_view.hpp                 (libpq)
//   Asio               asio.hpp        asio/scheduler.hpp,                     apsched::asio
//                                      asio/io_context_executor.hpp,           (Asio or
//                                      asio/coroutine_job.hpp                  Boost.Asio)
//
// The durable stores share one engine (detail/durable/, part of apsched::json). The core's
// concepts: Clock (clock.hpp), Trigger (trigger.hpp), JobStore (job_store.hpp), DurableJobStore
// and its optional parts (durable_job_store.hpp), Executor (executor.hpp), StoreView
// (store_view.hpp); the schedulers over them: scheduler.hpp (settings in scheduler_options.hpp)
// and its named forms. The scheduler core's rooms live in detail/scheduler/.
//
// Header-only by default. The compiled mode (config.hpp) takes the definitions of impl/ from
// libraries compiled once instead: CMake targets apsched::compiled and, per part,
// apsched::json_compiled (configure with APSCHED_COMPILED=ON), sources in src/.
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
