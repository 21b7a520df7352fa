// SPDX-License-Identifier: MIT
#include <apsched/error.hpp>

#include "support/catch.hpp"

#include <concepts>
#include <stdexcept>
#include <string>

namespace error_test {

namespace {

template <class E>
void check_keeps_message() {
  const std::string message = "add_job: a job with id \"nightly\" already exists";
  REQUIRE_THROWS_AS(throw E{message}, E);
  REQUIRE_THROWS_AS(throw E{message}, apsched::Error);
  REQUIRE_THROWS_AS(throw E{message}, std::runtime_error);
  REQUIRE_THROWS_WITH(throw E{message}, message);
  try {
    throw E{"from a C string"};
  } catch (const apsched::Error& error) {
    CHECK(std::string{error.what()} == "from a C string");
  }
}

}  // namespace

TEST_CASE("every apsched error is an apsched::Error, which is a std::runtime_error", "[error]") {
  STATIC_REQUIRE(std::derived_from<apsched::Error, std::runtime_error>);
  STATIC_REQUIRE(std::derived_from<apsched::JobLookupError, apsched::Error>);
  STATIC_REQUIRE(std::derived_from<apsched::ConflictingIdError, apsched::Error>);
  STATIC_REQUIRE(std::derived_from<apsched::SchedulerAlreadyRunningError, apsched::Error>);
  STATIC_REQUIRE(std::derived_from<apsched::SchedulerNotRunningError, apsched::Error>);
  STATIC_REQUIRE(std::derived_from<apsched::InvalidArgumentError, apsched::Error>);
  STATIC_REQUIRE(std::derived_from<apsched::InvalidTriggerError, apsched::Error>);
  STATIC_REQUIRE(std::derived_from<apsched::UnknownTimeZoneError, apsched::Error>);
  STATIC_REQUIRE(std::derived_from<apsched::InvalidJobOptionError, apsched::Error>);
  STATIC_REQUIRE(std::derived_from<apsched::ExecutorShutdownError, apsched::Error>);
  STATIC_REQUIRE(std::derived_from<apsched::StoreError, apsched::Error>);
}

TEST_CASE("invalid-argument errors share InvalidArgumentError", "[error]") {
  STATIC_REQUIRE(std::derived_from<apsched::InvalidTriggerError, apsched::InvalidArgumentError>);
  STATIC_REQUIRE(std::derived_from<apsched::InvalidJobOptionError, apsched::InvalidArgumentError>);
  STATIC_REQUIRE(std::derived_from<apsched::UnknownTimeZoneError, apsched::InvalidTriggerError>);
  STATIC_REQUIRE(std::derived_from<apsched::UnknownTaskError, apsched::InvalidArgumentError>);
  STATIC_REQUIRE(std::derived_from<apsched::SerializationError, apsched::InvalidArgumentError>);
  STATIC_REQUIRE(std::derived_from<apsched::SchemaVersionError, apsched::StoreError>);
  STATIC_REQUIRE_FALSE(std::derived_from<apsched::StoreError, apsched::InvalidArgumentError>);
  STATIC_REQUIRE_FALSE(
      std::derived_from<apsched::InvalidJobOptionError, apsched::InvalidTriggerError>);
  STATIC_REQUIRE_FALSE(std::derived_from<apsched::JobLookupError, apsched::InvalidArgumentError>);
  STATIC_REQUIRE_FALSE(
      std::derived_from<apsched::ExecutorShutdownError, apsched::InvalidArgumentError>);
  STATIC_REQUIRE_FALSE(std::derived_from<apsched::ConflictingIdError, apsched::JobLookupError>);
  STATIC_REQUIRE_FALSE(
      std::derived_from<apsched::SchedulerAlreadyRunningError, apsched::SchedulerNotRunningError>);
}

TEST_CASE("every apsched error keeps its message", "[error]") {
  check_keeps_message<apsched::Error>();
  check_keeps_message<apsched::JobLookupError>();
  check_keeps_message<apsched::ConflictingIdError>();
  check_keeps_message<apsched::SchedulerAlreadyRunningError>();
  check_keeps_message<apsched::SchedulerNotRunningError>();
  check_keeps_message<apsched::InvalidArgumentError>();
  check_keeps_message<apsched::InvalidTriggerError>();
  check_keeps_message<apsched::UnknownTimeZoneError>();
  check_keeps_message<apsched::InvalidJobOptionError>();
  check_keeps_message<apsched::ExecutorShutdownError>();
  check_keeps_message<apsched::UnknownTaskError>();
  check_keeps_message<apsched::SerializationError>();
  check_keeps_message<apsched::StoreError>();
  check_keeps_message<apsched::SchemaVersionError>();
}

TEST_CASE("a specific error is caught by its base classes", "[error]") {
  REQUIRE_THROWS_AS(throw apsched::UnknownTimeZoneError{"zone"}, apsched::InvalidTriggerError);
  REQUIRE_THROWS_AS(throw apsched::UnknownTimeZoneError{"zone"}, apsched::InvalidArgumentError);
  REQUIRE_THROWS_AS(throw apsched::InvalidJobOptionError{"option"}, apsched::InvalidArgumentError);
  REQUIRE_THROWS_WITH(throw apsched::UnknownTimeZoneError{"unknown zone \"Mars/Base\""},
                      apsched::test::contains("Mars/Base"));
}

}  // namespace error_test
