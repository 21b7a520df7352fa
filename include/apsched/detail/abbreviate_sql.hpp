// SPDX-License-Identifier: MIT
// abbreviate_sql: SQL text shortened for error messages, shared by the database parts.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace apsched::detail {

/// `sql` shortened for a message: runs of whitespace become one space, the ends are trimmed,
/// and text past `max_size` bytes is cut (at a UTF-8 character boundary) and ends in "...".
///
/// Thread safety: thread-safe.
[[nodiscard]] inline std::string abbreviate_sql(std::string_view sql, std::size_t max_size = 60) {
  std::string result;
  result.reserve(sql.size() < max_size + 3 ? sql.size() : max_size + 3);
  bool pending_space = false;
  for (const char c : sql) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
      pending_space = !result.empty();
      continue;
    }
    if (pending_space) {
      result.push_back(' ');
      pending_space = false;
    }
    result.push_back(c);
  }
  if (result.size() > max_size) {
    std::size_t cut = max_size;
    // Never split a UTF-8 sequence: back up over continuation bytes (10xxxxxx).
    while (cut > 0 && (static_cast<unsigned char>(result[cut]) & 0xC0U) == 0x80U) {
      --cut;
    }
    result.resize(cut);
    result += "...";
  }
  return result;
}

}  // namespace apsched::detail
