// SPDX-License-Identifier: MIT
// The parameters of a registered task, deduced from its one signature (see
// detail/json/argument_codec.hpp for how they are decoded).
#pragma once

#include <apsched/job.hpp>

#include <tuple>
#include <type_traits>

namespace apsched::detail::json {

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

}  // namespace apsched::detail::json
