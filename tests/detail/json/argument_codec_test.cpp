// SPDX-License-Identifier: MIT
// write_argument writes what nlohmann::json would; holds_exactly and read_parameter read the
// light types strictly, through std::vector, std::array, std::optional and string-keyed maps;
// decode_parameter's errors are those TaskRegistry reports.
#include <apsched/detail/json/argument_codec.hpp>

#include "support/catch.hpp"

#include <apsched/error.hpp>

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace detail_json_argument_codec_test {

using namespace apsched::detail::json;
using apsched::SerializationError;
using nlohmann::json;

namespace {

// The text of `args` as written by write_argument.
template <class... Args>
std::string written(const Args&... args) {
  ArgumentWriter writer{"add_job", "t"};
  (write_argument(writer, args), ...);
  return writer.text();
}

// The text nlohmann::json gives `args` as an array.
template <class... Args>
std::string dumped(const Args&... args) {
  json array = json::array();
  (array.push_back(json(args)), ...);
  return array.dump();
}

// Whether `text`, parsed, holds a `P` exactly.
template <class P>
bool holds(std::string_view text) {
  const json value = json::parse(text);
  return holds_exactly<P>(ArgumentValue{value});
}

// `text`, parsed, read as a `P` (which it must hold).
template <class P>
P read(std::string_view text) {
  const json value = json::parse(text);
  REQUIRE(holds_exactly<P>(ArgumentValue{value}));
  return read_parameter<P>(ArgumentValue{value});
}

}  // namespace

TEST_CASE("json: arguments of the light types are written as nlohmann::json writes them",
          "[json][arguments]") {
  const char array[] = "char array";
  const char* c_string = "C string";
  CHECK(written(true, false) == dumped(true, false));
  CHECK(written('a', static_cast<signed char>(-3), static_cast<unsigned char>(200)) ==
        dumped('a', static_cast<signed char>(-3), static_cast<unsigned char>(200)));
  CHECK(written(static_cast<short>(-7), 42, 7U, -9L, 10UL) ==
        dumped(static_cast<short>(-7), 42, 7U, -9L, 10UL));
  CHECK(written(std::numeric_limits<long long>::min(),
                std::numeric_limits<unsigned long long>::max()) ==
        dumped(std::numeric_limits<long long>::min(),
               std::numeric_limits<unsigned long long>::max()));
  CHECK(written(0.1F, 0.1, 0.1L, -0.0, 2.0, 1e300) == dumped(0.1F, 0.1, 0.1L, -0.0, 2.0, 1e300));
  CHECK(written(std::string{"na\u00efve \"q\"\n"}, std::string_view{"view"}, c_string, array,
                "literal") == dumped(std::string{"na\u00efve \"q\"\n"}, std::string_view{"view"},
                                     c_string, array, "literal"));
  CHECK(written(nullptr) == dumped(nullptr));
  CHECK(written(std::vector<int>{1, -2}, std::vector<bool>{true, false},
                std::array<char, 2>{'a', 'b'}, std::vector<const char*>{"x", "y"},
                std::vector<std::vector<double>>{{0.5}, {}}) ==
        dumped(std::vector<int>{1, -2}, std::vector<bool>{true, false},
               std::array<char, 2>{'a', 'b'}, std::vector<const char*>{"x", "y"},
               std::vector<std::vector<double>>{{0.5}, {}}));
  const std::map<std::string, std::vector<std::string>> map{{"b", {"1"}}, {"a", {}}};
  CHECK(written(map) == dumped(map));
  CHECK(written(map) == R"([{"a":[],"b":["1"]}])");
}

TEST_CASE("json: an optional argument is written as null or its value", "[json][arguments]") {
  CHECK(written(std::optional<int>{}, std::optional<int>{5}) == "[null,5]");
  CHECK(written(std::optional<std::string>{"x"}, std::vector<std::optional<bool>>{true, {}}) ==
        R"(["x",[true,null]])");
}

TEST_CASE("json: integers are held exactly only in their type's range", "[json][arguments]") {
  CHECK(holds<int>("-2147483648"));
  CHECK(holds<int>("2147483647"));
  CHECK_FALSE(holds<int>("2147483648"));
  CHECK_FALSE(holds<int>("-2147483649"));
  CHECK_FALSE(holds<int>("1.5"));
  CHECK_FALSE(holds<int>("1.0"));
  CHECK_FALSE(holds<int>("true"));
  CHECK_FALSE(holds<int>("\"1\""));
  CHECK_FALSE(holds<int>("null"));
  CHECK(holds<unsigned>("4294967295"));
  CHECK_FALSE(holds<unsigned>("-1"));
  CHECK_FALSE(holds<unsigned char>("256"));
  CHECK(holds<signed char>("-128"));
  CHECK_FALSE(holds<signed char>("128"));
  CHECK(holds<std::int64_t>("-9223372036854775808"));
  CHECK_FALSE(holds<std::int64_t>("9223372036854775808"));
  CHECK(holds<std::uint64_t>("18446744073709551615"));
  CHECK_FALSE(holds<std::uint64_t>("-1"));
  CHECK(read<int>("-7") == -7);
  CHECK(read<std::uint64_t>("18446744073709551615") == std::numeric_limits<std::uint64_t>::max());
  CHECK(read<std::int64_t>("-9223372036854775808") == std::numeric_limits<std::int64_t>::min());
  CHECK(read<char>("97") == 'a');
}

TEST_CASE("json: bool, floating-point and string parameters are held exactly",
          "[json][arguments]") {
  CHECK(holds<bool>("true"));
  CHECK_FALSE(holds<bool>("0"));
  CHECK_FALSE(holds<bool>("\"true\""));
  CHECK(read<bool>("false") == false);
  CHECK(holds<double>("1e300"));
  CHECK(holds<double>("3"));
  CHECK(holds<double>("-1"));
  CHECK_FALSE(holds<double>("\"1.5\""));
  CHECK_FALSE(holds<double>("true"));
  CHECK(read<double>("3") == 3.0);
  CHECK(read<double>("0.1") == 0.1);
  CHECK(read<long double>("9007199254740993") == 9007199254740993.0L);
  CHECK(holds<float>("3.4e38"));
  CHECK_FALSE(holds<float>("1e300"));
  CHECK_FALSE(holds<float>("-1e300"));
  CHECK(read<float>("0.1") == 0.1F);
  // As nlohmann converts: straight from the integer, not through a double (2^54 + 2^30 + 1
  // rounds to a float once, but through a double to a tie and then down).
  constexpr std::uint64_t tie = 18014399583223809U;
  CHECK(read<float>("18014399583223809") == static_cast<float>(tie));
  CHECK(read<float>("18014399583223809") != static_cast<float>(static_cast<double>(tie)));
  CHECK(holds<std::string>("\"\""));
  CHECK_FALSE(holds<std::string>("1"));
  CHECK_FALSE(holds<std::string>("null"));
  CHECK(read<std::string>(R"("na\u00efve")") == "na\u00efve");
}

TEST_CASE("json: containers of light types are held exactly element by element",
          "[json][arguments]") {
  CHECK(holds<std::vector<int>>("[]"));
  CHECK(holds<std::vector<int>>("[1, -2]"));
  CHECK_FALSE(holds<std::vector<int>>("[1, \"2\"]"));
  CHECK_FALSE(holds<std::vector<int>>("{}"));
  CHECK_FALSE(holds<std::vector<int>>("null"));
  CHECK(read<std::vector<std::vector<std::string>>>(R"([["a"], []])") ==
        std::vector<std::vector<std::string>>{{"a"}, {}});
  CHECK(read<std::vector<bool>>("[true, false]") == std::vector<bool>{true, false});
  CHECK(holds<std::array<int, 2>>("[1, 2]"));
  CHECK_FALSE(holds<std::array<int, 2>>("[1]"));
  CHECK_FALSE(holds<std::array<int, 2>>("[1, 2, 3]"));
  CHECK(
      (read<std::array<std::string, 2>>(R"(["a", "b"])") == std::array<std::string, 2>{"a", "b"}));
  CHECK(read<std::array<int, 0>>("[]").empty());
  CHECK(holds<std::optional<int>>("null"));
  CHECK(holds<std::optional<int>>("5"));
  CHECK_FALSE(holds<std::optional<int>>("5.5"));
  CHECK(read<std::optional<int>>("null") == std::nullopt);
  CHECK(read<std::optional<int>>("5") == std::optional{5});
  CHECK(read<std::vector<std::optional<std::string>>>(R"(["a", null])") ==
        std::vector<std::optional<std::string>>{"a", std::nullopt});
  using Map = std::map<std::string, long long>;
  CHECK(holds<Map>(R"({"a": -1, "b": 2})"));
  CHECK_FALSE(holds<Map>(R"({"a": 1.5})"));
  CHECK_FALSE(holds<Map>("[]"));
  CHECK(read<Map>(R"({"b": 2, "a": -1})") == Map{{"a", -1}, {"b", 2}});
}

TEST_CASE("json: decode_parameter reports the parameter, its type and the value",
          "[json][arguments][error]") {
  const json arguments = json::parse(R"(["ops@example.com", "abc", [1, "2"], 1.5, null])");
  const ArgumentReader reader{arguments, "add_job", "send-report"};
  CHECK(decode_parameter<std::string>(reader, 0) == "ops@example.com");
  CHECK(decode_parameter<std::optional<double>>(reader, 3) == std::optional{1.5});
  CHECK(decode_parameter<std::optional<double>>(reader, 4) == std::nullopt);
  REQUIRE_THROWS_AS(decode_parameter<int>(reader, 1), SerializationError);
  REQUIRE_THROWS_WITH(decode_parameter<int>(reader, 1),
                      "add_job: task \"send-report\" parameter 2 expects int, got \"abc\"");
  REQUIRE_THROWS_WITH(
      decode_parameter<std::vector<int>>(reader, 2),
      "add_job: task \"send-report\" parameter 3 expects std::vector<int>, got [1,\"2\"]");
  REQUIRE_THROWS_WITH(decode_parameter<std::optional<int>>(reader, 3),
                      "add_job: task \"send-report\" parameter 4 expects std::optional<int>, got "
                      "1.5");
  REQUIRE_THROWS_WITH(decode_parameter<std::string>(reader, 4),
                      "add_job: task \"send-report\" parameter 5 expects std::string, got null");
  // decode_parameters decodes in order and reports the first bad one.
  REQUIRE_THROWS_WITH(
      (decode_parameters<std::tuple<std::string, int, int>>(reader, std::make_index_sequence<3>{})),
      "add_job: task \"send-report\" parameter 2 expects int, got \"abc\"");
}

TEST_CASE("json: the light types are coded without nlohmann::json", "[json][arguments]") {
  STATIC_REQUIRE(is_light_parameter<LeafOf<std::vector<std::optional<std::string>>>>);
  STATIC_REQUIRE(is_light_parameter<LeafOf<std::map<std::string, std::array<double, 3>>>>);
  STATIC_REQUIRE(is_light_parameter<LeafOf<unsigned char>>);
  STATIC_REQUIRE_FALSE(is_light_parameter<LeafOf<std::string_view>>);
  STATIC_REQUIRE_FALSE(is_light_parameter<LeafOf<std::map<int, int>>>);
  STATIC_REQUIRE_FALSE(is_light_parameter<LeafOf<std::pair<int, int>>>);
  STATIC_REQUIRE(is_light_argument<LeafOf<const char(&)[4]>>);
  STATIC_REQUIRE(is_light_argument<LeafOf<const char*>>);
  STATIC_REQUIRE(is_light_argument<LeafOf<std::vector<std::string_view>>>);
  STATIC_REQUIRE(is_light_argument<LeafOf<std::nullptr_t>>);
  STATIC_REQUIRE_FALSE(is_light_argument<LeafOf<std::tuple<int>>>);
}

}  // namespace detail_json_argument_codec_test
