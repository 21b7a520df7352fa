// SPDX-License-Identifier: MIT
// IoContextExecutor: an Executor that runs job runs as handlers on an Asio io_context.
#pragma once

#include <apsched/detail/asio/net.hpp>
#include <apsched/error.hpp>
#include <apsched/executor.hpp>

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>

namespace apsched {

/// Runs each job run as a handler posted to an `io_context` (Asio, or Boost.Asio with
/// APSCHED_USE_BOOST_ASIO): jobs run on the threads that run the context, between its other
/// handlers, so they must not block for long. Coroutine jobs of AsioScheduler start here too.
///
/// Runs wait in the executor's own queue, and each posted handler takes the next one, so the
/// executor (and its scheduler) may be destroyed while handlers are still queued in the
/// context: those then find nothing to run. Deviations from the Executor concept, since
/// blocking the context's own thread could deadlock: `shutdown(true)` returns at once and lets
/// the queued runs run when the context gets to them; the destructor drops the runs still
/// queued (each reports job_dropped) and waits only for a run in progress on another thread.
/// The io_context must outlive the executor.
///
/// Thread safety: thread-safe.
class IoContextExecutor {
 public:
  /// An executor posting to `context`.
  explicit IoContextExecutor(detail::net::io_context& context)
      : context_{&context}, state_{std::make_shared<State>()} {}

  IoContextExecutor(IoContextExecutor&&) noexcept = default;
  IoContextExecutor(const IoContextExecutor&) = delete;
  IoContextExecutor& operator=(const IoContextExecutor&) = delete;
  IoContextExecutor& operator=(IoContextExecutor&&) = delete;

  /// Drops the queued runs and waits for a run in progress on another thread.
  /// @pre not called from a run of this executor.
  ~IoContextExecutor() {
    if (state_) {
      std::deque<Work> dropped;
      std::unique_lock lock{state_->mutex};
      state_->stopped = true;
      dropped.swap(state_->queue);
      state_->idle.wait(lock, [this] { return state_->running == 0; });
      lock.unlock();
      // The work items report their runs dropped here, with no lock held.
    }
  }

  /// The context runs are posted to.
  [[nodiscard]] detail::net::io_context& context() const noexcept { return *context_; }

  /// Queues `work` and posts a handler to the context that runs the next queued work item.
  /// @throws ExecutorShutdownError after `shutdown`.
  void submit(Work&& work) {
    {
      std::lock_guard lock{state_->mutex};
      if (state_->stopped) {
        throw ExecutorShutdownError{"IoContextExecutor::submit: the executor is shut down"};
      }
      state_->queue.push_back(std::move(work));
    }
    detail::net::post(*context_, [state = state_] { run_next(*state); });
  }

  /// Stops accepting runs; without `wait`, drops the queued runs (each reports job_dropped).
  /// Returns at once in both cases.
  void shutdown(bool wait) noexcept {
    std::deque<Work> dropped;
    std::lock_guard lock{state_->mutex};
    state_->stopped = true;
    if (!wait) {
      dropped.swap(state_->queue);
    }
    // `dropped` is destroyed after the lock is released (declared first).
  }

  /// Accepts runs again after `shutdown`.
  void start() noexcept {
    std::lock_guard lock{state_->mutex};
    state_->stopped = false;
  }

 private:
  // Shared with the posted handlers, which may run after the executor is gone.
  struct State {
    // Guards the members below.
    std::mutex mutex;
    std::condition_variable idle;
    std::deque<Work> queue;
    int running = 0;
    bool stopped = false;
  };

  static void run_next(State& state) {
    Work work;
    {
      std::lock_guard lock{state.mutex};
      if (state.queue.empty()) {
        return;
      }
      work = std::move(state.queue.front());
      state.queue.pop_front();
      ++state.running;
    }
    work.run();
    {
      std::lock_guard lock{state.mutex};
      --state.running;
    }
    state.idle.notify_all();
  }

  detail::net::io_context* context_;
  std::shared_ptr<State> state_;
};

static_assert(RestartableExecutor<IoContextExecutor>);

}  // namespace apsched
