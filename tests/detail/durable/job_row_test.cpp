// SPDX-License-Identifier: MIT
// The stored form of a durable job: a row's options and columns are decoded with errors that name
// the store given (SQLite or PostgreSQL), the column or member, its value and what was expected.
#include <apsched/detail/durable/job_row.hpp>

#include <apsched/json/task_registry.hpp>
#include <apsched/json/trigger_codec.hpp>
#include <apsched/triggers/date.hpp>

#include "support/catch.hpp"

#include <nlohmann/json.hpp>

#include <memory>
#include <string>

namespace detail_durable_job_row_test {

using apsched::JobRecord;
using apsched::SerializationError;
using apsched::TimePoint;
using apsched::detail::durable::decode_record_options;
using apsched::detail::durable::JobRow;
using apsched::detail::durable::record_from_row;
using apsched::test::contains;

namespace {

JobRecord make_record() {
  return JobRecord{
      .id = "a", .body = {}, .trigger = apsched::AnyTrigger{apsched::DateTrigger{TimePoint{}}}};
}

// A row of job "a" running task "ping" with [1] once, its options `options`.
JobRow make_row(std::string options) {
  return JobRow{.id = "a",
                .task = "ping",
                .arguments = "[1]",
                .trigger = apsched::TriggerCodecs::builtin().encode_text(
                    apsched::AnyTrigger{apsched::DateTrigger{TimePoint{}}}),
                .options = std::move(options)};
}

}  // namespace

TEST_CASE("decode_record_options names the store it is given in its errors", "[durable]") {
  JobRecord record = make_record();
  const nlohmann::json many = nlohmann::json::parse(R"({"max_instances":"many"})");
  REQUIRE_THROWS_AS(decode_record_options("PostgresJobStore", many, record), SerializationError);
  REQUIRE_THROWS_WITH(decode_record_options("PostgresJobStore", many, record),
                      "PostgresJobStore: field \"max_instances\" of the stored job options object "
                      "is \"many\"; expected an integer from 1 to 65535");
  REQUIRE_THROWS_AS(decode_record_options("SqliteJobStore", nlohmann::json::array(), record),
                    SerializationError);
  REQUIRE_THROWS_WITH(decode_record_options("SqliteJobStore", nlohmann::json::array(), record),
                      "SqliteJobStore: the stored job options object is []; expected a JSON "
                      "object");
}

TEST_CASE("record_from_row reports unreadable options as the store it is given", "[durable]") {
  auto tasks = std::make_shared<apsched::TaskRegistry>();
  tasks->add("ping", [](int /*value*/) {});
  const auto& codecs = apsched::TriggerCodecs::builtin();
  const JobRecord record = record_from_row("PostgresJobStore", make_row("{}"), tasks.get(), codecs);
  CHECK(record.id == "a");
  CHECK(record.max_instances == 1);
  const JobRow row = make_row(R"({"overlap":"sometimes"})");
  REQUIRE_THROWS_AS(record_from_row("PostgresJobStore", row, tasks.get(), codecs),
                    SerializationError);
  REQUIRE_THROWS_WITH(record_from_row("PostgresJobStore", row, tasks.get(), codecs),
                      contains("PostgresJobStore: field \"overlap\" of the stored job "
                               "options object is \"sometimes\"; expected one of"));
}

}  // namespace detail_durable_job_row_test
