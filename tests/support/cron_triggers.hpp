// SPDX-License-Identifier: MIT
// Cron triggers for the tests, read in UTC unless the options name a zone.
#pragma once

#include <apsched/cron/cron_trigger.hpp>

#include <utility>

namespace apsched::test {

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
