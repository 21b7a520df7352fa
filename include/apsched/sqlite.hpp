// SPDX-License-Identifier: MIT
// The SQLite part (CMake target apsched::sqlite, needs SQLite3): the durable SqliteJobStore and its
// read-only SqliteStoreView.
#pragma once

#include <apsched/stores/sqlite.hpp>
#include <apsched/stores/sqlite_view.hpp>
