// SPDX-License-Identifier: MIT
// json/task_arguments.hpp: task parameters and arguments of types beyond the light ones go
// through nlohmann::json, alone or inside the light containers, with the errors TaskRegistry
// reports for them.
#include <apsched/json/task_arguments.hpp>

#include "support/catch.hpp"

#include <apsched/error.hpp>
#include <apsched/json/task_registry.hpp>

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

// User types at namespace scope, as users write them: the messages tested below name them.
// Only this file declares the namespace shipping.
namespace shipping {

// A parcel, stored as [to, grams].
struct Parcel {
  std::string to;
  int grams = 0;
};

inline void to_json(nlohmann::json& j, const Parcel& parcel) {
  j = nlohmann::json::array({parcel.to, parcel.grams});
}
inline void from_json(const nlohmann::json& j, Parcel& parcel) {
  parcel = Parcel{j.at(0).get<std::string>(), j.at(1).get<int>()};
  if (parcel.grams <= 0) {
    throw std::invalid_argument{"a parcel weighs something"};
  }
}

enum class Speed { slow, fast };

// A type whose encoding fails as nlohmann's own conversions fail.
struct Unsendable {};
inline void to_json(nlohmann::json&, const Unsendable&) {
  throw nlohmann::json::other_error::create(599, "no way to send it", nullptr);
}
inline void from_json(const nlohmann::json&, Unsendable&) {}

}  // namespace shipping

namespace json_task_arguments_test {

using apsched::SerializationError;
using apsched::TaskRegistry;
using apsched::detail::json::JsonCodec;
using nlohmann::json;
using shipping::Parcel;
using shipping::Speed;

namespace {

void run(apsched::PreparedTask& prepared) {
  const apsched::detail::BodyRef body =
      apsched::detail::PreparedAccess<apsched::PreparedTask>::take_body(prepared);
  REQUIRE(body);
  body.get()->run(apsched::JobContext{});
}

}  // namespace

TEST_CASE("json: the nlohmann codec takes the types nlohmann::json converts",
          "[json][task_arguments]") {
  STATIC_REQUIRE(JsonCodec<Parcel>::encodes);
  STATIC_REQUIRE(JsonCodec<Parcel>::decodes);
  STATIC_REQUIRE(JsonCodec<Speed>::decodes);
  STATIC_REQUIRE(JsonCodec<std::pair<int, std::string>>::decodes);
  STATIC_REQUIRE(JsonCodec<const char*>::encodes);
  STATIC_REQUIRE_FALSE(JsonCodec<const char*>::decodes);
  using apsched::detail::json::CodedParameter;
  using apsched::detail::json::JsonParameter;
  STATIC_REQUIRE(CodedParameter<std::vector<Parcel>>);
  STATIC_REQUIRE(JsonParameter<std::map<std::string, std::optional<Parcel>>>);
  STATIC_REQUIRE_FALSE(JsonParameter<std::vector<const char*>>);
}

TEST_CASE("json: user types are coded alone and inside the light containers",
          "[json][task_arguments]") {
  TaskRegistry tasks;
  std::vector<std::string> seen;
  tasks.add("ship",
            [&seen](const Parcel& parcel, const std::vector<Parcel>& more,
                    std::optional<Parcel> spare, std::pair<int, std::string> label, Speed speed) {
              seen.push_back(parcel.to + " " + std::to_string(more.size()) + " " +
                             (spare ? spare->to : "-") + " " + std::to_string(label.first) +
                             label.second + (speed == Speed::fast ? " fast" : " slow"));
            });
  const Parcel berlin{"Berlin", 500};
  const Parcel paris{"Paris", 20};
  apsched::PreparedTask prepared =
      tasks.prepare("add_job", "ship", berlin, std::vector{paris, berlin}, std::nullopt,
                    std::pair{7, std::string{"x"}}, Speed::fast);
  CHECK(prepared.call().arguments ==
        json::array({berlin, json::array({paris, berlin}), nullptr, std::pair{7, "x"}, Speed::fast})
            .dump());
  CHECK(prepared.call().arguments ==
        R"([["Berlin",500],[["Paris",20],["Berlin",500]],null,[7,"x"],1])");
  run(prepared);
  apsched::PreparedTask stored = tasks.prepare("add_job", prepared.call());
  run(stored);
  CHECK(seen == std::vector<std::string>{"Berlin 2 - 7x fast", "Berlin 2 - 7x fast"});

  apsched::PreparedTask spare =
      tasks.prepare("add_job", "ship", paris, std::vector<Parcel>{}, std::optional{berlin},
                    std::pair{1, "y"}, Speed::slow);
  CHECK(spare.call().arguments == R"([["Paris",20],[],["Berlin",500],[1,"y"],0])");
}

TEST_CASE("json: a user type's from_json gives the reason its argument does not decode",
          "[json][task_arguments][error]") {
  TaskRegistry tasks;
  tasks.add("ship", [](const std::vector<Parcel>&) {});
  const json light = json::parse(R"([[["Rome", 1], ["Oslo", 0]]])");
  REQUIRE_THROWS_AS(tasks.validate_arguments("add_job", "ship", light), SerializationError);
  REQUIRE_THROWS_WITH(tasks.validate_arguments("add_job", "ship", light),
                      "add_job: task \"ship\" parameter 1 expects std::vector<shipping::Parcel>, "
                      "got [[\"Rome\",1],[\"Oslo\",0]] (a parcel weighs something)");
  // The light container is checked first, with no reason.
  REQUIRE_THROWS_WITH(
      tasks.validate_arguments("add_job", "ship", json::parse(R"([{"to":"Rome"}])")),
      "add_job: task \"ship\" parameter 1 expects std::vector<shipping::Parcel>, "
      "got {\"to\":\"Rome\"}");
}

TEST_CASE("json: an argument that nlohmann::json cannot encode names its position",
          "[json][task_arguments][error]") {
  TaskRegistry tasks;
  tasks.add("send", [](int, const std::vector<shipping::Unsendable>&) {});
  const std::vector<shipping::Unsendable> parcels(2);
  REQUIRE_THROWS_AS(tasks.prepare("add_job", "send", 1, parcels), SerializationError);
  REQUIRE_THROWS_WITH(tasks.prepare("add_job", "send", 1, parcels),
                      "add_job: task \"send\" argument 2 cannot be encoded: "
                      "[json.exception.other_error.599] no way to send it");
  REQUIRE_THROWS_WITH(tasks.encode_arguments("add_job", "send", shipping::Unsendable{}, parcels),
                      "add_job: task \"send\" argument 1 cannot be encoded: "
                      "[json.exception.other_error.599] no way to send it");
}

}  // namespace json_task_arguments_test
