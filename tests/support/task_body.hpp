// SPDX-License-Identifier: MIT
// The body of a task call, for tests that build job records by hand: what
// TaskRegistry::prepare makes for a scheduler, taken apart.
#pragma once

#include <apsched/json/task_registry.hpp>

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace apsched::test {

/// The body that runs task `task` of `tasks` with `arguments`; errors name `call`.
inline detail::BodyRef task_body(const TaskRegistry& tasks, std::string_view task,
                                 const nlohmann::json& arguments,
                                 std::string_view call = "make_body") {
  PreparedTask prepared =
      tasks.prepare(call, TaskCall{std::string{task}, arguments.dump()}, arguments);
  return detail::PreparedAccess<PreparedTask>::take_body(prepared);
}

}  // namespace apsched::test
