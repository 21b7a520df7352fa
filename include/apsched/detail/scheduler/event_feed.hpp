// SPDX-License-Identifier: MIT
// The event feed: the events a scheduler emits about itself, its jobs and their runs, each built
// only when a listener wants its type.
#pragma once

#include <apsched/clock.hpp>
#include <apsched/event.hpp>
#include <apsched/job.hpp>

#include <apsched/detail/listeners.hpp>
#include <apsched/detail/scheduler/job_settings.hpp>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace apsched::detail {

/// Emits a scheduler's events to `listeners`, stamped with the scheduler's time (the clock's now
/// plus the offset of `stores`, see StoreSet::clock_offset) and naming stores by their aliases in
/// `settings`. An event nobody listens to is not built.
///
/// Requirements: `C` models Clock; `Stores` has `Duration clock_offset() const noexcept`; a run
/// `R` has `job_id`, `store`, `scheduled` and `attempt` (see Run).
///
/// Thread safety: thread-safe (as ListenerRegistry; listeners run on the calling thread, which
/// must hold no scheduler lock).
template <class C, class Stores>
class EventFeed {
 public:
  /// A feed over the given parts of a scheduler, which outlive it.
  EventFeed(const C& clock, const Stores& stores, const JobSettings& settings,
            const ListenerRegistry& listeners) noexcept
      : clock_{&clock}, stores_{&stores}, settings_{&settings}, listeners_{&listeners} {}

  /// The scheduler's time.
  [[nodiscard]] TimePoint now() const { return clock_->now() + stores_->clock_offset(); }

  /// An event about the scheduler (started, paused, resumed, shut down).
  void scheduler(EventType type) const {
    if (listeners_->wants(type)) {
      listeners_->emit(Event{.type = type, .time = now()});
    }
  }

  /// An event about the job `id` of store `store`.
  void job(EventType type, std::string_view id, std::size_t store) const {
    if (listeners_->wants(type)) {
      listeners_->emit(Event{.type = type,
                             .time = now(),
                             .job_id = std::string{id},
                             .store = settings_->store_alias(store)});
    }
  }

  /// all_jobs_removed, for the store with alias `store` (empty: every store).
  void all_removed(std::string_view store) const {
    if (listeners_->wants(EventType::all_jobs_removed)) {
      listeners_->emit(
          Event{.type = EventType::all_jobs_removed, .time = now(), .store = std::string{store}});
    }
  }

  /// job_submitted, for `run` with `folded` fires folded into it.
  template <class R>
  void submitted(const R& run, std::uint64_t folded) const {
    if (listeners_->wants(EventType::job_submitted)) {
      Event event = run_event(EventType::job_submitted, now(), run);
      event.runs = folded;
      listeners_->emit(event);
    }
  }

  /// job_started, for `run` started at `started`.
  template <class R>
  void started(const R& run, TimePoint started) const {
    if (listeners_->wants(EventType::job_started)) {
      Event event = run_event(EventType::job_started, started, run);
      event.started_at = started;
      listeners_->emit(event);
    }
  }

  /// The last event of `run`: job_executed, job_error or job_dropped by `outcome`. Never
  /// throws: a run ends all the same when its event cannot be built (out of memory).
  template <class R>
  void ended(const R& run, JobOutcome outcome, std::optional<TimePoint> started,
             std::exception_ptr error) const noexcept {
    const EventType type = outcome == JobOutcome::success ? EventType::job_executed
                           : outcome == JobOutcome::error ? EventType::job_error
                                                          : EventType::job_dropped;
    if (listeners_->wants(type)) {
      try {
        Event event = run_event(type, now(), run);
        event.started_at = started;
        event.exception = std::move(error);
        listeners_->emit(event);
      } catch (...) {  // NOLINT(bugprone-empty-catch): out of memory building the event
      }
    }
  }

  /// store_error, for `failure` of store `store`. Never throws (as `ended`).
  void store_error(std::size_t store, std::exception_ptr failure) const noexcept {
    if (failure && listeners_->wants(EventType::store_error)) {
      try {
        listeners_->emit(Event{.type = EventType::store_error,
                               .time = now(),
                               .store = settings_->store_alias(store),
                               .exception = std::move(failure)});
      } catch (...) {  // NOLINT(bugprone-empty-catch): out of memory building the event
      }
    }
  }

  /// executor_error, for the exception being handled (an executor refused a run).
  void executor_error() const {
    if (listeners_->wants(EventType::executor_error)) {
      listeners_->emit(Event{
          .type = EventType::executor_error, .time = now(), .exception = std::current_exception()});
    }
  }

 private:
  template <class R>
  [[nodiscard]] Event run_event(EventType type, TimePoint time, const R& run) const {
    return Event{.type = type,
                 .time = time,
                 .job_id = run.job_id,
                 .store = settings_->store_alias(run.store),
                 .scheduled_run_time = run.scheduled,
                 .attempt = run.attempt};
  }

  const C* clock_;
  const Stores* stores_;
  const JobSettings* settings_;
  const ListenerRegistry* listeners_;
};

}  // namespace apsched::detail
