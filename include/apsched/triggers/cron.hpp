// SPDX-License-Identifier: MIT
// Kept so that programs written against the earlier layout build: CronTrigger moved to
// <apsched/cron/cron_trigger.hpp> with the rest of its part.
#pragma once

#include <apsched/cron/cron_trigger.hpp>  // IWYU pragma: export
