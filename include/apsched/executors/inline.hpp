// SPDX-License-Identifier: MIT
// InlineExecutor: runs each job in the thread that submits it.
#pragma once

#include <apsched/error.hpp>
#include <apsched/executor.hpp>

#include <atomic>

namespace apsched {

/// Runs each work item at once, in the submitting thread: the scheduler loop for scheduled runs,
/// the caller for `run_job_now`. For tests and for short jobs; a slow job delays every other job.
///
/// Thread safety: thread-safe.
class InlineExecutor {
 public:
  InlineExecutor() = default;
  /// Moves the executor's state.
  InlineExecutor(InlineExecutor&& other) noexcept
      : stopped_{other.stopped_.load(std::memory_order_acquire)} {}
  InlineExecutor(const InlineExecutor&) = delete;
  InlineExecutor& operator=(const InlineExecutor&) = delete;
  InlineExecutor& operator=(InlineExecutor&&) = delete;
  ~InlineExecutor() = default;

  /// Runs `work` now.
  /// @throws ExecutorShutdownError after `shutdown`.
  void submit(Work&& work) {
    if (stopped_.load(std::memory_order_acquire)) {
      throw ExecutorShutdownError{"InlineExecutor::submit: the executor is shut down"};
    }
    Work owned = std::move(work);
    owned.run();
  }

  /// Stops accepting work items; nothing is queued, so there is nothing to wait for.
  void shutdown(bool /*wait*/) noexcept { stopped_.store(true, std::memory_order_release); }

  /// Accepts work items again after `shutdown`.
  void start() noexcept { stopped_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> stopped_{false};
};

static_assert(RestartableExecutor<InlineExecutor>);

}  // namespace apsched
