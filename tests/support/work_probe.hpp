// SPDX-License-Identifier: MIT
// A callable for Work that counts how often it ran and whether it was destroyed without running.
#pragma once

#include <apsched/executor.hpp>

#include <atomic>
#include <utility>

namespace apsched::test {

/// What the probes sharing these counts observed. Thread-safe.
struct WorkCounts {
  std::atomic<int> runs{0};
  /// Probes destroyed without having run.
  std::atomic<int> drops{0};
};

/// A callable for Work that records its runs, and its destruction without a run (a drop), in
/// `counts`. A moved-from probe records nothing.
class WorkProbe {
 public:
  explicit WorkProbe(WorkCounts& counts) noexcept : counts_{&counts} {}
  WorkProbe(WorkProbe&& other) noexcept
      : counts_{std::exchange(other.counts_, nullptr)}, ran_{other.ran_} {}
  WorkProbe(const WorkProbe&) = delete;
  WorkProbe& operator=(const WorkProbe&) = delete;
  WorkProbe& operator=(WorkProbe&&) = delete;
  ~WorkProbe() {
    if (counts_ != nullptr && !ran_) {
      counts_->drops.fetch_add(1);
    }
  }

  void operator()() {
    ran_ = true;
    counts_->runs.fetch_add(1);
  }

 private:
  WorkCounts* counts_;
  bool ran_ = false;
};

/// Work running a WorkProbe on `counts`.
inline Work probe_work(WorkCounts& counts) { return Work{WorkProbe{counts}}; }

}  // namespace apsched::test
