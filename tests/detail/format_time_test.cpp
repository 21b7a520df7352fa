// SPDX-License-Identifier: MIT
// Text of time points and durations: instants in UTC, durations in their largest whole unit,
// and durations as the user gave them, in any representation and period.
#include <apsched/detail/format_time.hpp>

#include "support/catch.hpp"

#include <chrono>
#include <cstdint>
#include <ratio>

namespace detail_format_time_test {

using namespace std::chrono_literals;
using apsched::TimePoint;
using apsched::detail::duration_unit;
using apsched::detail::format_duration;
using apsched::detail::format_given_duration;
using apsched::detail::format_time;

TEST_CASE("an instant is written in UTC to the microsecond", "[format_time]") {
  CHECK(format_time(TimePoint{}) == "1970-01-01T00:00:00.000000Z");
  CHECK(format_time(TimePoint{} + 86'400s * 20'454 + 9h + 1234567us) ==
        "2026-01-01T09:00:01.234567Z");
  CHECK(format_time(TimePoint{} - 1us) == "1969-12-31T23:59:59.999999Z");
}

TEST_CASE("a duration is written in the largest unit that divides it", "[format_time]") {
  CHECK(format_duration(90s) == "90s");
  CHECK(format_duration(2h) == "2h");
  CHECK(format_duration(1500us) == "1500us");
  CHECK(format_duration(48h) == "2d");
  CHECK(format_duration(-3min) == "-3min");
  CHECK(format_duration(7ns) == "7ns");
  CHECK(format_duration(0s) == "0ns");
}

TEST_CASE("a given duration keeps its count and names its period", "[format_time]") {
  CHECK(format_given_duration(-5s) == "-5s");
  CHECK(format_given_duration(0s) == "0s");
  CHECK(format_given_duration(std::chrono::duration<double, std::nano>{0.4}) == "0.4ns");
  CHECK(format_given_duration(std::chrono::duration<double>{123456789.0}) == "1.23457e+08s");
  CHECK(format_given_duration(std::chrono::duration<float, std::milli>{1.5F}) == "1.5ms");
  CHECK(format_given_duration(std::chrono::duration<unsigned, std::micro>{3}) == "3us");
  CHECK(format_given_duration(2628000h) == "2628000h");
  CHECK(format_given_duration(std::chrono::minutes{-1}) == "-1min");
  CHECK(format_given_duration(std::chrono::days{2}) == "2d");
  CHECK(format_given_duration(std::chrono::weeks{1}) == "1[604800]s");
  CHECK(format_given_duration(std::chrono::duration<std::int64_t, std::ratio<1, 3>>{3}) ==
        "3[1/3]s");
  CHECK(format_given_duration(std::chrono::duration<std::int64_t, std::kilo>{2}) == "2ks");
}

TEST_CASE("every SI period has its symbol", "[format_time]") {
  CHECK(duration_unit(1, 1'000'000'000'000'000'000) == "as");
  CHECK(duration_unit(1, 100) == "cs");
  CHECK(duration_unit(10, 1) == "das");
  CHECK(duration_unit(1'000'000'000'000'000'000, 1) == "Es");
  CHECK(duration_unit(7, 3) == "[7/3]s");
  CHECK(duration_unit(7, 1) == "[7]s");
}

}  // namespace detail_format_time_test
