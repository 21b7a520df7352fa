// SPDX-License-Identifier: MIT
// The PostgreSQL part (CMake target apsched::postgres, needs libpq): the clustered PostgresJobStore
// and its read-only PostgresStoreView.
#pragma once

#include <apsched/stores/postgres.hpp>
#include <apsched/stores/postgres_view.hpp>
