// SPDX-License-Identifier: MIT
// The compiled mode's library of the json part (apsched::json_compiled): the definitions of the
// task registry and of the boundary between task parameters and their JSON arguments, compiled
// once. A unit of the compiled mode that registers tasks and makes calls then needs no
// nlohmann header for the parameter types TaskRegistry codes itself.
#include <apsched/impl/json/arguments.hpp>
#include <apsched/impl/json/task_registry.hpp>

#if !APSCHED_SEPARATE_COMPILATION
#error "compile the apsched::json_compiled library with APSCHED_SEPARATE_COMPILATION=1"
#endif
