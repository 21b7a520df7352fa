// SPDX-License-Identifier: MIT
// ThreadPoolExecutor: runs jobs on a fixed number of worker threads.
#pragma once

#include <apsched/error.hpp>
#include <apsched/executor.hpp>

#include <fmt/core.h>

#include <algorithm>
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
  explicit ThreadPoolExecutor(std::size_t workers) : size_{workers} {
    if (workers == 0) {
      throw InvalidArgumentError{
          "ThreadPoolExecutor: workers is 0; expected at least one worker thread"};
    }
  }

  /// Moves the configuration (not running threads: a started pool cannot be moved).
  ThreadPoolExecutor(ThreadPoolExecutor&& other) noexcept : size_{other.size_} {}
  ThreadPoolExecutor(const ThreadPoolExecutor&) = delete;
  ThreadPoolExecutor& operator=(const ThreadPoolExecutor&) = delete;
  ThreadPoolExecutor& operator=(ThreadPoolExecutor&&) = delete;

  ~ThreadPoolExecutor() {
    shutdown(false);
    join_all();
  }

  /// Queues `work` for a worker, starting the workers on first use.
  /// @throws ExecutorShutdownError after `shutdown` (until `start`).
  void submit(Work&& work) {
    std::unique_lock lock{mutex_};
    if (state_ == State::stopped) {
      throw ExecutorShutdownError{"ThreadPoolExecutor::submit: the executor is shut down"};
    }
    if (state_ == State::idle) {
      spawn_locked();
    }
    queue_.push_back(std::move(work));
    // Each queued work item has an idle worker signalled for it already while the queue is longer
    // than the idle count; signalling more would only wake workers to find nothing.
    const bool wake = queue_.size() <= idle_workers_;
    lock.unlock();
    if (wake) {
      ready_.notify_one();
    }
  }

  /// Starts the workers; after `shutdown`, first waits for the old ones to finish. Does nothing
  /// on a running pool.
  void start() {
    {
      std::lock_guard lock{mutex_};
      if (state_ == State::running) {
        return;
      }
    }
    join_all();
    std::lock_guard lock{mutex_};
    if (state_ != State::running) {
      spawn_locked();
    }
  }

  /// See Executor: `wait == true` lets the queue drain and joins the workers (except the calling
  /// thread when it is a worker); `wait == false` destroys the queued work items and returns at
  /// once.
  void shutdown(bool wait) {
    std::deque<Work> dropped;
    {
      std::lock_guard lock{mutex_};
      if (state_ == State::stopped) {
        return;
      }
      state_ = State::stopped;
      if (!wait) {
        dropped.swap(queue_);
        discard_.store(true, std::memory_order_release);
      }
    }
    ready_.notify_all();
    dropped.clear();  // outside the lock: a dropped work item reports itself to the scheduler
    if (wait) {
      join_all();
    }
  }

  /// The number of worker threads.
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

  /// See Executor, requirement 5: the workers neither running nor holding a work item, less the
  /// queued work items (all of them while the pool has not started or is shut down).
  [[nodiscard]] std::size_t available() {
    std::lock_guard lock{mutex_};
    if (state_ != State::running) {
      return size_;
    }
    const std::size_t taken = in_hand_ + queue_.size();
    return taken < size_ ? size_ - taken : 0;
  }

 private:
  enum class State { idle, running, stopped };

  void spawn_locked() {
    state_ = State::running;
    discard_.store(false, std::memory_order_release);
    workers_.reserve(size_);
    for (std::size_t i = 0; i < size_; ++i) {
      workers_.emplace_back([this] { work(); });
    }
  }

  void work() {
    std::vector<Work> taken;
    for (;;) {
      {
        std::unique_lock lock{mutex_};
        ++idle_workers_;
        ready_.wait(lock, [this] { return !queue_.empty() || state_ == State::stopped; });
        --idle_workers_;
        if (queue_.empty()) {
          return;
        }
        // Under a long queue a worker takes its share of up to 32 work items per lock, which keeps
        // the lock from being handed over once per work item; a short queue is spread one by one.
        const std::size_t take = std::clamp<std::size_t>(queue_.size() / (2 * size_), 1, 32);
        for (std::size_t i = 0; i < take; ++i) {
          taken.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
        in_hand_ += take;
      }
      for (Work& work : taken) {
        // After shutdown(false) the rest of what it took is dropped like the queue.
        if (discard_.load(std::memory_order_acquire)) {
          break;
        }
        work.run();
        std::lock_guard lock{mutex_};
        --in_hand_;
      }
      {
        std::lock_guard lock{mutex_};
        in_hand_ -= static_cast<std::size_t>(std::count_if(
            taken.begin(), taken.end(), [](const Work& work) { return static_cast<bool>(work); }));
      }
      taken.clear();
    }
  }

  void join_all() {
    const auto self = std::this_thread::get_id();
    std::vector<std::jthread> workers;
    {
      std::lock_guard lock{mutex_};
      workers.swap(workers_);
      // A worker that shuts its own pool down cannot join itself: it stays for a later join (the
      // destructor's, on another thread).
      const auto own = std::find_if(workers.begin(), workers.end(),
                                    [self](const std::jthread& w) { return w.get_id() == self; });
      if (own != workers.end()) {
        workers_.push_back(std::move(*own));
        workers.erase(own);
      }
    }
    for (std::jthread& worker : workers) {
      worker.join();
    }
  }

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
