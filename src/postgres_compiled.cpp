// SPDX-License-Identifier: MIT
// The compiled mode's library of the PostgreSQL part (apsched::postgres_compiled): the definitions
// of PostgresJobStore and PostgresStoreView, and of the named schedulers over a PostgresJobStore,
// compiled once. A unit of the compiled mode that uses them then includes neither the store's
// internals nor <libpq-fe.h> nor nlohmann's header.
#include <apsched/apsched.hpp>
#include <apsched/impl/postgres/job_store.hpp>
#include <apsched/impl/postgres/store_view.hpp>
#include <apsched/postgres.hpp>

#include "instantiate_schedulers.hpp"

#if !APSCHED_SEPARATE_COMPILATION
#error "compile the apsched::postgres_compiled library with APSCHED_SEPARATE_COMPILATION=1"
#endif

namespace apsched {

APSCHED_INSTANTIATE_SCHEDULERS(PostgresJobStore);

}  // namespace apsched
