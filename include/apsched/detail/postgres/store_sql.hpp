// SPDX-License-Identifier: MIT
// The SQL a PostgresJobStore shares between its statements: its columns, limits, session
// settings, notification channel and the query and reading of its job rows.
#pragma once

#include <apsched/detail/durable/job_row.hpp>
#include <apsched/detail/postgres/connection.hpp>

#include <fmt/core.h>

#include <cstddef>
#include <string>
#include <string_view>

namespace apsched::detail::postgres {

/// How many due jobs a round claims (locks) per query, and in all: a longer round would
/// hold its runs back until it commits, and make other schedulers skip more locked rows.
inline constexpr int claim_batch = 64;
inline constexpr std::size_t round_claims = 256;

/// The payload of the notification of a lease given up with fires left in flight, before the
/// owner; any other payload is the owner that added or changed a job.
inline constexpr std::string_view released_prefix = "released:";

/// The notification channel of the schema: "apsched:" and its name, cut to the 63 bytes of a
/// PostgreSQL identifier (at a character boundary).
/// Every statement of the store finds its rows through an index. Its statements are prepared
/// (planned once per session), and a plan made while a table was small (a new database, before
/// autovacuum's first ANALYZE) would scan the whole table for as long as the session lasts.
/// Without JIT: the cost of a plan with a seq scan left (of apsched_owners, say) is then large
/// enough for PostgreSQL to compile it, which takes a second, for queries that take 0.1 ms.
inline constexpr std::string_view session_settings = "SET enable_seqscan = off; SET jit = off";

inline std::string channel_name(std::string_view schema) {
  std::string channel = "apsched:";
  channel += schema;
  if (channel.size() > 63) {
    std::size_t end = 63;
    while (end > 0 && (static_cast<unsigned char>(channel[end]) & 0xC0U) == 0x80U) {
      --end;  // a continuation byte: cut before its character
    }
    channel.resize(end);
  }
  return channel;
}

/// The columns of apsched_jobs and apsched_retired_jobs, in the order read_row reads them.
inline constexpr std::string_view job_columns =
    "id, task, arguments, trigger, options, next_fire, next_run, paused, last_run, run_count, "
    "failure_count, last_outcome, version";

/// Keeps the rows of `source` (a CTE of removed job rows) in apsched_retired_jobs, replacing
/// one of the same id.
inline std::string retire_sql(std::string_view source, std::string_view where) {
  return fmt::format(
      "INSERT INTO apsched_retired_jobs ({0}) SELECT {0} FROM {1} {2} ON CONFLICT (id) DO "
      "UPDATE SET (task, arguments, trigger, options, next_fire, next_run, paused, last_run, "
      "run_count, failure_count, last_outcome, version) = (EXCLUDED.task, EXCLUDED.arguments, "
      "EXCLUDED.trigger, EXCLUDED.options, EXCLUDED.next_fire, EXCLUDED.next_run, "
      "EXCLUDED.paused, EXCLUDED.last_run, EXCLUDED.run_count, EXCLUDED.failure_count, "
      "EXCLUDED.last_outcome, EXCLUDED.version)",
      job_columns, source, where);
}

/// Now by the database's clock, in nanoseconds since the epoch (microsecond precision).
inline constexpr std::string_view db_now = "(extract(epoch FROM clock_timestamp()) * 1e9)::bigint";

/// How many finished fires per job a trim keeps: the largest history_per_job in use, this
/// store's (parameter `param`) or one in apsched_owners (see PostgresStoreOptions).
inline std::string history_limit(int param) {
  return fmt::format("greatest(${}::bigint, (SELECT max(history_per_job) FROM apsched_owners))",
                     param);
}

/// The query of job rows; with `owner_param`, the number of the parameter holding this
/// store's owner, each row counts the job's fires other owners recorded submitted (started:
/// not the ones they only claimed) too.
inline std::string select_sql(std::string_view where, int owner_param = 0) {
  return fmt::format(
      "SELECT {}{} FROM apsched_jobs {}", job_columns,
      owner_param == 0
          ? std::string{}
          : fmt::format(", (SELECT count(*) FROM apsched_fires f WHERE f.job_id = "
                        "apsched_jobs.id AND f.state = 'submitted' AND f.owner <> ${})",
                        owner_param),
      where);
}

inline durable::JobRow read_row(const Result& rows, int i) {
  return durable::JobRow{
      .id = std::string{rows.text(i, 0)},
      .task = std::string{rows.text(i, 1)},
      .arguments = std::string{rows.text(i, 2)},
      .trigger = std::string{rows.text(i, 3)},
      .options = std::string{rows.text(i, 4)},
      .next_fire = rows.int64(i, 5),
      .next_run = rows.int64(i, 6),
      .paused = rows.text(i, 7) == "t",
      .last_run = rows.is_null(i, 8) ? std::nullopt : std::optional{rows.int64(i, 8)},
      .run_count = rows.int64(i, 9),
      .failure_count = rows.int64(i, 10),
      .last_outcome =
          rows.is_null(i, 11) ? std::nullopt : std::optional{std::string{rows.text(i, 11)}},
      .version = rows.int64(i, 12),
      .running_elsewhere = rows.columns() > 13 ? rows.int64(i, 13) : 0};
}

}  // namespace apsched::detail::postgres
