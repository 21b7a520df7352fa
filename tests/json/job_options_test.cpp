// SPDX-License-Identifier: MIT
#include <apsched/detail/durable/job_row.hpp>
#include <apsched/json/job_options.hpp>

#include "support/catch.hpp"
#include "support/cron_time.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <string>

namespace json_job_options_test {

using namespace std::chrono_literals;
using apsched::Coalesce;
using apsched::decode_options;
using apsched::Duration;
using apsched::encode_options;
using apsched::JobOptions;
using apsched::Overlap;
using apsched::SerializationError;
using apsched::test::contains;
using apsched::test::utc;
using nlohmann::json;

namespace {

// Every field of two JobOptions, compared one by one.
void check_equal(const JobOptions& a, const JobOptions& b) {
  CHECK(a.id == b.id);
  CHECK(a.name == b.name);
  CHECK(a.on_conflict == b.on_conflict);
  CHECK(a.misfire_grace_time == b.misfire_grace_time);
  CHECK(a.coalesce == b.coalesce);
  CHECK(a.max_instances == b.max_instances);
  CHECK(a.overlap == b.overlap);
  CHECK(a.next_run_time == b.next_run_time);
  CHECK(a.paused == b.paused);
  CHECK(a.executor == b.executor);
  CHECK(a.store == b.store);
  CHECK(a.timeout == b.timeout);
  CHECK(a.abandoned == b.abandoned);
}

JobOptions round_trip(const JobOptions& options) {
  const json encoded = encode_options(options);
  const JobOptions decoded = decode_options(json::parse(encoded.dump()));
  check_equal(decoded, options);
  CHECK(encode_options(decoded) == encoded);
  return decoded;
}

}  // namespace

TEST_CASE("json: default job options encode every plain field and no optional one",
          "[json][job_options]") {
  const JobOptions defaults;
  CHECK(encode_options(defaults) == json{{"id", ""},
                                         {"name", ""},
                                         {"on_conflict", "error"},
                                         {"coalesce", "latest"},
                                         {"max_instances", 1},
                                         {"overlap", "skip"},
                                         {"paused", false},
                                         {"executor", ""},
                                         {"store", ""},
                                         {"abandoned", "drop"}});
  round_trip(defaults);
}

TEST_CASE("json: the stored names of enums are their to_string names", "[json][job_options]") {
  const auto same = [](const auto& names) {
    for (const auto& [name, value] : names) {
      CHECK(name == apsched::to_string(value));
    }
  };
  same(apsched::detail::json::coalesce_names);
  same(apsched::detail::json::overlap_names);
  same(apsched::detail::json::abandoned_names);
  same(apsched::detail::json::conflict_policy_names);
  same(apsched::detail::durable::fire_state_names);
  same(apsched::detail::durable::outcome_names);
}

TEST_CASE("json: job options read replace_existing of older documents as on_conflict replace",
          "[json][job_options]") {
  CHECK(decode_options(json{{"replace_existing", true}}).on_conflict ==
        apsched::ConflictPolicy::replace);
  CHECK(decode_options(json{{"replace_existing", false}}).on_conflict ==
        apsched::ConflictPolicy::error);
  CHECK(decode_options(json{{"replace_existing", true}, {"on_conflict", "keep"}}).on_conflict ==
        apsched::ConflictPolicy::keep);
  CHECK_THROWS_WITH(decode_options(json{{"on_conflict", "overwrite"}}),
                    "decode_options: field \"on_conflict\" of the job options object is "
                    "\"overwrite\"; expected one of \"error\", \"keep\", \"replace\"");
}

TEST_CASE("json: job options round-trip every field exactly", "[json][job_options]") {
  JobOptions options;
  options.id = "nightly-\"report\"";
  options.name = "Nächtlicher Bericht";
  options.on_conflict = apsched::ConflictPolicy::replace;
  options.misfire_grace_time = 30s + 1ns;
  options.coalesce = Coalesce::all;
  options.max_instances = 4'000'000'000U;
  options.overlap = Overlap::queue;
  options.next_run_time = utc("2026-12-01 09:00:00") + 1ns;
  options.paused = true;
  options.executor = "pool";
  options.store = "sqlite";
  options.timeout = 2min;
  options.abandoned = apsched::Abandoned::rerun;
  const json encoded = encode_options(options);
  CHECK(encoded == json{{"id", "nightly-\"report\""},
                        {"name", "Nächtlicher Bericht"},
                        {"on_conflict", "replace"},
                        {"misfire_grace_time_ns", 30'000'000'001},
                        {"coalesce", "all"},
                        {"max_instances", 4'000'000'000U},
                        {"overlap", "queue"},
                        {"next_run_time", "2026-12-01T09:00:00.000000001Z"},
                        {"paused", true},
                        {"executor", "pool"},
                        {"store", "sqlite"},
                        {"timeout_ns", 120'000'000'000},
                        {"abandoned", "rerun"}});
  round_trip(options);
  for (const Coalesce coalesce : {Coalesce::earliest, Coalesce::latest, Coalesce::all}) {
    options.coalesce = coalesce;
    round_trip(options);
  }
  // Values add_job would reject still round-trip: decoding checks types, add_job the rules.
  options.max_instances = 0;
  options.misfire_grace_time = -1s;
  options.timeout = Duration::zero();
  options.next_run_time = apsched::TimePoint::min();
  round_trip(options);
  options.misfire_grace_time = Duration::max();
  options.timeout = Duration::min();
  options.next_run_time = apsched::TimePoint::max();
  round_trip(options);
}

TEST_CASE("json: decode_options fills absent members with the defaults", "[json][job_options]") {
  const JobOptions decoded = decode_options(json{{"id", "a"}, {"timeout_ns", 1'000'000'000}});
  JobOptions expected;
  expected.id = "a";
  expected.timeout = 1s;
  check_equal(decoded, expected);
  check_equal(decode_options(json::object()), JobOptions{});
}

TEST_CASE("json: decode_options names the field, its value and what was expected",
          "[json][job_options][error]") {
  const auto fails = [](const json& j, const std::string& message) {
    CAPTURE(j.dump());
    REQUIRE_THROWS_AS(decode_options(j), SerializationError);
    REQUIRE_THROWS_WITH(decode_options(j), message);
  };
  fails(json{{"max_instances", -1}},
        "decode_options: field \"max_instances\" of the job options object is -1; expected an "
        "integer "
        "from 0 to 4294967295");
  fails(json{{"max_instances", 1.5}},
        "decode_options: field \"max_instances\" of the job options object is 1.5; expected an "
        "integer "
        "from 0 to 4294967295");
  fails(json{{"max_instances", 4294967296}},
        "decode_options: field \"max_instances\" of the job options object is 4294967296; expected "
        "an "
        "integer from 0 to 4294967295");
  fails(json{{"coalesce", "sometimes"}},
        "decode_options: field \"coalesce\" of the job options object is \"sometimes\"; expected "
        "one of "
        "\"earliest\", \"latest\", \"all\"");
  fails(
      json{{"overlap", 1}},
      "decode_options: field \"overlap\" of the job options object is 1; expected one of \"skip\", "
      "\"queue\"");
  fails(json{{"paused", "yes"}},
        "decode_options: field \"paused\" of the job options object is \"yes\"; expected true or "
        "false");
  fails(json{{"id", 5}},
        "decode_options: field \"id\" of the job options object is 5; expected a string");
  fails(json{{"misfire_grace_time_ns", "30s"}},
        "decode_options: field \"misfire_grace_time_ns\" of the job options object is \"30s\"; "
        "expected "
        "an integer number of nanoseconds");
  fails(json{{"timeout_ns", 9223372036854775808U}},
        "decode_options: field \"timeout_ns\" of the job options object is 9223372036854775808; "
        "expected "
        "an integer number of nanoseconds");
  fails(json{{"next_run_time", "tomorrow"}},
        "decode_options: field \"next_run_time\" of the job options object is \"tomorrow\"; "
        "expected an "
        "RFC 3339 time string such as \"2026-12-01T09:00:00Z\"");
  fails(json{{"misfire_grace_time", 30}},
        "decode_options: the job options object has an unknown field \"misfire_grace_time\"; "
        "expected "
        "only \"id\", \"name\", \"replace_existing\", \"on_conflict\", \"misfire_grace_time_ns\", "
        "\"coalesce\", "
        "\"max_instances\", \"overlap\", \"next_run_time\", \"paused\", \"executor\", \"store\", "
        "\"timeout_ns\", \"abandoned\"");
  fails(json::array({1, 2}),
        "decode_options: the job options object is [1,2]; expected a JSON object");
  fails(json{{"name", std::string(100, 'x')}, {"paused", 0}},
        "decode_options: field \"paused\" of the job options object is 0; expected true or false");
}

}  // namespace json_job_options_test
