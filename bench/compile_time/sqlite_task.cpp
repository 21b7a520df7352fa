// SPDX-License-Identifier: MIT
// A BackgroundScheduler on a SQLite store with one registered task and one job.
// Compiled mode: apsched::sqlite_compiled (the definitions of the SQLite store and of the named
// schedulers over it).
#include <apsched/apsched.hpp>
#include <apsched/sqlite.hpp>

#include <chrono>
#include <cstdio>
#include <string>

int main() {
  apsched::BackgroundScheduler<apsched::SqliteJobStore> scheduler{
      apsched::SqliteJobStore{"compile-time.db"}};
  scheduler.register_task("greet", [](const std::string& name) { std::puts(name.c_str()); });
  scheduler.add_job(apsched::task("greet"), apsched::IntervalTrigger{std::chrono::seconds{1}},
                    {.id = "greet"}, "world");
  scheduler.start();
  scheduler.shutdown();
}
