// SPDX-License-Identifier: MIT
// ManualExecutor: queues job runs until a test steps them by hand.
#pragma once

#include <apsched/error.hpp>
#include <apsched/executor.hpp>

#include <cstddef>
#include <deque>
#include <mutex>

namespace apsched {

/// Queues every work item until `run_one` or `run_all` is called, so a test decides exactly when
/// each job run starts and finishes, with no thread involved.
///
/// @code
/// apsched::CallbackScheduler<apsched::MemoryJobStore, apsched::ManualExecutor,
///                            apsched::ManualClock> scheduler{...};
/// scheduler.process_due_jobs();
/// REQUIRE(scheduler.executor().run_all() == 1);
/// @endcode
///
/// Thread safety: thread-safe. Work items run on the thread that calls `run_one`/`run_all`.
class ManualExecutor {
 public:
  ManualExecutor() = default;
  /// Moves the queue.
  ManualExecutor(ManualExecutor&& other) noexcept {
    std::lock_guard lock{other.mutex_};
    queue_ = std::move(other.queue_);
    stopped_ = other.stopped_;
    workers_ = other.workers_;
  }
  ManualExecutor(const ManualExecutor&) = delete;
  ManualExecutor& operator=(const ManualExecutor&) = delete;
  ManualExecutor& operator=(ManualExecutor&&) = delete;
  ~ManualExecutor() = default;

  /// Queues `work`.
  /// @throws ExecutorShutdownError after `shutdown`.
  void submit(Work&& work) {
    std::lock_guard lock{mutex_};
    if (stopped_) {
      throw ExecutorShutdownError{"ManualExecutor::submit: the executor is shut down"};
    }
    queue_.push_back(std::move(work));
  }

  /// Runs the oldest queued work item, if any; returns whether one ran.
  bool run_one() {
    Work work;
    {
      std::lock_guard lock{mutex_};
      if (queue_.empty()) {
        return false;
      }
      work = std::move(queue_.front());
      queue_.pop_front();
    }
    work.run();
    return true;
  }

  /// Runs queued work items, including ones queued meanwhile, until the queue is empty; returns how
  /// many ran.
  std::size_t run_all() {
    std::size_t count = 0;
    while (run_one()) {
      ++count;
    }
    return count;
  }

  /// The number of queued work items.
  [[nodiscard]] std::size_t pending() const {
    std::lock_guard lock{mutex_};
    return queue_.size();
  }

  /// Makes the executor report room for `workers` work items at once, less the queued ones (see
  /// `available`), as a pool of that many busy threads would; unlimited until called.
  void set_workers(std::size_t workers) {
    std::lock_guard lock{mutex_};
    workers_ = workers;
  }

  /// See Executor, requirement 5: the workers set by `set_workers` less the queued work items.
  [[nodiscard]] std::size_t available() const {
    std::lock_guard lock{mutex_};
    return queue_.size() < workers_ ? workers_ - queue_.size() : 0;
  }

  /// Stops accepting work items; destroys the queued ones (they report themselves dropped),
  /// whatever `wait` says, since nothing would run them.
  void shutdown(bool /*wait*/) {
    std::deque<Work> dropped;
    {
      std::lock_guard lock{mutex_};
      stopped_ = true;
      dropped.swap(queue_);
    }
  }

  /// Accepts work items again after `shutdown`.
  void start() {
    std::lock_guard lock{mutex_};
    stopped_ = false;
  }

 private:
  // Guards the members below it.
  mutable std::mutex mutex_;
  std::deque<Work> queue_;
  bool stopped_ = false;
  std::size_t workers_ = static_cast<std::size_t>(-1);
};

static_assert(RestartableExecutor<ManualExecutor>);
static_assert(RoomReportingExecutor<ManualExecutor>);

}  // namespace apsched
