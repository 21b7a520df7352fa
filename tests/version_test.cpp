// SPDX-License-Identifier: MIT
#include <apsched/version.hpp>

#include "support/catch.hpp"

namespace version_test {

#if APSCHED_VERSION_MAJOR < 0 || APSCHED_VERSION_MINOR < 0 || APSCHED_VERSION_PATCH < 0
#error "the version macros must be usable in #if"
#endif

TEST_CASE("version combines major, minor and patch as major*10000 + minor*100 + patch",
          "[version]") {
  STATIC_REQUIRE(apsched::version == APSCHED_VERSION_MAJOR * 10000 + APSCHED_VERSION_MINOR * 100 +
                                         APSCHED_VERSION_PATCH);
  STATIC_REQUIRE(apsched::version / 10000 == APSCHED_VERSION_MAJOR);
  STATIC_REQUIRE(apsched::version / 100 % 100 == APSCHED_VERSION_MINOR);
  STATIC_REQUIRE(apsched::version % 100 == APSCHED_VERSION_PATCH);
}

TEST_CASE("version parts fit their two decimal digits", "[version]") {
  STATIC_REQUIRE(APSCHED_VERSION_MINOR < 100);
  STATIC_REQUIRE(APSCHED_VERSION_PATCH < 100);
  STATIC_REQUIRE(apsched::version >= 0);
  STATIC_REQUIRE(apsched::version > 0);
}

}  // namespace version_test
