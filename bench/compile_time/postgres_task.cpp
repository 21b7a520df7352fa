// SPDX-License-Identifier: MIT
// A BackgroundScheduler on a PostgreSQL store with one registered task and one job.
// Compiled mode: apsched::postgres_compiled (the definitions of the PostgreSQL store and of the
// named schedulers over it).
#include <apsched/apsched.hpp>
#include <apsched/postgres.hpp>

#include <chrono>
#include <cstdio>
#include <string>

int main() {
  apsched::BackgroundScheduler<apsched::PostgresJobStore> scheduler{
      apsched::PostgresJobStore{"postgresql:///apsched"}};
  scheduler.register_task("greet", [](const std::string& name) { std::puts(name.c_str()); });
  scheduler.add_job(apsched::task("greet"), apsched::IntervalTrigger{std::chrono::seconds{1}},
                    {.id = "greet"}, "world");
  scheduler.start();
  scheduler.shutdown();
}
