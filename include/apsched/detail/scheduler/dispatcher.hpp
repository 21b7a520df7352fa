// SPDX-License-Identifier: MIT
// The dispatcher: a step's work under the scheduler's lock, from due jobs to the runs to hand to
// executors, through the fire policy and the store driver; and the bookkeeping of runs that end.
#pragma once

#include <apsched/clock.hpp>
#include <apsched/detail/executor_room.hpp>
#include <apsched/detail/hash.hpp>
#include <apsched/detail/job_body.hpp>
#include <apsched/detail/listeners.hpp>
#include <apsched/detail/scheduler/fire_policy.hpp>
#include <apsched/detail/scheduler/job_settings.hpp>
#include <apsched/detail/scheduler/run_set.hpp>
#include <apsched/detail/scheduler/store_driver.hpp>
#include <apsched/detail/scheduler/store_set.hpp>
#include <apsched/durable_job_store.hpp>
#include <apsched/event.hpp>
#include <apsched/job.hpp>
#include <apsched/job_store.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace apsched::detail {

/// The dispatcher: owns the scheduler's live runs (RunSet), the room of its `N` executors, the
/// runs waiting to start and the jobs whose queued runs may go. Under the scheduler's lock, a
/// step asks it to turn what is due into Dispatches (`begin_step`, then `collect_due` and
/// `start_claimed` a round at a time), which the scheduler hands to executors outside the lock;
/// a run that ends is accounted here (`run_ended`). Decisions come from the fire policy, the
/// stores are spoken to through the store driver, and what happens is reported as events into
/// the caller's vector.
///
/// Thread safety: not thread-safe (guarded by the scheduler's lock).
template <class Owner, std::size_t N, JobStore... S>
class Dispatcher {
 public:
  using Run = detail::Run<Owner>;
  using Dispatch = detail::Dispatch<Owner>;
  using Room = ExecutorRoom<N>;
  using Ending = FireEnding;

  /// Runs decided under the lock per round, so other callers are not held up for long when very
  /// many jobs are due at once.
  static constexpr std::size_t round_size = 1024;

  /// A dispatcher of runs whose work calls back `owner`, over `stores` and their `driver`, with
  /// `settings`' aliases and the jitter of `random`. A run handed to an executor beyond its free
  /// workers may wait `start_window` to start (see ExecutorRoom).
  Dispatcher(Owner* owner, StoreSet<S...>& stores, StoreDriver<S...>& driver,
             const JobSettings& settings, const ListenerRegistry& listeners, SplitMix64& random,
             Duration start_window)
      : owner_{owner},
        stores_{stores},
        driver_{driver},
        settings_{settings},
        listeners_{listeners},
        random_{random},
        room_{start_window, round_size} {}

  /// The live runs.
  [[nodiscard]] RunSet<Run>& runs() noexcept { return runs_; }
  [[nodiscard]] const RunSet<Run>& runs() const noexcept { return runs_; }

  /// Whether the last step left due jobs of a durable store unclaimed for want of room.
  [[nodiscard]] bool starved() const noexcept { return starved_; }
  /// Whether runs wait to start (recorded claimed).
  [[nodiscard]] bool waiting() const noexcept { return !waiting_.empty(); }
  /// Whether jobs have queued runs that may go now (a step is due at once).
  [[nodiscard]] bool queues_pending() const noexcept { return !pending_queues_.empty(); }

  /// Sets the room of each executor for the runs to come, from the free workers each `reported`
  /// (ExecutorRoom::unlimited for one that does not say) at `now`.
  void measure_room(const std::array<std::size_t, N>& reported, TimePoint now) {
    room_.measure(reported, now);
  }

  /// Lets every waiting run start (shutdown with wait).
  void open_room() noexcept { room_.open(); }

  /// The first round of a step at `now`, with the executors' room `reported`: the runs past
  /// their timeout are to be stopped (`to_stop`, job_timeout), and the queued runs of jobs
  /// whose run ended go.
  void begin_step(TimePoint now, const std::array<std::size_t, N>& reported,
                  std::vector<Dispatch>& dispatches, std::vector<Event>& events,
                  std::vector<std::stop_source>& to_stop) {
    starved_ = false;
    measure_room(reported, now);
    expire_timeouts(now, events, to_stop);
    if (!pending_queues_.empty()) {
      drain_queues(now, dispatches, events);
    }
  }

  /// What became of a run that ended (`run_ended`).
  struct Ended {
    /// Its job's record (null when the job is gone or was replaced).
    JobRecord* job = nullptr;
    /// The loop is to step at once: queued runs may go, or a worker is free for waiting runs.
    bool wake = false;
  };

  /// Accounts for the end of `run` with `outcome` (it started at `started`, if it did): it
  /// leaves the run set and gives back its executor's room; its job counts the run. Unless
  /// the scheduler `stopped`, the job's queued runs may go.
  Ended run_ended(Run& run, JobOutcome outcome, std::optional<TimePoint> started, bool stopped) {
    Ended ended;
    runs_.remove(run);
    room_.run_ended(run.executor);
    JobRecord* job = driver_.find_held(run.store, run.job_id);
    if (job != nullptr && job->generation == run.generation) {
      --job->running;
      job->last_outcome = outcome;
      if (started) {
        ++job->run_count;
        job->failure_count += outcome == JobOutcome::error ? 1U : 0U;
        job->last_run = std::max(job->last_run, *started);
      }
      if (job->extras && !job->extras->queued_runs.empty() && !stopped) {
        pending_queues_.push_back(job->id);
        ended.wake = true;
      }
      ended.job = job;
    }
    // A worker is free: the loop starts the next waiting run, or claims due jobs, now.
    ended.wake = ended.wake || ((starved_ || !waiting_.empty()) && !stopped);
    return ended;
  }

  /// Offers one run of `job` (of store `index`) for `now`, outside its schedule (run_job_now);
  /// a durable store records it in one transaction with the decision. Returns whether a run
  /// was decided.
  /// @throws what the store throws.
  bool run_now(JobRecord& job, std::size_t index, TimePoint now, std::vector<Dispatch>& dispatches,
               std::vector<Event>& events) {
    const std::size_t before = dispatches.size();
    stores_.with(index, [&](auto& store) {
      if constexpr (DurableJobStore<std::remove_cvref_t<decltype(store)>>) {
        // Recorded in the fire history like any run, keyed by now as its scheduled time.
        commit_durable(job, store, now, dispatches, events, [&] {
          offer_run(job, now, true, dispatches, events);
          return Ending::advanced;
        });
      } else {
        offer_run(job, now, false, dispatches, events);
      }
    });
    return dispatches.size() > before;
  }

  /// Passes over the stores (see StoreDriver): handles due jobs until none is due at
  /// `now` or a round is full; returns whether to go on.
  bool collect_due(TimePoint now, std::vector<Dispatch>& dispatches, std::vector<Event>& events) {
    bool full = false;
    stores_.for_each([&](std::size_t index, auto& store) {
      if (!driver_.passable(index, now)) {
        return;
      }
      constexpr bool durable = DurableJobStore<std::remove_cvref_t<decltype(store)>>;
      std::size_t dispatches_mark = dispatches.size();
      std::size_t events_mark = events.size();
      try {
        driver_.take_over(index, store, now, events, [&](const auto& fire) {
          rerun(fire.job, fire.scheduled, fire.attempt, fire.started, dispatches);
        });
        dispatches_mark = dispatches.size();
        events_mark = events.size();
        driver_.begin_handout(store);
        while (!full) {
          if (durable && room_.none()) {
            // Every executor is busy: the due jobs left stay unclaimed, for other schedulers
            // or for this one's next step, which a run that ends asks for.
            starved_ = true;
            break;
          }
          JobRecord* job = store.first_due(now);
          if (job == nullptr) {
            break;
          }
          if constexpr (durable) {
            commit_durable(*job, store, now, dispatches, events,
                           [&] { return decide(*job, now, true, dispatches, events); });
          } else {
            process_job(*job, store, now, dispatches, events);
          }
          full = dispatches.size() >= round_size || events.size() >= round_size;
        }
        driver_.end_pass(store);
        stores_.answered(index);
      } catch (...) {
        if (driver_.abort_pass(store)) {
          undo_runs(dispatches, dispatches_mark, events, events_mark);
        }
        stores_.back_off(index, now);
        driver_.report_error(index, now, std::current_exception(), events);
      }
      driver_.take_reports(index, store, now, events);
    });
    return full;
  }

  /// Moves the runs of `dispatches` whose fires are recorded claimed to waiting_, then starts the
  /// waiting runs their executors have room for: each durable store records its ones started
  /// (start_claimed, one transaction) before they join `dispatches`. A busy run waits for a later
  /// step; one another scheduler took over (lost) ends here, neither run nor recorded.
  void start_claimed(TimePoint now, std::vector<Dispatch>& dispatches, std::vector<Event>& events) {
    for (Dispatch& dispatch : dispatches) {
      if (dispatch.claimed) {
        waiting_.push_back(std::move(dispatch));
      }
    }
    std::erase_if(dispatches, [](const Dispatch& dispatch) { return !dispatch.run; });
    if (waiting_.empty()) {
      return;
    }
    for (std::size_t index = 0; index < sizeof...(S); ++index) {
      if (!stores_.durable(index) || stores_.backing_off(index, now)) {
        continue;
      }
      std::vector<std::size_t> picked;
      std::vector<ClaimedFire> claims;
      for (std::size_t i = 0; i < waiting_.size(); ++i) {
        const Run& run = *waiting_[i].run;
        if (run.store != index || !room_.take(run.executor)) {
          continue;
        }
        picked.push_back(i);
        claims.push_back(ClaimedFire{run.job_id, run.scheduled, run.max_instances});
      }
      if (claims.empty()) {
        continue;
      }
      const std::optional<std::vector<ClaimVerdict>> verdicts =
          driver_.start_claimed(index, std::span<const ClaimedFire>{claims}, now, events);
      if (!verdicts) {
        continue;
      }
      for (std::size_t k = 0; k < picked.size(); ++k) {
        Dispatch& dispatch = waiting_[picked[k]];
        const ClaimVerdict verdict = k < verdicts->size() ? (*verdicts)[k] : ClaimVerdict::busy;
        if (verdict == ClaimVerdict::started) {
          dispatch.claimed = false;
          dispatches.push_back(std::move(dispatch));
        } else if (verdict == ClaimVerdict::lost) {
          release_run(*dispatch.run, false);
          dispatch.run.reset();
        } else {
          room_.give_back(dispatch.run->executor);
        }
      }
    }
    std::erase_if(waiting_, [](const Dispatch& dispatch) { return !dispatch.run; });
  }

  /// At shutdown: the runs still waiting to start go back to their jobs' queues, their fires
  /// still recorded claimed. A later start runs them; a scheduler that takes over this one's
  /// fires (its store closed, its lease lapsed) runs them instead.
  void requeue_waiting() noexcept {
    for (Dispatch& dispatch : waiting_) {
      release_run(*dispatch.run, true);
    }
    waiting_.clear();
  }

 private:
  // Stops the runs past their deadline at `now` (job_timeout).
  void expire_timeouts(TimePoint now, std::vector<Event>& events,
                       std::vector<std::stop_source>& to_stop) {
    for (Run* run : runs_.expire(now)) {
      to_stop.push_back(run->stop);
      if (listeners_.wants(EventType::job_timeout)) {
        events.push_back(Event{.type = EventType::job_timeout,
                               .time = now,
                               .job_id = run->job_id,
                               .store = settings_.store_alias(run->store),
                               .scheduled_run_time = run->scheduled,
                               .started_at = run->deadline - *run->timeout});
      }
    }
  }

  // Starts the queued runs of the jobs whose run ended, as far as max_instances allows; a
  // queued run past its misfire grace time is missed.
  void drain_queues(TimePoint now, std::vector<Dispatch>& dispatches, std::vector<Event>& events) {
    std::vector<std::string> pending;
    pending.swap(pending_queues_);
    for (const std::string& id : pending) {
      JobRecord* held = nullptr;
      std::size_t store = 0;
      for (; store < sizeof...(S) && held == nullptr; ++store) {
        held = driver_.find_held(store, id);
      }
      if (held == nullptr || !held->extras) {
        continue;
      }
      --store;
      JobRecord& job = *held;
      std::deque<TimePoint>& queue = job.extras->queued_runs;
      // Other schedulers' runs of a durable job are counted when its store starts the run.
      const bool durable = stores_.durable(store);
      while (!queue.empty() &&
             (durable ? job.running < job.max_instances : below_max_instances(job))) {
        const TimePoint scheduled = queue.front();
        queue.pop_front();
        if (late(job, scheduled, now)) {
          report_missed(job, scheduled, 1, now, events);
          if (std::exception_ptr failure =
                  driver_.record_outcome(store, job.id, &job, scheduled, FireState::missed, {})) {
            driver_.report_error(store, now, std::move(failure), events);
          }
        } else {
          // A durable store recorded the queued fire claimed: it starts once recorded started.
          dispatch(job, scheduled, 0, dispatches, 1, durable);
        }
      }
    }
  }

  // Reports `count` missed fire times of `job` from `first` on.
  void report_missed(JobRecord& job, TimePoint first, std::uint64_t count, TimePoint now,
                     std::vector<Event>& events) {
    job.last_outcome = JobOutcome::missed;
    if (listeners_.wants(EventType::job_missed)) {
      events.push_back(Event{.type = EventType::job_missed,
                             .time = now,
                             .job_id = job.id,
                             .store = settings_.store_alias(job.store),
                             .scheduled_run_time = first,
                             .runs = count});
    }
  }

  // Runs again a fire a durable store took over from a dead scheduler (StoreDriver::Rerun):
  // one that had started runs at once as its next attempt (the dead run no longer counts);
  // one only claimed runs as its first owner would have run it, once recorded started, within
  // max_instances (else queued).
  void rerun(JobRecord& job, TimePoint scheduled, unsigned attempt, bool started,
             std::vector<Dispatch>& dispatches) {
    if (started) {
      dispatch(job, scheduled, 0, dispatches, attempt + 1);
    } else if (job.running < job.max_instances) {
      dispatch(job, scheduled, 0, dispatches, attempt, true);
    } else {
      job.extra().queued_runs.push_back(scheduled);
    }
  }

  // Undoes the runs and events decided after the marks (a rolled-back round, a refused commit).
  void undo_runs(std::vector<Dispatch>& dispatches, std::size_t dispatches_mark,
                 std::vector<Event>& events, std::size_t events_mark) noexcept {
    for (std::size_t i = dispatches_mark; i < dispatches.size(); ++i) {
      runs_.remove(*dispatches[i].run);
    }
    dispatches.resize(std::min(dispatches.size(), dispatches_mark));
    events.resize(std::min(events.size(), events_mark));
  }

  // Processes one due job of a store that is not durable: decides its runs and tells the store.
  template <class Store>
  void process_job(JobRecord& job, Store& store, TimePoint now, std::vector<Dispatch>& dispatches,
                   std::vector<Event>& events) {
    const Ending decision = decide(job, now, false, dispatches, events);
    if (decision != Ending::exhausted) {
      store.update(job);
      return;
    }
    const std::string id = job.id;
    const std::uint8_t store_index = job.store;
    store.erase(id);
    report_removed(id, store_index, now, events);
  }

  // Processes one due job of a durable store: decides its runs with `decide` (returning an
  // Ending), then has the store record the fires and the job's new state in one transaction
  // (StoreDriver::commit). If another scheduler processed or changed the job meanwhile, or the
  // store fails (rethrown), the decisions are undone. Returns whether the store committed them.
  template <class Store, class Decide>
  bool commit_durable(JobRecord& job, Store& store, TimePoint now,
                      std::vector<Dispatch>& dispatches, std::vector<Event>& events,
                      Decide decide) {
    const std::size_t dispatches_mark = dispatches.size();
    const std::size_t events_mark = events.size();
    const std::size_t queued_mark = job.extras ? job.extras->queued_runs.size() : 0;
    const Ending decision = decide();
    if (decision == Ending::broken) {
      store.update(job);
      return false;
    }
    const auto dispatched = static_cast<std::uint16_t>(dispatches.size() - dispatches_mark);
    const std::string id = job.id;
    const std::uint8_t store_index = job.store;
    const bool remove = decision == Ending::exhausted;
    bool committed = false;
    std::exception_ptr failure;
    try {
      committed = driver_.commit(job, store, plan_, remove, dispatched, queued_mark);
    } catch (...) {
      failure = std::current_exception();
    }
    if (committed) {
      if (remove) {
        report_removed(id, store_index, now, events);
      }
      return true;
    }
    // Refused: nothing was recorded, so nothing of this step may happen.
    if (job.extras && job.extras->queued_runs.size() > queued_mark) {
      job.extras->queued_runs.resize(queued_mark);
    }
    undo_runs(dispatches, dispatches_mark, events, events_mark);
    if (failure) {
      std::rethrow_exception(failure);
    }
    return false;
  }

  void report_removed(const std::string& id, std::uint8_t store_index, TimePoint now,
                      std::vector<Event>& events) {
    if (listeners_.wants(EventType::job_removed)) {
      events.push_back(Event{.type = EventType::job_removed,
                             .time = now,
                             .job_id = id,
                             .store = settings_.store_alias(store_index)});
    }
  }

  // Ends a run that never went to its executor, its fire still recorded claimed (unless it
  // was lost): it no longer counts towards its job's max_instances; with `requeue` it goes back
  // to the front of its job's queue. Either way the job's queued runs may go.
  void release_run(Run& run, bool requeue) noexcept {
    runs_.remove(run);
    JobRecord* job = driver_.find_held(run.store, run.job_id);
    if (job == nullptr || job->generation != run.generation) {
      return;
    }
    --job->running;
    try {
      if (requeue) {
        job->extra().queued_runs.push_front(run.scheduled);
      }
      if (job->extras && !job->extras->queued_runs.empty()) {
        pending_queues_.push_back(job->id);
      }
    } catch (...) {  // NOLINT(bugprone-empty-catch): out of memory; left to a takeover
    }
  }

  // Decides the runs of one due job (plan_fires) and carries the plan out; a durable
  // store records plan_'s fires (StoreDriver::commit).
  Ending decide(JobRecord& job, TimePoint now, bool durable, std::vector<Dispatch>& dispatches,
                std::vector<Event>& events) {
    const FireContext context{.now = now, .durable = durable, .room = room_.left(job.executor)};
    plan_fires(job, context, random_, plan_);
    return carry_out(job, now, dispatches, events);
  }

  // Offers one run of `job` for `scheduled` outside its schedule (run_job_now).
  void offer_run(JobRecord& job, TimePoint scheduled, bool durable,
                 std::vector<Dispatch>& dispatches, std::vector<Event>& events) {
    const FireContext context{
        .now = scheduled, .durable = durable, .room = room_.left(job.executor)};
    plan_run_now(job, context, scheduled, plan_);
    carry_out(job, scheduled, dispatches, events);
  }

  // Carries out plan_ for `job`: starts, queues and reports its runs, and sets the job's
  // schedule.
  Ending carry_out(JobRecord& job, TimePoint now, std::vector<Dispatch>& dispatches,
                   std::vector<Event>& events) {
    using Kind = FireStep::Kind;
    for (const FireStep& step : plan_.steps) {
      switch (step.kind) {
        case Kind::run:
          dispatch(job, step.scheduled, step.count, dispatches, 1, step.claimed);
          break;
        case Kind::queue:
          job.extra().queued_runs.push_back(step.scheduled);
          break;
        case Kind::skip:
          if (listeners_.wants(EventType::job_max_instances)) {
            events.push_back(Event{.type = EventType::job_max_instances,
                                   .time = now,
                                   .job_id = job.id,
                                   .store = settings_.store_alias(job.store),
                                   .scheduled_run_time = step.scheduled});
          }
          break;
        case Kind::missed:
          report_missed(job, step.scheduled, step.count, now, events);
          break;
        case Kind::coalesced:  // recorded by a durable store (StoreDriver::commit)
          break;
      }
    }
    switch (plan_.ending) {
      case Ending::advanced:
        job.next_fire = plan_.next_fire;
        job.next_run = plan_.next_run;
        return Ending::advanced;
      case Ending::exhausted:
        return Ending::exhausted;
      case Ending::broken:
        break;
    }
    // A defective trigger: report it and pause the job rather than lose it.
    if (listeners_.wants(EventType::job_error)) {
      events.push_back(Event{.type = EventType::job_error,
                             .time = now,
                             .job_id = job.id,
                             .store = settings_.store_alias(job.store),
                             .scheduled_run_time = job.next_run,
                             .exception = plan_.error});
    }
    job.paused = true;
    return Ending::broken;
  }

  // Creates a run of `job` for `scheduled` and adds it to `dispatches`. A `claimed` run waits, its
  // fire recorded claimed, until its store records it started (start_claimed); any other takes
  // room of its executor for this step (room_).
  void dispatch(JobRecord& job, TimePoint scheduled, std::uint64_t folded,
                std::vector<Dispatch>& dispatches, unsigned attempt = 1, bool claimed = false) {
    if (!claimed) {
      room_.take(job.executor);
    }
    // Built in place (new with designated initialisers), not moved from a temporary.
    std::unique_ptr<Run> run{new Run{
        .owner = owner_,
        .job_id = job.id,
        .body = job.body,
        .scheduled = scheduled,
        .timeout = job.extras ? job.extras->timeout : std::nullopt,
        // A run with a timeout can be stopped alone; the others only all at once, at shutdown,
        // so they share one stop source (and its allocation).
        .stop = job.extras && job.extras->timeout ? std::stop_source{} : runs_.shared_stop(),
        .generation = job.generation,
        .attempt = attempt,
        .max_instances = job.max_instances,
        .store = job.store,
        .executor = job.executor,
    }};
    ++job.running;
    runs_.add(*run);
    dispatches.push_back(Dispatch{std::move(run), folded, claimed});
  }

  Owner* owner_;
  StoreSet<S...>& stores_;
  StoreDriver<S...>& driver_;
  const JobSettings& settings_;
  const ListenerRegistry& listeners_;
  SplitMix64& random_;
  // Every run submitted and not yet ended, and what stops them.
  RunSet<Run> runs_;
  // How many more runs each executor starts in this step (measure_room).
  Room room_;
  // Whether the last step left due jobs of a durable store unclaimed for want of room.
  bool starved_ = false;
  // Runs whose fires durable stores recorded claimed, waiting for room in their executors or
  // for other schedulers' runs of their jobs to end (start_claimed), oldest first.
  std::vector<Dispatch> waiting_;
  // Jobs with queued runs whose instance finished; the next step submits their next runs.
  std::vector<std::string> pending_queues_;
  // The fire policy's plan for the job being processed, kept for its buffer.
  FirePlan plan_;
};

}  // namespace apsched::detail
