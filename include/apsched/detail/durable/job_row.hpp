// SPDX-License-Identifier: MIT
// The stored form of a durable job, shared by the SQLite and PostgreSQL stores: its row, the
// stored times, names of fire states and outcomes, the options text, and the JobRecord a row
// describes.
#pragma once

#include <apsched/clock.hpp>
#include <apsched/detail/abbreviate_sql.hpp>
#include <apsched/detail/durable/coding.hpp>
#include <apsched/detail/json/option_names.hpp>
#include <apsched/detail/json/reader.hpp>
#include <apsched/detail/json/time.hpp>
#include <apsched/detail/json/write.hpp>
#include <apsched/durable_job_store.hpp>
#include <apsched/error.hpp>
#include <apsched/job.hpp>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace apsched::detail::durable {

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
  /// Fires of the job other schedulers recorded as submitted and did not finish (where the
  /// store reads them).
  std::int64_t running_elsewhere = 0;
};

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
inline constexpr std::array<json::EnumName<FireState>, 9> fire_state_names{{
    {"submitted", FireState::submitted},
    {"succeeded", FireState::succeeded},
    {"failed", FireState::failed},
    {"missed", FireState::missed},
    {"skipped", FireState::skipped},
    {"dropped", FireState::dropped},
    {"abandoned", FireState::abandoned},
    {"coalesced", FireState::coalesced},
    {"claimed", FireState::claimed},
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

/// Throws unless `record` names a task: a durable store keeps tasks, not closures. `call`
/// names the store member.
/// @throws InvalidArgumentError for a record without a task
inline void require_task(std::string_view call, const JobRecord& record) {
  if (!record.extras || !record.extras->task) {
    throw InvalidArgumentError{fmt::format(
        "{}: job \"{}\" has no task; a closure job cannot be stored durably, expected a task "
        "registered by name (apsched::task)",
        call, record.id)};
  }
}

/// The `options` column of `record`: the settings of JobRecord that are not columns of their
/// own, `{"abandoned"?, "coalesce"?, "executor"?, "max_instances"?, "misfire_grace_time_ns"?,
/// "name"?, "overlap"?, "timeout_ns"?}`, with `executor` the executor's index. A member whose
/// value is the one decode_record_options assumes when it is missing (abandoned drop, coalesce
/// latest, executor 0, max_instances 1, no grace time, name "", overlap skip, no timeout) is left
/// out: most jobs store `{}`, a smaller row to write at every add.
/// @throws SerializationError only if a duration overflows 64-bit nanoseconds (coarse ticks)
[[nodiscard]] inline nlohmann::json encode_record_options(const JobRecord& record) {
  nlohmann::json value = nlohmann::json::object();
  if (record.abandoned != Abandoned::drop) {
    value["abandoned"] = json::enum_name(json::abandoned_names, record.abandoned);
  }
  if (record.coalesce != Coalesce::latest) {
    value["coalesce"] = json::enum_name(json::coalesce_names, record.coalesce);
  }
  if (record.executor != 0) {
    value["executor"] = record.executor;
  }
  if (record.max_instances != 1) {
    value["max_instances"] = record.max_instances;
  }
  if (record.extras && record.extras->misfire_grace_time) {
    value["misfire_grace_time_ns"] =
        json::option_nanoseconds("misfire_grace_time", *record.extras->misfire_grace_time);
  }
  if (record.extras && !record.extras->name.empty()) {
    value["name"] = record.extras->name;
  }
  if (record.overlap != Overlap::skip) {
    value["overlap"] = json::enum_name(json::overlap_names, record.overlap);
  }
  if (record.extras && record.extras->timeout) {
    value["timeout_ns"] = json::option_nanoseconds("timeout", *record.extras->timeout);
  }
  return value;
}

/// encode_record_options(record).dump(), written directly: the text add_job stores, without
/// building a JSON object (the same members in the same sorted order, the same escaping).
/// @throws SerializationError as encode_record_options; nlohmann::json::type_error for a name
/// that is not UTF-8
[[nodiscard]] inline std::string encode_record_options_text(const JobRecord& record) {
  // Appended piece by piece: this runs for every add, and formatting through fmt cost more
  // than the rest of the options.
  std::string text{"{"};
  const auto member = [&text](std::string_view name) {
    if (text.size() > 1) {
      text += ',';
    }
    text += '"';
    text += name;
    text += "\":";
  };
  const auto enumeration = [&](std::string_view name, std::string_view value) {
    member(name);
    text += '"';
    text += value;
    text += '"';
  };
  if (record.abandoned != Abandoned::drop) {
    enumeration("abandoned", json::enum_name(json::abandoned_names, record.abandoned));
  }
  if (record.coalesce != Coalesce::latest) {
    enumeration("coalesce", json::enum_name(json::coalesce_names, record.coalesce));
  }
  if (record.executor != 0) {
    member("executor");
    json::write_integer(unsigned{record.executor}, text);
  }
  if (record.max_instances != 1) {
    member("max_instances");
    json::write_integer(record.max_instances, text);
  }
  if (record.extras && record.extras->misfire_grace_time) {
    member("misfire_grace_time_ns");
    json::write_integer(
        json::option_nanoseconds("misfire_grace_time", *record.extras->misfire_grace_time), text);
  }
  if (record.extras && !record.extras->name.empty()) {
    member("name");
    json::write_string(record.extras->name, text);
  }
  if (record.overlap != Overlap::skip) {
    enumeration("overlap", json::enum_name(json::overlap_names, record.overlap));
  }
  if (record.extras && record.extras->timeout) {
    member("timeout_ns");
    json::write_integer(json::option_nanoseconds("timeout", *record.extras->timeout), text);
  }
  text += '}';
  return text;
}

/// What a store writes of a job it adds or replaces, checked and encoded before the first
/// write: the trigger and options as text, the next fire and run time in nanoseconds.
///
/// Thread safety: not thread-safe (a plain value).
struct StoredDefinition {
  std::string trigger;
  std::string options;
  std::int64_t next_fire = 0;
  std::int64_t next_run = 0;
};

/// `record` as a StoredDefinition, its trigger encoded by `codecs`; `call` names the store
/// member in errors.
/// @throws InvalidArgumentError for a record without a task; SerializationError for a trigger
/// without a codec or a time out of range
template <TriggerCoding C>
[[nodiscard]] StoredDefinition stored_definition(std::string_view call, const JobRecord& record,
                                                 const C& codecs) {
  require_task(call, record);
  return StoredDefinition{.trigger = codecs.encode_text(record.trigger),
                          .options = encode_record_options_text(record),
                          .next_fire = to_stored_time(call, record.next_fire),
                          .next_run = to_stored_time(call, record.next_run)};
}

/// Sets the settings of `record` that encode_record_options writes from `value`; messages start
/// with `call` (the store).
/// @throws SerializationError for a value that is not such an object, naming the member, its
/// value and what was expected
inline void decode_record_options(std::string_view call, const nlohmann::json& value,
                                  JobRecord& record) {
  json::ObjectReader reader{value, call, "stored job options object", ""};
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
/// and its trigger decoded by `codecs`; messages start with `call` (the store). The process-local
/// fields (generation, store, running, queued runs) are left for the caller.
/// @throws UnknownTaskError when the row names a task `tasks` lacks
/// @throws SerializationError for arguments, trigger, options or outcome the store cannot read,
/// naming the column and its value
template <TaskPreparing R, TriggerDecoding C>
[[nodiscard]] JobRecord record_from_row(std::string_view call, const JobRow& row, const R* tasks,
                                        const C& codecs) {
  const auto parse = [&](std::string_view column, const std::string& text) {
    try {
      return nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& error) {
      throw SerializationError{fmt::format("{}: column {} is \"{}\"; expected JSON ({})", call,
                                           column, abbreviate_sql(text), error.what())};
    }
  };
  if (tasks == nullptr) {
    throw UnknownTaskError{
        fmt::format("{}: no task is registered as \"{}\"; none are registered", call, row.task)};
  }
  const nlohmann::json arguments = parse("arguments", row.arguments);
  // The arguments decoded once, for the body.
  auto prepared = tasks->prepare(call, TaskCall{row.task, row.arguments}, arguments);
  using Access = PreparedAccess<decltype(prepared)>;
  JobRecord record{.id = row.id,
                   .body = Access::take_body(prepared),
                   .trigger = codecs.decode(parse("trigger", row.trigger))};
  decode_record_options(call, parse("options", row.options), record);
  record.extras->task = std::make_shared<const TaskCall>(Access::take_call(prepared));
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

}  // namespace apsched::detail::durable
