// SPDX-License-Identifier: MIT
// The run set: a scheduler's live runs (what a run is, the dispatch and the unit of work that
// hand it to an executor), the stop sources that ask them to stop, and the
// deadlines of the ones with a timeout.
#pragma once

#include <apsched/clock.hpp>
#include <apsched/detail/job_body.hpp>
#include <apsched/job.hpp>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

namespace apsched::detail {

/// One run of a job, from its creation by the Dispatcher to its end. Owned by the executor's
/// unit of work (which calls back `owner`), linked into the dispatcher's RunSet while alive.
///
/// Thread safety: not thread-safe (guarded by the scheduler's lock while linked).
template <class Owner>
struct Run {
  Owner* owner;
  std::string job_id;
  BodyRef body;
  TimePoint scheduled;
  TimePoint started;
  std::optional<Duration> timeout;
  std::stop_source stop;
  TimePoint deadline = TimePoint::max();
  std::uint32_t generation = 0;
  unsigned attempt = 1;
  std::uint16_t max_instances = 1;
  std::uint8_t store = 0;
  std::uint8_t executor = 0;
  bool timed_out = false;
  Run* previous = nullptr;
  Run* next = nullptr;
};

/// A run to hand to its executor, with the number of fires folded into it.
///
/// Thread safety: not thread-safe (a plain value).
template <class Owner>
struct Dispatch {
  std::unique_ptr<Run<Owner>> run;
  std::uint64_t folded;
  /// Its fire is recorded claimed: its store records it started (StoreDriver::start_claimed)
  /// before the run goes to its executor.
  bool claimed = false;
};

/// The executor's unit of work for a run: called, it has `owner` execute the run; destroyed
/// without being called (an executor that refused or discarded it), it has `owner` complete the
/// run dropped. Requirements on `Owner`: `execute(std::unique_ptr<Run<Owner>>)` and
/// `complete(std::unique_ptr<Run<Owner>>, JobOutcome, std::optional<TimePoint>,
/// std::exception_ptr)`, accessible to RunWork.
///
/// Thread safety: not thread-safe (one executor thread owns it).
template <class Owner>
class RunWork {
 public:
  /// The work of `run`.
  explicit RunWork(std::unique_ptr<Run<Owner>> run) noexcept : run_{std::move(run)} {}
  RunWork(RunWork&&) noexcept = default;
  RunWork& operator=(RunWork&&) noexcept = default;
  RunWork(const RunWork&) = delete;
  RunWork& operator=(const RunWork&) = delete;
  ~RunWork() {
    if (run_) {
      Owner* owner = run_->owner;
      owner->complete(std::move(run_), JobOutcome::dropped, std::nullopt, nullptr);
    }
  }

  /// Executes the run on the calling thread.
  void operator()() noexcept {
    Owner* owner = run_->owner;
    owner->execute(std::move(run_));
  }

 private:
  std::unique_ptr<Run<Owner>> run_;
};

/// The runs a scheduler has submitted and not seen end, linked through their own `previous`
/// and `next` members (a run is owned by its executor task, not by the set), with what stops
/// them: runs without a timeout share one stop source, stopped all at once at shutdown; a run
/// with a timeout has its own, and its deadline once it starts.
///
/// Requirements on `R`: members `R* previous`, `R* next` (null while unlinked),
/// `std::stop_source stop`, `std::optional<Duration> timeout`, `TimePoint deadline` and
/// `bool timed_out`.
///
/// Thread safety: not thread-safe (guarded by the scheduler's lock).
template <class R>
class RunSet {
 public:
  /// The stop source a new run without a timeout shares with the others.
  [[nodiscard]] const std::stop_source& shared_stop() const noexcept { return shared_stop_; }

  /// Gives the runs of a new start a fresh shared stop source once the last one was used.
  void renew_shared_stop() {
    if (shared_stop_.stop_requested()) {
      shared_stop_ = std::stop_source{};
    }
  }

  /// Links the new run `run` in.
  void add(R& run) noexcept {
    run.next = head_;
    if (head_ != nullptr) {
      head_->previous = &run;
    }
    head_ = &run;
  }

  /// Unlinks `run`, and forgets its deadline.
  void remove(R& run) noexcept {
    (run.previous != nullptr ? run.previous->next : head_) = run.next;
    if (run.next != nullptr) {
      run.next->previous = run.previous;
    }
    run.previous = nullptr;
    run.next = nullptr;
    if (run.timeout) {
      std::erase(timed_, &run);
    }
  }

  /// Unlinks every run (the scheduler is going; runs that end later are freed alone).
  void release_all() noexcept {
    while (head_ != nullptr) {
      R* run = head_;
      head_ = run->next;
      run->previous = nullptr;
      run->next = nullptr;
    }
    timed_.clear();
  }

  /// The stop sources of every run, for a shutdown that does not wait.
  [[nodiscard]] std::vector<std::stop_source> stop_sources() const {
    std::vector<std::stop_source> sources;
    for (const R* run = head_; run != nullptr; run = run->next) {
      sources.push_back(run->stop);
    }
    return sources;
  }

  /// Starts the clock of `run`, which has a timeout: it times out at `deadline`.
  void time(R& run, TimePoint deadline) {
    run.deadline = deadline;
    timed_.push_back(&run);
  }

  /// The earliest deadline of a run not yet timed out, or `next` if it is earlier.
  [[nodiscard]] std::optional<TimePoint> next_deadline(std::optional<TimePoint> next) const {
    for (const R* run : timed_) {
      if (!run->timed_out && (!next || run->deadline < *next)) {
        next = run->deadline;
      }
    }
    return next;
  }

  /// Marks the runs whose deadline is at or before `now` timed out and returns them (each run
  /// once).
  [[nodiscard]] std::vector<R*> expire(TimePoint now) {
    std::vector<R*> expired;
    for (R* run : timed_) {
      if (!run->timed_out && run->deadline <= now) {
        run->timed_out = true;
        expired.push_back(run);
      }
    }
    return expired;
  }

 private:
  R* head_ = nullptr;
  // The runs with a timeout that have started.
  std::vector<R*> timed_;
  std::stop_source shared_stop_;
};

}  // namespace apsched::detail
