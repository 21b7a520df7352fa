// SPDX-License-Identifier: MIT
// write_compact / write_string: the same text as nlohmann::json::dump() for every kind of value,
// and the same error for text that is not UTF-8.
#include <apsched/detail/json/write.hpp>

#include "support/catch.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <string>

namespace detail_json_write_test {

using apsched::detail::json::dump_compact;
using nlohmann::json;

TEST_CASE("write_compact writes what dump() writes", "[json]") {
  std::string controls;
  for (char c = 0; c < 0x20; ++c) {
    controls += c;
  }
  const json values[] = {
      json::object(),
      json::array(),
      nullptr,
      true,
      false,
      0,
      -1,
      std::numeric_limits<std::int64_t>::min(),
      std::numeric_limits<std::uint64_t>::max(),
      1.5,
      -0.1,
      "",
      "plain",
      "quote \" backslash \\ slash /",
      controls + "\x7f",
      "na\u00efve \u20ac \U0001F600",
      json{{"run_date", "2026-12-02T09:00:00Z"}, {"type", "date"}},
      json{{"b", json::array({1, "two", nullptr, json::object()})}, {"a", {{"nested", true}}}},
      json::array({json::array({json::array()}), -7, 2.25}),
      json{{"key \"quoted\"\n", "value\t"}},
  };
  for (const json& value : values) {
    INFO(value.dump());
    CHECK(dump_compact(value) == value.dump());
  }
}

TEST_CASE("write_compact refuses text that is not UTF-8 as dump() does", "[json]") {
  const json value{{"name", std::string{"bad \xff byte"}}};
  CHECK_THROWS_AS(value.dump(), json::type_error);
  CHECK_THROWS_AS(dump_compact(value), json::type_error);
}

TEST_CASE("write_string appends to what is there", "[json]") {
  std::string out = "prefix:";
  apsched::detail::json::write_string("a\nb", out);
  CHECK(out == R"(prefix:"a\nb")");
}

}  // namespace detail_json_write_test
