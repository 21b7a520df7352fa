// SPDX-License-Identifier: MIT
// format_rfc3339 / parse_rfc3339: the text of stored times, with 0, 3, 6 or 9 fraction digits,
// before and after 1970, and at the ends of TimePoint's range.
#include <apsched/detail/json/time.hpp>

#include "support/catch.hpp"

#include <chrono>
#include <optional>
#include <string>

namespace detail_json_time_test {

using namespace std::chrono_literals;
using apsched::TimePoint;
using apsched::detail::json::format_rfc3339;
using apsched::detail::json::parse_rfc3339;

namespace {

TimePoint at(std::chrono::sys_days day, std::chrono::nanoseconds since_midnight) {
  return TimePoint{std::chrono::duration_cast<apsched::Duration>(day.time_since_epoch()) +
                   std::chrono::duration_cast<apsched::Duration>(since_midnight)};
}

}  // namespace

TEST_CASE("format_rfc3339 writes the shortest of 0, 3, 6 or 9 fraction digits", "[json]") {
  using std::chrono::year;
  const std::chrono::sys_days day = year{2026} / 12 / 2;
  CHECK(format_rfc3339(TimePoint{}) == "1970-01-01T00:00:00Z");
  CHECK(format_rfc3339(at(day, 9h + 5min + 7s)) == "2026-12-02T09:05:07Z");
  CHECK(format_rfc3339(at(day, 9h + 5min + 7s + 120ms)) == "2026-12-02T09:05:07.120Z");
  CHECK(format_rfc3339(at(day, 23h + 59min + 59s + 4us)) == "2026-12-02T23:59:59.000004Z");
  CHECK(format_rfc3339(at(day, 1ns)) == "2026-12-02T00:00:00.000000001Z");
  CHECK(format_rfc3339(at(year{2199} / 12 / 31, 23h + 59min + 59s + 999'999'999ns)) ==
        "2199-12-31T23:59:59.999999999Z");
}

TEST_CASE("format_rfc3339 writes times before 1970 forward from the earlier second", "[json]") {
  CHECK(format_rfc3339(TimePoint{} - 1ms) == "1969-12-31T23:59:59.999Z");
  CHECK(format_rfc3339(TimePoint{} - 1ns) == "1969-12-31T23:59:59.999999999Z");
  CHECK(format_rfc3339(TimePoint{} - 24h) == "1969-12-31T00:00:00Z");
}

TEST_CASE("format_rfc3339 writes the first and last time a TimePoint holds", "[json]") {
  CHECK(format_rfc3339(TimePoint::min()) == "1677-09-21T00:12:43.145224192Z");
  CHECK(format_rfc3339(TimePoint::max()) == "2262-04-11T23:47:16.854775807Z");
}

TEST_CASE("parse_rfc3339 reads back what format_rfc3339 writes", "[json]") {
  using std::chrono::year;
  for (const TimePoint t :
       {TimePoint{}, TimePoint{} - 1ns, at(year{2026} / 3 / 29, 1h + 30min + 250us),
        at(year{1900} / 2 / 28, 12h + 1ns), TimePoint::min(), TimePoint::max()}) {
    INFO(format_rfc3339(t));
    const std::optional<TimePoint> read = parse_rfc3339(format_rfc3339(t));
    REQUIRE(read.has_value());
    CHECK(*read == t);
  }
}

}  // namespace detail_json_time_test
