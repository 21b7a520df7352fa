// SPDX-License-Identifier: MIT
// Kept so that programs written against the earlier layout build: AsioScheduler moved to
// <apsched/asio/scheduler.hpp> with the rest of its part.
#pragma once

#include <apsched/asio/scheduler.hpp>  // IWYU pragma: export
