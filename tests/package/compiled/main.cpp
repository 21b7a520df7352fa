// SPDX-License-Identifier: MIT
// The compiled-mode consumer: exits 0 only if its units compiled in the compiled mode, without
// the schedulers' definitions, and the schedulers it links from apsched::compiled run jobs (and
// the SQLite store's, from apsched::sqlite_compiled when the installed apsched has it).
#include "jobs.hpp"
#if APSCHED_PACKAGE_SQLITE
#include "sqlite_jobs.hpp"
#endif

#include <apsched/apsched.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <random>
#include <string>

#if !APSCHED_SEPARATE_COMPILATION
#error "apsched::compiled must put its consumers in the compiled mode"
#endif
#ifdef APSCHED_IMPL_SCHEDULER_INCLUDED
#error "a unit in the compiled mode must not see the schedulers' definitions"
#endif

int main() {
  using namespace std::chrono_literals;
  // A blocking scheduler: start() runs the loop here until the job shuts it down.
  apsched::BlockingScheduler<> blocking;
  std::atomic<int> runs{0};
  add_counting_job(blocking, runs);
  blocking.start();
  const bool blocking_ok = runs >= 3 && blocking.get_jobs().size() == 1;

  // A callback scheduler, stepped by hand: a one-shot job due at once runs on this thread.
  apsched::CallbackScheduler<> callback;
  int callback_runs = 0;
  callback.add_job([&callback_runs] { ++callback_runs; }, apsched::DateTrigger{callback.now()});
  callback.start();
  (void)callback.process_due_jobs();
  const bool callback_ok = callback_runs == 1 && callback.get_jobs().empty();
  callback.shutdown();

  // A background scheduler: the default composition, started and shut down.
  apsched::BackgroundScheduler<> background;
  background.add_job([] {}, apsched::IntervalTrigger{1h}, {.id = "hourly"});
  background.start();
  const std::optional<apsched::JobInfo> job = background.get_job("hourly");
  background.shutdown();
  const bool background_ok = job.has_value() && job->next_run_time.has_value();

  std::printf("compiled mode: blocking %s, callback %s, background %s\n",
              blocking_ok ? "ok" : "WRONG", callback_ok ? "ok" : "WRONG",
              background_ok ? "ok" : "WRONG");
  bool sqlite_ok = true;
#if APSCHED_PACKAGE_SQLITE
  // A durable scheduler and a view from apsched::sqlite_compiled, on a file of this run's own.
  sqlite_ok =
      run_sqlite_jobs(std::filesystem::temp_directory_path() /
                      ("apsched-package-" + std::to_string(std::random_device{}()) + ".db"));
  std::printf("compiled mode: sqlite %s\n", sqlite_ok ? "ok" : "WRONG");
#endif
  return blocking_ok && callback_ok && background_ok && sqlite_ok ? 0 : 1;
}
