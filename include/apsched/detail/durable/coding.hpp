// SPDX-License-Identifier: MIT
// What the durable stores call on the trigger codecs and the task registry they rebuild records
// with (concepts the json part's TriggerCodecs and TaskRegistry model), and the handles a store's
// state keeps of them.
#pragma once

#include <apsched/any_trigger.hpp>
#include <apsched/detail/job_body.hpp>
#include <apsched/job.hpp>

#include <nlohmann/json.hpp>

#include <concepts>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace apsched::detail::durable {

/// Trigger codecs a store view describes stored triggers with (TriggerCodecs models it).
///
/// Requirements, for a `const C c` and a `nlohmann::json value`:
/// 1. `c.decode(value)` returns the trigger `value` describes; it throws SerializationError for
///    a value it cannot read (and whatever a user's codec throws).
///
/// Called from any thread, concurrently: a model is const-thread-safe.
template <class C>
concept TriggerDecoding = requires(const C& codecs, const nlohmann::json& value) {
  { codecs.decode(value) } -> std::same_as<AnyTrigger>;
};

/// Trigger codecs a durable store keeps triggers with (TriggerCodecs models it).
///
/// Requirements, for a `const C c` and an `AnyTrigger trigger`, besides TriggerDecoding's:
/// 1. `c.encode(trigger)` returns `trigger` as a JSON object that `c.decode` reads back.
/// 2. `c.encode_text(trigger)` returns the text of `c.encode(trigger)`, exactly as its dump()
///    writes it.
/// Both throw SerializationError for a trigger they cannot encode.
///
/// Called from any thread, concurrently: a model is const-thread-safe.
template <class C>
concept TriggerCoding = TriggerDecoding<C> && requires(const C& codecs, const AnyTrigger& trigger) {
  { codecs.encode(trigger) } -> std::same_as<nlohmann::json>;
  { codecs.encode_text(trigger) } -> std::same_as<std::string>;
};

/// A task call ready to run, as a task registry's `prepare` returns it: PreparedAccess<P> takes
/// its call and its body out.
template <class P>
concept PreparedCall = requires(P& prepared) {
  { PreparedAccess<P>::take_call(prepared) } -> std::same_as<TaskCall>;
  { PreparedAccess<P>::take_body(prepared) } -> std::same_as<BodyRef>;
};

/// A task registry a durable store rebuilds the bodies of its jobs with (TaskRegistry models
/// it).
///
/// Requirements, for a `const R r`, a `std::string_view call`, a `TaskCall stored` and a
/// `nlohmann::json arguments` (the parse of `stored.arguments`):
/// 1. `r.prepare(call, stored, arguments)` returns the call `stored` of a registered task, its
///    arguments checked against the task's parameters and made into the job's body, as a
///    PreparedCall; it throws UnknownTaskError or SerializationError naming `call`.
///
/// Called from any thread, concurrently: a model is thread-safe.
template <class R>
concept TaskPreparing = requires(const R& tasks, std::string_view call, TaskCall stored,
                                 const nlohmann::json& arguments) {
  { tasks.prepare(call, std::move(stored), arguments) } -> PreparedCall;
};

/// A task call ready to run, taken apart: what AnyTaskRegistry::prepare returns.
///
/// Thread safety: not thread-safe (a plain value).
struct PreparedParts {
  TaskCall call;
  BodyRef body;
};

}  // namespace apsched::detail::durable

namespace apsched::detail {

/// How the durable stores take the parts of a PreparedParts.
template <>
struct PreparedAccess<durable::PreparedParts> {
  static TaskCall take_call(durable::PreparedParts& prepared) noexcept {
    return std::move(prepared.call);
  }
  static BodyRef take_body(durable::PreparedParts& prepared) noexcept {
    return std::move(prepared.body);
  }
};

}  // namespace apsched::detail

namespace apsched::detail::durable {

/// The TriggerCoding of any type, by reference: the codecs a store's state holds. The codecs
/// must outlive it.
///
/// Thread safety: const-thread-safe (as the codecs it refers to are).
class AnyTriggerCodecs {
 public:
  /// Refers to `codecs`.
  template <TriggerCoding C>
  AnyTriggerCodecs(const C& codecs) noexcept  // NOLINT(google-explicit-constructor)
      : codecs_{&codecs},
        encode_{[](const void* self, const AnyTrigger& trigger) {
          return static_cast<const C*>(self)->encode(trigger);
        }},
        encode_text_{[](const void* self, const AnyTrigger& trigger) {
          return static_cast<const C*>(self)->encode_text(trigger);
        }},
        decode_{[](const void* self, const nlohmann::json& value) {
          return static_cast<const C*>(self)->decode(value);
        }} {}

  /// See TriggerCoding.
  [[nodiscard]] nlohmann::json encode(const AnyTrigger& trigger) const {
    return encode_(codecs_, trigger);
  }
  /// See TriggerCoding.
  [[nodiscard]] std::string encode_text(const AnyTrigger& trigger) const {
    return encode_text_(codecs_, trigger);
  }
  /// See TriggerDecoding.
  [[nodiscard]] AnyTrigger decode(const nlohmann::json& value) const {
    return decode_(codecs_, value);
  }

 private:
  const void* codecs_;
  nlohmann::json (*encode_)(const void*, const AnyTrigger&);
  std::string (*encode_text_)(const void*, const AnyTrigger&);
  AnyTrigger (*decode_)(const void*, const nlohmann::json&);
};

static_assert(TriggerCoding<AnyTriggerCodecs>);

/// A shared TaskPreparing of any type, or none: the registry a store's state holds once its
/// scheduler attached it.
///
/// Thread safety: const-thread-safe (as the registry it holds is).
class AnyTaskRegistry {
 public:
  /// No registry.
  AnyTaskRegistry() noexcept = default;

  /// Shares `tasks` (null: no registry).
  template <TaskPreparing R>
  AnyTaskRegistry(std::shared_ptr<R> tasks) noexcept  // NOLINT(google-explicit-constructor)
      : tasks_{std::move(tasks)},
        prepare_{[](const void* self, std::string_view call, TaskCall stored,
                    const nlohmann::json& arguments) {
          auto prepared = static_cast<const R*>(self)->prepare(call, std::move(stored), arguments);
          using Access = PreparedAccess<decltype(prepared)>;
          BodyRef body = Access::take_body(prepared);
          return PreparedParts{Access::take_call(prepared), std::move(body)};
        }} {}

  /// Whether it holds a registry.
  [[nodiscard]] explicit operator bool() const noexcept { return tasks_ != nullptr; }

  /// See TaskPreparing; only when it holds a registry.
  [[nodiscard]] PreparedParts prepare(std::string_view call, TaskCall stored,
                                      const nlohmann::json& arguments) const {
    return prepare_(tasks_.get(), call, std::move(stored), arguments);
  }

 private:
  std::shared_ptr<const void> tasks_;
  PreparedParts (*prepare_)(const void*, std::string_view, TaskCall,
                            const nlohmann::json&) = nullptr;
};

static_assert(TaskPreparing<AnyTaskRegistry>);

}  // namespace apsched::detail::durable
