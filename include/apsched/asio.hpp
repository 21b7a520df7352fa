// SPDX-License-Identifier: MIT
// The Asio part (CMake target apsched::asio, needs Asio or Boost.Asio): AsioScheduler, the
// io_context executor and coroutine jobs.
#pragma once

#include <apsched/asio/coroutine_job.hpp>
#include <apsched/asio/io_context_executor.hpp>
#include <apsched/asio/scheduler.hpp>
