// SPDX-License-Identifier: MIT
// ArgumentWriter writes the text nlohmann::json's dump() writes and fails as it does;
// ArgumentValue reads values as nlohmann keeps them; ArgumentReader's errors name the call, the
// task and the parameter.
#include <apsched/detail/json/arguments.hpp>

#include "support/catch.hpp"

#include <apsched/error.hpp>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace detail_json_arguments_test {

using namespace apsched::detail::json;
using apsched::SerializationError;
using nlohmann::json;
using Kind = JsonNumber::Kind;

namespace {

// Every string a test writes, with the text dump() gives it.
std::vector<std::string> tricky_strings() {
  std::string controls;
  for (char c = 0; c < 0x20; ++c) {
    controls += c;
  }
  return {"",
          "plain",
          "quote \" backslash \\ slash /",
          controls,
          "\x7f delete",
          "na\u00efve \u20ac \U0001F600",
          std::string{"nul \0 inside", 12},
          "\u2028 \u2029 line separators"};
}

std::string int_name() { return "int"; }

}  // namespace

TEST_CASE("json: an argument writer writes strings as dump() does", "[json][arguments]") {
  ArgumentWriter writer{"add_job", "t"};
  json expected = json::array();
  for (const std::string& text : tricky_strings()) {
    writer.string(text);
    expected.push_back(text);
  }
  CHECK(writer.text() == expected.dump());
  CHECK(writer.value() == expected);
}

TEST_CASE("json: an argument writer writes numbers as dump() does", "[json][arguments]") {
  const double doubles[] = {0.1,
                            1e300,
                            -0.0,
                            0.0,
                            3.0,
                            -2.5,
                            1e16,
                            123456789012345678.0,
                            5e-324,
                            static_cast<double>(0.1F),
                            std::numeric_limits<double>::max(),
                            std::numeric_limits<double>::quiet_NaN(),
                            std::numeric_limits<double>::infinity()};
  ArgumentWriter writer{"add_job", "t"};
  json expected = json::array();
  for (const double value : doubles) {
    writer.floating(value);
    expected.push_back(value);
  }
  writer.signed_integer(std::numeric_limits<std::int64_t>::min());
  writer.signed_integer(std::numeric_limits<std::int64_t>::max());
  writer.signed_integer(-1);
  writer.unsigned_integer(std::numeric_limits<std::uint64_t>::max());
  writer.unsigned_integer(0);
  expected.push_back(std::numeric_limits<std::int64_t>::min());
  expected.push_back(std::numeric_limits<std::int64_t>::max());
  expected.push_back(-1);
  expected.push_back(std::numeric_limits<std::uint64_t>::max());
  expected.push_back(0U);
  CHECK(writer.text() == expected.dump());
  CHECK(writer.text() ==
        "[0.1,1e+300,-0.0,0.0,3.0,-2.5,1e+16,1.2345678901234568e+17,5e-324,0.10000000149011612,"
        "1.7976931348623157e+308,null,null,-9223372036854775808,9223372036854775807,-1,"
        "18446744073709551615,0]");
}

TEST_CASE("json: an argument writer nests arrays and objects", "[json][arguments]") {
  ArgumentWriter writer{"add_job", "t"};
  writer.null();
  writer.boolean(true);
  writer.begin_array();
  writer.signed_integer(1);
  writer.begin_object();
  writer.key("b");
  writer.boolean(false);
  writer.key("a");
  writer.begin_array();
  writer.end();
  writer.end();
  writer.string("x");
  writer.end();
  writer.begin_object();
  writer.end();
  writer.encoded(json{{"city", "Berlin"}, {"zip", 10115}});
  const json expected = json::array({nullptr,
                                     true,
                                     json::array({1, {{"b", false}, {"a", json::array()}}, "x"}),
                                     json::object(),
                                     {{"city", "Berlin"}, {"zip", 10115}}});
  CHECK(writer.value() == expected);
  CHECK(writer.text() == expected.dump());
  CHECK(writer.text() ==
        R"([null,true,[1,{"a":[],"b":false},"x"],{},{"city":"Berlin","zip":10115}])");
  CHECK(ArgumentWriter{"add_job", "t"}.text() == "[]");
}

TEST_CASE("json: an argument writer refuses text that is not UTF-8 as dump() does",
          "[json][arguments][error]") {
  const std::string bad = "bad \xff byte";
  ArgumentWriter writer{"add_job", "t"};
  writer.string("fine");
  writer.string(bad);
  std::string expected;
  try {
    (void)json::array({"fine", bad}).dump();
  } catch (const json::type_error& error) {
    expected = error.what();
  }
  REQUIRE(expected == "[json.exception.type_error.316] invalid UTF-8 byte at index 4: 0xFF");
  REQUIRE_THROWS_AS(writer.text(), json::type_error);
  REQUIRE_THROWS_WITH(writer.text(), expected);
}

TEST_CASE("json: an argument writer's failure names the argument being added",
          "[json][arguments][error]") {
  ArgumentWriter writer{"add_job", "send-report"};
  REQUIRE_THROWS_AS(writer.fail("no"), SerializationError);
  REQUIRE_THROWS_WITH(writer.fail("no"),
                      "add_job: task \"send-report\" argument 1 cannot be encoded: no");
  writer.string("a");
  REQUIRE_THROWS_WITH(writer.fail("why"),
                      "add_job: task \"send-report\" argument 2 cannot be encoded: why");
  // Inside an argument's array, the argument is the one the array is.
  writer.begin_array();
  writer.begin_object();
  writer.key("k");
  REQUIRE_THROWS_WITH(writer.fail("deep"),
                      "add_job: task \"send-report\" argument 2 cannot be encoded: deep");
}

TEST_CASE("json: an argument value reads numbers as nlohmann keeps them", "[json][arguments]") {
  const json values = json::parse("[-1, 1, 1.0, 18446744073709551615, -9223372036854775808]");
  const auto number = [&](std::size_t index) {
    const std::optional<JsonNumber> result = ArgumentValue{values}[index].number();
    REQUIRE(result);
    return *result;
  };
  CHECK(number(0).kind == Kind::signed_integer);
  CHECK(number(0).signed_value == -1);
  CHECK(number(1).kind == Kind::unsigned_integer);
  CHECK(number(1).unsigned_value == 1);
  CHECK(number(2).kind == Kind::floating);
  CHECK(number(2).floating_value == 1.0);
  CHECK(number(3).unsigned_value == std::numeric_limits<std::uint64_t>::max());
  CHECK(number(4).signed_value == std::numeric_limits<std::int64_t>::min());
  // Made from a signed integer, a value keeps it signed.
  const json made = 5;
  CHECK(ArgumentValue{made}.number()->kind == Kind::signed_integer);
  CHECK_FALSE(ArgumentValue{json("1")}.number());
  CHECK_FALSE(ArgumentValue{json(true)}.number());
  CHECK_FALSE(ArgumentValue{json(nullptr)}.number());
}

TEST_CASE("json: a number is within a range only as an integer", "[json][arguments]") {
  constexpr JsonNumber minus_one{Kind::signed_integer, -1, 0, 0};
  constexpr JsonNumber seven{Kind::unsigned_integer, 0, 7, 0};
  constexpr JsonNumber seven_signed{Kind::signed_integer, 7, 0, 0};
  constexpr JsonNumber whole{Kind::floating, 0, 0, 7.0};
  constexpr auto max = std::numeric_limits<std::uint64_t>::max();
  constexpr auto min = std::numeric_limits<std::int64_t>::min();
  STATIC_REQUIRE(minus_one.within(-1, 0));
  STATIC_REQUIRE_FALSE(minus_one.within(0, max));
  STATIC_REQUIRE(seven.within(7, 7));
  STATIC_REQUIRE_FALSE(seven.within(min, 6));
  STATIC_REQUIRE_FALSE(seven.within(8, max));
  STATIC_REQUIRE(seven_signed.within(0, 7));
  STATIC_REQUIRE_FALSE(seven_signed.within(0, 6));
  STATIC_REQUIRE_FALSE(seven_signed.within(8, max));
  STATIC_REQUIRE_FALSE(whole.within(min, max));
  STATIC_REQUIRE(minus_one.as<int>() == -1);
  STATIC_REQUIRE(seven.as<double>() == 7.0);
  STATIC_REQUIRE(whole.as<float>() == 7.0F);
}

TEST_CASE("json: an argument value reads each kind of value", "[json][arguments]") {
  const json values = json::parse(R"([null, true, "text", [1, [2]], {"b": 1, "a": [true]}])");
  const ArgumentValue all{values};
  REQUIRE(all.is_array());
  CHECK(all.size() == 5);
  CHECK(all[0].is_null());
  CHECK_FALSE(all[1].is_null());
  CHECK(all[1].boolean() == std::optional{true});
  CHECK_FALSE(all[2].boolean());
  CHECK(all[2].string() == std::optional<std::string_view>{"text"});
  CHECK_FALSE(all[1].string());
  CHECK(all[3].is_array());
  CHECK_FALSE(all[3].is_object());
  CHECK(all[3].size() == 2);
  CHECK(all[3][1][0].number()->unsigned_value == 2);
  CHECK(all[4].is_object());
  CHECK_FALSE(all[4].is_array());
  const auto members = all[4].members();
  REQUIRE(members.size() == 2);
  CHECK(members[0].first == "a");
  CHECK(members[0].second.is_array());
  CHECK(members[1].first == "b");
  CHECK(&members[1].second.json() == &values[4]["b"]);
}

TEST_CASE("json: an argument reader's failure names the call, task, parameter and value",
          "[json][arguments][error]") {
  const json arguments = json::array({"ops@example.com", "abc", std::string(80, 'x')});
  const ArgumentReader reader{arguments, "add_job", "send-report"};
  CHECK(reader[0].string() == std::optional<std::string_view>{"ops@example.com"});
  REQUIRE_THROWS_AS(reader.fail(1, &int_name, nullptr), SerializationError);
  REQUIRE_THROWS_WITH(reader.fail(1, &int_name, nullptr),
                      "add_job: task \"send-report\" parameter 2 expects int, got \"abc\"");
  REQUIRE_THROWS_WITH(
      reader.fail(1, &int_name, "zip must not be negative"),
      "add_job: task \"send-report\" parameter 2 expects int, got \"abc\" (zip must not be "
      "negative)");
  // A long value is cut, as every JSON error shows values.
  REQUIRE_THROWS_WITH(reader.fail(2, &int_name, nullptr),
                      "add_job: task \"send-report\" parameter 3 expects int, got \"" +
                          std::string(56, 'x') + "...");
}

}  // namespace detail_json_arguments_test
