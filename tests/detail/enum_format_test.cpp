// SPDX-License-Identifier: MIT
// Every public enum has a name: to_string gives it, and fmt prints it (with string specs).
#include <apsched/detail/enum_format.hpp>
#include <apsched/durable_job_store.hpp>
#include <apsched/event.hpp>
#include <apsched/job.hpp>
#include <apsched/scheduler_state.hpp>

#include "support/catch.hpp"

#include <fmt/format.h>

#include <chrono>
#include <set>
#include <string>
#include <string_view>

namespace detail_enum_format_test {

using namespace std::chrono_literals;

namespace {

// Checks that each of `values` has its own name, that fmt prints that name, and that none is
// the fallback "unknown".
template <class E>
void check_names(std::initializer_list<std::pair<E, std::string_view>> values) {
  std::set<std::string_view> seen;
  for (const auto& [value, name] : values) {
    CHECK(apsched::to_string(value) == name);
    CHECK(fmt::format("{}", value) == name);
    CHECK(seen.insert(name).second);
  }
}

}  // namespace

TEST_CASE("every public enum prints by its name", "[format]") {
  using namespace apsched;
  check_names<Coalesce>(
      {{Coalesce::earliest, "earliest"}, {Coalesce::latest, "latest"}, {Coalesce::all, "all"}});
  check_names<Overlap>({{Overlap::skip, "skip"}, {Overlap::queue, "queue"}});
  check_names<Abandoned>({{Abandoned::drop, "drop"}, {Abandoned::rerun, "rerun"}});
  check_names<ConflictPolicy>({{ConflictPolicy::error, "error"},
                               {ConflictPolicy::keep, "keep"},
                               {ConflictPolicy::replace, "replace"}});
  check_names<JobOutcome>({{JobOutcome::none, "none"},
                           {JobOutcome::success, "success"},
                           {JobOutcome::error, "error"},
                           {JobOutcome::missed, "missed"},
                           {JobOutcome::dropped, "dropped"}});
  check_names<SchedulerState>({{SchedulerState::stopped, "stopped"},
                               {SchedulerState::running, "running"},
                               {SchedulerState::paused, "paused"}});
  check_names<SchedulerMode>({{SchedulerMode::blocking, "blocking"},
                              {SchedulerMode::background, "background"},
                              {SchedulerMode::callback, "callback"}});
  check_names<MissedRuns>({{MissedRuns::skip, "skip"}, {MissedRuns::run, "run"}});
  check_names<FireState>({{FireState::submitted, "submitted"},
                          {FireState::succeeded, "succeeded"},
                          {FireState::failed, "failed"},
                          {FireState::missed, "missed"},
                          {FireState::skipped, "skipped"},
                          {FireState::dropped, "dropped"},
                          {FireState::abandoned, "abandoned"},
                          {FireState::coalesced, "coalesced"}});
  check_names<EventType>(
      {{EventType::job_error, "job_error"}, {EventType::store_job_unusable, "store_job_unusable"}});
}

TEST_CASE("enum names take the format specs of a string", "[format]") {
  CHECK(fmt::format("[{:>8}]", apsched::Coalesce::all) == "[     all]");
  CHECK(fmt::format("[{:<9}]", apsched::SchedulerState::paused) == "[paused   ]");
}

TEST_CASE("a job's durations print as people write them", "[format]") {
  CHECK(apsched::to_string(apsched::Duration{30s}) == "30s");
  CHECK(apsched::to_string(apsched::Duration{2min}) == "2min");
  CHECK(apsched::to_string(apsched::Duration{1500ms}) == "1500ms");
  CHECK(apsched::to_string(apsched::Duration{36h}) == "36h");
  CHECK(apsched::to_string(apsched::Duration{48h}) == "2d");
  CHECK(apsched::to_string(apsched::Duration{3ns}) == "3ns");
}

}  // namespace detail_enum_format_test
