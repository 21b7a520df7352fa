// SPDX-License-Identifier: MIT
// The PostgreSQL part (CMake target apsched::postgres, needs libpq): the clustered PostgresJobStore
// and its read-only PostgresStoreView.
#pragma once

#include <apsched/postgres/job_store.hpp>
#include <apsched/postgres/store_view.hpp>
