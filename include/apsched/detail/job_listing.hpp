// SPDX-License-Identifier: MIT
// One line of the job table print_jobs writes: the job's name, trigger, next run and the
// settings it does not leave at their defaults, with durations as people write them.
#pragma once

#include <apsched/detail/format_time.hpp>
#include <apsched/job.hpp>

#include <fmt/format.h>

#include <string>

namespace apsched::detail {

/// `job` as a line of the job table (without indentation or newline):
/// `keep warm [warm] (trigger: interval[10s], next run at: 2024-01-01T00:00:10.000000Z,
/// misfire grace time: 30s, timeout: 2min)`.
///
/// Thread safety: thread-safe (a pure function).
[[nodiscard]] inline std::string job_listing(const JobInfo& job) {
  std::string text = job.name == job.id ? job.id : fmt::format("{} [{}]", job.name, job.id);
  text += fmt::format(" (trigger: {}, ", job.trigger.describe());
  text += job.next_run_time ? "next run at: " + format_time(*job.next_run_time) : "paused";
  if (job.misfire_grace_time) {
    text += ", misfire grace time: " + format_duration(*job.misfire_grace_time);
  }
  if (job.timeout) {
    text += ", timeout: " + format_duration(*job.timeout);
  }
  if (job.max_instances != 1) {
    text += fmt::format(", max instances: {}", job.max_instances);
  }
  if (job.coalesce != Coalesce::latest) {
    text += fmt::format(", coalesce: {}", job.coalesce);
  }
  if (job.overlap != Overlap::skip) {
    text += fmt::format(", overlap: {}", job.overlap);
  }
  return text + ")";
}

}  // namespace apsched::detail
