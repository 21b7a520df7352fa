// SPDX-License-Identifier: MIT
#include <apsched/detail/json/type_name.hpp>
#include <apsched/json/task_registry.hpp>

#include "support/catch.hpp"
#include "support/decode_count.hpp"
#include "support/task_body.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <latch>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

// A user type at namespace scope, as users write them: the messages tested below name it
// reports::Address. Only this file declares the namespace reports.
namespace reports {

// A user type with its own to_json/from_json, found by ADL.
struct Address {
  std::string city;
  int zip = 0;
  friend bool operator==(const Address&, const Address&) = default;
};

inline void to_json(nlohmann::json& j, const Address& address) {
  j = nlohmann::json{{"city", address.city}, {"zip", address.zip}};
}
inline void from_json(const nlohmann::json& j, Address& address) {
  j.at("city").get_to(address.city);
  j.at("zip").get_to(address.zip);
  if (address.zip < 0) {
    throw std::invalid_argument{"zip must not be negative"};
  }
}

}  // namespace reports

namespace json_task_registry_test {

using apsched::JobContext;
using apsched::SerializationError;
using apsched::TaskRegistry;
using apsched::UnknownTaskError;
using apsched::test::contains;
using apsched::test::task_body;
using nlohmann::json;

namespace {

// What the last task run saw.
struct Calls {
  std::vector<std::string> log;
};
Calls calls;

void send_report(const std::string& to, int copies) {
  calls.log.push_back("send_report " + to + " " + std::to_string(copies));
}

void with_context(const JobContext& context, double ratio) {
  calls.log.push_back("with_context " + std::string{context.job_id} + " " + std::to_string(ratio));
}

void no_arguments() { calls.log.push_back("no_arguments"); }

struct Counter {
  int* count;
  void operator()(int step) const { *count += step; }
};

JobContext context_for(std::string_view id) {
  JobContext context;
  context.job_id = id;
  return context;
}

void run(const apsched::detail::BodyRef& body, std::string_view id = "job-1") {
  REQUIRE(body);
  body.get()->run(context_for(id));
}

}  // namespace

TEST_CASE("json: task registry encodes arguments and builds bodies of function pointers",
          "[json][task_registry]") {
  calls.log.clear();
  TaskRegistry tasks;
  tasks.add("send-report", &send_report);
  tasks.add("with-context", with_context);
  tasks.add("nothing", no_arguments);
  CHECK(tasks.contains("send-report"));
  CHECK_FALSE(tasks.contains("send_report"));
  CHECK(tasks.names() == std::vector<std::string>{"nothing", "send-report", "with-context"});

  const json arguments = tasks.encode_arguments("add_job", "send-report", "ops@example.com", 3);
  CHECK(arguments == json::array({"ops@example.com", 3}));
  run(task_body(tasks, "send-report", json::parse(arguments.dump())));
  run(task_body(tasks, "with-context", tasks.encode_arguments("add_job", "with-context", 0.5)),
      "nightly");
  run(task_body(tasks, "nothing", json::array()));
  CHECK(calls.log == std::vector<std::string>{"send_report ops@example.com 3",
                                              "with_context nightly 0.500000", "no_arguments"});
  CHECK(tasks.encode_arguments("add_job", "nothing") == json::array());
}

TEST_CASE(
    "json: task registry takes lambdas, std::function and functors, with or without a context",
    "[json][task_registry]") {
  TaskRegistry tasks;
  std::vector<std::string> seen;
  tasks.add("lambda",
            [&seen](std::string text, bool flag) { seen.push_back(text + (flag ? "!" : "?")); });
  tasks.add("context-by-value", [&seen](JobContext context, const std::vector<int>& values) {
    seen.push_back(std::string{context.job_id} + ":" + std::to_string(values.size()));
  });
  tasks.add("context-by-reference",
            [&seen](const JobContext& context) { seen.push_back(std::string{context.job_id}); });
  tasks.add("function",
            std::function<void(unsigned, std::string)>{[&seen](unsigned n, std::string text) {
              seen.push_back(std::to_string(n) + text);
            }});
  int count = 0;
  tasks.add("functor", Counter{&count});
  int runs = 0;
  tasks.add("mutable", [runs](int) mutable { ++runs; });
  tasks.add("stateless", [] {});

  run(task_body(tasks, "lambda", tasks.encode_arguments("add_job", "lambda", "hi", true)));
  run(task_body(tasks, "context-by-value",
                tasks.encode_arguments("add_job", "context-by-value", std::vector{1, 2, 3})),
      "ctx");
  run(task_body(tasks, "context-by-reference", json::array()), "ref");
  run(task_body(tasks, "function", json::array({7, "-"})));
  run(task_body(tasks, "function", json::array({8, "x"})));
  const apsched::detail::BodyRef counter = task_body(tasks, "functor", json::array({5}));
  run(counter);
  run(counter);
  run(task_body(tasks, "mutable", json::array({1})));
  run(task_body(tasks, "stateless", json::array()));
  CHECK(seen == std::vector<std::string>{"hi!", "ctx:3", "ref", "7-", "8x"});
  CHECK(count == 10);
}

TEST_CASE("json: task registry decodes user types through their to_json and from_json",
          "[json][task_registry]") {
  TaskRegistry tasks;
  std::vector<reports::Address> received;
  tasks.add("mail", [&received](const JobContext&, const reports::Address& to,
                                const std::map<std::string, reports::Address>& copies) {
    received.push_back(to);
    for (const auto& entry : copies) {
      received.push_back(entry.second);
    }
  });
  const reports::Address berlin{"Berlin", 10115};
  const reports::Address paris{"Paris", 75001};
  const json arguments = tasks.encode_arguments(
      "add_job", "mail", berlin, std::map<std::string, reports::Address>{{"cc", paris}});
  CHECK(arguments ==
        json::parse(R"([{"city":"Berlin","zip":10115},{"cc":{"city":"Paris","zip":75001}}])"));
  run(task_body(tasks, "mail", arguments));
  CHECK(received == std::vector<reports::Address>{berlin, paris});

  REQUIRE_THROWS_AS(tasks.validate_arguments("add_job", "mail",
                                             json::parse(R"([{"city":"Berlin","zip":-1},{}])")),
                    SerializationError);
  REQUIRE_THROWS_WITH(tasks.validate_arguments("add_job", "mail",
                                               json::parse(R"([{"city":"Berlin","zip":-1},{}])")),
                      contains("add_job: task \"mail\" parameter 1 expects reports::Address, got "
                               "{\"city\":\"Berlin\",\"zip\":-1} (zip must not be negative)"));
  REQUIRE_THROWS_WITH(
      tasks.validate_arguments("add_job", "mail", json::parse(R"([{"city":"Berlin"},{}])")),
      contains("add_job: task \"mail\" parameter 1 expects reports::Address, got "
               "{\"city\":\"Berlin\"} ("));
}

TEST_CASE("json: encode_arguments names an unknown task", "[json][task_registry][error]") {
  TaskRegistry tasks;
  REQUIRE_THROWS_AS(tasks.encode_arguments("add_job", "send-report", 1), UnknownTaskError);
  REQUIRE_THROWS_WITH(tasks.encode_arguments("add_job", "send-report", 1),
                      "add_job: no task is registered as \"send-report\"; none are registered");
  REQUIRE_THROWS_AS(tasks.validate_arguments("add_job", "x", json::array()), UnknownTaskError);
  REQUIRE_THROWS_AS(task_body(tasks, "x", json::array()), UnknownTaskError);
  REQUIRE_THROWS_WITH(task_body(tasks, "x", json::array()),
                      "make_body: no task is registered as \"x\"; none are registered");
  REQUIRE_THROWS_WITH(task_body(tasks, "x", json::array(), "load_job"),
                      "load_job: no task is registered as \"x\"; none are registered");
}

TEST_CASE("json: an unknown task's error lists the registered tasks, sorted and capped",
          "[json][task_registry][error]") {
  TaskRegistry tasks;
  tasks.add("send-report", &send_report);
  REQUIRE_THROWS_WITH(task_body(tasks, "send-reprot", json::array()),
                      "make_body: no task is registered as \"send-reprot\"; the registered task is "
                      "\"send-report\"");
  tasks.add("cleanup", [] {});
  tasks.add("Archive", [] {});
  REQUIRE_THROWS_AS(tasks.validate_arguments("add_job", "x", json::array()), UnknownTaskError);
  REQUIRE_THROWS_WITH(tasks.validate_arguments("add_job", "x", json::array()),
                      "add_job: no task is registered as \"x\"; the registered tasks are "
                      "\"Archive\", \"cleanup\", \"send-report\"");
  // A long list stops after 20 names and says how many it left out.
  for (int i = 0; i < 30; ++i) {
    tasks.add(fmt::format("task-{:02}", i), [] {});
  }
  std::string expected =
      "add_job: no task is registered as \"x\"; the registered tasks are "
      "\"Archive\", \"cleanup\", \"send-report\"";
  for (int i = 0; i < 17; ++i) {
    expected += fmt::format(", \"task-{:02}\"", i);
  }
  expected += " and 13 more";
  REQUIRE_THROWS_WITH(tasks.encode_arguments("add_job", "x"), expected);
}

TEST_CASE("json: encode_arguments and validate_arguments check the argument count",
          "[json][task_registry][error]") {
  TaskRegistry tasks;
  tasks.add("send-report", &send_report);
  tasks.add("one", [](int) {});
  REQUIRE_THROWS_AS(tasks.encode_arguments("add_job", "send-report", "a", 1, 2),
                    SerializationError);
  REQUIRE_THROWS_WITH(tasks.encode_arguments("add_job", "send-report", "a", 1, 2),
                      "add_job: task \"send-report\" takes 2 arguments, got 3");
  REQUIRE_THROWS_WITH(tasks.validate_arguments("modify_job", "one", json::array()),
                      "modify_job: task \"one\" takes 1 argument, got 0");
  REQUIRE_THROWS_WITH(task_body(tasks, "one", json::array({1, 2})),
                      "make_body: task \"one\" takes 1 argument, got 2");
  REQUIRE_THROWS_WITH(tasks.validate_arguments("add_job", "one", json{{"a", 1}}),
                      "add_job: task \"one\" arguments are {\"a\":1}; expected a JSON array");
}

TEST_CASE("json: arguments must decode exactly as their parameter types",
          "[json][task_registry][error]") {
  TaskRegistry tasks;
  tasks.add("send-report", &send_report);
  tasks.add("numbers", [](unsigned char, unsigned, float, bool, std::vector<int>,
                          std::map<std::string, long long>) {});
  const auto fails = [&](std::string_view task, const json& arguments, const std::string& message) {
    CAPTURE(arguments.dump());
    REQUIRE_THROWS_AS(tasks.validate_arguments("add_job", task, arguments), SerializationError);
    REQUIRE_THROWS_WITH(tasks.validate_arguments("add_job", task, arguments), message);
  };
  REQUIRE_THROWS_AS(tasks.encode_arguments("add_job", "send-report", "ops@example.com", "abc"),
                    SerializationError);
  REQUIRE_THROWS_WITH(tasks.encode_arguments("add_job", "send-report", "ops@example.com", "abc"),
                      "add_job: task \"send-report\" parameter 2 expects int, got \"abc\"");
  fails("send-report", json::array({42, 1}),
        "add_job: task \"send-report\" parameter 1 expects std::string, got 42");
  fails("send-report", json::array({"a", 1.5}),
        "add_job: task \"send-report\" parameter 2 expects int, got 1.5");
  fails("send-report", json::array({"a", 2147483648LL}),
        "add_job: task \"send-report\" parameter 2 expects int, got 2147483648");
  fails("send-report", json::array({"a", true}),
        "add_job: task \"send-report\" parameter 2 expects int, got true");
  const json good =
      json::array({255, 4294967295U, 1.5, false, json::array({1, -2}), json{{"a", -1}}});
  tasks.validate_arguments("add_job", "numbers", good);
  json bad = good;
  bad[0] = 256;
  fails("numbers", bad, "add_job: task \"numbers\" parameter 1 expects unsigned char, got 256");
  bad = good;
  bad[1] = -1;
  fails("numbers", bad, "add_job: task \"numbers\" parameter 2 expects unsigned, got -1");
  bad = good;
  bad[2] = 1e300;
  fails("numbers", bad, "add_job: task \"numbers\" parameter 3 expects float, got 1e+300");
  bad = good;
  bad[3] = 0;
  fails("numbers", bad, "add_job: task \"numbers\" parameter 4 expects bool, got 0");
  bad = good;
  bad[4] = json::array({1, "2"});
  fails("numbers", bad,
        "add_job: task \"numbers\" parameter 5 expects std::vector<int>, got [1,\"2\"]");
  bad = good;
  bad[5] = json{{"a", 1.5}};
  fails("numbers", bad,
        "add_job: task \"numbers\" parameter 6 expects std::map<std::string, long long>, got "
        "{\"a\":1.5}");
  // The first bad argument is the one reported.
  fails("send-report", json::array({1, "x"}),
        "add_job: task \"send-report\" parameter 1 expects std::string, got 1");
  REQUIRE_THROWS_WITH(task_body(tasks, "send-report", json::array({"a", "b"})),
                      "make_body: task \"send-report\" parameter 2 expects int, got \"b\"");
}

TEST_CASE("json: add refuses an empty or taken task name", "[json][task_registry][error]") {
  TaskRegistry tasks;
  tasks.add("send-report", &send_report);
  REQUIRE_THROWS_AS(tasks.add("send-report", no_arguments), apsched::InvalidArgumentError);
  REQUIRE_THROWS_WITH(tasks.add("send-report", no_arguments),
                      "TaskRegistry::add: a task is already registered as \"send-report\"");
  REQUIRE_THROWS_WITH(tasks.add("", no_arguments),
                      "TaskRegistry::add: the name is empty; expected a non-empty task name");
  // The first registration is kept.
  calls.log.clear();
  run(task_body(tasks, "send-report", json::array({"a", 1})));
  CHECK(calls.log == std::vector<std::string>{"send_report a 1"});
}

TEST_CASE("json: task signatures are deduced from one call operator", "[json][task_registry]") {
  using apsched::detail::json::DeducibleCallable;
  using apsched::detail::json::TaskParameters;
  STATIC_REQUIRE(DeducibleCallable<void (*)(int)>);
  STATIC_REQUIRE(DeducibleCallable<Counter>);
  STATIC_REQUIRE(DeducibleCallable<std::function<void(int)>>);
  const auto generic = [](auto) {};
  STATIC_REQUIRE_FALSE(DeducibleCallable<decltype(generic)>);
  struct Overloaded {
    void operator()(int) const {}
    void operator()(std::string) const {}
  };
  STATIC_REQUIRE_FALSE(DeducibleCallable<Overloaded>);
  using apsched::detail::json::ParameterList;
  STATIC_REQUIRE(TaskParameters<ParameterList<const JobContext&, int>>::takes_context);
  STATIC_REQUIRE(TaskParameters<ParameterList<const JobContext&, int>>::valid);
  STATIC_REQUIRE_FALSE(TaskParameters<ParameterList<int, const JobContext&>>::valid);
  STATIC_REQUIRE_FALSE(TaskParameters<ParameterList<JobContext&>>::valid);
  STATIC_REQUIRE_FALSE(TaskParameters<ParameterList<std::string&>>::valid);
  STATIC_REQUIRE_FALSE(TaskParameters<ParameterList<std::string&&>>::valid);
  STATIC_REQUIRE(std::is_same_v<TaskParameters<ParameterList<const std::string&, int>>::Types,
                                std::tuple<std::string, int>>);
  STATIC_REQUIRE(apsched::detail::json::JsonParameter<reports::Address>);
  STATIC_REQUIRE_FALSE(apsched::detail::json::JsonParameter<const char*>);
}

TEST_CASE("json: type names are readable", "[json][task_registry]") {
  using apsched::detail::json::type_name;
  CHECK(type_name<int>() == "int");
  CHECK(type_name<long>() == "long");
  CHECK(type_name<unsigned>() == "unsigned");
  CHECK(type_name<double>() == "double");
  CHECK(type_name<bool>() == "bool");
  CHECK(type_name<std::string>() == "std::string");
  CHECK(type_name<std::vector<int>>() == "std::vector<int>");
  CHECK(type_name<std::optional<std::string>>() == "std::optional<std::string>");
  CHECK(type_name<std::map<std::string, std::vector<double>>>() ==
        "std::map<std::string, std::vector<double>>");
  CHECK(type_name<std::array<bool, 3>>() == "std::array<bool, 3>");
  CHECK(type_name<std::tuple<int, std::string>>() == "std::tuple<int, std::string>");
  CHECK(type_name<reports::Address>() == "reports::Address");
  CHECK(type_name<std::vector<reports::Address>>() == "std::vector<reports::Address>");
}

TEST_CASE("json: task() names a registered task", "[json][task_registry]") {
  const apsched::TaskRef ref = apsched::task("send-report");
  CHECK(ref.name == "send-report");
}

TEST_CASE("json: tasks may be added while other threads build bodies",
          "[json][task_registry][thread]") {
  TaskRegistry tasks;
  int total = 0;
  tasks.add("base", [&total](int n) { total += n; });
  constexpr int threads = 4;
  constexpr int rounds = 100;
  std::latch start{threads + 1};
  std::vector<std::thread> workers;
  std::vector<apsched::detail::BodyRef> bodies(threads * rounds);
  for (int i = 0; i < threads; ++i) {
    workers.emplace_back([&, i] {
      start.arrive_and_wait();
      for (int k = 0; k < rounds; ++k) {
        bodies[static_cast<std::size_t>(i * rounds + k)] =
            task_body(tasks, "base", tasks.encode_arguments("add_job", "base", 1));
      }
    });
  }
  start.arrive_and_wait();
  for (int k = 0; k < rounds; ++k) {
    tasks.add("extra-" + std::to_string(k), [](const JobContext&) {});
  }
  for (std::thread& worker : workers) {
    worker.join();
  }
  for (const apsched::detail::BodyRef& body : bodies) {
    run(body);
  }
  CHECK(total == threads * rounds);
  CHECK(tasks.names().size() == rounds + 1);
}

TEST_CASE("json: prepare checks a call by decoding its arguments once, for its body",
          "[json][task_registry]") {
  TaskRegistry tasks;
  std::vector<int> seen;
  tasks.add("count", [&seen](decode_count::Counted counted, int step) {
    seen.push_back(counted.value + step);
  });

  decode_count::decodes = 0;
  apsched::PreparedTask prepared = tasks.prepare("add_job", "count", decode_count::Counted{40}, 2);
  CHECK(decode_count::decodes == 1);
  CHECK(prepared.call().name == "count");
  CHECK(prepared.call().arguments == "[40,2]");
  apsched::detail::BodyRef body =
      apsched::detail::PreparedAccess<apsched::PreparedTask>::take_body(prepared);
  run(body);
  run(body);
  CHECK(seen == std::vector{42, 42});
  CHECK(decode_count::decodes == 1);  // runs use the values decoded once

  // A stored call (an import, a store's row): parsed, then decoded once.
  decode_count::decodes = 0;
  const apsched::PreparedTask stored =
      tasks.prepare("add_job", apsched::TaskCall{"count", "[1, 2]"});
  CHECK(decode_count::decodes == 1);
  CHECK(stored.call().arguments == "[1, 2]");  // kept as given

  REQUIRE_THROWS_AS(tasks.prepare("add_job", "count", decode_count::Counted{1}),
                    SerializationError);
  REQUIRE_THROWS_WITH(tasks.prepare("add_job", "count", decode_count::Counted{1}),
                      "add_job: task \"count\" takes 2 arguments, got 1");
  REQUIRE_THROWS_WITH(tasks.prepare("add_job", "count", decode_count::Counted{1}, "two"),
                      contains("add_job: task \"count\" parameter 2 expects int, got \"two\""));
  REQUIRE_THROWS_WITH(tasks.prepare("add_job", apsched::TaskCall{"count", "[1,"}),
                      contains("add_job: task \"count\" arguments are not JSON"));
  REQUIRE_THROWS_AS(tasks.prepare("import_jobs", apsched::TaskCall{"other", "[]"}),
                    UnknownTaskError);
  REQUIRE_THROWS_WITH(
      tasks.prepare("import_jobs", apsched::TaskCall{"other", "[]"}),
      "import_jobs: no task is registered as \"other\"; the registered task is \"count\"");
}

}  // namespace json_task_registry_test
