// SPDX-License-Identifier: MIT
// Kept so that programs written against the earlier layout build: CalendarIntervalTrigger moved to
// <apsched/cron/calendar_interval.hpp> with the rest of its part.
#pragma once

#include <apsched/cron/calendar_interval.hpp>  // IWYU pragma: export
