// SPDX-License-Identifier: MIT
// The cron part (CMake target apsched::cron, needs date/tz): cron, calendar-interval and exclusion
// triggers.
#pragma once

#include <apsched/cron/calendar_interval.hpp>
#include <apsched/cron/cron_trigger.hpp>
#include <apsched/cron/exclusion.hpp>
#include <apsched/cron/policies.hpp>
