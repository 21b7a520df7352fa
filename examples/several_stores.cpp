// SPDX-License-Identifier: MIT
// One scheduler, two stores and two executors, chosen per job by alias.
#include <apsched/apsched.hpp>

#include <fmt/core.h>

#include <chrono>
#include <thread>

int main() {
  using namespace std::chrono_literals;
  using Scheduler = apsched::BackgroundScheduler<
      apsched::Stores<apsched::MemoryJobStore, apsched::MemoryJobStore>,
      apsched::Executors<apsched::ThreadPoolExecutor, apsched::InlineExecutor>>;
  Scheduler scheduler{
      {},
      {apsched::ThreadPoolExecutor{4}, apsched::InlineExecutor{}},
      {},
      {.store_aliases = {"default", "transient"}, .executor_aliases = {"default", "inline"}}};
  scheduler.add_job([] { fmt::print("pool job\n"); }, apsched::IntervalTrigger{400ms},
                    {.id = "pool"});
  scheduler.add_job([] { fmt::print("inline job\n"); }, apsched::IntervalTrigger{600ms},
                    {.id = "quick", .executor = "inline", .store = "transient"});
  scheduler.start();
  std::this_thread::sleep_for(1300ms);
  scheduler.shutdown();
  scheduler.print_jobs();
}
