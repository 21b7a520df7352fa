// SPDX-License-Identifier: MIT
// The stored names of the JobOptions enums and the nanoseconds of its durations, shared by the
// JSON codec of JobOptions and the options column of the durable stores.
#pragma once

#include <apsched/clock.hpp>
#include <apsched/detail/json/reader.hpp>
#include <apsched/detail/json/time.hpp>
#include <apsched/error.hpp>
#include <apsched/job.hpp>

#include <fmt/core.h>

#include <array>
#include <cstdint>
#include <optional>

namespace apsched::detail::json {

inline constexpr std::array<EnumName<Coalesce>, 3> coalesce_names{
    {{"earliest", Coalesce::earliest}, {"latest", Coalesce::latest}, {"all", Coalesce::all}}};
inline constexpr std::array<EnumName<Overlap>, 2> overlap_names{
    {{"skip", Overlap::skip}, {"queue", Overlap::queue}}};
inline constexpr std::array<EnumName<Abandoned>, 2> abandoned_names{
    {{"drop", Abandoned::drop}, {"rerun", Abandoned::rerun}}};
inline constexpr std::array<EnumName<ConflictPolicy>, 3> conflict_policy_names{
    {{"error", ConflictPolicy::error},
     {"keep", ConflictPolicy::keep},
     {"replace", ConflictPolicy::replace}}};

/// `d` as integer nanoseconds for the member `name` of encode_options.
/// @throws SerializationError when that overflows 64 bits (only with ticks coarser than 1ns).
[[nodiscard]] inline std::int64_t option_nanoseconds(const char* name, Duration d) {
  const std::optional<std::int64_t> nanoseconds = to_nanoseconds(d);
  if (!nanoseconds) {
    throw SerializationError{fmt::format("encode_options: {} {} does not fit 64-bit nanoseconds",
                                         name, format_duration(d))};
  }
  return *nanoseconds;
}

}  // namespace apsched::detail::json
