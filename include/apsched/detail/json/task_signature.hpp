// SPDX-License-Identifier: MIT
// The parameters of a registered task, deduced from its one signature, and their strict decoding
// from JSON.
#pragma once

#include <apsched/detail/json/reader.hpp>
#include <apsched/detail/json/type_name.hpp>
#include <apsched/error.hpp>
#include <apsched/job.hpp>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <iterator>
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

/// The most task names an unknown-task error lists.
inline constexpr std::size_t listed_task_names = 20;

/// What an unknown-task error says of the registered tasks, from a map of them by name (so in
/// order): `the registered tasks are "cleanup", "report"`, the first listed_task_names and then
/// `and 3 more`; `none are registered` for an empty map.
///
/// Thread safety: as reading `tasks`.
template <class Map>
[[nodiscard]] std::string registered_task_list(const Map& tasks) {
  if (tasks.empty()) {
    return "none are registered";
  }
  std::string text = tasks.size() == 1 ? "the registered task is " : "the registered tasks are ";
  std::size_t listed = 0;
  for (const auto& entry : tasks) {
    if (listed == listed_task_names) {
      break;
    }
    text += fmt::format("{}\"{}\"", listed == 0 ? "" : ", ", entry.first);
    ++listed;
  }
  if (tasks.size() > listed) {
    text += fmt::format(" and {} more", tasks.size() - listed);
  }
  return text;
}

template <class... A>
struct ParameterList {};

/// The parameters of a function type, function pointer or member function pointer; undefined
/// for anything else.
template <class F>
struct Signature;
template <class R, class... A>
struct Signature<R(A...)> {
  using type = ParameterList<A...>;
};
template <class R, class... A>
struct Signature<R(A...) noexcept> : Signature<R(A...)> {};
template <class R, class... A>
struct Signature<R (*)(A...)> : Signature<R(A...)> {};
template <class R, class... A>
struct Signature<R (*)(A...) noexcept> : Signature<R(A...)> {};
template <class R, class C, class... A>
struct Signature<R (C::*)(A...)> : Signature<R(A...)> {};
template <class R, class C, class... A>
struct Signature<R (C::*)(A...) const> : Signature<R(A...)> {};
template <class R, class C, class... A>
struct Signature<R (C::*)(A...) noexcept> : Signature<R(A...)> {};
template <class R, class C, class... A>
struct Signature<R (C::*)(A...) const noexcept> : Signature<R(A...)> {};
template <class R, class C, class... A>
struct Signature<R (C::*)(A...)&> : Signature<R(A...)> {};
template <class R, class C, class... A>
struct Signature<R (C::*)(A...) const&> : Signature<R(A...)> {};
template <class R, class C, class... A>
struct Signature<R (C::*)(A...)& noexcept> : Signature<R(A...)> {};
template <class R, class C, class... A>
struct Signature<R (C::*)(A...) const& noexcept> : Signature<R(A...)> {};

/// The parameter list of callable `F`: of its function type, or of its one `operator()`; no
/// `type` member when there is no single one.
template <class F>
struct CallableSignature {};
template <class F>
requires(!std::is_class_v<F>) && requires { typename Signature<F>::type; }
struct CallableSignature<F> : Signature<F> {};
template <class F>
requires std::is_class_v<F> && requires { typename Signature<decltype(&F::operator())>::type; }
struct CallableSignature<F> : Signature<decltype(&F::operator())> {};

/// A callable whose parameters can be deduced: a function (pointer), a non-generic lambda, a
/// std::function, or a class with a single non-template operator().
template <class F>
concept DeducibleCallable = requires {
  typename CallableSignature<F>::type;
};

/// A parameter type tasks may take: JSON-encodable and decodable by value.
template <class P>
concept JsonParameter = std::is_constructible_v<nlohmann::json, const P&> &&
    requires(const nlohmann::json& value) {
  value.template get<P>();
};

/// Whether `A` is a job-context parameter.
template <class A>
inline constexpr bool is_context = std::is_same_v<std::remove_cvref_t<A>, JobContext>;

/// A JSON-argument parameter: not the context, and passed as const lvalues (by value or by
/// const reference), as job bodies pass their arguments.
template <class A>
inline constexpr bool is_plain_parameter =
    !is_context<A> && !std::is_rvalue_reference_v<A> &&
    (!std::is_lvalue_reference_v<A> || std::is_const_v<std::remove_reference_t<A>>);

/// What a task's signature says: whether it takes the context first, and the (decayed) types of
/// its JSON-argument parameters.
template <class List>
struct TaskParameters;
template <>
struct TaskParameters<ParameterList<>> {
  static constexpr bool takes_context = false;
  static constexpr bool valid = true;
  using Types = std::tuple<>;
};
template <class First, class... Rest>
struct TaskParameters<ParameterList<First, Rest...>> {
  static constexpr bool takes_context = is_context<First>;
  // A context parameter must be `JobContext` or `const JobContext&`: jobs get a const one.
  static constexpr bool valid_context = !takes_context || std::is_same_v<First, JobContext> ||
                                        std::is_same_v<First, const JobContext> ||
                                        std::is_same_v<First, const JobContext&>;
  static constexpr bool valid = valid_context && (takes_context || is_plain_parameter<First>)&&(
                                                     is_plain_parameter<Rest> && ...);
  using Types = std::conditional_t<takes_context, std::tuple<std::decay_t<Rest>...>,
                                   std::tuple<std::decay_t<First>, std::decay_t<Rest>...>>;
};

template <class T>
inline constexpr bool is_vector = false;
template <class T>
inline constexpr bool is_vector<std::vector<T>> = true;
template <class T>
inline constexpr bool is_optional = false;
template <class T>
inline constexpr bool is_optional<std::optional<T>> = true;
template <class T>
inline constexpr bool is_array = false;
template <class T, std::size_t N>
inline constexpr bool is_array<std::array<T, N>> = true;
template <class T>
inline constexpr bool is_string_map = false;
template <class T>
inline constexpr bool is_string_map<std::map<std::string, T>> = true;

/// Whether `argument` holds a value of `P` exactly: integers in range (no floats), booleans for
/// bool, strings for std::string, and so on through vectors, arrays, optionals and string-keyed
/// maps of those. Other types (user types) are left to their from_json. nlohmann's own
/// conversions are lenient (1.5 reads as int 1, -1 as unsigned 4294967295).
template <class P>
[[nodiscard]] bool holds_exactly(const nlohmann::json& argument) {
  if constexpr (std::is_same_v<P, bool>) {
    return argument.is_boolean();
  } else if constexpr (std::is_integral_v<P>) {
    // std::in_range refuses the character types, so compare by hand (P is at most 64 bits).
    constexpr auto max = static_cast<std::uint64_t>(std::numeric_limits<P>::max());
    if (const std::optional<std::uint64_t> number = exact_uint64(argument)) {
      return *number <= max;
    }
    const std::optional<std::int64_t> number = exact_int64(argument);
    if constexpr (std::is_signed_v<P>) {
      return number && *number >= static_cast<std::int64_t>(std::numeric_limits<P>::min());
    } else {
      return false;
    }
  } else if constexpr (std::is_floating_point_v<P>) {
    if (!argument.is_number()) {
      return false;
    }
    if constexpr (sizeof(P) < sizeof(double)) {
      const double number = argument.get<double>();
      return number >= -static_cast<double>(std::numeric_limits<P>::max()) &&
             number <= static_cast<double>(std::numeric_limits<P>::max());
    }
    return true;
  } else if constexpr (std::is_same_v<P, std::string>) {
    return argument.is_string();
  } else if constexpr (is_vector<P> || is_array<P>) {
    if (!argument.is_array()) {
      return false;
    }
    if constexpr (is_array<P>) {
      if (argument.size() != std::tuple_size_v<P>) {
        return false;
      }
    }
    for (const nlohmann::json& element : argument) {
      if (!holds_exactly<typename P::value_type>(element)) {
        return false;
      }
    }
    return true;
  } else if constexpr (is_optional<P>) {
    return argument.is_null() || holds_exactly<typename P::value_type>(argument);
  } else if constexpr (is_string_map<P>) {
    if (!argument.is_object()) {
      return false;
    }
    for (const auto& item : argument.items()) {
      if (!holds_exactly<typename P::mapped_type>(item.value())) {
        return false;
      }
    }
    return true;
  } else {
    return true;
  }
}

/// Argument `argument` as parameter `index` (1-based) of type `P`.
/// @throws SerializationError `{call}: task "{task}" parameter {index} expects {P}, got
/// {argument}`,
///         with the reason from_json gave when it threw.
template <class P>
[[nodiscard]] P decode_parameter(const nlohmann::json& argument, std::string_view call,
                                 std::string_view task, std::size_t index) {
  std::string reason;
  if (holds_exactly<P>(argument)) {
    try {
      return argument.get<P>();
    } catch (const std::exception& error) {
      reason = fmt::format(" ({})", error.what());
    }
  }
  throw SerializationError{fmt::format("{}: task \"{}\" parameter {} expects {}, got {}{}", call,
                                       task, index, type_name<P>(), show(argument), reason)};
}

/// The arguments in JSON array `arguments` (of the right length), decoded as `Types`.
template <class Types, std::size_t... I>
[[nodiscard]] Types decode_parameters([[maybe_unused]] const nlohmann::json& arguments,
                                      [[maybe_unused]] std::string_view call,
                                      [[maybe_unused]] std::string_view task,
                                      std::index_sequence<I...>) {
  // Braced initialisation decodes left to right, so the first bad argument is the one reported.
  return Types{
      decode_parameter<std::tuple_element_t<I, Types>>(arguments[I], call, task, I + 1)...};
}

}  // namespace apsched::detail::json
