// SPDX-License-Identifier: MIT
// SchedulerCore: the state and the loop of a BasicScheduler, which holds one and hands it each
// call with the job's callable and trigger erased. The rooms it composes are in this folder.
#pragma once

#include <apsched/any_trigger.hpp>
#include <apsched/clock.hpp>
#include <apsched/detail/job_body.hpp>
#include <apsched/detail/job_listing.hpp>
#include <apsched/detail/listeners.hpp>
#include <apsched/detail/scheduler/dispatcher.hpp>
#include <apsched/detail/scheduler/durable_tasks.hpp>
#include <apsched/detail/scheduler/event_feed.hpp>
#include <apsched/detail/scheduler/executor_set.hpp>
#include <apsched/detail/scheduler/fire_policy.hpp>
#include <apsched/detail/scheduler/job_settings.hpp>
#include <apsched/detail/scheduler/job_table.hpp>
#include <apsched/detail/scheduler/run_set.hpp>
#include <apsched/detail/scheduler/store_driver.hpp>
#include <apsched/detail/scheduler/store_set.hpp>
#include <apsched/detail/scheduler/wakeup.hpp>
#include <apsched/detail/thread_tuning.hpp>
#include <apsched/detail/time_math.hpp>
#include <apsched/durable_job_store.hpp>
#include <apsched/error.hpp>
#include <apsched/event.hpp>
#include <apsched/executor.hpp>
#include <apsched/job.hpp>
#include <apsched/scheduler_options.hpp>
#include <apsched/scheduler_state.hpp>
#include <apsched/trigger.hpp>

#include <fmt/core.h>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace apsched::detail {

template <SchedulerMode M, Clock C, class StoreList, class ExecutorList>
class SchedulerCore;

/// The state and the loop of a BasicScheduler (see there for every member's contract): the
/// rooms of this folder composed over the stores `S...`, the executors `E...` and the clock `C`,
/// and the one mutex that guards them. The public class holds one and forwards to it; what it
/// hands over has the job's callable and trigger already erased (BodyRef, AnyTrigger).
///
/// Thread safety: thread-safe, except that the destructor must not race with other members.
template <SchedulerMode M, Clock C, JobStore... S, Executor... E>
class SchedulerCore<M, C, Stores<S...>, Executors<E...>> {
 public:
  /// See BasicScheduler::Listener.
  using Listener = std::function<void(const Event&)>;

  /// See BasicScheduler::any_durable, all_durable and TaskRegistry (the store counts are checked
  /// there).
  static constexpr bool any_durable = Durability<S...>::any_durable;
  static constexpr bool all_durable = Durability<S...>::all_durable;
  using TaskRegistry = typename Durability<S...>::TaskRegistry;

  /// See BasicScheduler::BasicScheduler.
  SchedulerCore(std::tuple<S...> stores, std::tuple<E...> executors, C clock,
                SchedulerOptions options)
      : clock_{std::move(clock)},
        lower_timer_slack_{options.lower_timer_slack},
        settings_{std::move(options.store_aliases), sizeof...(S),
                  std::move(options.executor_aliases), sizeof...(E)},
        listeners_{std::move(options.logger)},
        random_{options.random_seed != 0 ? options.random_seed : detail::fresh_seed()},
        stores_{std::move(stores)},
        executors_{std::move(executors)} {
    if constexpr (any_durable) {
      tasks_ = std::make_shared<TaskRegistry>();
    }
    std::function<TimePoint()> database_clock;  // a manual clock has none to follow
    if constexpr (follows_real_time<C>) {
      database_clock = [this] { return clock_.now(); };
    }
    driver_.connect(
        tasks_, [this] { wake_from_store(); }, std::move(database_clock));
  }

  SchedulerCore(const SchedulerCore&) = delete;
  SchedulerCore& operator=(const SchedulerCore&) = delete;
  SchedulerCore(SchedulerCore&&) = delete;
  SchedulerCore& operator=(SchedulerCore&&) = delete;

  /// See BasicScheduler::~BasicScheduler.
  ~SchedulerCore() {
    listeners_.clear();
    wakeup_.set_handler(nullptr);
    driver_.disconnect();  // waits for a wake-up in progress, which takes mutex_
    try {
      if (state() != SchedulerState::stopped) {
        shutdown(false);
      }
    } catch (...) {  // NOLINT(bugprone-empty-catch): stopped concurrently; nothing left to do
    }
    thread_.join();
    // Asynchronous runs (coroutine jobs) may end after this scheduler: unlink them all, so those
    // freed later are not neighbours of a run a draining executor still completes, then make
    // their completions discard them.
    {
      std::lock_guard lock{mutex_};
      dispatcher_.runs().release_all();
    }
    anchor_->retire();
  }

  /// The tasks durable jobs name (BasicScheduler::register_task adds to them).
  [[nodiscard]] std::add_lvalue_reference_t<TaskRegistry> tasks() noexcept requires any_durable {
    return *tasks_;
  }

  /// A task was registered (BasicScheduler::register_task): jobs a durable store set aside
  /// because they named it unknown are tried again.
  void task_registered(const std::string& name) requires any_durable {
    {
      std::lock_guard lock{mutex_};
      driver_.task_registered(name);
      wakeup_.request_locked();
    }
    wakeup_.notify();
  }

  /// Opens a batch of durable writes (BasicScheduler::batch).
  void begin_batch() requires any_durable {
    std::lock_guard lock{mutex_};
    driver_.begin_batch();
  }

  /// See BasicScheduler::get_job.
  [[nodiscard]] std::optional<JobInfo> get_job(std::string_view id) const {
    std::lock_guard lock{mutex_};
    const JobRecord* job = stores_.find(id).first;
    return job != nullptr ? std::optional{settings_.info(*job)} : std::nullopt;
  }

  /// See BasicScheduler::get_jobs.
  [[nodiscard]] std::vector<JobInfo> get_jobs(std::string_view store = {}) const {
    const std::optional<std::size_t> only =
        store.empty() ? std::nullopt : std::optional{settings_.store_index(store, "get_jobs")};
    std::vector<JobInfo> jobs;
    {
      std::lock_guard lock{mutex_};
      stores_.for_each([&](std::size_t index, const auto& each) {
        if (!only || *only == index) {
          each.for_each([&](const JobRecord& job) { jobs.push_back(settings_.info(job)); });
        }
      });
    }
    detail::sort_listing(jobs);
    return jobs;
  }

  /// See BasicScheduler::get_fire_history.
  [[nodiscard]] std::vector<FireRecord> get_fire_history(std::string_view id,
                                                         std::size_t limit = 100) const {
    std::lock_guard lock{mutex_};
    return driver_.fire_history(id, limit);
  }

  /// See BasicScheduler::modify_job.
  JobInfo modify_job(std::string_view id, const JobChanges& changes) {
    const std::optional<std::size_t> executor = settings_.check(changes);
    return change_job(id, "modify_job", [&](JobRecord& job, auto& store) {
      detail::JobSettings::apply(job, changes, executor);
      store.update(job);  // every change: a durable store writes it for other schedulers
    });
  }

  /// See BasicScheduler::reschedule_job.
  JobInfo reschedule(std::string_view id, AnyTrigger replacement) {
    return change_job(id, "reschedule_job", [&](JobRecord& job, auto& store) {
      const TimePoint first = detail::first_fire(replacement, this->now(), "reschedule_job");
      job.trigger = std::move(replacement);
      job.next_fire = first;
      job.next_run = detail::jittered(job.trigger, first, random_);
      store.update(job);
    });
  }

  /// See BasicScheduler::pause_job.
  JobInfo pause_job(std::string_view id) {
    return change_job(id, "pause_job", [](JobRecord& job, auto& store) {
      job.paused = true;
      store.update(job);
    });
  }

  /// See BasicScheduler::resume_job.
  JobInfo resume_job(std::string_view id, MissedRuns missed = MissedRuns::skip) {
    bool finished = false;
    JobInfo result = change_job(id, "resume_job", [&](JobRecord& job, auto& store) {
      if (!job.paused) {
        return;
      }
      const TimePoint now = this->now();
      if (missed == MissedRuns::skip && job.next_run < now) {
        const std::optional<TimePoint> next = job.trigger.next_fire_time(job.next_fire, now);
        if (!next) {
          finished = true;
          return;
        }
        job.next_fire = *next;
        job.next_run = detail::jittered(job.trigger, *next, random_);
      }
      job.paused = false;
      store.update(job);
    });
    if (finished) {
      remove_job(id);
    }
    return result;
  }

  /// See BasicScheduler::remove_job.
  void remove_job(std::string_view id) {
    std::size_t store_index = 0;
    {
      std::lock_guard lock{mutex_};
      if (const auto [job, index] = stores_.find(id); job != nullptr) {
        store_index = index;
        stores_.with(index, [&](auto& store) { store.erase(id); });
      } else if (const std::optional<std::size_t> unusable = driver_.erase_unusable(id)) {
        store_index = *unusable;
      } else {
        throw JobLookupError{fmt::format("remove_job: no job has id \"{}\"", id)};
      }
    }
    events_.job(EventType::job_removed, id, store_index);
  }

  /// See BasicScheduler::remove_all_jobs.
  void remove_all_jobs(std::string_view store = {}) {
    const std::optional<std::size_t> only =
        store.empty() ? std::nullopt
                      : std::optional{settings_.store_index(store, "remove_all_jobs")};
    {
      std::lock_guard lock{mutex_};
      stores_.for_each([&](std::size_t index, auto& each) {
        if (!only || *only == index) {
          each.clear();
        }
      });
    }
    events_.all_removed(store);
  }

  /// See BasicScheduler::run_job_now.
  bool run_job_now(std::string_view id) {
    std::vector<Event> events;
    std::vector<Dispatch> dispatches;
    bool submitted = false;
    {
      std::lock_guard lock{mutex_};
      if (state_ == SchedulerState::stopped) {
        throw SchedulerNotRunningError{fmt::format(
            "run_job_now: the scheduler is not running; start it before running \"{}\"", id)};
      }
      const auto [job, store] = stores_.find(id);
      if (job == nullptr) {
        throw JobLookupError{fmt::format("run_job_now: no job has id \"{}\"", id)};
      }
      const TimePoint now = this->now();
      dispatcher_.measure_room(executors_.room(), now);
      submitted = dispatcher_.run_now(*job, store, now, dispatches, events);
      if constexpr (any_durable) {
        dispatcher_.start_claimed(now, dispatches, events);
      }
    }
    deliver(events, dispatches);
    return submitted;
  }

  /// See BasicScheduler::format_jobs.
  [[nodiscard]] std::string format_jobs() const {
    return detail::job_table(get_jobs(), settings_.store_aliases());
  }

  /// See BasicScheduler::start.
  void start(bool paused = false) {
    {
      std::lock_guard lock{mutex_};
      if (state_ != SchedulerState::stopped) {
        throw SchedulerAlreadyRunningError{"start: the scheduler is already running"};
      }
      state_ = paused ? SchedulerState::paused : SchedulerState::running;
      dispatcher_.runs().renew_shared_stop();
      wakeup_.set_waiting_locked(M == SchedulerMode::callback ? TimePoint::max()
                                                              : TimePoint::min());
    }
    executors_.start();
    events_.scheduler(EventType::scheduler_started);
    if constexpr (M == SchedulerMode::blocking) {
      run_loop();
    } else if constexpr (M == SchedulerMode::background) {
      thread_.start([this] { run_loop(); });
    } else {
      wakeup_.notify();
    }
  }

  /// See BasicScheduler::pause.
  void pause() { set_running_state(SchedulerState::paused, "pause", EventType::scheduler_paused); }

  /// See BasicScheduler::resume.
  void resume() {
    set_running_state(SchedulerState::running, "resume", EventType::scheduler_resumed);
  }

  /// See BasicScheduler::shutdown.
  void shutdown(bool wait = true) {
    std::vector<std::stop_source> to_stop;
    {
      std::lock_guard lock{mutex_};
      if (state_ == SchedulerState::stopped) {
        throw SchedulerNotRunningError{"shutdown: the scheduler is not running"};
      }
      state_ = SchedulerState::stopped;
      wakeup_.request_locked();
      if (!wait) {
        to_stop = dispatcher_.runs().stop_sources();
      }
    }
    wakeup_.notify();
    for (std::stop_source& source : to_stop) {
      source.request_stop();
    }
    thread_.join();
    if constexpr (any_durable) {
      if (wait) {
        // Runs waiting for room start now, to be waited for with the others; the ones other
        // schedulers' runs hold back stay claimed (Dispatcher::requeue_waiting).
        std::vector<Event> events;
        std::vector<Dispatch> dispatches;
        {
          std::lock_guard lock{mutex_};
          dispatcher_.open_room();
          dispatcher_.start_claimed(this->now(), dispatches, events);
        }
        deliver(events, dispatches);
      }
    }
    executors_.shutdown(wait);
    if constexpr (any_durable) {
      std::lock_guard lock{mutex_};
      dispatcher_.requeue_waiting();
    }
    write_outcomes(this->now());  // of the runs that ended since the loop's last step
    events_.scheduler(EventType::scheduler_shutdown);
  }

  /// See BasicScheduler::state.
  [[nodiscard]] SchedulerState state() const {
    std::lock_guard lock{mutex_};
    return state_;
  }

  /// See BasicScheduler::add_listener.
  ListenerId add_listener(Listener listener, EventMask mask = all_events, std::string job_id = {}) {
    return listeners_.add(std::move(listener), mask, std::move(job_id));
  }

  /// See BasicScheduler::remove_listener.
  bool remove_listener(ListenerId id) { return listeners_.remove(id); }

  /// See BasicScheduler::clock.
  [[nodiscard]] const C& clock() const noexcept { return clock_; }

  /// See BasicScheduler::now.
  [[nodiscard]] TimePoint now() const { return events_.now(); }

  /// The executor with index `I` (thread-safe by the Executor concept).
  [[nodiscard]] std::tuple<E...>& executors() noexcept { return executors_.all(); }

  /// See BasicScheduler::process_due_jobs.
  std::optional<TimePoint> process_due_jobs() requires(M == SchedulerMode::callback) {
    return process_due_jobs(this->now());
  }

  /// See BasicScheduler::process_due_jobs.
  std::optional<TimePoint> process_due_jobs(TimePoint now) requires(M == SchedulerMode::callback) {
    step(now);
    std::lock_guard lock{mutex_};
    const std::optional<TimePoint> next =
        state_ == SchedulerState::running ? next_wakeup_locked(now) : std::nullopt;
    wakeup_.set_waiting_locked(next.value_or(TimePoint::max()));
    return next;
  }

  /// See BasicScheduler::set_wakeup_handler.
  void set_wakeup_handler(std::function<void()> handler) requires(M == SchedulerMode::callback) {
    wakeup_.set_handler(std::move(handler));
  }

  /// Adds the task job `prepared` (its call checked and its body made, TaskRegistry::prepare).
  template <class Prepared>
  std::string add_prepared(Prepared prepared, AnyTrigger trigger, JobOptions options) {
    using Access = detail::PreparedAccess<Prepared>;
    detail::BodyRef body = Access::take_body(prepared);
    return add_record(std::move(body), std::move(trigger), std::move(options),
                      std::make_shared<const TaskCall>(Access::take_call(prepared)));
  }

  /// Adds a job (a closure when `task` is null) to the store its options name.
  std::string add_record(detail::BodyRef body, AnyTrigger trigger, JobOptions options,
                         std::shared_ptr<const TaskCall> task) {
    JobRecord record{
        .id = std::move(options.id), .body = std::move(body), .trigger = std::move(trigger)};
    settings_.configure(record, options, "add_job");
    if (task) {
      record.extra().task = std::move(task);
    } else if (stores_.durable(record.store)) {
      settings_.refuse_closure(record.store);
    }
    const TimePoint first = options.next_run_time
                                ? *options.next_run_time
                                : detail::first_fire(record.trigger, this->now(), "add_job");
    record.next_fire = first;
    record.next_run = first;
    const std::uint8_t store_index = record.store;
    detail::Insertion inserted;
    bool wake = false;
    {
      std::lock_guard lock{mutex_};
      if (!options.next_run_time) {
        record.next_run = detail::jittered(record.trigger, first, random_);
      }
      record.generation = ++generation_;
      inserted = detail::insert_job(stores_, driver_, std::move(record), options.on_conflict,
                                    !options.next_run_time, random_);
      wake = inserted.stored != nullptr && !inserted.stored->paused &&
             wakeup_.wants_locked(inserted.stored->next_run);
    }
    if (wake) {
      wakeup_.notify();
    }
    if (inserted.event) {
      events_.job(*inserted.event, inserted.id, store_index);
    }
    return std::move(inserted.id);
  }

  /// Commits (or rolls back) the open batch of every durable store; a store that fails to
  /// commit makes the others roll back, and its error propagates.
  void end_batch(bool commit) requires any_durable {
    std::exception_ptr failure;
    {
      std::lock_guard lock{mutex_};
      failure = driver_.end_batch(commit);
      wakeup_.request_locked();
    }
    wakeup_.notify();
    if (failure) {
      std::rethrow_exception(failure);
    }
  }

 private:
  using Dispatcher = detail::Dispatcher<SchedulerCore, sizeof...(E), S...>;
  using Run = typename Dispatcher::Run;
  using Dispatch = typename Dispatcher::Dispatch;
  friend class detail::RunWork<SchedulerCore>;

  // How long the outcome of a run that ended waits for those of others, to be written with
  // them in one transaction by a durable store: with a real-time clock 10 ms, so that a store
  // under many short runs writes once per step instead of once per run; with a manual clock
  // none, so that a test sees it written at the next step.
  static constexpr Duration outcome_window =
      follows_real_time<C> ? Duration{std::chrono::milliseconds{10}} : Duration::zero();

  // How long a run handed to an executor beyond its free workers may wait to start, at the rate
  // its runs ended lately (see detail::ExecutorRoom): with a real-time clock 100 ms; with a
  // manual clock none, so that a test sees each run wait for a free worker.
  static constexpr Duration start_window =
      follows_real_time<C> ? Duration{std::chrono::milliseconds{100}} : Duration::zero();

  // Finds the job, applies `change(job, store)` under the lock, wakes the loop, emits
  // job_modified and returns the new snapshot.
  template <class F>
  JobInfo change_job(std::string_view id, std::string_view call, F&& change) {
    std::optional<JobInfo> result;
    std::size_t store_index = 0;
    bool wake = false;
    {
      std::lock_guard lock{mutex_};
      JobRecord* job = nullptr;
      std::tie(job, store_index) = stores_.find(id);
      if (job == nullptr) {
        throw JobLookupError{fmt::format("{}: no job has id \"{}\"", call, id)};
      }
      stores_.with(store_index, [&](auto& store) { change(*job, store); });
      result = settings_.info(*job);
      wake = !job->paused && wakeup_.wants_locked(job->next_run);
    }
    if (wake) {
      wakeup_.notify();
    }
    events_.job(EventType::job_modified, id, store_index);
    return std::move(*result);
  }

  void set_running_state(SchedulerState target, std::string_view call, EventType type) {
    {
      std::lock_guard lock{mutex_};
      if (state_ == SchedulerState::stopped) {
        throw SchedulerNotRunningError{fmt::format("{}: the scheduler is not running", call)};
      }
      if (state_ == target) {
        return;
      }
      state_ = target;
      wakeup_.request_locked();
    }
    wakeup_.notify();
    events_.scheduler(type);
  }

  // A store saw another scheduler change what is due (see DurableJobStore's set_waker): the
  // loop steps again, or the application's loop is asked to.
  void wake_from_store() {
    {
      std::lock_guard lock{mutex_};
      wakeup_.request_locked();
    }
    wakeup_.notify();
  }

  std::optional<TimePoint> next_wakeup_locked(TimePoint now) const {
    if (dispatcher_.queues_pending()) {
      return now;
    }
    return dispatcher_.runs().next_deadline(driver_.next_due(now, dispatcher_.starved()));
  }

  void run_loop() {
    const detail::ScopedTimerSlack slack{lower_timer_slack_};
    std::unique_lock lock{mutex_};
    while (state_ != SchedulerState::stopped) {
      // Paused, a step runs nothing but still writes the outcomes of runs that ended.
      if (state_ == SchedulerState::running || (any_durable && state_ == SchedulerState::paused)) {
        lock.unlock();
        step(this->now());
        lock.lock();
        if (state_ == SchedulerState::stopped) {
          break;
        }
      }
      if (wakeup_.take_request_locked()) {
        continue;
      }
      // Sleeps until the next wake-up or a request for a step. A wait that ends sooner (a slice
      // of the clock, a spurious wake-up) waits on for the same instant; one that moved it
      // earlier (Wakeup::replan_locked) plans again. Neither steps.
      bool plan = true;
      TimePoint deadline = TimePoint::max();
      for (;;) {
        const TimePoint now = this->now();
        if (plan) {
          deadline = state_ == SchedulerState::running
                         ? next_wakeup_locked(now).value_or(TimePoint::max())
                         : TimePoint::max();
          wakeup_.take_replan_locked();
        }
        if (deadline <= now) {
          break;
        }
        wakeup_.wait_locked(lock, clock_, deadline,
                            detail::minus_saturated(deadline, stores_.clock_offset()));
        if (wakeup_.requested_locked() || state_ == SchedulerState::stopped ||
            this->now() >= deadline) {
          break;
        }
        plan = wakeup_.take_replan_locked();
      }
      wakeup_.take_request_locked();
    }
  }

  // Processes everything due at `now`, a round of at most round_size runs at a time.
  void step(TimePoint now) {
    std::vector<Event> events;
    std::vector<Dispatch> dispatches;
    std::vector<std::stop_source> to_stop;
    bool more = true;
    bool first_round = true;
    while (more) {
      {
        std::lock_guard lock{mutex_};
        if (state_ != SchedulerState::running) {
          break;
        }
        if (first_round) {
          dispatcher_.begin_step(now, executors_.room(), dispatches, events, to_stop);
          first_round = false;
        }
        more = dispatcher_.collect_due(now, dispatches, events);
        if constexpr (any_durable) {
          dispatcher_.start_claimed(now, dispatches, events);
        }
      }
      for (std::stop_source& source : to_stop) {
        source.request_stop();
      }
      to_stop.clear();
      deliver(events, dispatches);
      events.clear();
      dispatches.clear();
    }
    // The outcomes of the runs that ended meanwhile (inline ones: all of this step's).
    write_outcomes(now);
  }

  // Writes the outcomes of durable stores' runs that ended, in one transaction per store, and
  // emits the events of the writes.
  void write_outcomes(TimePoint now) {
    if constexpr (any_durable) {
      std::vector<Event> events;
      {
        std::lock_guard lock{mutex_};
        driver_.write_outcomes(now, events);
      }
      for (const Event& event : events) {
        listeners_.emit(event);
      }
    }
  }

  // Emits `events`, then for each run its job_submitted event and the hand-over to its
  // executor, outside the lock (an inline executor runs the job right here).
  void deliver(std::vector<Event>& events, std::vector<Dispatch>& dispatches) {
    for (const Event& event : events) {
      listeners_.emit(event);
    }
    for (Dispatch& dispatch : dispatches) {
      Run& run = *dispatch.run;
      events_.submitted(run, dispatch.folded);
      const std::uint8_t executor = run.executor;
      Work work{detail::RunWork<SchedulerCore>{std::move(dispatch.run)}};
      try {
        executors_.submit(executor, std::move(work));
      } catch (...) {
        events_.executor_error();
      }
      // Work the executor refused is destroyed here and reports its run dropped.
    }
  }

  // Runs on the executor's thread.
  void execute(std::unique_ptr<Run> run) {
    const TimePoint started = this->now();
    if (run->timeout) {
      bool wake = false;
      {
        std::lock_guard lock{mutex_};
        dispatcher_.runs().time(*run, started + *run->timeout);
        wake = wakeup_.wants_locked(run->deadline);
      }
      if (wake) {
        wakeup_.notify();
      }
    }
    events_.started(*run, started);
    run->started = started;
    const JobContext context{.job_id = run->job_id,
                             .scheduled_run_time = run->scheduled,
                             .started_at = started,
                             .stop_token = run->stop.get_token(),
                             .attempt = run->attempt};
    // A body that finishes later (a coroutine job) takes `done`; the others finish here.
    detail::JobBody* body = run->body.get();
    detail::RunCompletion done{anchor_, run.release()};
    std::exception_ptr error;
    try {
      body->start(context, done);
    } catch (...) {
      error = std::current_exception();
    }
    if (done) {
      std::unique_ptr<Run> finished{static_cast<Run*>(done.release())};
      complete(std::move(finished), error ? JobOutcome::error : JobOutcome::success, started,
               error);
    } else if (error) {
      // Started asynchronously, then threw: the completion it took reports the run's end.
      listeners_.log(LogLevel::error, "a job body threw after handing off its completion");
    }
  }

  // Completes an asynchronous run (CompletionAnchor::Finish).
  static void finish_run(void* owner, void* run, std::exception_ptr error) noexcept {
    std::unique_ptr<Run> finished{static_cast<Run*>(run)};
    const TimePoint started = finished->started;
    const JobOutcome outcome = error ? JobOutcome::error : JobOutcome::success;
    static_cast<SchedulerCore*>(owner)->complete(std::move(finished), outcome, started, error);
  }

  // Frees an asynchronous run that ended after its scheduler (CompletionAnchor::Discard).
  static void discard_run(void* run) noexcept { delete static_cast<Run*>(run); }

  // Records the end of a run (or its drop) in its job and emits the run's last event.
  void complete(std::unique_ptr<Run> run, JobOutcome outcome, std::optional<TimePoint> started,
                std::exception_ptr error) noexcept {
    bool wake = false;
    std::exception_ptr store_failure;
    {
      std::lock_guard lock{mutex_};
      const typename Dispatcher::Ended ended =
          dispatcher_.run_ended(*run, outcome, started, state_ == SchedulerState::stopped);
      if (ended.wake) {
        wakeup_.request_locked();
        wake = true;
      }
      if (stores_.durable(run->store)) {
        // The outcome is written now, or kept for a step within outcome_window (at once with
        // a manual clock), to be written with the others.
        const detail::OutcomeWrite write = driver_.run_ended(
            run->store, run->job_id, ended.job, run->scheduled, outcome, error, this->now());
        store_failure = write.failure;
        if (write.step_now) {
          wakeup_.request_locked();
          wake = true;
        } else if (write.write_by && wakeup_.replan_locked(*write.write_by)) {
          wake = true;  // it sleeps longer: it plans again
        }
      }
    }
    if (wake) {
      wakeup_.notify();
    }
    events_.store_error(run->store, store_failure);
    events_.ended(*run, outcome, started, error);
  }

  C clock_;
  // Where asynchronous runs report their end; retired by the destructor.
  std::shared_ptr<detail::CompletionAnchor> anchor_ =
      std::make_shared<detail::CompletionAnchor>(this, &finish_run, &discard_run);
  bool lower_timer_slack_;
  // The aliases of the stores and executors, and the checks of job options against them.
  detail::JobSettings settings_;
  detail::ListenerRegistry listeners_;

  // Guards every member from here to tasks_, and the requests and instant of wakeup_. Lock
  // order: mutex_, then a store's or the clock's own locks; listeners, jobs and the wake-up
  // handler are called with none held.
  mutable std::mutex mutex_;
  detail::Wakeup<M == SchedulerMode::callback> wakeup_{listeners_};
  detail::SplitMix64 random_;
  // mutable: const queries (get_job) find records through the stores' find, and the next
  // wake-up backs a failing store off.
  mutable detail::StoreSet<S...> stores_;
  detail::EventFeed<C, detail::StoreSet<S...>> events_{clock_, stores_, settings_, listeners_};
  // Speaks the durable protocol to stores_; keeps the state of batches, rounds, take-overs and
  // outcomes waiting to be written.
  mutable detail::StoreDriver<S...> driver_{stores_, settings_, listeners_, outcome_window};
  // Turns due jobs into runs; owns the live runs, the executors' room and the runs waiting.
  Dispatcher dispatcher_{this, stores_, driver_, settings_, listeners_, random_, start_window};
  SchedulerState state_ = SchedulerState::stopped;
  std::uint32_t generation_ = 0;
  // The tasks durable jobs name; shared with the durable stores.
  std::conditional_t<any_durable, std::shared_ptr<TaskRegistry>, std::monostate> tasks_;

  // Destroyed before the members above, which their running work items use: executors join their
  // threads, and the loop thread (declared last) is joined first.
  detail::ExecutorSet<E...> executors_;
  detail::LoopThread thread_;
};

}  // namespace apsched::detail
