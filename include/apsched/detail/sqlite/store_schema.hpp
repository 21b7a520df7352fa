// SPDX-License-Identifier: MIT
// The schema of SqliteJobStore and the conversions between its rows and JobRecords.
#pragma once

#include <apsched/clock.hpp>
#include <apsched/detail/json/reader.hpp>
#include <apsched/detail/json/time.hpp>
#include <apsched/detail/json/write.hpp>
#include <apsched/detail/sqlite/migrate.hpp>
#include <apsched/detail/sqlite/statement.hpp>
#include <apsched/error.hpp>
#include <apsched/job.hpp>
#include <apsched/job_store.hpp>
#include <apsched/json/job_options.hpp>
#include <apsched/json/task_registry.hpp>
#include <apsched/json/trigger_codec.hpp>

#include <fmt/format.h>
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
inline constexpr std::array<Migration, 3> store_migrations{{
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
}};

/// The columns of `jobs` in the order row_columns reads them.
inline constexpr std::string_view job_columns =
    "id, task, arguments, trigger, options, next_fire, next_run, paused, last_run, run_count, "
    "failure_count, last_outcome, version";

/// One row of `jobs`, as stored.
///
/// Thread safety: not thread-safe (a plain value).
struct JobRow {
  std::string id;
  std::string task;
  std::string arguments;
  std::string trigger;
  std::string options;
  std::int64_t next_fire = 0;
  std::int64_t next_run = 0;
  bool paused = false;
  std::optional<std::int64_t> last_run;
  std::int64_t run_count = 0;
  std::int64_t failure_count = 0;
  std::optional<std::string> last_outcome;
  std::int64_t version = 0;
};

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

/// `t` as integer nanoseconds since the epoch of TimePoint.
/// @throws SerializationError naming `call` when that overflows 64 bits (coarse ticks only)
[[nodiscard]] inline std::int64_t to_stored_time(std::string_view call, TimePoint t) {
  const std::optional<std::int64_t> nanoseconds = json::to_nanoseconds(t.time_since_epoch());
  if (!nanoseconds) {
    throw SerializationError{
        fmt::format("{}: time {} does not fit 64-bit nanoseconds", call, json::format_rfc3339(t))};
  }
  return *nanoseconds;
}

/// The TimePoint of stored nanoseconds (rounded down to a tick where ticks are coarser).
[[nodiscard]] inline TimePoint from_stored_time(std::int64_t nanoseconds) noexcept {
  return TimePoint{std::chrono::floor<Duration>(std::chrono::nanoseconds{nanoseconds})};
}

/// The stored name of each FireState.
inline constexpr std::array<json::EnumName<FireState>, 8> fire_state_names{{
    {"submitted", FireState::submitted},
    {"succeeded", FireState::succeeded},
    {"failed", FireState::failed},
    {"missed", FireState::missed},
    {"skipped", FireState::skipped},
    {"dropped", FireState::dropped},
    {"abandoned", FireState::abandoned},
    {"coalesced", FireState::coalesced},
}};

/// The stored name of each JobOutcome but `none` (stored as NULL).
inline constexpr std::array<json::EnumName<JobOutcome>, 4> outcome_names{{
    {"success", JobOutcome::success},
    {"error", JobOutcome::error},
    {"missed", JobOutcome::missed},
    {"dropped", JobOutcome::dropped},
}};

/// The enumerator stored as `text`, or empty for an unknown name.
template <class E, std::size_t N>
[[nodiscard]] constexpr std::optional<E> enum_from_name(
    const std::array<json::EnumName<E>, N>& names, std::string_view text) noexcept {
  for (const auto& [name, value] : names) {
    if (name == text) {
      return value;
    }
  }
  return std::nullopt;
}

/// Now by the system clock, in nanoseconds since its epoch.
[[nodiscard]] inline std::int64_t system_now() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// The stored name of `state`.
[[nodiscard]] inline std::string_view state_text(FireState state) noexcept {
  return json::enum_name(fire_state_names, state);
}

/// The stored `last_outcome` of `outcome`: empty (NULL) for none.
[[nodiscard]] inline std::optional<std::string_view> outcome_text(JobOutcome outcome) noexcept {
  if (outcome == JobOutcome::none) {
    return std::nullopt;
  }
  return json::enum_name(outcome_names, outcome);
}

/// The outcome a fire that ended in `state` gives its job.
[[nodiscard]] inline JobOutcome outcome_of(FireState state) noexcept {
  switch (state) {
    case FireState::succeeded:
      return JobOutcome::success;
    case FireState::failed:
      return JobOutcome::error;
    case FireState::missed:
      return JobOutcome::missed;
    default:
      return JobOutcome::dropped;
  }
}

/// The `options` column of `record`: the settings of JobRecord that are not columns of their
/// own, `{"name", "misfire_grace_time_ns"?, "coalesce", "max_instances", "overlap",
/// "timeout_ns"?, "executor", "abandoned"}`, with `executor` the executor's index.
/// @throws SerializationError only if a duration overflows 64-bit nanoseconds (coarse ticks)
[[nodiscard]] inline nlohmann::json encode_record_options(const JobRecord& record) {
  nlohmann::json value{{"name", record.extras ? record.extras->name : std::string{}},
                       {"coalesce", json::enum_name(json::coalesce_names, record.coalesce)},
                       {"max_instances", record.max_instances},
                       {"overlap", json::enum_name(json::overlap_names, record.overlap)},
                       {"executor", record.executor},
                       {"abandoned", json::enum_name(json::abandoned_names, record.abandoned)}};
  if (record.extras && record.extras->misfire_grace_time) {
    value["misfire_grace_time_ns"] =
        json::option_nanoseconds("misfire_grace_time", *record.extras->misfire_grace_time);
  }
  if (record.extras && record.extras->timeout) {
    value["timeout_ns"] = json::option_nanoseconds("timeout", *record.extras->timeout);
  }
  return value;
}

/// encode_record_options(record).dump(), written directly: the text add_job stores, without
/// building a JSON object (members in the same sorted order, the same escaping).
/// @throws SerializationError as encode_record_options; nlohmann::json::type_error for a name
/// that is not UTF-8
[[nodiscard]] inline std::string encode_record_options_text(const JobRecord& record) {
  // Appended piece by piece: this runs for every add, and formatting through fmt cost more
  // than the rest of the options.
  std::string text;
  text.reserve(128);
  text += R"({"abandoned":")";
  text += json::enum_name(json::abandoned_names, record.abandoned);
  text += R"(","coalesce":")";
  text += json::enum_name(json::coalesce_names, record.coalesce);
  text += R"(","executor":)";
  json::write_integer(unsigned{record.executor}, text);
  text += R"(,"max_instances":)";
  json::write_integer(record.max_instances, text);
  if (record.extras && record.extras->misfire_grace_time) {
    text += R"(,"misfire_grace_time_ns":)";
    json::write_integer(
        json::option_nanoseconds("misfire_grace_time", *record.extras->misfire_grace_time), text);
  }
  text += R"(,"name":)";
  json::write_string(record.extras ? std::string_view{record.extras->name} : std::string_view{},
                     text);
  text += R"(,"overlap":")";
  text += json::enum_name(json::overlap_names, record.overlap);
  text += '"';
  if (record.extras && record.extras->timeout) {
    text += R"(,"timeout_ns":)";
    json::write_integer(json::option_nanoseconds("timeout", *record.extras->timeout), text);
  }
  text += '}';
  return text;
}

/// Sets the settings of `record` that encode_record_options writes from `value`.
/// @throws SerializationError for a value that is not such an object, naming the member
inline void decode_record_options(const nlohmann::json& value, JobRecord& record) {
  json::ObjectReader reader{value, "SqliteJobStore", "stored job options object", ""};
  JobExtras& extras = record.extra();
  extras.name = reader.optional_string("name").value_or(std::string{});
  extras.misfire_grace_time = reader.optional_duration("misfire_grace_time_ns", Duration::min());
  record.coalesce = reader.enumeration("coalesce", json::coalesce_names, Coalesce::latest);
  record.max_instances = static_cast<std::uint16_t>(
      reader.count("max_instances", 1, std::numeric_limits<std::uint16_t>::max(), 1));
  record.overlap = reader.enumeration("overlap", json::overlap_names, Overlap::skip);
  extras.timeout = reader.optional_duration("timeout_ns", Duration::min());
  record.executor = static_cast<std::uint8_t>(
      reader.count("executor", 0, std::numeric_limits<std::uint8_t>::max(), 0));
  record.abandoned = reader.enumeration("abandoned", json::abandoned_names, Abandoned::drop);
  reader.finish();
}

/// The JobRecord `row` describes, with its body built from `tasks` (null: none registered)
/// and its trigger decoded by `codecs`. The process-local fields (generation, store, running,
/// queued runs) are left for the caller.
/// @throws UnknownTaskError when the row names a task `tasks` lacks
/// @throws SerializationError for arguments, trigger, options or outcome the store cannot read,
/// naming the column and its value
[[nodiscard]] inline JobRecord record_from_row(const JobRow& row, const TaskRegistry* tasks,
                                               const TriggerCodecs& codecs) {
  constexpr std::string_view call = "SqliteJobStore";
  const auto parse = [&](std::string_view column, const std::string& text) {
    try {
      return nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& error) {
      throw SerializationError{fmt::format("{}: column {} is \"{}\"; expected JSON ({})", call,
                                           column, abbreviate_sql(text), error.what())};
    }
  };
  if (tasks == nullptr) {
    throw UnknownTaskError{fmt::format("{}: no task is registered as \"{}\"", call, row.task)};
  }
  const nlohmann::json arguments = parse("arguments", row.arguments);
  JobRecord record{.id = row.id,
                   .body = tasks->make_body(row.task, arguments, call),
                   .trigger = codecs.decode(parse("trigger", row.trigger))};
  decode_record_options(parse("options", row.options), record);
  record.extras->task = std::make_shared<const TaskCall>(TaskCall{row.task, row.arguments});
  record.next_fire = from_stored_time(row.next_fire);
  record.next_run = from_stored_time(row.next_run);
  record.paused = row.paused;
  record.last_run = row.last_run ? from_stored_time(*row.last_run) : TimePoint::min();
  record.run_count = row.run_count < 0 ? 0 : static_cast<std::uint64_t>(row.run_count);
  record.failure_count = static_cast<std::uint32_t>(
      std::clamp<std::int64_t>(row.failure_count, 0, std::numeric_limits<std::uint32_t>::max()));
  record.last_outcome = JobOutcome::none;
  if (row.last_outcome) {
    const std::optional<JobOutcome> outcome = enum_from_name(outcome_names, *row.last_outcome);
    if (!outcome) {
      throw SerializationError{fmt::format(
          "{}: column last_outcome is \"{}\"; expected NULL, \"success\", \"error\", \"missed\" "
          "or \"dropped\"",
          call, *row.last_outcome)};
    }
    record.last_outcome = *outcome;
  }
  return record;
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
