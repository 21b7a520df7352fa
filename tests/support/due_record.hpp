// SPDX-License-Identifier: MIT
// A job record due at an instant, for tests of the scheduler's rooms that need no scheduler.
#pragma once

#include <apsched/job_store.hpp>
#include <apsched/triggers/interval.hpp>

#include <chrono>
#include <string>
#include <utility>

namespace apsched::test {

/// A job record with id `id` and an hourly trigger, next due at `when`, with no body.
inline JobRecord due_record(std::string id, TimePoint when) {
  JobRecord record{
      .id = std::move(id), .body = {}, .trigger = IntervalTrigger{std::chrono::hours{1}}};
  record.next_fire = when;
  record.next_run = when;
  return record;
}

}  // namespace apsched::test
