// SPDX-License-Identifier: MIT
// Task parameters and arguments of any type that nlohmann::json converts (user types by their
// own to_json and from_json): what a unit of the compiled mode includes where it registers tasks
// or makes calls with types beyond those TaskRegistry codes without nlohmann's header.
//
// TaskRegistry (json/task_registry.hpp) codes bool, the integer and floating-point types,
// strings, and std::vector, std::array, std::optional and std::map<std::string, T> of those
// itself. Any other type goes through nlohmann::json, by this header: in header-only mode
// json/task_registry.hpp includes it, so nothing needs it there; in the compiled mode
// (apsched/config.hpp), which keeps nlohmann's header out of the units that need no more, a unit
// that registers a task taking such a type, or passes one as an argument, includes it (without
// it, a static_assert names this header).
// @code
// #include <apsched/json/task_arguments.hpp>
// #include <apsched/json/task_registry.hpp>
//
// struct Address { std::string city; int zip; };
// void to_json(nlohmann::json& j, const Address& a) { j = {{"city", a.city}, {"zip", a.zip}}; }
// void from_json(const nlohmann::json& j, Address& a) { j.at("city").get_to(a.city); ... }
//
// tasks.add("mail", [](const Address& to) { /* ... */ });
// @endcode
#pragma once

#include <apsched/detail/json/argument_codec.hpp>
#include <apsched/detail/json/arguments.hpp>

#include <nlohmann/json.hpp>

#include <type_traits>
#include <utility>

namespace apsched::detail::json {

/// The codec of the types TaskRegistry does not code itself: nlohmann::json's conversions. A
/// to_json that throws nlohmann's exception fails the call (`argument 2 cannot be encoded`);
/// what a from_json throws is the reason the argument does not decode.
///
/// Thread safety: thread-safe (as the type's to_json and from_json are).
template <class T>
struct JsonCodec {
  /// Whether a `T` converts to nlohmann::json.
  static constexpr bool encodes = std::is_constructible_v<nlohmann::json, const T&>;
  /// Whether nlohmann::json converts to a `T`.
  static constexpr bool decodes = requires(const nlohmann::json& value) {
    value.template get<T>();
  };

  /// Adds `value` to `out`.
  /// @throws SerializationError if its to_json throws nlohmann::json::exception
  static void write(ArgumentWriter& out, const T& value) {
    nlohmann::json encoded;
    try {
      encoded = nlohmann::json(value);
    } catch (const nlohmann::json::exception& error) {
      out.fail(error.what());
    }
    out.encoded(std::move(encoded));
  }

  /// `value` as a `T`.
  /// @throws what its from_json throws
  static T read(ArgumentValue value) { return value.json().template get<T>(); }
};

}  // namespace apsched::detail::json
