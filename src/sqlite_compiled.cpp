// SPDX-License-Identifier: MIT
// The compiled mode's library of the SQLite part (apsched::sqlite_compiled): the definitions of
// SqliteJobStore and SqliteStoreView, and of the named schedulers over a SqliteJobStore, compiled
// once. A unit of the compiled mode that uses them then includes neither the store's internals
// nor <sqlite3.h> nor nlohmann's header.
#include <apsched/apsched.hpp>
#include <apsched/impl/sqlite/job_store.hpp>
#include <apsched/impl/sqlite/store_view.hpp>
#include <apsched/sqlite.hpp>

#include "instantiate_schedulers.hpp"

#if !APSCHED_SEPARATE_COMPILATION
#error "compile the apsched::sqlite_compiled library with APSCHED_SEPARATE_COMPILATION=1"
#endif

namespace apsched {

APSCHED_INSTANTIATE_SCHEDULERS(SqliteJobStore);

}  // namespace apsched
