// SPDX-License-Identifier: MIT
// JSON encoding of JobOptions, exact in both directions, for durable job stores.
#pragma once

#include <apsched/clock.hpp>
#include <apsched/detail/json/option_names.hpp>
#include <apsched/detail/json/reader.hpp>
#include <apsched/detail/json/time.hpp>
#include <apsched/error.hpp>
#include <apsched/job.hpp>

#include <nlohmann/json.hpp>

#include <limits>
#include <string>

namespace apsched {

/// `options` as a JSON object, every field under its C++ name:
/// `{"id": "nightly", "name": "", "on_conflict": "error"|"keep"|"replace",
/// "misfire_grace_time_ns"?: 30000000000,
/// "coalesce": "earliest"|"latest"|"all", "max_instances": 1, "overlap": "skip"|"queue",
/// "next_run_time"?: "2026-12-01T09:00:00Z", "paused": false, "executor": "", "store": "",
/// "timeout_ns"?: 60000000000, "abandoned": "drop"|"rerun"}`. Durations are integer nanoseconds
/// (members ending `_ns`), instants RFC 3339 UTC strings as in TriggerCodecs; the members marked
/// `?` (the optional fields) are omitted when empty, all others are always written.
/// @throws SerializationError only if a duration does not fit 64-bit nanoseconds (possible only
///         where TimePoint ticks are coarser than a nanosecond).
///
/// Thread safety: thread-safe (a pure function).
[[nodiscard]] inline nlohmann::json encode_options(const JobOptions& options) {
  using detail::json::enum_name;
  nlohmann::json value{
      {"id", options.id},
      {"name", options.name},
      {"on_conflict", enum_name(detail::json::conflict_policy_names, options.on_conflict)},
      {"coalesce", enum_name(detail::json::coalesce_names, options.coalesce)},
      {"max_instances", options.max_instances},
      {"overlap", enum_name(detail::json::overlap_names, options.overlap)},
      {"paused", options.paused},
      {"executor", options.executor},
      {"store", options.store},
      {"abandoned", enum_name(detail::json::abandoned_names, options.abandoned)}};
  if (options.misfire_grace_time) {
    value["misfire_grace_time_ns"] =
        detail::json::option_nanoseconds("misfire_grace_time", *options.misfire_grace_time);
  }
  if (options.next_run_time) {
    value["next_run_time"] = detail::json::format_rfc3339(*options.next_run_time);
  }
  if (options.timeout) {
    value["timeout_ns"] = detail::json::option_nanoseconds("timeout", *options.timeout);
  }
  return value;
}

/// The JobOptions that `json` (as encode_options wrote it) describes; an absent member keeps
/// the JobOptions default. The member `"replace_existing": true` of documents written before
/// `on_conflict` existed reads as `"on_conflict": "replace"` (false: as absent); `on_conflict`
/// wins when both are given. Checks types and formats only, so every JobOptions value round-trips
/// (`decode_options(encode_options(o))` equals `o` field by field); the rules add_job applies
/// (max_instances from 1, positive durations, known aliases) stay with add_job.
/// @throws SerializationError for something other than an object, or a member that is unknown,
///         of the wrong type or malformed, naming the member, its value and what was expected:
///         `decode_options: field "max_instances" of the job options object is -1; expected an
///         integer from 0 to 4294967295`.
///
/// Thread safety: thread-safe (a pure function).
[[nodiscard]] inline JobOptions decode_options(const nlohmann::json& value) {
  detail::json::ObjectReader reader{value, "decode_options", "job options object", ""};
  JobOptions options;
  options.id = reader.optional_string("id").value_or(std::string{});
  options.name = reader.optional_string("name").value_or(std::string{});
  if (reader.boolean("replace_existing", false)) {
    options.on_conflict = ConflictPolicy::replace;
  }
  options.on_conflict =
      reader.enumeration("on_conflict", detail::json::conflict_policy_names, options.on_conflict);
  options.misfire_grace_time = reader.optional_duration("misfire_grace_time_ns", Duration::min());
  options.coalesce = reader.enumeration("coalesce", detail::json::coalesce_names, options.coalesce);
  options.max_instances = static_cast<unsigned>(reader.count(
      "max_instances", 0, std::numeric_limits<unsigned>::max(), options.max_instances));
  options.overlap = reader.enumeration("overlap", detail::json::overlap_names, options.overlap);
  options.next_run_time = reader.optional_time("next_run_time");
  options.paused = reader.boolean("paused", options.paused);
  options.executor = reader.optional_string("executor").value_or(std::string{});
  options.store = reader.optional_string("store").value_or(std::string{});
  options.timeout = reader.optional_duration("timeout_ns", Duration::min());
  options.abandoned =
      reader.enumeration("abandoned", detail::json::abandoned_names, options.abandoned);
  reader.finish();
  return options;
}

}  // namespace apsched
