// SPDX-License-Identifier: MIT
// How a task's arguments are written from C++ values and its parameters strictly read back,
// through ArgumentWriter and ArgumentReader: the light types here, without nlohmann's header;
// any other type through JsonCodec, which json/task_arguments.hpp defines.
#pragma once

#include <apsched/detail/json/arguments.hpp>
#include <apsched/detail/json/type_name.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace apsched::detail::json {

/// How a type that is not light goes to and from the JSON of task arguments: through
/// nlohmann::json, by its to_json and from_json. Declared here and defined by
/// json/task_arguments.hpp, which the units that register tasks or make calls with such types
/// include (in header-only mode json/task_registry.hpp includes it). A definition has
/// `static constexpr bool encodes` and `decodes` (whether `T` converts to, and from,
/// nlohmann::json), `static void write(ArgumentWriter&, const T&)` and
/// `static T read(ArgumentValue)`.
template <class T>
struct JsonCodec;

/// Whether JsonCodec is defined, json/task_arguments.hpp being included.
template <class T>
concept JsonCodecDefined = requires {
  sizeof(JsonCodec<T>);
};

/// `T`, as a type that depends on `Args`: a template returning a type whose definition its unit
/// may lack (nlohmann::json) names it so, to need it only where it is instantiated.
template <class T, class... Args>
struct Dependent {
  using Type = T;
};

/// The JSON forms of the light containers: std::vector and std::array as arrays, std::optional
/// as null or its value, std::map<std::string, U> as an object; `other` for any other type.
enum class Form : unsigned char { other, vector, array, optional, map };

/// How `T` is coded: its `form`, and its `Leaf`, the type that decides the rest (`T` itself,
/// or for a light container the Leaf of its elements).
template <class T>
struct Coded {
  static constexpr Form form = Form::other;
  using Leaf = T;
};
template <class T>
struct Coded<std::vector<T>> : Coded<T> {
  static constexpr Form form = Form::vector;
};
template <class T, std::size_t N>
struct Coded<std::array<T, N>> : Coded<T> {
  static constexpr Form form = Form::array;
};
template <class T>
struct Coded<std::optional<T>> : Coded<T> {
  static constexpr Form form = Form::optional;
};
template <class T>
struct Coded<std::map<std::string, T>> : Coded<T> {
  static constexpr Form form = Form::map;
};
template <class T>
inline constexpr Form form_of = Coded<std::remove_cvref_t<T>>::form;
template <class T>
using LeafOf = typename Coded<std::remove_cvref_t<T>>::Leaf;

/// Whether `T` is a string for the writer: std::string, std::string_view, a C string or a char
/// array (as nlohmann::json takes them).
template <class T>
inline constexpr bool is_string_like =
    std::is_same_v<T, std::string> || std::is_same_v<T, std::string_view> ||
    std::is_same_v<T, const char*> || std::is_same_v<T, char*> ||
    (std::is_array_v<T> && std::is_same_v<std::remove_cv_t<std::remove_extent_t<T>>, char>);

/// Whether parameter leaf `L` is read without nlohmann: an arithmetic type or std::string.
template <class L>
inline constexpr bool is_light_parameter =
    std::is_arithmetic_v<L> || std::is_same_v<L, std::string>;

/// Whether argument leaf `L` is written without nlohmann: arithmetic, a string, or nullptr or
/// std::nullopt (null).
template <class L>
inline constexpr bool is_light_argument = std::is_arithmetic_v<L> || std::is_null_pointer_v<L> ||
                                          std::is_same_v<L, std::nullopt_t> || is_string_like<L>;

/// Whether parameter type `P` can be coded in this unit: it is light, or JsonCodec is defined.
template <class P>
concept CodedParameter = is_light_parameter<LeafOf<P>> || JsonCodecDefined<LeafOf<P>>;

/// Whether argument type `A` can be coded in this unit: it is light, or JsonCodec is defined.
template <class A>
concept CodedArgument = is_light_argument<LeafOf<A>> || JsonCodecDefined<LeafOf<A>>;

/// A parameter type tasks may take: JSON-encodable and decodable by value.
template <class P>
concept JsonParameter = is_light_parameter<LeafOf<P>> ||
    (JsonCodecDefined<LeafOf<P>>&& JsonCodec<LeafOf<P>>::encodes&& JsonCodec<LeafOf<P>>::decodes);

/// An argument type calls may pass: JSON-encodable.
template <class A>
concept JsonArgument = is_light_argument<LeafOf<A>> ||
    (JsonCodecDefined<LeafOf<A>>&& JsonCodec<LeafOf<A>>::encodes);

/// Adds `value` to `out`, as nlohmann::json would encode it.
/// @throws SerializationError if a to_json throws nlohmann's exception (see ArgumentWriter::fail)
template <class A>
void write_argument(ArgumentWriter& out, const A& value) {
  using T = std::remove_cvref_t<A>;
  if constexpr (std::is_same_v<T, bool>) {
    out.boolean(value);
  } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
    out.signed_integer(static_cast<std::int64_t>(value));
  } else if constexpr (std::is_integral_v<T>) {
    out.unsigned_integer(static_cast<std::uint64_t>(value));
  } else if constexpr (std::is_floating_point_v<T>) {
    out.floating(static_cast<double>(value));
  } else if constexpr (is_string_like<T> && std::is_array_v<T>) {
    out.string(std::string_view{static_cast<const char*>(value)});
  } else if constexpr (is_string_like<T>) {
    out.string(std::string_view{value});
  } else if constexpr (std::is_null_pointer_v<T> || std::is_same_v<T, std::nullopt_t>) {
    out.null();
  } else if constexpr (form_of<T> == Form::optional) {
    if (value) {
      write_argument(out, *value);
    } else {
      out.null();
    }
  } else if constexpr (form_of<T> == Form::vector || form_of<T> == Form::array) {
    out.begin_array();
    for (const auto& element : value) {
      write_argument(out, element);
    }
    out.end();
  } else if constexpr (form_of<T> == Form::map) {
    out.begin_object();
    for (const auto& [key, member] : value) {
      out.key(key);
      write_argument(out, member);
    }
    out.end();
  } else {
    JsonCodec<T>::write(out, value);
  }
}

/// Whether `argument` holds a value of `P` exactly: integers in range (no floats), booleans for
/// bool, strings for std::string, and so on through vectors, arrays, optionals and string-keyed
/// maps of those. Other types (user types) are left to their from_json. nlohmann's own
/// conversions are lenient (1.5 reads as int 1, -1 as unsigned 4294967295).
template <class P>
[[nodiscard]] bool holds_exactly(ArgumentValue argument) {
  if constexpr (std::is_same_v<P, bool>) {
    return argument.boolean().has_value();
  } else if constexpr (std::is_integral_v<P>) {
    // P is at most 64 bits.
    const std::optional<JsonNumber> number = argument.number();
    return number && number->within(static_cast<std::int64_t>(std::numeric_limits<P>::min()),
                                    static_cast<std::uint64_t>(std::numeric_limits<P>::max()));
  } else if constexpr (std::is_floating_point_v<P>) {
    const std::optional<JsonNumber> number = argument.number();
    if (!number) {
      return false;
    }
    if constexpr (sizeof(P) < sizeof(double)) {
      const auto value = number->template as<double>();
      return value >= -static_cast<double>(std::numeric_limits<P>::max()) &&
             value <= static_cast<double>(std::numeric_limits<P>::max());
    }
    return true;
  } else if constexpr (std::is_same_v<P, std::string>) {
    return argument.string().has_value();
  } else if constexpr (form_of<P> == Form::vector || form_of<P> == Form::array) {
    if (!argument.is_array()) {
      return false;
    }
    const std::size_t size = argument.size();
    if constexpr (form_of<P> == Form::array) {
      if (size != std::tuple_size_v<P>) {
        return false;
      }
    }
    for (std::size_t i = 0; i < size; ++i) {
      if (!holds_exactly<typename P::value_type>(argument[i])) {
        return false;
      }
    }
    return true;
  } else if constexpr (form_of<P> == Form::optional) {
    return argument.is_null() || holds_exactly<typename P::value_type>(argument);
  } else if constexpr (form_of<P> == Form::map) {
    if (!argument.is_object()) {
      return false;
    }
    for (const auto& member : argument.members()) {
      if (!holds_exactly<typename P::mapped_type>(member.second)) {
        return false;
      }
    }
    return true;
  } else {
    return true;
  }
}

/// `argument` as a `P`.
/// @pre holds_exactly<P>(argument)
/// @throws what a from_json throws
template <class P>
[[nodiscard]] P read_parameter(ArgumentValue argument) {
  if constexpr (std::is_same_v<P, bool>) {
    return *argument.boolean();
  } else if constexpr (std::is_arithmetic_v<P>) {
    return argument.number()->template as<P>();
  } else if constexpr (std::is_same_v<P, std::string>) {
    return std::string{*argument.string()};
  } else if constexpr (form_of<P> == Form::vector) {
    P result;
    const std::size_t size = argument.size();
    result.reserve(size);
    for (std::size_t i = 0; i < size; ++i) {
      result.push_back(read_parameter<typename P::value_type>(argument[i]));
    }
    return result;
  } else if constexpr (form_of<P> == Form::array) {
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
      return P{read_parameter<typename P::value_type>(argument[I])...};
    }
    (std::make_index_sequence<std::tuple_size_v<P>>{});
  } else if constexpr (form_of<P> == Form::optional) {
    if (argument.is_null()) {
      return P{};
    }
    return P(std::in_place, read_parameter<typename P::value_type>(argument));
  } else if constexpr (form_of<P> == Form::map) {
    P result;
    for (const auto& [key, member] : argument.members()) {
      result.emplace(std::string{key}, read_parameter<typename P::mapped_type>(member));
    }
    return result;
  } else {
    return JsonCodec<P>::read(argument);
  }
}

/// Argument `index` (from 0) of `arguments`, as its parameter of type `P`.
/// @throws SerializationError `{call}: task "{task}" parameter {index + 1} expects {P}, got
///         {argument}`, with the reason from_json gave when it threw.
template <class P>
[[nodiscard]] P decode_parameter(const ArgumentReader& arguments, std::size_t index) {
  const ArgumentValue argument = arguments[index];
  if (holds_exactly<P>(argument)) {
    try {
      return read_parameter<P>(argument);
    } catch (const std::exception& error) {
      arguments.fail(index, &type_name<P>, error.what());
    }
  }
  arguments.fail(index, &type_name<P>, nullptr);
}

/// The arguments in `arguments` (one per element of `Types`), decoded as `Types`.
template <class Types, std::size_t... I>
[[nodiscard]] Types decode_parameters([[maybe_unused]] const ArgumentReader& arguments,
                                      std::index_sequence<I...>) {
  // Braced initialisation decodes left to right, so the first bad argument is the one reported.
  return Types{decode_parameter<std::tuple_element_t<I, Types>>(arguments, I)...};
}

}  // namespace apsched::detail::json
