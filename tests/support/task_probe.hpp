// SPDX-License-Identifier: MIT
// A task callable that counts how often it ran and whether it was destroyed without running.
#pragma once

#include <apsched/executor.hpp>

#include <atomic>
#include <utility>

namespace apsched::test {

/// What the probes sharing these counts observed. Thread-safe.
struct TaskCounts {
  std::atomic<int> runs{0};
  /// Probes destroyed without having run.
  std::atomic<int> drops{0};
};

/// A callable for Task that records its runs, and its destruction without a run (a drop), in
/// `counts`. A moved-from probe records nothing.
class TaskProbe {
 public:
  explicit TaskProbe(TaskCounts& counts) noexcept : counts_{&counts} {}
  TaskProbe(TaskProbe&& other) noexcept
      : counts_{std::exchange(other.counts_, nullptr)}, ran_{other.ran_} {}
  TaskProbe(const TaskProbe&) = delete;
  TaskProbe& operator=(const TaskProbe&) = delete;
  TaskProbe& operator=(TaskProbe&&) = delete;
  ~TaskProbe() {
    if (counts_ != nullptr && !ran_) {
      counts_->drops.fetch_add(1);
    }
  }

  void operator()() {
    ran_ = true;
    counts_->runs.fetch_add(1);
  }

 private:
  TaskCounts* counts_;
  bool ran_ = false;
};

/// A task running a TaskProbe on `counts`.
inline Task probe_task(TaskCounts& counts) { return Task{TaskProbe{counts}}; }

}  // namespace apsched::test
