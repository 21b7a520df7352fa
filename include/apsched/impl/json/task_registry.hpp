// SPDX-License-Identifier: MIT
// The definitions of TaskRegistry's members that are not templates. json/task_registry.hpp
// includes this in header-only mode; in the compiled mode the apsched::json_compiled library
// holds them.
#pragma once

#include <apsched/config.hpp>
#include <apsched/detail/durable/coding.hpp>
#include <apsched/detail/json/arguments.hpp>
#include <apsched/detail/json/reader.hpp>
#include <apsched/error.hpp>
#include <apsched/json/task_registry.hpp>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <cstddef>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace apsched {

namespace detail::json {

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

}  // namespace detail::json

APSCHED_INLINE bool TaskRegistry::contains(std::string_view name) const {
  const std::shared_lock lock{mutex_};
  return tasks_.contains(name);
}

APSCHED_INLINE std::vector<std::string> TaskRegistry::names() const {
  const std::shared_lock lock{mutex_};
  std::vector<std::string> result;
  result.reserve(tasks_.size());
  for (const auto& entry : tasks_) {
    result.push_back(entry.first);
  }
  return result;
}

APSCHED_INLINE PreparedTask TaskRegistry::prepare(std::string_view call, TaskCall stored) const {
  nlohmann::json parsed;
  try {
    parsed = nlohmann::json::parse(stored.arguments);
  } catch (const nlohmann::json::exception& error) {
    throw SerializationError{
        fmt::format("{}: task \"{}\" arguments are not JSON: {}", call, stored.name, error.what())};
  }
  return prepare(call, std::move(stored), parsed);
}

APSCHED_INLINE PreparedTask TaskRegistry::prepare(std::string_view call, TaskCall stored,
                                                  const nlohmann::json& arguments) const {
  const std::shared_ptr<const Task> entry = find(call, stored.name);
  check(*entry, call, stored.name, arguments);
  detail::BodyRef body =
      entry->make_body(detail::json::ArgumentReader{arguments, call, stored.name});
  return PreparedTask{std::move(stored), std::move(body)};
}

APSCHED_INLINE void TaskRegistry::validate_arguments(std::string_view call, std::string_view task,
                                                     const nlohmann::json& arguments) const {
  validate(*find(call, task), call, task, arguments);
}

APSCHED_INLINE void TaskRegistry::insert(std::string name, const Task* entry) {
  std::shared_ptr<const Task> owned{entry};
  constexpr std::string_view call = "TaskRegistry::add";
  if (name.empty()) {
    throw InvalidArgumentError{
        fmt::format("{}: the name is empty; expected a non-empty task name", call)};
  }
  const std::unique_lock lock{mutex_};
  if (tasks_.contains(name)) {
    throw InvalidArgumentError{
        fmt::format("{}: a task is already registered as \"{}\"", call, name)};
  }
  tasks_.emplace(std::move(name), std::move(owned));
}

APSCHED_INLINE std::shared_ptr<const TaskRegistry::Task> TaskRegistry::find(
    std::string_view call, std::string_view task) const {
  std::string known;
  {
    const std::shared_lock lock{mutex_};
    if (const auto it = tasks_.find(task); it != tasks_.end()) {
      return it->second;
    }
    known = detail::json::registered_task_list(tasks_);
  }
  throw UnknownTaskError{fmt::format("{}: no task is registered as \"{}\"; {}", call, task, known)};
}

APSCHED_INLINE void TaskRegistry::check(const Task& entry, std::string_view call,
                                        std::string_view task, const nlohmann::json& arguments) {
  if (!arguments.is_array()) {
    throw SerializationError{fmt::format("{}: task \"{}\" arguments are {}; expected a JSON array",
                                         call, task, detail::json::show(arguments))};
  }
  if (arguments.size() != entry.arity()) {
    throw SerializationError{fmt::format("{}: task \"{}\" takes {} argument{}, got {}", call, task,
                                         entry.arity(), entry.arity() == 1 ? "" : "s",
                                         arguments.size())};
  }
}

APSCHED_INLINE void TaskRegistry::validate(const Task& entry, std::string_view call,
                                           std::string_view task, const nlohmann::json& arguments) {
  check(entry, call, task, arguments);
  entry.validate(detail::json::ArgumentReader{arguments, call, task});
}

APSCHED_INLINE PreparedTask TaskRegistry::prepared(const Task& entry, std::string_view call,
                                                   std::string_view task,
                                                   const detail::json::ArgumentWriter& arguments) {
  check(entry, call, task, arguments.value());
  detail::BodyRef body =
      entry.make_body(detail::json::ArgumentReader{arguments.value(), call, task});
  return PreparedTask{TaskCall{std::string{task}, arguments.text()}, std::move(body)};
}

static_assert(detail::durable::TaskPreparing<TaskRegistry>);

}  // namespace apsched
