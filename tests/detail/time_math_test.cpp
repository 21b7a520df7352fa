// SPDX-License-Identifier: MIT
// Overflow-safe time arithmetic: a time point moved back by an offset stays within range.
#include <apsched/detail/time_math.hpp>

#include "support/catch.hpp"

#include <chrono>

namespace detail_time_math_test {

using namespace std::chrono_literals;
using apsched::Duration;
using apsched::TimePoint;
using apsched::detail::minus_saturated;

const TimePoint t0 = TimePoint{} + std::chrono::hours{24 * 365 * 50};

TEST_CASE("a time point moved back by an offset saturates at the ends of the range",
          "[time_math]") {
  CHECK(minus_saturated(t0, 2s) == t0 - 2s);
  CHECK(minus_saturated(t0, -2s) == t0 + 2s);
  CHECK(minus_saturated(t0, Duration::zero()) == t0);
  // max() means never, whatever the offset.
  CHECK(minus_saturated(TimePoint::max(), 2s) == TimePoint::max());
  CHECK(minus_saturated(TimePoint::max(), -2s) == TimePoint::max());
  CHECK(minus_saturated(TimePoint::max() - 1s, -2s) == TimePoint::max());
  CHECK(minus_saturated(TimePoint::min() + 1s, 2s) == TimePoint::min());
  CHECK(minus_saturated(TimePoint::min() + 3s, 2s) == TimePoint::min() + 1s);
}

}  // namespace detail_time_math_test
