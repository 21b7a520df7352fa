// SPDX-License-Identifier: MIT
// ThreadPoolExecutor: runs jobs on a fixed number of worker threads.
#pragma once

#include <apsched/config.hpp>
#include <apsched/executor.hpp>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

namespace apsched {

/// Runs work items on up to `workers` threads, started by `start()` or the first `submit`. `submit`
/// never blocks: when every worker is busy, work items wait in an unbounded queue (a job's
/// `max_instances` bounds how many runs of it can be outstanding).
///
/// @code
/// apsched::BackgroundScheduler<apsched::MemoryJobStore, apsched::ThreadPoolExecutor> s{
///     apsched::MemoryJobStore{}, apsched::ThreadPoolExecutor{4}};
/// @endcode
///
/// Thread safety: thread-safe. The destructor waits for running work items and destroys queued
/// ones.
class ThreadPoolExecutor {
 public:
  /// The worker count of a default-constructed pool, as in APScheduler.
  static constexpr std::size_t default_workers = 10;

  /// A pool of `default_workers` threads.
  ThreadPoolExecutor() noexcept : size_{default_workers} {}

  /// A pool of `workers` threads.
  /// @throws InvalidArgumentError if `workers` is 0.
  explicit ThreadPoolExecutor(std::size_t workers);

  /// Moves the configuration (not running threads: a started pool cannot be moved).
  ThreadPoolExecutor(ThreadPoolExecutor&& other) noexcept : size_{other.size_} {}
  ThreadPoolExecutor(const ThreadPoolExecutor&) = delete;
  ThreadPoolExecutor& operator=(const ThreadPoolExecutor&) = delete;
  ThreadPoolExecutor& operator=(ThreadPoolExecutor&&) = delete;

  /// Shuts down without waiting and joins the workers.
  ~ThreadPoolExecutor();

  /// Queues `work` for a worker, starting the workers on first use.
  /// @throws ExecutorShutdownError after `shutdown` (until `start`).
  void submit(Work&& work);

  /// Starts the workers; after `shutdown`, first waits for the old ones to finish. Does nothing
  /// on a running pool.
  void start();

  /// See Executor: `wait == true` lets the queue drain and joins the workers (except the calling
  /// thread when it is a worker); `wait == false` destroys the queued work items and returns at
  /// once.
  void shutdown(bool wait);

  /// The number of worker threads.
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

  /// See Executor, requirement 5: the workers neither running nor holding a work item, less the
  /// queued work items (all of them while the pool has not started or is shut down).
  [[nodiscard]] std::size_t available();

 private:
  enum class State { idle, running, stopped };

  void spawn_locked();
  void work();
  void join_all();

  std::size_t size_;
  // Guards every member below it.
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Work> queue_;
  std::vector<std::jthread> workers_;
  std::size_t idle_workers_ = 0;
  // Work items workers took from the queue and have not finished.
  std::size_t in_hand_ = 0;
  State state_ = State::idle;
  std::atomic<bool> discard_{false};
};

static_assert(RestartableExecutor<ThreadPoolExecutor>);
static_assert(RoomReportingExecutor<ThreadPoolExecutor>);

}  // namespace apsched

#if !APSCHED_SEPARATE_COMPILATION
#include <apsched/impl/executors/thread_pool.hpp>
#endif
