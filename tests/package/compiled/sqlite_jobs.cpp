// SPDX-License-Identifier: MIT
#include "sqlite_jobs.hpp"

#include <apsched/apsched.hpp>
#include <apsched/sqlite.hpp>

#include <atomic>
#include <chrono>
#include <string>
#include <system_error>
#include <vector>

#ifdef SQLITE_VERSION
#error "a unit in the compiled mode must not see <sqlite3.h>"
#endif
#ifdef INCLUDE_NLOHMANN_JSON_HPP_
#error "a unit in the compiled mode must not see nlohmann/json.hpp"
#endif
#ifdef APSCHED_IMPL_SCHEDULER_INCLUDED
#error "a unit in the compiled mode must not see the schedulers' definitions"
#endif

bool run_sqlite_jobs(const std::filesystem::path& file) {
  std::error_code ignored;
  std::filesystem::remove(file, ignored);
  bool ok = false;
  {
    apsched::BlockingScheduler<apsched::SqliteJobStore> scheduler{apsched::SqliteJobStore{file}};
    std::atomic<int> runs{0};
    scheduler.register_task("count", [&runs, &scheduler](int limit) {
      if (++runs == limit) {
        scheduler.shutdown(false);
      }
    });
    scheduler.add_job(apsched::task("count"),
                      apsched::IntervalTrigger{std::chrono::milliseconds{10}}, {.id = "count"}, 3);
    scheduler.start();
    ok = runs >= 3 && scheduler.get_jobs().size() == 1 &&
         !scheduler.get_fire_history("count").empty();
  }
  {
    const apsched::SqliteStoreView view{file};
    const std::vector<apsched::StoredJob> jobs = view.jobs();
    ok = ok && jobs.size() == 1 && jobs.front().id == "count" && jobs.front().task == "count";
  }
  std::filesystem::remove(file, ignored);
  std::filesystem::remove(file.string() + "-wal", ignored);
  std::filesystem::remove(file.string() + "-shm", ignored);
  return ok;
}
