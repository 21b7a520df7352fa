// SPDX-License-Identifier: MIT
// fmt formatting of the public enums by their to_string names.
#pragma once

#include <fmt/format.h>

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
/// string: `fmt::format("{:>8}", apsched::Coalesce::all)` is `"     all"`.
///
/// Thread safety: thread-safe (stateless).
template <apsched::detail::NamedEnum E>
struct fmt::formatter<E> : fmt::formatter<std::string_view> {
  /// Writes the name of `value` to the output of `context`.
  template <class Context>
  auto format(E value, Context& context) const {
    return fmt::formatter<std::string_view>::format(to_string(value), context);
  }
};
