// SPDX-License-Identifier: MIT
// fmt formatting of the public enums by their to_string names.
#pragma once

#include <fmt/core.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>

namespace apsched::detail {

/// Set to true, beside a public enum and its `to_string`, to format the enum by name.
template <class E>
inline constexpr bool named_enum = false;

/// A public enum formatted by name: `named_enum<E>` is set and `to_string(E)` (found by
/// argument-dependent lookup) gives the name.
template <class E>
concept NamedEnum = std::is_enum_v<E> && named_enum<E> && requires(E value) {
  { to_string(value) } -> std::convertible_to<std::string_view>;
};

}  // namespace apsched::detail

/// Formats each public enum of apsched as its `to_string` name, with the format specs of a
/// string: `fmt::format("{:>8}", apsched::Coalesce::all)` is `"     all"`. Needs only
/// `<fmt/core.h>`: the specs are kept as text and applied through fmt's compiled `vformat`, so
/// the headers that format enums do not pull in `<fmt/format.h>`.
///
/// Thread safety: thread-safe (stateless after parse).
template <apsched::detail::NamedEnum E>
struct fmt::formatter<E> {
  /// Keeps the specs (the text between `:` and `}`), checked when they are applied.
  constexpr auto parse(fmt::format_parse_context& context) {
    const char* end = context.begin();
    while (end != context.end() && *end != '}') {
      ++end;
    }
    specs_ = std::string_view{context.begin(), static_cast<std::size_t>(end - context.begin())};
    return end;
  }

  /// Writes the name of `value` to the output of `context`, padded and aligned by the specs.
  template <class Context>
  auto format(E value, Context& context) const {
    const std::string_view name = to_string(value);
    if (specs_.empty()) {
      return write(name, context.out());
    }
    std::string pattern;
    pattern.reserve(specs_.size() + 3);
    pattern.append("{:").append(specs_).append("}");
    // fmt::format, not format_to: the latter instantiates fmt's vformat_to template, which the
    // fmt library built by another compiler may export under a different mangled name.
    const std::string text = fmt::format(fmt::runtime(pattern), name);
    return write(text, context.out());
  }

 private:
  // Copies `text` to `out` (std::copy without <algorithm>).
  template <class Out>
  static Out write(std::string_view text, Out out) {
    for (const char c : text) {
      *out++ = c;
    }
    return out;
  }

  std::string_view specs_;
};
