// SPDX-License-Identifier: MIT
// The json part in the compiled mode with a user type: a unit that includes
// json/task_arguments.hpp codes it through nlohmann::json, while the registry's definitions come
// from apsched::json_compiled.
#include <apsched/json/task_arguments.hpp>
#include <apsched/json/task_registry.hpp>

#include "support/catch.hpp"

#include <apsched/error.hpp>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#if !APSCHED_SEPARATE_COMPILATION
#error "test_json_compiled checks the compiled mode: its units link apsched::json_compiled"
#endif

// A user type; only this file declares the namespace compiled_mail.
namespace compiled_mail {

struct Address {
  std::string city;
};

inline void to_json(nlohmann::json& j, const Address& address) { j = {{"city", address.city}}; }
inline void from_json(const nlohmann::json& j, Address& address) {
  j.at("city").get_to(address.city);
}

}  // namespace compiled_mail

namespace compiled_task_registry_user_types_test {

TEST_CASE("compiled json: user types go through json/task_arguments.hpp", "[json][compiled]") {
  apsched::TaskRegistry tasks;
  std::vector<std::string> seen;
  tasks.add("mail", [&seen](const compiled_mail::Address& to,
                            const std::vector<compiled_mail::Address>& cc) {
    seen.push_back(to.city + " " + std::to_string(cc.size()));
  });
  apsched::PreparedTask call = tasks.prepare("add_job", "mail", compiled_mail::Address{"Berlin"},
                                             std::vector<compiled_mail::Address>{{"Paris"}});
  CHECK(call.call().arguments == R"([{"city":"Berlin"},[{"city":"Paris"}]])");
  apsched::detail::PreparedAccess<apsched::PreparedTask>::take_body(call).get()->run(
      apsched::JobContext{});
  CHECK(seen == std::vector<std::string>{"Berlin 1"});
  REQUIRE_THROWS_AS(tasks.validate_arguments("add_job", "mail", nlohmann::json::parse("[{}, []]")),
                    apsched::SerializationError);
  REQUIRE_THROWS_WITH(
      tasks.validate_arguments("add_job", "mail", nlohmann::json::parse("[{}, []]")),
      apsched::test::contains("add_job: task \"mail\" parameter 1 expects "
                              "compiled_mail::Address, got {} ("));
  CHECK(tasks.encode_arguments("add_job", "mail", compiled_mail::Address{"Rome"},
                               std::vector<compiled_mail::Address>{}) ==
        nlohmann::json::parse(R"([{"city":"Rome"},[]])"));
}

}  // namespace compiled_task_registry_user_types_test
