// SPDX-License-Identifier: MIT
// The compiled mode: whether the definitions of the schedulers and stores come with the headers
// (the default, header-only) or from a library compiled once.
#pragma once

/// 0 (the default): apsched is header-only; every header brings its definitions, and a program
/// needs nothing but the include path.
/// 1: the compiled mode. The headers bring declarations and the thin templates that erase a
/// job's callable and trigger; the definitions of the named schedulers over the standard stores
/// and executors are compiled once into the CMake target `apsched::compiled` (and per part
/// `apsched::json_compiled`, the task registry and task arguments; `apsched::sqlite_compiled`,
/// `apsched::postgres_compiled`), which sets this macro for every unit that links it. A
/// program's units then compile in about the time of the standard headers they include. A
/// scheduler composed otherwise (another store, executor or clock) has no definitions in those
/// libraries: include `<apsched/impl/scheduler.hpp>` in the units that use it. A unit that
/// registers tasks taking types beyond those TaskRegistry codes itself (user types, converted
/// by nlohmann::json) includes `<apsched/json/task_arguments.hpp>`.
#ifndef APSCHED_SEPARATE_COMPILATION
#define APSCHED_SEPARATE_COMPILATION 0
#endif

/// `inline` in header-only mode, nothing in the compiled mode: marks the non-template
/// definitions of the impl headers, which the compiled libraries hold once.
#if APSCHED_SEPARATE_COMPILATION
#define APSCHED_INLINE
#else
#define APSCHED_INLINE inline
#endif
