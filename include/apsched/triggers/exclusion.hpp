// SPDX-License-Identifier: MIT
// Kept so that programs written against the earlier layout build: ExclusionTrigger moved to
// <apsched/cron/exclusion.hpp> with the rest of its part.
#pragma once

#include <apsched/cron/exclusion.hpp>  // IWYU pragma: export
