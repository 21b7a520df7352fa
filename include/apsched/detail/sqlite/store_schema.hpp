// SPDX-License-Identifier: MIT
// The schema of SqliteJobStore and the conversions between its rows and JobRecords.
#pragma once

#include <apsched/clock.hpp>
#include <apsched/detail/durable/job_row.hpp>
#include <apsched/detail/json/reader.hpp>
#include <apsched/detail/json/time.hpp>
#include <apsched/detail/sqlite/migrate.hpp>
#include <apsched/detail/sqlite/statement.hpp>
#include <apsched/durable_job_store.hpp>
#include <apsched/error.hpp>
#include <apsched/job.hpp>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace apsched::detail::sqlite {

/// The schema name SqliteJobStore records in apsched_schema.
inline constexpr std::string_view store_schema_name = "apsched_jobs";

/// The migrations of the job store schema, oldest first. Never edit a released one: add the
/// next version instead.
inline constexpr std::array<Migration, 5> store_migrations{{
    {1,
     "CREATE TABLE jobs ("
     " id TEXT PRIMARY KEY NOT NULL,"
     " task TEXT NOT NULL,"
     " arguments TEXT NOT NULL,"
     " trigger TEXT NOT NULL,"
     " options TEXT NOT NULL,"
     " next_fire INTEGER NOT NULL,"
     " next_run INTEGER NOT NULL,"
     " paused INTEGER NOT NULL,"
     " last_run INTEGER,"
     " run_count INTEGER NOT NULL DEFAULT 0,"
     " failure_count INTEGER NOT NULL DEFAULT 0,"
     " last_outcome TEXT,"
     " version INTEGER NOT NULL);"
     "CREATE INDEX jobs_due ON jobs (next_run) WHERE paused = 0;"
     "CREATE TABLE fires ("
     " job_id TEXT NOT NULL,"
     " scheduled INTEGER NOT NULL,"
     " state TEXT NOT NULL,"
     " runs INTEGER NOT NULL,"
     " owner TEXT,"
     " recorded_at INTEGER NOT NULL,"
     " finished_at INTEGER,"
     " error TEXT,"
     " attempt INTEGER NOT NULL DEFAULT 1,"
     " PRIMARY KEY (job_id, scheduled)) WITHOUT ROWID;"},
    // The schedulers (store objects) with a lease on the file: the fires a dead one recorded as
    // submitted are taken over by another.
    {2,
     "CREATE TABLE owners ("
     " owner TEXT PRIMARY KEY NOT NULL,"
     " host TEXT NOT NULL,"
     " pid INTEGER NOT NULL,"
     " started_at INTEGER NOT NULL,"
     " lease_until INTEGER NOT NULL) WITHOUT ROWID;"
     "CREATE INDEX fires_submitted ON fires (owner) WHERE state = 'submitted';"
     // A new job starts a history of its own: fires left by an earlier job of its id would
     // collide with its fires. In the INSERT statement itself, which stays atomic alone.
     "CREATE TRIGGER jobs_insert_clears_fires AFTER INSERT ON jobs BEGIN"
     " DELETE FROM fires WHERE job_id = NEW.id; END;"},
    // The store clears those fires itself, in the transaction of the add: a trigger made every
    // INSERT keep a statement journal, which cost more than the INSERT.
    {3, "DROP TRIGGER IF EXISTS jobs_insert_clears_fires;"},
    // A job removed with its last fire still submitted, whose Abandoned policy is rerun: kept
    // here, out of listings, until that fire's outcome is written, so that a scheduler taking
    // the fire over from a dead one can run the job again. The columns of jobs.
    {4,
     "CREATE TABLE retired_jobs ("
     " id TEXT PRIMARY KEY NOT NULL,"
     " task TEXT NOT NULL,"
     " arguments TEXT NOT NULL,"
     " trigger TEXT NOT NULL,"
     " options TEXT NOT NULL,"
     " next_fire INTEGER NOT NULL,"
     " next_run INTEGER NOT NULL,"
     " paused INTEGER NOT NULL,"
     " last_run INTEGER,"
     " run_count INTEGER NOT NULL DEFAULT 0,"
     " failure_count INTEGER NOT NULL DEFAULT 0,"
     " last_outcome TEXT,"
     " version INTEGER NOT NULL);"},
    // Fires claimed by a scheduler but not started (FireState::claimed), taken over by another
    // when their scheduler is gone; the started ones of a job, counted against max_instances;
    // each scheduler's history_per_job, so that none trims the history below another's.
    {5,
     "CREATE INDEX fires_claimed ON fires (owner) WHERE state = 'claimed';"
     "CREATE INDEX fires_started ON fires (job_id) WHERE state = 'submitted';"
     "ALTER TABLE owners ADD COLUMN history_per_job INTEGER NOT NULL DEFAULT 0;"},
}};

// The job rows and fire states both durable stores share (detail/durable/job_row.hpp).
using durable::decode_record_options;
using durable::encode_record_options;
using durable::encode_record_options_text;
using durable::enum_from_name;
using durable::fire_state_names;
using durable::from_stored_time;
using durable::JobRow;
using durable::outcome_names;
using durable::outcome_of;
using durable::outcome_text;
using durable::state_text;
using durable::system_now;
using durable::to_stored_time;

/// The columns of `jobs` in the order row_columns reads them.
inline constexpr std::string_view job_columns =
    "id, task, arguments, trigger, options, next_fire, next_run, paused, last_run, run_count, "
    "failure_count, last_outcome, version";

/// The row `statement` is on, whose first columns are job_columns.
[[nodiscard]] inline JobRow read_job_row(const Statement& statement) {
  return JobRow{.id = statement.column_text(0),
                .task = statement.column_text(1),
                .arguments = statement.column_text(2),
                .trigger = statement.column_text(3),
                .options = statement.column_text(4),
                .next_fire = statement.column_int64(5),
                .next_run = statement.column_int64(6),
                .paused = statement.column_int64(7) != 0,
                .last_run = statement.column<std::optional<std::int64_t>>(8),
                .run_count = statement.column_int64(9),
                .failure_count = statement.column_int64(10),
                .last_outcome = statement.column<std::optional<std::string>>(11),
                .version = statement.column_int64(12)};
}

/// The tag of the documents SqliteJobStore::export_jobs writes. It differs from the
/// "apsched-jobs" of json/export.hpp, whose jobs have another shape (decoded JSON members).
inline constexpr std::string_view job_export_format = "apsched-sqlite-jobs";

/// `row` as a member of the "jobs" array of an export document: every column under its name,
/// the JSON columns as strings, exactly as stored.
[[nodiscard]] inline nlohmann::json job_row_json(const JobRow& row) {
  return nlohmann::json{
      {"id", row.id},
      {"task", row.task},
      {"arguments", row.arguments},
      {"trigger", row.trigger},
      {"options", row.options},
      {"next_fire", row.next_fire},
      {"next_run", row.next_run},
      {"paused", row.paused},
      {"last_run", row.last_run ? nlohmann::json(*row.last_run) : nlohmann::json()},
      {"run_count", row.run_count},
      {"failure_count", row.failure_count},
      {"last_outcome", row.last_outcome ? nlohmann::json(*row.last_outcome) : nlohmann::json()},
      {"version", row.version}};
}

/// The rows of an export document (as SqliteJobStore::export_jobs writes it), checked.
/// @throws SerializationError naming "import_jobs", the member, its value and what was expected
[[nodiscard]] inline std::vector<JobRow> read_job_export(const nlohmann::json& document) {
  constexpr std::string_view call = "import_jobs";
  constexpr std::int64_t min = std::numeric_limits<std::int64_t>::min();
  constexpr std::int64_t max = std::numeric_limits<std::int64_t>::max();
  json::ObjectReader reader{document, call, "job export document", ""};
  const std::string expected_format = fmt::format("\"{}\"", job_export_format);
  if (reader.string("format", expected_format) != job_export_format) {
    reader.fail("format", document["format"], expected_format);
  }
  (void)reader.integer("version", 1, 1);
  const nlohmann::json& jobs = reader.require("jobs", "an array of jobs");
  if (!jobs.is_array()) {
    reader.fail("jobs", jobs, "an array of jobs");
  }
  reader.finish();
  std::vector<JobRow> rows;
  rows.reserve(jobs.size());
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    json::ObjectReader job{jobs[i], call, "job export document", reader.member_path("jobs", i)};
    const auto nullable_integer = [&](std::string_view name) -> std::optional<std::int64_t> {
      const nlohmann::json* value = job.find(name);
      if (value == nullptr || value->is_null()) {
        return std::nullopt;
      }
      return job.integer(name, min, max);
    };
    const auto nullable_string = [&](std::string_view name) -> std::optional<std::string> {
      const nlohmann::json* value = job.find(name);
      if (value == nullptr || value->is_null()) {
        return std::nullopt;
      }
      return job.string(name, "a string or null");
    };
    const nlohmann::json& paused = job.require("paused", "true or false");
    if (!paused.is_boolean()) {
      job.fail("paused", paused, "true or false");
    }
    JobRow row{.id = job.string("id"),
               .task = job.string("task"),
               .arguments = job.string("arguments", "the JSON text of an array"),
               .trigger = job.string("trigger", "the JSON text of a trigger"),
               .options = job.string("options", "the JSON text of job options"),
               .next_fire = job.integer("next_fire", min, max),
               .next_run = job.integer("next_run", min, max),
               .paused = paused.get<bool>(),
               .last_run = nullable_integer("last_run"),
               .run_count = job.integer("run_count", 0, max),
               .failure_count = job.integer("failure_count", 0, max),
               .last_outcome = nullable_string("last_outcome"),
               .version = job.integer("version", 1, max)};
    job.finish();
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace apsched::detail::sqlite
