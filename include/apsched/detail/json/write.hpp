// SPDX-License-Identifier: MIT
// write_compact: nlohmann::json's dump() for the small documents stored per job, without the
// set-up dump() repeats on every call.
#pragma once

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <string>
#include <string_view>
#include <system_error>

namespace apsched::detail::json {

/// Appends `text` to `out` as a JSON string, quoted and escaped as nlohmann::json::dump() does
/// (`"`, `\`, the short escapes \b \f \n \r \t, other control characters as \u00XX; UTF-8 as
/// is).
/// @throws nlohmann::json::type_error (316, as dump()) if `text` is not valid UTF-8
inline void write_string(std::string_view text, std::string& out) {
  // The usual text, printable ASCII without `"` or `\`, is copied in one piece.
  if (std::all_of(text.begin(), text.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u >= 0x20 && u < 0x80 && u != '"' && u != '\\';
      })) {
    out += '"';
    out += text;
    out += '"';
    return;
  }
  for (const char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) {
      out += nlohmann::json(text).dump();  // validates the UTF-8
      return;
    }
  }
  out += '"';
  std::size_t plain = 0;  // start of the run of characters copied as they are
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\') {
      continue;
    }
    out.append(text.substr(plain, i - plain));
    plain = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default: {
        constexpr std::string_view hex = "0123456789abcdef";
        out += "\\u00";
        out += hex[c >> 4U];
        out += hex[c & 0xFU];
      }
    }
  }
  out.append(text.substr(plain));
  out += '"';
}

/// Appends the decimal digits of `value` to `out`.
template <class Integer>
void write_integer(Integer value, std::string& out) {
  std::array<char, 24> digits{};
  const std::to_chars_result end =
      std::to_chars(digits.data(), digits.data() + digits.size(), value);
  out.append(digits.data(), end.ptr);
}

/// Appends `value` to `out` exactly as `value.dump()` writes it (compact, keys in the order the
/// object keeps them); floating-point numbers and binary values are left to dump().
/// @throws nlohmann::json::type_error (316) for a string that is not valid UTF-8, as dump()
inline void write_compact(const nlohmann::json& value, std::string& out) {
  switch (value.type()) {
    case nlohmann::json::value_t::object: {
      out += '{';
      bool first = true;
      for (const auto& [key, member] : value.get_ref<const nlohmann::json::object_t&>()) {
        if (!first) {
          out += ',';
        }
        first = false;
        write_string(key, out);
        out += ':';
        write_compact(member, out);
      }
      out += '}';
      return;
    }
    case nlohmann::json::value_t::array: {
      out += '[';
      bool first = true;
      for (const nlohmann::json& element : value) {
        if (!first) {
          out += ',';
        }
        first = false;
        write_compact(element, out);
      }
      out += ']';
      return;
    }
    case nlohmann::json::value_t::string:
      write_string(value.get_ref<const std::string&>(), out);
      return;
    case nlohmann::json::value_t::number_integer:
      write_integer(value.get<nlohmann::json::number_integer_t>(), out);
      return;
    case nlohmann::json::value_t::number_unsigned:
      write_integer(value.get<nlohmann::json::number_unsigned_t>(), out);
      return;
    case nlohmann::json::value_t::boolean:
      out += value.get<bool>() ? "true" : "false";
      return;
    case nlohmann::json::value_t::null:
      out += "null";
      return;
    default:
      out += value.dump();
      return;
  }
}

/// `value.dump()`, through write_compact.
/// @throws as write_compact
[[nodiscard]] inline std::string dump_compact(const nlohmann::json& value) {
  std::string out;
  write_compact(value, out);
  return out;
}

}  // namespace apsched::detail::json
