// SPDX-License-Identifier: MIT
// Kept so that programs written against the earlier layout build: the cron dialect settings moved
// to <apsched/cron/policies.hpp> with the rest of its part.
#pragma once

#include <apsched/cron/policies.hpp>  // IWYU pragma: export
