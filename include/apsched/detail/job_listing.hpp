// SPDX-License-Identifier: MIT
// The job table print_jobs writes, a line per job (its name, trigger, next run and the settings it
// does not leave at their defaults, with durations as people write them), and the order of the
// job lists get_jobs returns.
#pragma once

#include <apsched/detail/format_time.hpp>
#include <apsched/job.hpp>

#include <fmt/core.h>

#include <algorithm>
#include <string>
#include <vector>

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

/// Sorts `jobs` as get_jobs returns them: by next run time, paused jobs last, then by id.
///
/// Thread safety: not thread-safe for the same `jobs`.
inline void sort_listing(std::vector<JobInfo>& jobs) {
  std::sort(jobs.begin(), jobs.end(), [](const JobInfo& a, const JobInfo& b) {
    const TimePoint ta = a.next_run_time.value_or(TimePoint::max());
    const TimePoint tb = b.next_run_time.value_or(TimePoint::max());
    return ta != tb ? ta < tb : a.id < b.id;
  });
}

/// The job table of `jobs` (sorted by sort_listing) under a heading per store of `stores`.
///
/// Thread safety: thread-safe (a pure function).
[[nodiscard]] inline std::string job_table(const std::vector<JobInfo>& jobs,
                                           const std::vector<std::string>& stores) {
  std::string text;
  for (const std::string& store : stores) {
    text += fmt::format("Store \"{}\":\n", store);
    bool any = false;
    for (const JobInfo& job : jobs) {
      if (job.store == store) {
        any = true;
        text += "  " + job_listing(job) + "\n";
      }
    }
    if (!any) {
      text += "  No scheduled jobs\n";
    }
  }
  return text;
}

}  // namespace apsched::detail
