// SPDX-License-Identifier: MIT
// TaskRegistry: functions registered by name, so durable jobs store a task name and JSON
// arguments instead of a closure.
#pragma once

#include <apsched/config.hpp>
#include <apsched/detail/job_body.hpp>
#include <apsched/detail/json/argument_codec.hpp>
#include <apsched/detail/json/arguments.hpp>
#include <apsched/detail/json/task_signature.hpp>
#include <apsched/durable_job_store.hpp>
#include <apsched/job.hpp>

#include <nlohmann/json_fwd.hpp>

#include <concepts>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace apsched {

/// Names a task registered in a TaskRegistry, where a job would otherwise take a function: a
/// durable job stores the name and its arguments as JSON, never a closure.
///
/// Thread safety: not thread-safe (a plain value).
struct TaskRef {
  /// The name the task is registered under.
  std::string name;
};

/// A TaskRef for the task registered as `name`.
/// @code
/// scheduler.add_job(apsched::task("send-report"), trigger, options, "ops@example.com", 3);
/// @endcode
///
/// Thread safety: thread-safe.
[[nodiscard]] inline TaskRef task(std::string name) { return TaskRef{std::move(name)}; }

class TaskRegistry;
class PreparedTask;

namespace detail {
template <>
struct PreparedAccess<PreparedTask>;
}  // namespace detail

/// A call of a registered task, checked against the task's parameters and ready to run (made by
/// TaskRegistry::prepare): the call as a durable store keeps it, and the job's runnable body,
/// for which its arguments were decoded once. What a scheduler adds for a task job.
///
/// Thread safety: not thread-safe (a plain value).
class PreparedTask {
 public:
  /// The call: the task's name and its arguments as the text of a JSON array.
  [[nodiscard]] const TaskCall& call() const noexcept { return call_; }

 private:
  friend class TaskRegistry;
  friend struct detail::PreparedAccess<PreparedTask>;

  PreparedTask(TaskCall call, detail::BodyRef body) noexcept
      : call_{std::move(call)}, body_{std::move(body)} {}

  TaskCall call_;
  detail::BodyRef body_;
};

namespace detail {

/// How the scheduler and the stores take the parts of a PreparedTask.
template <>
struct PreparedAccess<PreparedTask> {
  static TaskCall take_call(PreparedTask& prepared) noexcept { return std::move(prepared.call_); }
  static BodyRef take_body(PreparedTask& prepared) noexcept { return std::move(prepared.body_); }
};

}  // namespace detail

/// Functions registered under names, with typed parameters whose arguments are stored as a JSON
/// array: what a durable job store keeps instead of a closure. A task is any callable with one
/// deducible signature (function pointer, non-generic lambda, std::function, class with a single
/// non-template operator()). Its optional first parameter `const JobContext&` (or `JobContext`)
/// receives the run's context; every other parameter is taken by value or const reference, and
/// its decayed type must convert to and from JSON: bool, the integer and floating-point types,
/// std::string, and std::vector, std::array, std::optional (null when empty) and
/// std::map<std::string, T> of convertible types; any other type (user types) through
/// nlohmann::json, by its own to_json/from_json. Arguments may be of any type that converts to
/// JSON (a C string for a std::string parameter, std::nullopt or `nullptr` for an empty
/// std::optional).
///
/// In the compiled mode (apsched/config.hpp) this header declares the registry without
/// nlohmann's header, and only the types listed above are coded without it: a unit that
/// registers a task taking another type, or passes one as an argument, includes
/// <apsched/json/task_arguments.hpp> (a static_assert says so).
///
/// Arguments are checked strictly: an integer parameter takes only a JSON integer in its range
/// (not 1.5, not -1 for unsigned), bool only true/false, std::string only a string, and likewise
/// inside std::vector, std::array, std::optional and std::map<std::string, T>; user types are
/// checked by their from_json.
///
/// @code
/// apsched::TaskRegistry tasks;
/// tasks.add("send-report", [](const apsched::JobContext& context, std::string to, int copies) {
///   send_report(to, copies, context.stop_token);
/// });
/// apsched::PreparedTask call = tasks.prepare("add_job", "send-report", "ops@example.com", 3);
/// // call.call().arguments == R"(["ops@example.com",3])"
/// @endcode
///
/// Thread safety: thread-safe: tasks may be added while other threads encode arguments or build
/// bodies. No lock is held while a task's functions or to_json/from_json run.
class TaskRegistry {
 public:
  /// Registers `function` as the task `name`. A name is registered once: replacing a task under
  /// a name that stored jobs already use would silently change what they run, so it is an
  /// error (register a new name instead).
  /// @throws InvalidArgumentError if `name` is empty or already registered.
  template <class F>
  void add(std::string name, F function) {
    static_assert(detail::json::DeducibleCallable<F>,
                  "TaskRegistry::add: the task must have exactly one signature (a function, a "
                  "non-generic lambda, a std::function or a class with one non-template "
                  "operator())");
    using Parameters =
        detail::json::TaskParameters<typename detail::json::CallableSignature<F>::type>;
    static_assert(Parameters::valid,
                  "TaskRegistry::add: a task takes an optional first parameter `const "
                  "JobContext&` or `JobContext`, then parameters by value or const reference");
    using Types = typename Parameters::Types;
    constexpr bool coded = coded_parameters<Types>();
    static_assert(coded,
                  "TaskRegistry::add: a parameter type other than bool, integers, floating point, "
                  "std::string and std::vector, std::array, std::optional or "
                  "std::map<std::string, T> of those converts through nlohmann::json: include "
                  "<apsched/json/task_arguments.hpp> where the task is registered (the compiled "
                  "mode leaves it out)");
    static_assert(!coded || json_parameters<Types>(),
                  "TaskRegistry::add: every parameter type (decayed) must convert to and from "
                  "nlohmann::json (define to_json/from_json for user types)");
    static_assert(std::copy_constructible<F>, "TaskRegistry::add: the task must be copyable");
    if constexpr (coded) {
      // insert owns the task at once; a smart pointer made here would cost this unit more
      // compile time than the rest of add.
      insert(std::move(name), new TaskFor<Types, F>(std::move(function)));
    }
  }

  /// Whether a task is registered as `name`.
  [[nodiscard]] bool contains(std::string_view name) const;

  /// The registered names, in lexicographic order.
  [[nodiscard]] std::vector<std::string> names() const;

  /// `args` as the JSON array a durable job stores for task `task`, checked against the task's
  /// parameters (see validate_arguments). `call` names the caller in errors ("add_job"). Needs
  /// nlohmann's header, which the caller of a function returning nlohmann::json includes.
  /// @throws UnknownTaskError `add_job: no task is registered as "send-report"; the registered
  ///         tasks are "cleanup", "report"` (sorted, at most 20; "none are registered" when so);
  ///         SerializationError if an argument cannot be encoded, the count differs
  ///         (`add_job: task "send-report" takes 2 arguments, got 3`), or an argument does not
  ///         decode as its parameter's type.
  template <class... Args>
  [[nodiscard]] typename detail::json::Dependent<nlohmann::json, Args...>::Type encode_arguments(
      std::string_view call, std::string_view task, Args&&... args) const {
    const std::shared_ptr<const Task> entry = find(call, task);
    detail::json::ArgumentWriter arguments{call, task};
    if constexpr (writable<Args...>()) {
      (detail::json::write_argument(arguments, args), ...);
    }
    validate(*entry, call, task, arguments.value());
    return typename detail::json::Dependent<nlohmann::json, Args...>::Type(arguments.value());
  }

  /// The call of task `task` with `args`, ready to run: the arguments encoded as a JSON array,
  /// checked against the task's parameters by decoding them once, for the body. `call` names
  /// the caller in errors ("add_job").
  /// @throws UnknownTaskError or SerializationError as encode_arguments
  template <class... Args>
  [[nodiscard]] PreparedTask prepare(std::string_view call, std::string_view task,
                                     Args&&... args) const {
    const std::shared_ptr<const Task> entry = find(call, task);
    detail::json::ArgumentWriter arguments{call, task};
    if constexpr (writable<Args...>()) {
      (detail::json::write_argument(arguments, args), ...);
    }
    return prepared(*entry, call, task, arguments);
  }

  /// The stored call `stored` (its arguments the text of a JSON array, as TaskCall holds them),
  /// ready to run: parsed, and decoded once for the body. How an exported job is imported.
  /// @throws UnknownTaskError; SerializationError if the text is not JSON
  ///         (`add_job: task "send-report" arguments are not JSON: ...`) or as validate_arguments
  [[nodiscard]] PreparedTask prepare(std::string_view call, TaskCall stored) const;

  /// As prepare(call, stored), with `arguments` the parse of `stored.arguments` that the caller
  /// made already (a store reading its rows reports text that is not JSON itself).
  /// @throws UnknownTaskError or SerializationError as validate_arguments
  [[nodiscard]] PreparedTask prepare(std::string_view call, TaskCall stored,
                                     const nlohmann::json& arguments) const;

  /// Checks that `arguments` (already-encoded arguments, as encode_arguments returns) is an
  /// array with one element per parameter of task `task`, each decoding as its parameter's type.
  /// @throws UnknownTaskError or SerializationError as encode_arguments, e.g.
  ///         `add_job: task "send-report" parameter 2 expects int, got "abc"`.
  void validate_arguments(std::string_view call, std::string_view task,
                          const nlohmann::json& arguments) const;

 private:
  // A registered task: its parameter count, and the check and the body of arguments for it
  // (each decodes them).
  class Task {
   public:
    explicit Task(std::size_t arity) noexcept : arity_{arity} {}
    Task(const Task&) = delete;
    Task& operator=(const Task&) = delete;
    virtual ~Task() = default;

    [[nodiscard]] std::size_t arity() const noexcept { return arity_; }
    virtual void validate(const detail::json::ArgumentReader& arguments) const = 0;
    [[nodiscard]] virtual detail::BodyRef make_body(
        const detail::json::ArgumentReader& arguments) const = 0;

   private:
    std::size_t arity_;
  };

  // The task `function` with parameters `Types`.
  template <class Types, class F>
  class TaskFor final : public Task {
   public:
    explicit TaskFor(F function) : Task{std::tuple_size_v<Types>}, function_{std::move(function)} {}

    void validate(const detail::json::ArgumentReader& arguments) const override {
      (void)detail::json::decode_parameters<Types>(arguments, Indices{});
    }
    [[nodiscard]] detail::BodyRef make_body(
        const detail::json::ArgumentReader& arguments) const override {
      return std::apply(
          [&](auto&&... decoded) {
            return detail::make_body(function_, std::forward<decltype(decoded)>(decoded)...);
          },
          detail::json::decode_parameters<Types>(arguments, Indices{}));
    }

   private:
    using Indices = std::make_index_sequence<std::tuple_size_v<Types>>;
    F function_;
  };

  // Whether the parameters `Types` are coded in this unit; if so, whether they convert.
  template <class Types>
  static constexpr bool coded_parameters() {
    return []<std::size_t... I>(std::index_sequence<I...>) {
      return (detail::json::CodedParameter<std::tuple_element_t<I, Types>> && ...);
    }
    (std::make_index_sequence<std::tuple_size_v<Types>>{});
  }
  template <class Types>
  static constexpr bool json_parameters() {
    return []<std::size_t... I>(std::index_sequence<I...>) {
      return (detail::json::JsonParameter<std::tuple_element_t<I, Types>> && ...);
    }
    (std::make_index_sequence<std::tuple_size_v<Types>>{});
  }

  // Whether arguments `Args` can be written in this unit, with the static_asserts that say why
  // not.
  template <class... Args>
  static constexpr bool writable() {
    constexpr bool coded = (detail::json::CodedArgument<Args> && ...);
    static_assert(coded,
                  "TaskRegistry: an argument of a type other than bool, integers, floating point, "
                  "strings, nullptr, std::nullopt and std::vector, std::array, std::optional or "
                  "std::map<std::string, T> of those converts through nlohmann::json: include "
                  "<apsched/json/task_arguments.hpp> where the call is made (the compiled mode "
                  "leaves it out)");
    static_assert(!coded || (detail::json::JsonArgument<Args> && ...),
                  "TaskRegistry: every argument must convert to nlohmann::json");
    return coded;
  }

  // Registers `entry` as `name`, owning it (deleting it if it throws).
  // @throws InvalidArgumentError if `name` is empty or taken.
  void insert(std::string name, const Task* entry);
  [[nodiscard]] std::shared_ptr<const Task> find(std::string_view call,
                                                 std::string_view task) const;
  static void check(const Task& entry, std::string_view call, std::string_view task,
                    const nlohmann::json& arguments);
  static void validate(const Task& entry, std::string_view call, std::string_view task,
                       const nlohmann::json& arguments);
  [[nodiscard]] static PreparedTask prepared(const Task& entry, std::string_view call,
                                             std::string_view task,
                                             const detail::json::ArgumentWriter& arguments);

  // Guards tasks_. Entries are immutable once added, so they are used after unlocking.
  mutable std::shared_mutex mutex_;
  std::map<std::string, std::shared_ptr<const Task>, std::less<>> tasks_;
};

static_assert(DurableTasks<TaskRegistry>);

}  // namespace apsched

#if !APSCHED_SEPARATE_COMPILATION
#include <apsched/impl/json/task_registry.hpp>
#include <apsched/json/task_arguments.hpp>
#endif
