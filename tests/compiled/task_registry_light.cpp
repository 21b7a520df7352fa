// SPDX-License-Identifier: MIT
// The json part in the compiled mode (apsched::json_compiled): this unit registers tasks and
// makes calls with parameter types TaskRegistry codes itself, and compiles without nlohmann's
// header (it checks), taking the registry's definitions from the library.
#include <apsched/detail/scheduler/durable_tasks.hpp>
#include <apsched/json/task_registry.hpp>
#include <apsched/scheduler.hpp>

#include "support/catch.hpp"

#include <apsched/error.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

#if !APSCHED_SEPARATE_COMPILATION
#error "test_json_compiled checks the compiled mode: its units link apsched::json_compiled"
#endif
#ifdef INCLUDE_NLOHMANN_JSON_HPP_
#error \
    "in the compiled mode, the task registry and the scheduler must not include nlohmann/json.hpp"
#endif

namespace compiled_task_registry_light_test {

using apsched::PreparedTask;
using apsched::SerializationError;
using apsched::TaskCall;
using apsched::TaskRegistry;
using apsched::UnknownTaskError;

namespace {

// What the task saw.
struct Report {
  std::string to;
  int copies = 0;
  double ratio = 0;
  bool urgent = false;
  std::vector<std::string> cc;
  std::optional<int> priority;
};

void run(PreparedTask& prepared) {
  const apsched::detail::BodyRef body =
      apsched::detail::PreparedAccess<PreparedTask>::take_body(prepared);
  REQUIRE(body);
  body.get()->run(apsched::JobContext{});
}

}  // namespace

TEST_CASE("compiled json: tasks take the light parameter types without nlohmann's header",
          "[json][compiled]") {
  TaskRegistry tasks;
  std::vector<Report> seen;
  tasks.add("send-report",
            [&seen](const std::string& to, int copies, double ratio, bool urgent,
                    const std::vector<std::string>& cc, std::optional<int> priority) {
              seen.push_back(Report{to, copies, ratio, urgent, cc, priority});
            });
  CHECK(tasks.contains("send-report"));
  CHECK(tasks.names() == std::vector<std::string>{"send-report"});

  PreparedTask call = tasks.prepare("add_job", "send-report", "ops@example.com", 3, 0.5, true,
                                    std::vector<std::string>{"a", "b"}, std::nullopt);
  CHECK(call.call().name == "send-report");
  CHECK(call.call().arguments == R"(["ops@example.com",3,0.5,true,["a","b"],null])");
  run(call);

  PreparedTask stored =
      tasks.prepare("add_job", TaskCall{"send-report", R"(["x", 1, 2, false, [], 7])"});
  CHECK(stored.call().arguments == R"(["x", 1, 2, false, [], 7])");
  run(stored);

  REQUIRE(seen.size() == 2);
  CHECK(seen[0].to == "ops@example.com");
  CHECK(seen[0].copies == 3);
  CHECK(seen[0].ratio == 0.5);
  CHECK(seen[0].urgent);
  CHECK(seen[0].cc == std::vector<std::string>{"a", "b"});
  CHECK_FALSE(seen[0].priority);
  CHECK(seen[1].ratio == 2.0);
  CHECK(seen[1].priority == std::optional{7});
}

TEST_CASE("compiled json: the registry reports the errors of header-only mode",
          "[json][compiled][error]") {
  TaskRegistry tasks;
  tasks.add("send-report", [](const std::string&, int) {});
  REQUIRE_THROWS_AS(tasks.prepare("add_job", "send-report", "ops@example.com", "abc"),
                    SerializationError);
  REQUIRE_THROWS_WITH(tasks.prepare("add_job", "send-report", "ops@example.com", "abc"),
                      "add_job: task \"send-report\" parameter 2 expects int, got \"abc\"");
  REQUIRE_THROWS_WITH(tasks.prepare("add_job", "send-report", "a", 1, 2),
                      "add_job: task \"send-report\" takes 2 arguments, got 3");
  REQUIRE_THROWS_WITH(tasks.prepare("add_job", TaskCall{"send-report", R"(["a", 1.5])"}),
                      "add_job: task \"send-report\" parameter 2 expects int, got 1.5");
  REQUIRE_THROWS_WITH(
      tasks.prepare("add_job", TaskCall{"send-report", "[1,"}),
      apsched::test::contains("add_job: task \"send-report\" arguments are not JSON: "));
  REQUIRE_THROWS_AS(tasks.prepare("add_job", "report", 1), UnknownTaskError);
  REQUIRE_THROWS_WITH(
      tasks.prepare("add_job", "report", 1),
      "add_job: no task is registered as \"report\"; the registered task is \"send-report\"");
  REQUIRE_THROWS_WITH(tasks.add("send-report", [] {}),
                      "TaskRegistry::add: a task is already registered as \"send-report\"");
}

TEST_CASE("compiled json: a user type needs the nlohmann codec, which this unit lacks",
          "[json][compiled]") {
  struct Parcel {
    int grams = 0;
  };
  using apsched::detail::json::CodedArgument;
  using apsched::detail::json::CodedParameter;
  STATIC_REQUIRE_FALSE(CodedParameter<Parcel>);
  STATIC_REQUIRE_FALSE(CodedParameter<std::vector<Parcel>>);
  STATIC_REQUIRE_FALSE(CodedArgument<std::optional<Parcel>>);
  STATIC_REQUIRE(CodedParameter<std::map<std::string, std::vector<std::optional<bool>>>>);
  STATIC_REQUIRE(CodedArgument<const char(&)[3]>);
}

}  // namespace compiled_task_registry_light_test
