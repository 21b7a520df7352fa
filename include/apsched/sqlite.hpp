// SPDX-License-Identifier: MIT
// The SQLite part (CMake target apsched::sqlite, needs SQLite3): the durable SqliteJobStore and its
// read-only SqliteStoreView.
#pragma once

#include <apsched/sqlite/job_store.hpp>
#include <apsched/sqlite/store_view.hpp>
