// SPDX-License-Identifier: MIT
// PostgreSQL array literals ("{...}"), in which the store sends a batch of values as one
// parameter of one statement.
#pragma once

#include <apsched/detail/json/write.hpp>

#include <string>
#include <string_view>

namespace apsched::detail::postgres {

/// Appends `text` to `array`, a literal opened with '{', as a quoted element (with a comma
/// before it unless it is the first).
///
/// Thread safety: thread-safe (it touches only its arguments).
inline void append_element(std::string& array, std::string_view text) {
  array += array.size() > 1 ? ",\"" : "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      array += '\\';
    }
    array += c;
  }
  array += '"';
}

/// Appends `value` to `array`, a literal opened with '{', as an element (with a comma before
/// it unless it is the first).
///
/// Thread safety: thread-safe (it touches only its arguments).
template <class Integer>
void append_integer(std::string& array, Integer value) {
  if (array.size() > 1) {
    array += ',';
  }
  json::write_integer(value, array);
}

}  // namespace apsched::detail::postgres
