// SPDX-License-Identifier: MIT
// Durable jobs on SQLite: run it twice, and the second run continues the jobs of the first
// (their run counts, their schedules, and one catch-up run for the heartbeats missed between).
#include <apsched/apsched.hpp>
#include <apsched/cron/cron_trigger.hpp>
#include <apsched/sqlite/job_store.hpp>

#include <fmt/chrono.h>
#include <fmt/core.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

int main(int argc, char** argv) {
  using namespace std::chrono_literals;
  const std::filesystem::path file = argc > 1 ? argv[1] : "apsched-example.db";
  apsched::BackgroundScheduler<apsched::SqliteJobStore> scheduler{apsched::SqliteJobStore{file}};

  // Tasks are registered by name at every start; stored jobs name them and keep their
  // arguments as JSON.
  scheduler.register_task("heartbeat", [](const apsched::JobContext& context, std::string node) {
    fmt::print("heartbeat from {}, scheduled for {:%T} UTC\n", node,
               std::chrono::floor<std::chrono::seconds>(context.scheduled_run_time));
  });
  scheduler.register_task("send-report", [](std::string to, int copies) {
    fmt::print("sending {} copies of the report to {}\n", copies, to);
  });
  // Fires missed while no scheduler was up are coalesced into one run (the default); its
  // submitted event counts them.
  scheduler.add_listener(
      [](const apsched::Event& event) {
        if (event.runs > 0) {
          fmt::print("{}: {} run(s) missed while no scheduler was up, folded into this one\n",
                     event.job_id, event.runs);
        }
      },
      static_cast<apsched::EventMask>(apsched::EventType::job_submitted));

  const std::vector<apsched::JobInfo> stored = scheduler.get_jobs();
  if (stored.empty()) {
    fmt::print("{}: no stored jobs, adding two\n", file.string());
  } else {
    fmt::print("{}: {} stored jobs from an earlier run\n", file.string(), stored.size());
    for (const apsched::JobInfo& job : stored) {
      fmt::print("  {}: {} runs so far, next run {}\n", job.id, job.run_count,
                 job.next_run_time
                     ? fmt::format("{:%F %T} UTC",
                                   std::chrono::floor<std::chrono::seconds>(*job.next_run_time))
                     : std::string{"none (paused)"});
    }
  }
  // Added at every start: ConflictPolicy::keep adds a job whose id is not stored yet and leaves
  // a stored one as it is, with its schedule, run count and fire history.
  constexpr auto keep = apsched::ConflictPolicy::keep;
  scheduler.add_job(apsched::task("heartbeat"), apsched::IntervalTrigger{1s},
                    {.id = "heartbeat", .on_conflict = keep}, "node-a");
  scheduler.add_job(
      apsched::task("send-report"),
      apsched::CronTrigger::from_crontab("0 9 * * MON-FRI", {.timezone = "Europe/Berlin"}),
      {.id = "daily-report", .on_conflict = keep}, "ops@example.com", 3);
  scheduler.start();
  std::this_thread::sleep_for(2500ms);
  scheduler.shutdown();
}
