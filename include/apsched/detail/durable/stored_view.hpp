// SPDX-License-Identifier: MIT
// The rows a read-only store view reads, decoded into its public values the same way for the
// SQLite and PostgreSQL views: jobs with their trigger described, fires, owners, and pages.
#pragma once

#include <apsched/clock.hpp>
#include <apsched/detail/durable/coding.hpp>
#include <apsched/detail/durable/error_label.hpp>
#include <apsched/detail/durable/job_row.hpp>
#include <apsched/detail/durable/outcome.hpp>
#include <apsched/detail/json/time.hpp>
#include <apsched/durable_job_store.hpp>
#include <apsched/error.hpp>
#include <apsched/job.hpp>
#include <apsched/store_view.hpp>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace apsched::detail::durable {

/// A job row with the counts of its fires in flight, as a view's job query reads it.
///
/// Thread safety: not thread-safe (a plain value).
struct ViewJobRow {
  JobRow row;
  std::int64_t claimed = 0;
  std::int64_t submitted = 0;
};

/// One row of the fires table with its job id, as stored.
///
/// Thread safety: not thread-safe (a plain value).
struct FireRow {
  std::string job_id;
  std::int64_t scheduled = 0;
  std::string state;
  std::int64_t runs = 1;
  std::string owner;
  std::int64_t recorded_at = 0;
  std::optional<std::int64_t> finished_at;
  std::string error;
  std::int64_t attempt = 1;
};

/// One row of the owners table with the counts of its fires in flight; `lease_current` as the
/// view's query (or clock) decided it.
///
/// Thread safety: not thread-safe (a plain value).
struct OwnerRow {
  std::string owner;
  std::int64_t started_at = 0;
  std::int64_t lease_until = 0;
  bool lease_current = false;
  std::int64_t history_per_job = 0;
  std::int64_t claimed = 0;
  std::int64_t submitted = 0;
};

/// The columns of a view's fire query, in the order of FireRow.
inline constexpr std::string_view view_fire_columns =
    "job_id, scheduled, state, runs, owner, recorded_at, finished_at, error, attempt";

/// `value` as an unsigned count (0 for a negative one).
[[nodiscard]] constexpr std::uint64_t stored_count(std::int64_t value) noexcept {
  return value < 0 ? 0 : static_cast<std::uint64_t>(value);
}

/// `t` as stored nanoseconds since the epoch, saturated to the 64-bit range (a bound of a query
/// may lie beyond it, where to_stored_time would throw).
[[nodiscard]] constexpr std::int64_t stored_bound(TimePoint t) noexcept {
  using Limits = std::numeric_limits<std::int64_t>;
  const Duration since = t.time_since_epoch();
  return json::to_nanoseconds(since).value_or(since.count() < 0 ? Limits::min() : Limits::max());
}

/// How many rows a page query asks for: `limit` and one more, which tells whether another page
/// follows (at most the largest int64, as the databases take it).
[[nodiscard]] constexpr std::int64_t page_rows(std::size_t limit) noexcept {
  constexpr auto max = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
  return static_cast<std::int64_t>(std::min(limit, max - 1) + 1);
}

/// The description of the trigger stored as `text` (decoded by `codecs`), and whether it could
/// be read; never throws for a trigger it cannot read, whatever a codec throws.
/// @throws std::bad_alloc only
template <TriggerDecoding C>
[[nodiscard]] std::pair<std::string, bool> describe_stored_trigger(const std::string& text,
                                                                   const C& codecs) {
  try {
    return {codecs.decode(nlohmann::json::parse(text)).describe(), true};
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& error) {
    return {fmt::format("the trigger could not be read: {}", error.what()), false};
  } catch (...) {
    return {"the trigger could not be read: its codec threw a non-std exception", false};
  }
}

/// The job name kept in the options text `options`, or empty when it has none or the text is
/// not a JSON object.
[[nodiscard]] inline std::string stored_job_name(const std::string& options) {
  const nlohmann::json value = nlohmann::json::parse(options, nullptr, false);
  if (!value.is_object()) {
    return {};
  }
  const auto name = value.find("name");
  return name != value.end() && name->is_string() ? name->get<std::string>() : std::string{};
}

/// The StoredJob a view's job row describes, its trigger described with `codecs`. Never throws
/// for odd stored values: what cannot be read is shown as such.
/// @throws std::bad_alloc only
template <TriggerDecoding C>
[[nodiscard]] StoredJob stored_job(ViewJobRow&& read, const C& codecs) {
  JobRow& row = read.row;
  auto [description, readable] = describe_stored_trigger(row.trigger, codecs);
  StoredJob job{
      .id = std::move(row.id),
      .name = stored_job_name(row.options),
      .task = std::move(row.task),
      .arguments = std::move(row.arguments),
      .trigger = std::move(row.trigger),
      .trigger_description = std::move(description),
      .trigger_readable = readable,
      .options = std::move(row.options),
      .next_fire = from_stored_time(row.next_fire),
      .next_run = from_stored_time(row.next_run),
      .paused = row.paused,
      .last_run = row.last_run ? std::optional{from_stored_time(*row.last_run)} : std::nullopt,
      .run_count = stored_count(row.run_count),
      .failure_count = stored_count(row.failure_count),
      .last_outcome = JobOutcome::none,
      .fires_claimed = stored_count(read.claimed),
      .fires_submitted = stored_count(read.submitted)};
  if (row.last_outcome) {
    job.last_outcome = enum_from_name(outcome_names, *row.last_outcome).value_or(JobOutcome::none);
  }
  return job;
}

/// The FireRecord of `row`, as the stores' fire_history decodes it.
/// @throws StoreError naming `label`'s store, database and operation if the row holds a state
/// this apsched does not know
[[nodiscard]] inline StoredFire stored_fire(FireRow&& row, const ErrorLabel& label) {
  const FireState state = stored_fire_state(row.state, label, row.job_id);
  FireRecord fire{.scheduled = from_stored_time(row.scheduled),
                  .state = state,
                  .runs = stored_count(row.runs),
                  .owner = FireOwner::parse(row.owner),
                  .recorded_at = from_stored_time(row.recorded_at),
                  .finished_at = row.finished_at ? std::optional{from_stored_time(*row.finished_at)}
                                                 : std::nullopt,
                  .error = std::move(row.error),
                  .attempt = static_cast<unsigned>(std::clamp<std::int64_t>(
                      row.attempt, 0, std::numeric_limits<unsigned>::max()))};
  return StoredFire{.job_id = std::move(row.job_id), .fire = std::move(fire)};
}

/// The StoreOwner of `row`.
/// @throws std::bad_alloc only
[[nodiscard]] inline StoreOwner stored_owner(const OwnerRow& row) {
  return StoreOwner{.owner = FireOwner::parse(row.owner),
                    .started_at = from_stored_time(row.started_at),
                    .lease_until = from_stored_time(row.lease_until),
                    .lease_current = row.lease_current,
                    .history_per_job = stored_count(row.history_per_job),
                    .fires_claimed = stored_count(row.claimed),
                    .fires_submitted = stored_count(row.submitted)};
}

/// The page of `rows`, read with page_rows(limit): the first `limit` of them, and the cursor
/// after the last when there were more.
[[nodiscard]] inline FirePage fire_page(std::vector<FireRow>&& rows, std::size_t limit,
                                        const ErrorLabel& label) {
  FirePage page;
  const bool more = rows.size() > limit;
  if (more) {
    rows.resize(limit);
  }
  if (more && !rows.empty()) {
    page.next = FireCursor{.scheduled = rows.back().scheduled, .job_id = rows.back().job_id};
  }
  page.fires.reserve(rows.size());
  for (FireRow& row : rows) {
    page.fires.push_back(stored_fire(std::move(row), label));
  }
  return page;
}

/// The page of `rows`, read with page_rows(limit), as fire_page.
template <TriggerDecoding C>
[[nodiscard]] JobPage job_page(std::vector<ViewJobRow>&& rows, std::size_t limit, const C& codecs) {
  JobPage page;
  const bool more = rows.size() > limit;
  if (more) {
    rows.resize(limit);
  }
  if (more && !rows.empty()) {
    page.next = rows.back().row.id;
  }
  page.jobs.reserve(rows.size());
  for (ViewJobRow& row : rows) {
    page.jobs.push_back(stored_job(std::move(row), codecs));
  }
  return page;
}

/// The stored names of `states`, each once, in the order of FireState.
[[nodiscard]] inline std::vector<std::string_view> state_names(
    const std::vector<FireState>& states) {
  std::vector<std::string_view> names;
  for (const auto& [name, value] : fire_state_names) {
    if (std::find(states.begin(), states.end(), value) != states.end()) {
      names.push_back(name);
    }
  }
  return names;
}

/// Throws unless `version` (the schema version the database records, if any) lies in
/// [`oldest`, `newest`], the versions a view reads. `subject` names the database in the
/// message ("the file", "the database"); `fallback` names the operation.
/// @throws StoreError when the database has no apsched schema
/// @throws SchemaVersionError when its version is older or newer than the view reads
inline void check_view_schema(const ErrorLabel& label, std::string_view subject,
                              std::optional<std::int64_t> version, std::string_view schema_name,
                              std::int64_t oldest, std::int64_t newest, std::string_view writer) {
  if (!version) {
    throw StoreError{
        store_error_message(label, "open",
                            fmt::format("{} holds no {} tables; expected one a {} has written",
                                        subject, schema_name, writer))};
  }
  if (*version > newest) {
    throw SchemaVersionError{store_error_message(
        label, "open",
        fmt::format("{} has schema version {} of {}, written by a newer apsched; this view reads "
                    "versions {} to {}",
                    subject, *version, schema_name, oldest, newest))};
  }
  if (*version < oldest) {
    throw SchemaVersionError{store_error_message(
        label, "open",
        fmt::format("{} has schema version {} of {}, older than this view reads (versions {} to "
                    "{}); open it once with a {} of this apsched to migrate it",
                    subject, *version, schema_name, oldest, newest, writer))};
  }
}

}  // namespace apsched::detail::durable
