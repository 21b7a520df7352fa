// SPDX-License-Identifier: MIT
// Job settings alone: aliases completed and looked up, options checked and copied into a
// record, changes checked, snapshots, and random ids.
#include <apsched/detail/scheduler/job_settings.hpp>
#include <apsched/triggers/interval.hpp>

#include "support/catch.hpp"

#include <chrono>
#include <cstddef>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace detail_scheduler_job_settings_test {

using namespace std::chrono_literals;
using apsched::InvalidJobOptionError;
using apsched::JobRecord;
using apsched::detail::JobSettings;
using Catch::Matchers::Contains;

JobSettings two_of_each() { return JobSettings{{"", "archive"}, 3, {"pool"}, 2}; }

JobRecord hourly() {
  return JobRecord{.id = "job", .body = {}, .trigger = apsched::IntervalTrigger{1h}};
}

TEST_CASE("job settings: missing aliases are completed, extra ones dropped",
          "[scheduler][job_settings]") {
  const JobSettings settings = two_of_each();
  CHECK(settings.store_alias(0) == "default");
  CHECK(settings.store_alias(1) == "archive");
  CHECK(settings.store_alias(2) == "store2");
  CHECK(settings.executor_alias(0) == "pool");
  CHECK(settings.executor_alias(1) == "executor1");
  const JobSettings fewer{{"a", "b", "c"}, 1, {}, 1};
  CHECK(fewer.store_alias(0) == "a");
  CHECK(fewer.executor_alias(0) == "default");
}

TEST_CASE("job settings: aliases are found by name; an unknown one names the call and the choices",
          "[scheduler][job_settings]") {
  const JobSettings settings = two_of_each();
  CHECK(settings.store_index("", "add_job") == 0);
  CHECK(settings.store_index("archive", "add_job") == 1);
  CHECK(settings.executor_index("executor1", "add_job") == 1);
  CHECK_THROWS_AS(settings.store_index("cold", "get_jobs"), InvalidJobOptionError);
  CHECK_THROWS_WITH(settings.store_index("cold", "get_jobs"),
                    "get_jobs: no store has alias \"cold\"; expected one of \"default\", "
                    "\"archive\", \"store2\"");
  CHECK_THROWS_WITH(settings.executor_index("fast", "add_job"),
                    Contains("add_job: no executor has alias \"fast\""));
}

TEST_CASE("job settings: options are checked, then copied into the record",
          "[scheduler][job_settings]") {
  const JobSettings settings = two_of_each();
  JobRecord record = hourly();
  settings.configure(record,
                     apsched::JobOptions{.name = "nightly",
                                         .misfire_grace_time = 30s,
                                         .coalesce = apsched::Coalesce::all,
                                         .max_instances = 3,
                                         .overlap = apsched::Overlap::queue,
                                         .paused = true,
                                         .executor = "executor1",
                                         .store = "archive",
                                         .timeout = 5s},
                     "add_job");
  CHECK(record.store == 1);
  CHECK(record.executor == 1);
  CHECK(record.max_instances == 3);
  CHECK(record.coalesce == apsched::Coalesce::all);
  CHECK(record.overlap == apsched::Overlap::queue);
  CHECK(record.paused);
  REQUIRE(record.extras);
  CHECK(record.extras->name == "nightly");
  CHECK(record.extras->misfire_grace_time == 30s);
  CHECK(record.extras->timeout == 5s);

  JobRecord plain = hourly();
  settings.configure(plain, apsched::JobOptions{}, "add_job");
  CHECK_FALSE(plain.extras);  // nothing rare set: nothing allocated

  JobRecord bad = hourly();
  CHECK_THROWS_WITH(settings.configure(bad, apsched::JobOptions{.max_instances = 0}, "add_job"),
                    "add_job: max_instances 0 is out of range; expected 1 to 65535");
  CHECK_THROWS_WITH(
      settings.configure(bad, apsched::JobOptions{.timeout = -1s}, "schedule_task"),
      Contains("schedule_task: timeout -1s is not positive; expected a duration > 0"));
  CHECK_THROWS_AS(settings.configure(bad, apsched::JobOptions{.store = "cold"}, "add_job"),
                  InvalidJobOptionError);
}

TEST_CASE("job settings: changes are checked and name their executor by index",
          "[scheduler][job_settings]") {
  const JobSettings settings = two_of_each();
  CHECK_FALSE(settings.check(apsched::JobChanges{}).has_value());
  CHECK(settings.check(apsched::JobChanges{.executor = "executor1"}) == std::size_t{1});
  CHECK_THROWS_WITH(settings.check(apsched::JobChanges{.max_instances = 70000}),
                    Contains("modify_job: max_instances 70000 is out of range"));
  CHECK_THROWS_WITH(
      settings.check(apsched::JobChanges{.misfire_grace_time = std::optional{apsched::Duration{}}}),
      Contains("modify_job: misfire_grace_time 0ns is not positive"));
  // An empty optional inside clears the limit: nothing to check.
  CHECK_NOTHROW(settings.check(
      apsched::JobChanges{.misfire_grace_time = std::optional<apsched::Duration>{}}));
}

TEST_CASE("job settings: changes are applied to the record, and only the ones given",
          "[scheduler][job_settings]") {
  const apsched::TimePoint at = apsched::TimePoint{} + std::chrono::hours{24 * 365 * 50};
  JobRecord record = hourly();
  record.max_instances = 2;
  JobSettings::apply(record,
                     apsched::JobChanges{.name = "nightly", .coalesce = apsched::Coalesce::all},
                     std::nullopt);
  CHECK(record.extras->name == "nightly");
  CHECK(record.coalesce == apsched::Coalesce::all);
  CHECK(record.max_instances == 2);
  CHECK(record.executor == 0);

  JobSettings::apply(record,
                     apsched::JobChanges{.misfire_grace_time = std::optional{apsched::Duration{5s}},
                                         .max_instances = 4,
                                         .overlap = apsched::Overlap::queue,
                                         .next_run_time = at,
                                         .timeout = std::optional<apsched::Duration>{},
                                         .abandoned = apsched::Abandoned::rerun},
                     std::size_t{1});
  CHECK(record.extras->misfire_grace_time == apsched::Duration{5s});
  CHECK(record.max_instances == 4);
  CHECK(record.overlap == apsched::Overlap::queue);
  CHECK(record.executor == 1);
  CHECK(record.next_fire == at);
  CHECK(record.next_run == at);
  CHECK_FALSE(record.extras->timeout.has_value());
  CHECK(record.abandoned == apsched::Abandoned::rerun);
  CHECK(record.extras->name == "nightly");
}

TEST_CASE("job settings: a closure for a durable store is refused naming the store",
          "[scheduler][job_settings]") {
  const JobSettings settings = two_of_each();
  CHECK_THROWS_AS(settings.refuse_closure(1), InvalidJobOptionError);
  CHECK_THROWS_WITH(settings.refuse_closure(1),
                    Contains("add_job: store \"archive\" keeps jobs durably and cannot hold a "
                             "closure"));
}

TEST_CASE("job settings: a snapshot names the job's store and executor by alias",
          "[scheduler][job_settings]") {
  const JobSettings settings = two_of_each();
  JobRecord record = hourly();
  record.store = 1;
  record.executor = 1;
  record.running = 2;
  const apsched::JobInfo info = settings.info(record);
  CHECK(info.id == "job");
  CHECK(info.name == "job");  // no name: the id
  CHECK(info.store == "archive");
  CHECK(info.executor == "executor1");
  CHECK(info.running_instances == 2);
  CHECK_FALSE(info.last_run_time.has_value());
  record.paused = true;
  CHECK_FALSE(settings.info(record).next_run_time.has_value());
}

TEST_CASE("job settings: random ids are 15 hex digits and differ", "[scheduler][job_settings]") {
  apsched::detail::SplitMix64 random{42};
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = JobSettings::random_id(random);
    CHECK(id.size() == 15);
    CHECK(id.find_first_not_of("0123456789abcdef") == std::string::npos);
    ids.insert(id);
  }
  CHECK(ids.size() == 1000);
  CHECK_THROWS_AS(JobSettings::refuse_conflict("a", apsched::ConflictPolicy::error),
                  apsched::ConflictingIdError);
  CHECK_NOTHROW(JobSettings::refuse_conflict("a", apsched::ConflictPolicy::keep));
}

}  // namespace detail_scheduler_job_settings_test
