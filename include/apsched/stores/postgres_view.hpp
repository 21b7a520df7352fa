// SPDX-License-Identifier: MIT
// Kept so that programs written against the earlier layout build: PostgresStoreView moved to
// <apsched/postgres/store_view.hpp> with the rest of its part.
#pragma once

#include <apsched/postgres/store_view.hpp>  // IWYU pragma: export
