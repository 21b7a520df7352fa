// SPDX-License-Identifier: MIT
// Kept so that programs written against the earlier layout build: SqliteJobStore moved to
// <apsched/sqlite/job_store.hpp> with the rest of its part.
#pragma once

#include <apsched/sqlite/job_store.hpp>  // IWYU pragma: export
