// SPDX-License-Identifier: MIT
// The lexical pieces of cron fields (numbers, month and weekday names), and a one-pass reader of
// the plain lists most fields are, ahead of the general parser.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace apsched::detail::cron {

/// The month names, `jan` = 1.
inline constexpr std::array<std::string_view, 12> month_names{
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};
/// The weekday names, `sun` = 0.
inline constexpr std::array<std::string_view, 7> weekday_names{"sun", "mon", "tue", "wed",
                                                               "thu", "fri", "sat"};

/// Whether `text` equals `lower` (lower-case) ignoring the case of ASCII letters in `text`.
[[nodiscard]] constexpr bool equals_ignoring_case(std::string_view text,
                                                  std::string_view lower) noexcept {
  if (text.size() != lower.size()) {
    return false;
  }
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c =
        text[i] >= 'A' && text[i] <= 'Z' ? static_cast<char>(text[i] - 'A' + 'a') : text[i];
    if (c != lower[i]) {
      return false;
    }
  }
  return true;
}

/// The position of the first `c` in `text` at or after `from`, or npos. A loop, not memchr: the
/// texts are a few characters long, where a library call costs more than the search.
[[nodiscard]] constexpr std::size_t find_char(std::string_view text, char c,
                                              std::size_t from = 0) noexcept {
  for (std::size_t i = from; i < text.size(); ++i) {
    if (text[i] == c) {
      return i;
    }
  }
  return std::string_view::npos;
}

/// The value of `text` if it is 1-6 decimal digits.
[[nodiscard]] constexpr std::optional<int> parse_number(std::string_view text) noexcept {
  if (text.empty() || text.size() > 6) {
    return std::nullopt;
  }
  int value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    value = value * 10 + (c - '0');
  }
  return value;
}

/// The index of `name` (any case) in `names`.
template <std::size_t N>
[[nodiscard]] constexpr std::optional<int> find_name(
    std::string_view name, const std::array<std::string_view, N>& names) noexcept {
  for (std::size_t i = 0; i < N; ++i) {
    if (equals_ignoring_case(name, names[i])) {
      return static_cast<int>(i);
    }
  }
  return std::nullopt;
}

/// What a plain field may hold: its range, and the names it takes with the value of the first.
///
/// Thread safety: not thread-safe (a plain value).
struct PlainField {
  int min;
  int max;
  const std::array<std::string_view, 12>* months = nullptr;   // month names, from 1
  const std::array<std::string_view, 7>* weekdays = nullptr;  // weekday names, from `first_name`
  int first_name = 0;
};

/// Reads one value (1-6 digits or a name) at `text[i]`, advancing `i`; empty when the token
/// there is neither (digits followed by a letter included).
[[nodiscard]] constexpr std::optional<int> scan_value(std::string_view text, std::size_t& i,
                                                      const PlainField& field) noexcept {
  const auto letter = [](char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; };
  const std::size_t begin = i;
  int number = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    number = i - begin < 6 ? number * 10 + (text[i] - '0') : number;  // more fail below
  }
  if (i > begin) {
    const bool valid = i - begin <= 6 && !(i < text.size() && letter(text[i]));
    return valid ? std::optional{number} : std::nullopt;
  }
  while (i < text.size() && letter(text[i])) {
    ++i;
  }
  const std::string_view token{text.data() + begin, i - begin};
  std::optional<int> index;
  if (field.months != nullptr) {
    index = find_name(token, *field.months);
    return index ? std::optional{*index + 1} : std::nullopt;
  }
  if (field.weekdays != nullptr) {
    index = find_name(token, *field.weekdays);
    return index ? std::optional{*index + field.first_name} : std::nullopt;
  }
  return std::nullopt;
}

/// The values of `text` as bits (value v: bit v), when it is a valid comma-separated list of
/// `*`, `a`, `a-b`, `*/n`, `a-b/n` and `a/n` (a reversed range wraps; a step must fit as the
/// general parser requires) with values in `field`'s range; empty for anything else, valid or
/// not, which the general parser then reads and reports. `field.max` must be below 63.
[[nodiscard]] constexpr std::optional<std::uint64_t> scan_plain_field(
    std::string_view text, const PlainField& field) noexcept {
  const auto bits_between = [](int from, int to) {
    return ((std::uint64_t{2} << to) - 1) & ~((std::uint64_t{1} << from) - 1);
  };
  const int span = field.max - field.min + 1;
  std::uint64_t bits = 0;
  std::size_t i = 0;
  for (;;) {
    int first = field.min;
    int last = field.max;
    bool single = false;
    if (i < text.size() && text[i] == '*') {
      ++i;
    } else {
      const std::optional<int> a = scan_value(text, i, field);
      std::optional<int> b = a;
      if (i < text.size() && text[i] == '-') {
        b = scan_value(text, ++i, field);
      } else {
        single = true;
      }
      if (!a || !b || *a < field.min || *a > field.max || *b < field.min || *b > field.max) {
        return std::nullopt;
      }
      first = *a;
      last = *b;
    }
    int step = 1;
    const bool stepped = i < text.size() && text[i] == '/';
    if (stepped) {
      const std::optional<int> n = scan_value(text, ++i, PlainField{0, 0});
      if (!n || *n < 1 || *n > span) {
        return std::nullopt;
      }
      step = *n;
      last = single ? field.max : last;  // `a/n` means a-max/n
    }
    const int length = first <= last ? last - first : last - first + span;
    if (stepped && !single && step > length) {
      return std::nullopt;  // a step that cannot fit: the general parser explains
    }
    if (step == 1) {
      bits |= bits_between(first, first <= last ? last : field.max);
      bits |= first <= last ? 0 : bits_between(field.min, last);
    } else {
      for (int offset = 0; offset <= length; offset += step) {
        bits |= std::uint64_t{1} << (first + offset > field.max ? first + offset - span
                                                                : first + offset);
      }
    }
    if (i == text.size()) {
      return bits;
    }
    if (text[i] != ',') {
      return std::nullopt;
    }
    ++i;
  }
}

}  // namespace apsched::detail::cron
