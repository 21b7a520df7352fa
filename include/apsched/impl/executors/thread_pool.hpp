// SPDX-License-Identifier: MIT
// The definitions of ThreadPoolExecutor's members. executors/thread_pool.hpp includes this in
// header-only mode; in the compiled mode the apsched::compiled library holds them.
#pragma once

#include <apsched/config.hpp>
#include <apsched/error.hpp>
#include <apsched/executors/thread_pool.hpp>

#include <algorithm>
#include <cstddef>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

namespace apsched {

APSCHED_INLINE ThreadPoolExecutor::ThreadPoolExecutor(std::size_t workers) : size_{workers} {
  if (workers == 0) {
    throw InvalidArgumentError{
        "ThreadPoolExecutor: workers is 0; expected at least one worker thread"};
  }
}

APSCHED_INLINE ThreadPoolExecutor::~ThreadPoolExecutor() {
  shutdown(false);
  join_all();
}

APSCHED_INLINE void ThreadPoolExecutor::submit(Work&& work) {
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

APSCHED_INLINE void ThreadPoolExecutor::start() {
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

APSCHED_INLINE void ThreadPoolExecutor::shutdown(bool wait) {
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

APSCHED_INLINE std::size_t ThreadPoolExecutor::available() {
  std::lock_guard lock{mutex_};
  if (state_ != State::running) {
    return size_;
  }
  const std::size_t taken = in_hand_ + queue_.size();
  return taken < size_ ? size_ - taken : 0;
}

APSCHED_INLINE void ThreadPoolExecutor::spawn_locked() {
  state_ = State::running;
  discard_.store(false, std::memory_order_release);
  workers_.reserve(size_);
  for (std::size_t i = 0; i < size_; ++i) {
    workers_.emplace_back([this] { work(); });
  }
}

APSCHED_INLINE void ThreadPoolExecutor::work() {
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

APSCHED_INLINE void ThreadPoolExecutor::join_all() {
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

}  // namespace apsched
