// SPDX-License-Identifier: MIT
// The JSON part (CMake target apsched::json, needs nlohmann/json): the task registry and the JSON
// codecs of triggers, job options and task arguments that durable stores use, and export and import
// of jobs.
#pragma once

#include <apsched/json/export.hpp>
#include <apsched/json/job_options.hpp>
#include <apsched/json/task_arguments.hpp>
#include <apsched/json/task_registry.hpp>
#include <apsched/json/trigger_codec.hpp>
