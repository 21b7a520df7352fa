// SPDX-License-Identifier: MIT
// The SQLite unit of the compiled-mode consumer, built when the installed apsched has
// apsched::sqlite_compiled: a durable scheduler and a view, compiled without the store's
// internals, <sqlite3.h> or nlohmann's header.
#pragma once

#include <filesystem>

/// Runs a blocking scheduler over a SqliteJobStore in `file` (replaced) with one registered task
/// and one job until the job has run three times, then reads the file back through a
/// SqliteStoreView; returns whether the runs, the fire history and the stored job are as
/// expected.
bool run_sqlite_jobs(const std::filesystem::path& file);
