// SPDX-License-Identifier: MIT
// The tables of PostgresJobStore: their migrations, in the order they were released.
#pragma once

#include <apsched/detail/migration.hpp>

#include <array>

namespace apsched::detail::postgres {

/// The migrations of PostgresJobStore's tables (schema name "apsched_jobs"). Released steps are
/// never edited: a change is a new step at the end.
inline constexpr std::array<Migration, 4> store_migrations{{
    {1,
     "CREATE TABLE apsched_jobs ("
     " id text PRIMARY KEY,"
     " task text NOT NULL,"
     " arguments text NOT NULL,"
     " trigger text NOT NULL,"
     " options text NOT NULL,"
     " next_fire bigint NOT NULL,"
     " next_run bigint NOT NULL,"
     " paused boolean NOT NULL,"
     " last_run bigint,"
     " run_count bigint NOT NULL DEFAULT 0,"
     " failure_count bigint NOT NULL DEFAULT 0,"
     " last_outcome text,"
     " version bigint NOT NULL);"
     "CREATE INDEX apsched_jobs_due ON apsched_jobs (next_run) WHERE NOT paused;"
     // The same fire-record model as the SQLite store: times in nanoseconds since the epoch.
     "CREATE TABLE apsched_fires ("
     " job_id text NOT NULL,"
     " scheduled bigint NOT NULL,"
     " state text NOT NULL,"
     " runs bigint NOT NULL,"
     " owner text,"
     " recorded_at bigint NOT NULL,"
     " finished_at bigint,"
     " error text,"
     " attempt integer NOT NULL DEFAULT 1,"
     " PRIMARY KEY (job_id, scheduled));"
     "CREATE INDEX apsched_fires_submitted ON apsched_fires (owner) "
     "WHERE state = 'submitted';"
     // The schedulers (store objects) with a lease: the fires a dead one recorded as
     // submitted are taken over by another. lease_until by the database clock, in
     // nanoseconds since the epoch.
     "CREATE TABLE apsched_owners ("
     " owner text PRIMARY KEY,"
     " host text NOT NULL,"
     " pid bigint NOT NULL,"
     " started_at bigint NOT NULL,"
     " lease_until bigint NOT NULL);"},
    // The runs of a job in flight anywhere, which max_instances counts when a round claims it.
    {2,
     "CREATE INDEX apsched_fires_submitted_job ON apsched_fires (job_id) "
     "WHERE state = 'submitted';"},
    // A job removed with its last fire still submitted, whose Abandoned policy is rerun: kept
    // here, out of listings, until that fire's outcome is written, so that a scheduler taking
    // the fire over from a dead one can run the job again. The columns of apsched_jobs (as of
    // this version: a later column of apsched_jobs is added here too).
    {3,
     "CREATE TABLE apsched_retired_jobs (LIKE apsched_jobs INCLUDING DEFAULTS, "
     "PRIMARY KEY (id));"},
    // Fires claimed by a scheduler but not started (FireState::claimed), taken over by another
    // when their scheduler is gone; each scheduler's history_per_job (0 for a scheduler of an
    // earlier version), so that none trims the shared history below another's.
    {4,
     "CREATE INDEX apsched_fires_claimed ON apsched_fires (owner) WHERE state = 'claimed';"
     "ALTER TABLE apsched_owners ADD COLUMN history_per_job bigint NOT NULL DEFAULT 0;"},
}};

}  // namespace apsched::detail::postgres
