// SPDX-License-Identifier: MIT
// Kept so that programs written against the earlier layout build: PostgresJobStore moved to
// <apsched/postgres/job_store.hpp> with the rest of its part.
#pragma once

#include <apsched/postgres/job_store.hpp>  // IWYU pragma: export
