// SPDX-License-Identifier: MIT
// Kept so that programs written against the earlier layout build: SqliteStoreView moved to
// <apsched/sqlite/store_view.hpp> with the rest of its part.
#pragma once

#include <apsched/sqlite/store_view.hpp>  // IWYU pragma: export
