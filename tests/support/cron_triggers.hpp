// SPDX-License-Identifier: MIT
// Cron triggers for the tests, read in UTC unless the options name a zone.
#pragma once

#include <apsched/cron/cron_trigger.hpp>

#include <utility>

namespace apsched::test {

/// Options reading the fields in `zone`, with GapPolicy::shift or skip and FoldPolicy::once or
/// both.
inline CronOptions dst_options(const char* zone, bool shift_gaps, bool fold_once) {
  CronOptions options;
  options.timezone = zone;
  options.gap_policy = shift_gaps ? GapPolicy::shift : GapPolicy::skip;
  options.fold_policy = fold_once ? FoldPolicy::once : FoldPolicy::both;
  return options;
}

/// The crontab trigger of `expression`, in UTC unless `options` names a zone.
inline CronTrigger cron(const char* expression, CronOptions options = {}) {
  if (options.timezone.empty()) {
    options.timezone = "UTC";
  }
  return CronTrigger::from_crontab(expression, std::move(options));
}

/// The CronFields trigger of `given`, in UTC unless `options` names a zone.
inline CronTrigger fields(CronFields given, CronOptions options = {}) {
  if (options.timezone.empty()) {
    options.timezone = "UTC";
  }
  return CronTrigger{given, std::move(options)};
}

}  // namespace apsched::test
