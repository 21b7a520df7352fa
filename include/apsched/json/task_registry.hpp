// SPDX-License-Identifier: MIT
// TaskRegistry: functions registered by name, so durable jobs store a task name and JSON
// arguments instead of a closure.
#pragma once

#include <apsched/detail/durable/coding.hpp>
#include <apsched/detail/job_body.hpp>
#include <apsched/detail/json/reader.hpp>
#include <apsched/detail/json/task_signature.hpp>
#include <apsched/detail/json/type_name.hpp>
#include <apsched/durable_job_store.hpp>
#include <apsched/error.hpp>
#include <apsched/job.hpp>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <concepts>
#include <cstddef>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
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
/// its decayed type must convert to and from nlohmann::json (user types through their own
/// to_json/from_json).
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
    static_assert(all_json_parameters<typename Parameters::Types>(),
                  "TaskRegistry::add: every parameter type (decayed) must convert to and from "
                  "nlohmann::json (define to_json/from_json for user types)");
    static_assert(std::copy_constructible<F>, "TaskRegistry::add: the task must be copyable");
    constexpr std::string_view call = "TaskRegistry::add";
    if (name.empty()) {
      throw InvalidArgumentError{
          fmt::format("{}: the name is empty; expected a non-empty task name", call)};
    }
    auto entry = std::make_shared<Task>(make_task<typename Parameters::Types>(std::move(function)));
    const std::unique_lock lock{mutex_};
    if (tasks_.contains(name)) {
      throw InvalidArgumentError{
          fmt::format("{}: a task is already registered as \"{}\"", call, name)};
    }
    tasks_.emplace(std::move(name), std::move(entry));
  }

  /// Whether a task is registered as `name`.
  [[nodiscard]] bool contains(std::string_view name) const {
    const std::shared_lock lock{mutex_};
    return tasks_.contains(name);
  }

  /// The registered names, in lexicographic order.
  [[nodiscard]] std::vector<std::string> names() const {
    const std::shared_lock lock{mutex_};
    std::vector<std::string> result;
    result.reserve(tasks_.size());
    for (const auto& entry : tasks_) {
      result.push_back(entry.first);
    }
    return result;
  }

  /// `args` as the JSON array a durable job stores for task `task`, checked against the task's
  /// parameters (see validate_arguments). `call` names the caller in errors ("add_job").
  /// @throws UnknownTaskError `add_job: no task is registered as "send-report"; the registered
  ///         tasks are "cleanup", "report"` (sorted, at most 20; "none are registered" when so);
  ///         SerializationError if an argument cannot be encoded, the count differs
  ///         (`add_job: task "send-report" takes 2 arguments, got 3`), or an argument does not
  ///         decode as its parameter's type.
  template <class... Args>
  requires(std::is_constructible_v<nlohmann::json, Args&&>&&...) [[nodiscard]] nlohmann::json
      encode_arguments(std::string_view call, std::string_view task, Args&&... args) const {
    const std::shared_ptr<const Task> entry = find(call, task);
    nlohmann::json arguments = encode(call, task, std::forward<Args>(args)...);
    check(*entry, call, task, arguments);
    entry->validate(arguments, call, task);
    return arguments;
  }

  /// The call of task `task` with `args`, ready to run: the arguments encoded as a JSON array,
  /// checked against the task's parameters by decoding them once, for the body. `call` names
  /// the caller in errors ("add_job").
  /// @throws UnknownTaskError or SerializationError as encode_arguments
  template <class... Args>
  requires(std::is_constructible_v<nlohmann::json, Args&&>&&...) [[nodiscard]] PreparedTask
      prepare(std::string_view call, std::string_view task, Args&&... args) const {
    const std::shared_ptr<const Task> entry = find(call, task);
    const nlohmann::json arguments = encode(call, task, std::forward<Args>(args)...);
    check(*entry, call, task, arguments);
    detail::BodyRef body = entry->make_body(arguments, call, task);
    return PreparedTask{TaskCall{std::string{task}, arguments.dump()}, std::move(body)};
  }

  /// The stored call `stored` (its arguments the text of a JSON array, as TaskCall holds them),
  /// ready to run: parsed, and decoded once for the body. How an exported job is imported.
  /// @throws UnknownTaskError; SerializationError if the text is not JSON
  ///         (`add_job: task "send-report" arguments are not JSON: ...`) or as validate_arguments
  [[nodiscard]] PreparedTask prepare(std::string_view call, TaskCall stored) const {
    nlohmann::json parsed;
    try {
      parsed = nlohmann::json::parse(stored.arguments);
    } catch (const nlohmann::json::exception& error) {
      throw SerializationError{fmt::format("{}: task \"{}\" arguments are not JSON: {}", call,
                                           stored.name, error.what())};
    }
    return prepare(call, std::move(stored), parsed);
  }

  /// As prepare(call, stored), with `arguments` the parse of `stored.arguments` that the caller
  /// made already (a store reading its rows reports text that is not JSON itself).
  /// @throws UnknownTaskError or SerializationError as validate_arguments
  [[nodiscard]] PreparedTask prepare(std::string_view call, TaskCall stored,
                                     const nlohmann::json& arguments) const {
    const std::shared_ptr<const Task> entry = find(call, stored.name);
    check(*entry, call, stored.name, arguments);
    detail::BodyRef body = entry->make_body(arguments, call, stored.name);
    return PreparedTask{std::move(stored), std::move(body)};
  }

  /// Checks that `arguments` (already-encoded arguments, as encode_arguments returns) is an
  /// array with one element per parameter of task `task`, each decoding as its parameter's type.
  /// @throws UnknownTaskError or SerializationError as encode_arguments, e.g.
  ///         `add_job: task "send-report" parameter 2 expects int, got "abc"`.
  void validate_arguments(std::string_view call, std::string_view task,
                          const nlohmann::json& arguments) const {
    const std::shared_ptr<const Task> entry = find(call, task);
    check(*entry, call, task, arguments);
    entry->validate(arguments, call, task);
  }

 private:
  template <class... Args>
  static nlohmann::json encode(std::string_view call, std::string_view task, Args&&... args) {
    nlohmann::json arguments = nlohmann::json::array();
    std::size_t index = 0;
    [[maybe_unused]] const auto append = [&](auto&& argument) {
      ++index;
      try {
        arguments.push_back(nlohmann::json(std::forward<decltype(argument)>(argument)));
      } catch (const nlohmann::json::exception& error) {
        throw SerializationError{fmt::format("{}: task \"{}\" argument {} cannot be encoded: {}",
                                             call, task, index, error.what())};
      }
    };
    (append(std::forward<Args>(args)), ...);
    return arguments;
  }

  // A registered task: its parameter count, a check of arguments against its parameters, and
  // what makes a body of it (each decodes the arguments).
  struct Task {
    std::size_t arity;
    std::function<void(const nlohmann::json&, std::string_view, std::string_view)> validate;
    std::function<detail::BodyRef(const nlohmann::json&, std::string_view, std::string_view)>
        make_body;
  };

  template <class Types>
  static constexpr bool all_json_parameters() {
    return []<std::size_t... I>(std::index_sequence<I...>) {
      return (detail::json::JsonParameter<std::tuple_element_t<I, Types>> && ...);
    }
    (std::make_index_sequence<std::tuple_size_v<Types>>{});
  }

  template <class Types, class F>
  static Task make_task(F function) {
    constexpr std::size_t arity = std::tuple_size_v<Types>;
    using Indices = std::make_index_sequence<arity>;
    Task task;
    task.arity = arity;
    task.validate = [](const nlohmann::json& arguments, std::string_view call,
                       std::string_view name) {
      (void)detail::json::decode_parameters<Types>(arguments, call, name, Indices{});
    };
    task.make_body = [function = std::move(function)](const nlohmann::json& arguments,
                                                      std::string_view call,
                                                      std::string_view name) {
      return std::apply(
          [&](auto&&... decoded) {
            return detail::make_body(function, std::forward<decltype(decoded)>(decoded)...);
          },
          detail::json::decode_parameters<Types>(arguments, call, name, Indices{}));
    };
    return task;
  }

  std::shared_ptr<const Task> find(std::string_view call, std::string_view task) const {
    std::string known;
    {
      const std::shared_lock lock{mutex_};
      if (const auto it = tasks_.find(task); it != tasks_.end()) {
        return it->second;
      }
      known = detail::json::registered_task_list(tasks_);
    }
    throw UnknownTaskError{
        fmt::format("{}: no task is registered as \"{}\"; {}", call, task, known)};
  }

  static void check(const Task& entry, std::string_view call, std::string_view task,
                    const nlohmann::json& arguments) {
    if (!arguments.is_array()) {
      throw SerializationError{
          fmt::format("{}: task \"{}\" arguments are {}; expected a JSON array", call, task,
                      detail::json::show(arguments))};
    }
    if (arguments.size() != entry.arity) {
      throw SerializationError{fmt::format("{}: task \"{}\" takes {} argument{}, got {}", call,
                                           task, entry.arity, entry.arity == 1 ? "" : "s",
                                           arguments.size())};
    }
  }

  // Guards tasks_. Entries are immutable once added, so they are used after unlocking.
  mutable std::shared_mutex mutex_;
  std::map<std::string, std::shared_ptr<const Task>, std::less<>> tasks_;
};

static_assert(DurableTasks<TaskRegistry>);
static_assert(detail::durable::TaskPreparing<TaskRegistry>);

}  // namespace apsched
