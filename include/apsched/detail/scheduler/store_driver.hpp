// SPDX-License-Identifier: MIT
// The store driver: the one room of the core that speaks the durable protocol (the hooks of
// durable_job_store.hpp) to a scheduler's stores; the scheduler asks it in its own words.
#pragma once

#include <apsched/clock.hpp>
#include <apsched/detail/listeners.hpp>
#include <apsched/detail/scheduler/durable_tasks.hpp>
#include <apsched/detail/scheduler/fire_policy.hpp>
#include <apsched/detail/scheduler/job_settings.hpp>
#include <apsched/detail/scheduler/store_set.hpp>
#include <apsched/durable_job_store.hpp>
#include <apsched/error.hpp>
#include <apsched/event.hpp>
#include <apsched/job.hpp>
#include <apsched/job_store.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace apsched::detail {

/// What a durable store records for `plan`'s steps (DurableJobStore requirement 2): a run
/// `submitted` (or `claimed` when it waits to start), a queued run `claimed` (this scheduler has
/// taken it), a skipped fire `skipped`, and the missed and coalesced fire times, counted.
inline void fire_decisions(const FirePlan& plan, std::vector<FireDecision>& fires) {
  fires.clear();
  for (const FireStep& step : plan.steps) {
    switch (step.kind) {
      case FireStep::Kind::run:
        fires.push_back(
            FireDecision{.scheduled = step.scheduled,
                         .state = step.claimed ? FireState::claimed : FireState::submitted});
        break;
      case FireStep::Kind::queue:
        fires.push_back(FireDecision{.scheduled = step.scheduled, .state = FireState::claimed});
        break;
      case FireStep::Kind::skip:
        fires.push_back(FireDecision{.scheduled = step.scheduled, .state = FireState::skipped});
        break;
      case FireStep::Kind::missed:
        fires.push_back(FireDecision{
            .scheduled = step.scheduled, .state = FireState::missed, .runs = step.count});
        break;
      case FireStep::Kind::coalesced:
        fires.push_back(FireDecision{
            .scheduled = step.scheduled, .state = FireState::coalesced, .runs = step.count});
        break;
    }
  }
}

/// How the end of a run of a durable job is to be written (StoreDriver::run_ended).
struct OutcomeWrite {
  /// The store keeps the outcome for the loop's next step, which should come at once.
  bool step_now = false;
  /// The store keeps the outcome for a step by this instant.
  std::optional<TimePoint> write_by;
  /// What the store threw (for a store_error event).
  std::exception_ptr failure;
};

/// The store driver: everything the scheduler core asks of its stores beyond JobStore goes
/// through here, so that this is the one file of the core that knows the durable protocol
/// (durable_job_store.hpp): attaching the task registry, wakers and clocks; batches; the
/// fire history; the stored jobs a store cannot use; and the loop's work with a durable store.
///
/// Words, said once: a *step* is one call of the loop's processing at an instant; it visits
/// each store in a *pass* (take over abandoned fires, then hand out due jobs until none is due
/// or a round of runs is full); a durable store that writes a pass in one transaction calls it
/// a *round* (RoundStore); a *batch* is the user's transaction of job changes
/// (BasicScheduler::batch), during which durable stores are not passed.
///
/// The driver reports what goes wrong as events into the caller's vector (store_error,
/// job_abandoned, store_job_unusable, job_removed), named by store alias.
///
/// Thread safety: not thread-safe (guarded by the scheduler's lock).
template <JobStore... S>
class StoreDriver {
 public:
  /// A fire taken over from a dead scheduler, to run again on the job's record.
  struct Rerun {
    JobRecord& job;
    TimePoint scheduled;
    /// The attempt the fire had; it runs as `attempt + 1` when `started`, else as `attempt`.
    unsigned attempt;
    /// Whether the dead scheduler had started it (else it had only claimed it).
    bool started;
  };

  /// A driver of `stores`, naming them in events by `settings`' aliases, for `listeners`. A
  /// durable store's outcome waits up to `outcome_window` for those of other runs, to be
  /// written with them (zero: at the next step, which is asked for at once).
  StoreDriver(StoreSet<S...>& stores, const JobSettings& settings,
              const ListenerRegistry& listeners, Duration outcome_window)
      : stores_{stores},
        settings_{settings},
        listeners_{listeners},
        outcome_window_{outcome_window} {}

  /// Gives each durable store `tasks`; each store that wakes its scheduler `wake`; each store
  /// that follows a database's clock `now` (when not empty).
  template <class R>
  void connect(const R& tasks, const std::function<void()>& wake,
               const std::function<TimePoint()>& now) {
    stores_.for_each([&](std::size_t index, auto& store) {
      using Store = std::remove_cvref_t<decltype(store)>;
      if constexpr (DurableJobStore<Store>) {
        store.attach(tasks, static_cast<std::uint8_t>(index));
      }
      if constexpr (WakingStore<Store>) {
        store.set_waker(wake);
      }
      if constexpr (DatabaseClockStore<Store>) {
        if (now) {
          store.set_clock(now);
        }
      }
    });
  }

  /// Takes back the wakers given by `connect`, waiting for a wake-up in progress.
  void disconnect() noexcept {
    stores_.for_each([](std::size_t /*index*/, auto& store) {
      if constexpr (WakingStore<std::remove_cvref_t<decltype(store)>>) {
        try {
          store.set_waker(nullptr);
        } catch (...) {  // NOLINT(bugprone-empty-catch): stopping a waker does not fail
        }
      }
    });
  }

  /// Tells the durable stores that the task `name` is registered now.
  void task_registered(const std::string& name) {
    stores_.for_each_durable([&](std::size_t, auto& store) { store.task_registered(name); });
  }

  /// Whether a batch is open.
  [[nodiscard]] bool batching() const noexcept { return batching_; }

  /// Opens a batch in every durable store (all or none).
  /// @throws InvalidArgumentError if one is open; what a store throws.
  void begin_batch() {
    if (batching_) {
      throw InvalidArgumentError{"batch: a batch is already open; expected batches one at a time"};
    }
    std::size_t begun = 0;
    try {
      stores_.for_each_durable([&](std::size_t, auto& store) {
        store.begin_batch();
        ++begun;
      });
    } catch (...) {
      std::size_t rolled_back = 0;
      stores_.for_each_durable([&](std::size_t, auto& store) {
        if (rolled_back++ < begun) {
          store.rollback_batch();
        }
      });
      throw;
    }
    batching_ = true;
  }

  /// Commits (or rolls back) the open batch of every durable store; a store that fails to
  /// commit makes the others roll back. Returns that store's error.
  std::exception_ptr end_batch(bool commit) {
    std::exception_ptr failure;
    stores_.for_each_durable([&](std::size_t, auto& store) {
      if (commit && !failure) {
        try {
          store.commit_batch();
          return;
        } catch (...) {
          failure = std::current_exception();
        }
      }
      store.rollback_batch();
    });
    batching_ = false;
    return failure;
  }

  /// The recorded fires of the job `id`, newest first, at most `limit`, from every store that
  /// keeps a fire history.
  /// @throws StoreError if a store fails to read its history.
  [[nodiscard]] std::vector<FireRecord> fire_history(std::string_view id, std::size_t limit) const {
    std::vector<FireRecord> history;
    stores_.for_each([&](std::size_t /*index*/, const auto& store) {
      if constexpr (FireHistoryStore<std::remove_cvref_t<decltype(store)>>) {
        std::vector<FireRecord> part = store.fire_history(id, limit);
        history.insert(history.end(), std::make_move_iterator(part.begin()),
                       std::make_move_iterator(part.end()));
      }
    });
    std::stable_sort(history.begin(), history.end(), [](const FireRecord& a, const FireRecord& b) {
      return a.scheduled > b.scheduled;
    });
    if (history.size() > limit) {
      history.resize(limit);
    }
    return history;
  }

  /// Deletes the job `id` that a durable store keeps but cannot use (store_job_unusable), if
  /// one does; returns that store's index.
  std::optional<std::size_t> erase_unusable(std::string_view id) {
    std::optional<std::size_t> erased;
    stores_.for_each_durable([&](std::size_t index, auto& store) {
      if (!erased && store.erase(id)) {
        erased = index;
      }
    });
    return erased;
  }

  /// The job `id` as store `index` holds it in memory (null if not held): a job with a run
  /// outstanding or queued is. A durable store's database is not read, since it may be
  /// unreachable when a run ends.
  JobRecord* find_held(std::size_t index, std::string_view id) noexcept {
    JobRecord* job = nullptr;
    try {
      stores_.with(index, [&](auto& store) {
        if constexpr (CachedRecordStore<std::remove_cvref_t<decltype(store)>>) {
          job = store.find_cached(id);
        } else {
          job = store.find(id);
        }
      });
    } catch (...) {  // NOLINT(bugprone-empty-catch): out of memory hashing the id: not held
      job = nullptr;
    }
    return job;
  }

  /// Puts `record` in place of the job store `index` holds under its id (ConflictPolicy::
  /// replace), keeping what the job did (counters, history, runs in flight). A durable store
  /// does it in one write, keeping the schedule too when the trigger is unchanged and
  /// `keep_schedule`; any other store has the record it holds changed in place. Returns the
  /// record held, or null when the store could not hand it out (a durable store reports why).
  JobRecord* replace(std::size_t index, JobRecord&& record, bool keep_schedule) {
    JobRecord* held = nullptr;
    stores_.with(index, [&](auto& store) {
      if constexpr (DurableJobStore<std::remove_cvref_t<decltype(store)>>) {
        held = store.replace(std::move(record), keep_schedule);
      } else {
        held = StoreSet<S...>::replace_in_place(store, std::move(record));
      }
    });
    return held;
  }

  /// When the stores next want the loop, as of `now` (StoreSet::next_due), or the outcomes
  /// kept for a step are due to be written, if sooner.
  [[nodiscard]] std::optional<TimePoint> next_due(TimePoint now, bool starved) const {
    std::optional<TimePoint> next = stores_.next_due(now, batching_, starved);
    if (outcomes_due_ && (!next || *outcomes_due_ < *next)) {
      next = outcomes_due_;
    }
    return next;
  }

  /// A run of the job `id` (its record `job`, null if gone or replaced) of store `index`,
  /// scheduled at `scheduled`, ended with `outcome` (`error` when it threw) at `now`. A durable
  /// store records it: a store that defers outcomes keeps it for a step (unless the job reruns
  /// abandoned fires: then a run that returned runs again only if its process dies during this
  /// write), any other writes it now.
  OutcomeWrite run_ended(std::size_t index, std::string_view id, const JobRecord* job,
                         TimePoint scheduled, JobOutcome outcome, const std::exception_ptr& error,
                         TimePoint now) noexcept {
    OutcomeWrite write;
    if (!stores_.durable(index)) {
      return write;
    }
    const FireState state = outcome == JobOutcome::success ? FireState::succeeded
                            : outcome == JobOutcome::error ? FireState::failed
                                                           : FireState::dropped;
    bool deferred = false;
    stores_.with(index, [&](auto& store) {
      if constexpr (DeferredOutcomeStore<std::remove_cvref_t<decltype(store)>>) {
        if (job != nullptr && job->abandoned == Abandoned::rerun) {
          return;
        }
        deferred = true;
        try {
          if (store.defer_outcome(id, job, scheduled, state,
                                  error ? describe(error) : std::string{})) {
            if (outcome_window_ == Duration::zero()) {
              write.step_now = true;
            } else {
              const TimePoint due = now + outcome_window_;
              if (!outcomes_due_ || due < *outcomes_due_) {
                outcomes_due_ = due;
              }
              write.write_by = due;
            }
          }
        } catch (...) {
          write.failure = std::current_exception();
        }
      }
    });
    if (!deferred) {
      write.failure =
          record_outcome(index, id, job, scheduled, state, error ? describe(error) : std::string{});
    }
    return write;
  }

  /// Has durable store `index` record how a fire it recorded submitted or claimed ended.
  /// Returns what the store threw.
  std::exception_ptr record_outcome(std::size_t index, std::string_view id, const JobRecord* job,
                                    TimePoint scheduled, FireState state,
                                    std::string_view error) noexcept {
    std::exception_ptr failure;
    stores_.with(index, [&](auto& store) {
      if constexpr (DurableJobStore<std::remove_cvref_t<decltype(store)>>) {
        try {
          store.record_outcome(id, job, scheduled, state, error);
        } catch (...) {
          failure = std::current_exception();
        }
      }
    });
    return failure;
  }

  /// Writes the outcomes the stores keep for a step; a store that fails is reported into
  /// `events` (its outcomes are tried again).
  void write_outcomes(TimePoint now, std::vector<Event>& events) noexcept {
    outcomes_due_.reset();
    stores_.for_each([&](std::size_t index, auto& store) {
      if constexpr (DeferredOutcomeStore<std::remove_cvref_t<decltype(store)>>) {
        try {
          store.flush_outcomes();
        } catch (...) {
          report_error(index, now, std::current_exception(), events);
        }
      }
    });
  }

  /// Whether store `index` is passed at `now`: it is not backing off after a failure, nor a
  /// durable one during a batch.
  [[nodiscard]] bool passable(std::size_t index, TimePoint now) const noexcept {
    return !stores_.backing_off(index, now) && !(stores_.durable(index) && batching_);
  }

  /// The pass over `store` (index `index`) begins: the fires it found abandoned by dead
  /// schedulers are reported (job_abandoned), and `rerun(Rerun)` is called for each fire it took
  /// over, on the job's record, in order (outside max_instances when it had started: the dead
  /// run no longer counts). A fire whose job is gone is recorded dropped; one whose job cannot
  /// be read now (the store fails: reported) waits, with the ones after it, for the next pass.
  template <class Store, class F>
  void take_over(std::size_t index, Store& store, TimePoint now, std::vector<Event>& events,
                 F&& rerun) {
    if constexpr (AbandonedFireSource<Store>) {
      for (AbandonedFire& fire : store.take_abandoned()) {
        if (fire.started && listeners_.wants(EventType::job_abandoned)) {
          events.push_back(Event{.type = EventType::job_abandoned,
                                 .time = now,
                                 .job_id = fire.job_id,
                                 .store = settings_.store_alias(index),
                                 .scheduled_run_time = fire.scheduled,
                                 .runs = fire.rerun ? 1U : 0U,
                                 .attempt = fire.attempt});
        }
        if (fire.rerun) {
          reruns_.emplace_back(index, std::move(fire));
        }
      }
      try {
        for (auto& [store_index, fire] : reruns_) {
          if (store_index != index) {
            continue;
          }
          // A job's last fire: the job is no longer listed, and the store holds its record.
          if (JobRecord* job =
                  fire.last_fire ? find_held(index, fire.job_id) : store.find(fire.job_id)) {
            rerun(Rerun{*job, fire.scheduled, fire.attempt, fire.started});
          } else if (std::exception_ptr failure =
                         record_outcome(index, fire.job_id, nullptr, fire.scheduled,
                                        FireState::dropped, "the job no longer exists")) {
            report_error(index, now, std::move(failure), events);
          }
          store_index = sizeof...(S);  // handled: erased below
        }
      } catch (...) {
        report_error(index, now, std::current_exception(), events);
      }
      std::erase_if(reruns_, [](const auto& entry) { return entry.first == sizeof...(S); });
    }
  }

  /// The pass over `store` hands out due jobs from here on; a RoundStore opens its round, so
  /// that the pass's writes commit before any of its fires runs.
  template <class Store>
  void begin_handout(Store& store) {
    if constexpr (RoundStore<Store>) {
      round_changes_.clear();
      store.begin_round();
      in_round_ = true;
    }
  }

  /// The pass over `store` ends well: a RoundStore commits its round.
  /// @throws what the store throws (then call `abort_pass`).
  template <class Store>
  void end_pass(Store& store) {
    if constexpr (RoundStore<Store>) {
      in_round_ = false;
      store.end_round();
    }
  }

  /// The pass over `store` failed: a RoundStore rolls its round back, and the jobs the round
  /// changed in memory get back their counts of runs and queued runs. Returns whether the
  /// caller is to undo the runs and events decided since `begin_handout` (a RoundStore's
  /// writes are gone; any other store's stay).
  template <class Store>
  bool abort_pass(Store& store) noexcept {
    if constexpr (RoundStore<Store>) {
      if (in_round_) {
        in_round_ = false;
        store.abort_round();
      }
      for (const RoundChange& change : round_changes_) {
        change.job->running = static_cast<std::uint16_t>(change.job->running - change.dispatched);
        if (change.job->extras && change.job->extras->queued_runs.size() > change.queued_mark) {
          change.job->extras->queued_runs.resize(change.queued_mark);
        }
      }
      round_changes_.clear();
      return true;
    } else {
      return false;
    }
  }

  /// Has durable `store` record, in one transaction, the fires `plan` decided for the due `job`
  /// (which started `dispatched` runs and had `queued_mark` queued runs before) and the job's
  /// new state, or its removal with `remove`. Returns false when the store refused (another
  /// scheduler processed or changed the job meanwhile): nothing was recorded, and the caller
  /// undoes the plan's runs, queued runs and events.
  /// @throws what the store throws (nothing was recorded either).
  template <class Store>
  bool commit(JobRecord& job, Store& store, const FirePlan& plan, bool remove,
              std::uint16_t dispatched, std::size_t queued_mark) {
    fire_decisions(plan, fires_);
    // The store keeps `running` through a refused commit: hand it the count before this step.
    job.running = static_cast<std::uint16_t>(job.running - dispatched);
    if (!store.commit_due(job, std::span<const FireDecision>{fires_}, remove)) {
      return false;
    }
    if (!remove) {
      job.running = static_cast<std::uint16_t>(job.running + dispatched);
      if constexpr (RoundStore<Store>) {
        const std::size_t queued = job.extras ? job.extras->queued_runs.size() : 0;
        if (dispatched > 0 || queued > queued_mark) {
          // Kept, should the round roll back: the record stays (it is not idle).
          round_changes_.push_back(RoundChange{&job, dispatched, queued_mark});
        }
      }
    }
    return true;
  }

  /// Reports the stored jobs `store` found it cannot use (store_job_unusable).
  template <class Store>
  void take_reports(std::size_t index, Store& store, TimePoint now, std::vector<Event>& events) {
    if constexpr (DurableJobStore<Store>) {
      std::vector<StoreReport> reports;
      try {
        reports = store.take_reports();
      } catch (...) {
        return;  // out of memory: the reports come with the next step
      }
      if (!listeners_.wants(EventType::store_job_unusable)) {
        return;
      }
      for (StoreReport& report : reports) {
        events.push_back(Event{.type = EventType::store_job_unusable,
                               .time = now,
                               .job_id = std::move(report.job_id),
                               .store = settings_.store_alias(index),
                               .exception = std::make_exception_ptr(StoreError{report.message})});
      }
    }
  }

  /// Has durable store `index` record started the fires of `claims`, which it recorded claimed
  /// and which now have a free worker; returns one verdict per claim (DurableJobStore
  /// requirement 10), or empty when the store failed: it backs off, reported into `events`.
  std::optional<std::vector<ClaimVerdict>> start_claimed(std::size_t index,
                                                         std::span<const ClaimedFire> claims,
                                                         TimePoint now,
                                                         std::vector<Event>& events) {
    std::optional<std::vector<ClaimVerdict>> verdicts;
    stores_.with(index, [&](auto& store) {
      if constexpr (DurableJobStore<std::remove_cvref_t<decltype(store)>>) {
        try {
          verdicts = store.start_claimed(claims);
        } catch (...) {
          stores_.back_off(index, now);
          report_error(index, now, std::current_exception(), events);
        }
      }
    });
    return verdicts;
  }

  /// Adds a store_error event for store `index` to `events`, if a listener wants it.
  void report_error(std::size_t index, TimePoint now, std::exception_ptr error,
                    std::vector<Event>& events) const noexcept {
    if (listeners_.wants(EventType::store_error)) {
      try {
        events.push_back(Event{.type = EventType::store_error,
                               .time = now,
                               .store = settings_.store_alias(index),
                               .exception = std::move(error)});
      } catch (...) {  // NOLINT(bugprone-empty-catch): out of memory building the event
      }
    }
  }

 private:
  // A job a round changed in memory: undone if the round rolls back.
  struct RoundChange {
    JobRecord* job;
    std::uint16_t dispatched;
    std::size_t queued_mark;
  };

  StoreSet<S...>& stores_;
  const JobSettings& settings_;
  const ListenerRegistry& listeners_;
  Duration outcome_window_;
  // A batch is open: durable stores are not passed.
  bool batching_ = false;
  // A RoundStore's round is open.
  bool in_round_ = false;
  // When the outcomes kept for a step are to be written, if any are kept.
  std::optional<TimePoint> outcomes_due_;
  // Fires durable stores took over from dead schedulers to run again, by store index, not yet
  // run: the store failed reading the job (take_over tries again next pass).
  std::vector<std::pair<std::size_t, AbandonedFire>> reruns_;
  std::vector<RoundChange> round_changes_;
  // The fires decided for the durable job being committed.
  std::vector<FireDecision> fires_;
};

}  // namespace apsched::detail
