// SPDX-License-Identifier: MIT
// BasicScheduler: the one scheduler, composed at compile time from a Clock, job stores and
// executors; BlockingScheduler, BackgroundScheduler and CallbackScheduler are named modes of it.
// Declarations, docs and the thin templates that erase a job's callable and trigger; the
// definitions are in impl/scheduler.hpp (see apsched/config.hpp for the compiled mode).
#pragma once

#include <apsched/any_trigger.hpp>
#include <apsched/clock.hpp>
#include <apsched/config.hpp>
#include <apsched/detail/job_body.hpp>
#include <apsched/detail/scheduler/durable_tasks.hpp>
#include <apsched/detail/scheduler/named_lists.hpp>
#include <apsched/durable_job_store.hpp>
#include <apsched/event.hpp>
#include <apsched/executor.hpp>
#include <apsched/job.hpp>
#include <apsched/job_store.hpp>
#include <apsched/scheduler_options.hpp>
#include <apsched/scheduler_state.hpp>
#include <apsched/trigger.hpp>

#include <concepts>
#include <cstddef>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace apsched {

namespace detail {
template <SchedulerMode M, Clock C, class StoreList, class ExecutorList>
class SchedulerCore;
}  // namespace detail

template <SchedulerMode M, Clock C, class StoreList, class ExecutorList>
class BasicScheduler;

/// The scheduler core: keeps jobs in the stores `S...`, runs them on the executors `E...`, and
/// reads time from `C`. Jobs choose their store and executor by alias (JobOptions::store,
/// JobOptions::executor); the first of each is "default". The loop processes due jobs, computes
/// the next wake-up, and sleeps on a condition variable through the clock until then or until a
/// job is added, changed or removed, the scheduler is resumed or shut down.
///
/// Jobs, listeners and the wake-up handler are never called with an internal lock held, so they
/// may call any member. Triggers are called under the lock (they are pure by contract and must
/// not call the scheduler).
///
/// @code
/// apsched::BackgroundScheduler scheduler;
/// auto every_second = apsched::IntervalTrigger{std::chrono::seconds{1}};
/// scheduler.add_job([] { fmt::print("tick\n"); }, every_second);
/// scheduler.start();
/// @endcode
///
/// Thread safety: thread-safe, except that the destructor must not race with other members.
template <SchedulerMode M, Clock C, JobStore... S, Executor... E>
class BasicScheduler<M, C, Stores<S...>, Executors<E...>> {
  static_assert(sizeof...(S) >= 1 && sizeof...(S) <= 255, "a scheduler has 1 to 255 stores");
  static_assert(sizeof...(E) >= 1 && sizeof...(E) <= 255, "a scheduler has 1 to 255 executors");

 public:
  /// A listener: receives each event whose type its mask selects.
  using Listener = std::function<void(const Event&)>;

  /// Whether a store of the scheduler is durable (DurableJobStore): then it has a task
  /// registry, `register_task` and `add_job(apsched::task(name), ...)`.
  static constexpr bool any_durable = detail::Durability<S...>::any_durable;
  /// Whether every store is durable: then closure jobs are a compile error.
  static constexpr bool all_durable = detail::Durability<S...>::all_durable;
  /// The registry of tasks durable jobs name (void without a durable store).
  using TaskRegistry = typename detail::Durability<S...>::TaskRegistry;

  /// A stopped scheduler over the given stores, executors and clock.
  BasicScheduler(std::tuple<S...> stores, std::tuple<E...> executors, C clock,
                 SchedulerOptions options);

  BasicScheduler(const BasicScheduler&) = delete;
  BasicScheduler& operator=(const BasicScheduler&) = delete;
  BasicScheduler(BasicScheduler&&) = delete;
  BasicScheduler& operator=(BasicScheduler&&) = delete;

  /// Shuts down without waiting (running jobs are asked to stop through their stop tokens),
  /// then waits for running jobs to return as the executors are destroyed; queued runs that
  /// never started are dropped. Listeners and the wake-up handler are unregistered first, since
  /// what they refer to may already be gone: call `shutdown()` before destruction to receive
  /// the scheduler_shutdown and job_dropped events.
  ~BasicScheduler();

  /// Adds a job running `function(args...)` (or `function(context, args...)` when it takes a
  /// JobContext first) at the fire times of `trigger`, and returns its id. Its first run is
  /// `options.next_run_time` when given, else the trigger's first fire time at or after now.
  /// When a job has `options.id` already, `options.on_conflict` decides (see ConflictPolicy):
  /// the id of the job kept or replaced is returned.
  /// @throws ConflictingIdError if a job has `options.id` and `options.on_conflict` is
  ///         ConflictPolicy::error; InvalidJobOptionError for an invalid option or unknown alias;
  ///         InvalidTriggerError if the trigger has no fire time left.
  template <class F, Trigger T, class... Args>
  std::string add_job(F&& function, T trigger, JobOptions options = {},
                      Args&&... args) requires JobFunction<F, Args...> {
    static_assert(!all_durable,
                  "add_job: every store of this scheduler is durable and keeps tasks, not "
                  "closures: register the function with register_task and add the job with "
                  "apsched::task(name)");
    // Not [[nodiscard]]: a caller who named the job has no use for the id.
    return add_body(detail::make_body(std::forward<F>(function), std::forward<Args>(args)...),
                    AnyTrigger{std::move(trigger)}, std::move(options));
  }

  /// Adds a durable job: it runs the task registered as `task.name` with `args` (stored as
  /// JSON, so the job survives restarts in a durable store) at the fire times of `trigger`.
  /// Otherwise as the closure `add_job`; a task job may live in any store.
  /// @code
  /// scheduler.register_task("send-report", [](std::string to, int copies) { /* ... */ });
  /// scheduler.add_job(apsched::task("send-report"), trigger, {.id = "daily"}, "ops@x.org", 3);
  /// @endcode
  /// @throws UnknownTaskError if no task has that name; SerializationError if the arguments do
  ///         not match the task's parameters; otherwise as the closure `add_job`.
  template <class R, Trigger T, class... Args>
  requires(any_durable&& std::same_as<std::remove_cvref_t<R>, TaskRef>) std::string
      add_job(R&& task, T trigger, JobOptions options = {}, Args&&... args) {
    return add_prepared(tasks().prepare("add_job", task.name, std::forward<Args>(args)...),
                        AnyTrigger{std::move(trigger)}, std::move(options));
  }

  /// Adds a task job from its already-encoded call (`call.arguments` is the text of a JSON
  /// array, as JobInfo::task holds it): how jobs exported from one store are imported into
  /// another. Otherwise as `add_job(apsched::task(name), ...)`.
  /// @throws UnknownTaskError, SerializationError (arguments that do not parse or match the
  ///         task's parameters), or as `add_job`.
  template <class T = AnyTrigger>
  requires(any_durable&& Trigger<T>) std::string
      add_task_job(TaskCall call, T trigger, JobOptions options = {}) {
    return add_prepared(tasks().prepare("add_job", std::move(call)), AnyTrigger{std::move(trigger)},
                        std::move(options));
  }

  /// Registers `function` as the task `name`, which durable jobs name (see TaskRegistry::add for
  /// what a task may be); stored jobs a durable store set aside because they named this
  /// unknown task are tried again.
  /// @throws InvalidArgumentError if `name` is empty or already registered.
  template <class F>
  requires any_durable void register_task(std::string name, F function) {
    tasks().add(name, std::move(function));
    task_registered(name);
  }

  /// Runs `body`, which adds, modifies and removes jobs through this scheduler, with the writes
  /// to each durable store gathered into one transaction: many changes at once are much faster,
  /// and they land all or nothing (if `body` throws, the durable stores' changes are rolled back
  /// and the exception propagates; jobs of other stores keep their changes). Due jobs of durable
  /// stores wait until the batch ends. Call it from one thread at a time, not from a job.
  /// @code
  /// scheduler.batch([&] {
  ///   for (const Customer& c : customers) {
  ///     scheduler.add_job(apsched::task("remind"), trigger_for(c), {.id = c.id}, c.email);
  ///   }
  /// });
  /// @endcode
  /// @throws InvalidArgumentError if a batch is already open; what `body` or a store throws.
  template <class F>
  requires any_durable void batch(F&& body) {
    begin_batch();
    try {
      std::forward<F>(body)();
    } catch (...) {
      end_batch(false);
      throw;
    }
    end_batch(true);
  }

  /// A snapshot of the job with `id`, or empty when there is none.
  [[nodiscard]] std::optional<JobInfo> get_job(std::string_view id) const;

  /// Snapshots of the jobs of the store with alias `store` (empty: every store), by next run
  /// time, paused jobs last.
  /// @throws InvalidJobOptionError for an unknown store alias.
  [[nodiscard]] std::vector<JobInfo> get_jobs(std::string_view store = {}) const;

  /// The recorded fires of the job with `id`, newest (latest scheduled) first, at most `limit`,
  /// from every store that keeps a fire history (a durable store with `fire_history(id, limit)`,
  /// such as SqliteJobStore); empty when none does. A store keeps a bounded history per job
  /// (SqliteStoreOptions::history_per_job), also after the job is removed, until a job with the
  /// same id is added.
  /// @throws StoreError if a store fails to read its history
  [[nodiscard]] std::vector<FireRecord> get_fire_history(std::string_view id,
                                                         std::size_t limit = 100) const;

  /// Applies `changes` to the job with `id` and returns its new snapshot.
  /// @throws JobLookupError for an unknown id; InvalidJobOptionError for an invalid change.
  JobInfo modify_job(std::string_view id, const JobChanges& changes);

  /// Replaces the trigger of the job with `id`; its next run is the new trigger's first fire
  /// time from now. Returns the new snapshot.
  /// @throws JobLookupError for an unknown id; InvalidTriggerError if the trigger never fires.
  template <Trigger T>
  JobInfo reschedule_job(std::string_view id, T trigger) {
    return reschedule(id, AnyTrigger{std::move(trigger)});
  }

  /// Pauses the job with `id`: it keeps its schedule but does not run until resumed.
  /// @throws JobLookupError for an unknown id.
  JobInfo pause_job(std::string_view id);

  /// Resumes the job with `id`. With MissedRuns::skip, it continues from its first fire time at
  /// or after now; with MissedRuns::run, the runs it missed while paused are due at once and
  /// its misfire grace time and coalescing decide what runs.
  /// @throws JobLookupError for an unknown id.
  JobInfo resume_job(std::string_view id, MissedRuns missed = MissedRuns::skip);

  /// Removes the job with `id`. Its running instances finish; its queued runs are dropped.
  /// A job a durable store keeps but cannot use (reported by store_job_unusable: its task is
  /// not registered, or its row does not decode) is removed too, though get_job does not see it.
  /// @throws JobLookupError for an unknown id.
  void remove_job(std::string_view id);

  /// Removes every job of the store with alias `store` (empty: of every store).
  /// @throws InvalidJobOptionError for an unknown store alias.
  void remove_all_jobs(std::string_view store = {});

  /// Submits one run of the job with `id` now, outside its schedule (which is unchanged), if
  /// `max_instances` allows; otherwise its overlap policy applies. Returns whether a run was
  /// submitted. On a durable store the run is recorded in the fire history like a scheduled
  /// one (scheduled at now), in one transaction with the decision; if another scheduler changed
  /// the job at that moment nothing runs and false is returned.
  /// @throws JobLookupError for an unknown id; SchedulerNotRunningError when stopped;
  ///         StoreError if a durable store fails to record the run (it does not run then).
  bool run_job_now(std::string_view id);

  /// Writes a table of the jobs (id, name, trigger, next run or paused, and the settings not
  /// left at their defaults, durations as people write them: `30s`, `2min`) to `out`.
  void print_jobs(std::FILE* out = stdout) const;

  /// The table `print_jobs` writes.
  [[nodiscard]] std::string format_jobs() const;

  /// Starts the scheduler: BlockingScheduler runs the loop in this thread and returns after
  /// `shutdown()`; BackgroundScheduler starts the loop thread and returns; CallbackScheduler
  /// calls the wake-up handler and returns. With `paused`, no job runs until `resume()`.
  /// @throws SchedulerAlreadyRunningError if it is running or paused.
  void start(bool paused = false);

  /// Stops running due jobs until `resume()`; jobs keep their schedules.
  /// @throws SchedulerNotRunningError when stopped.
  void pause();

  /// Runs due jobs again; runs missed while paused follow each job's misfire grace time and
  /// coalescing.
  /// @throws SchedulerNotRunningError when stopped.
  void resume();

  /// Stops the scheduler. With `wait`, returns once running jobs have finished (a job that
  /// calls it does not wait for itself), and the runs waiting for a free worker run first.
  /// Without, asks running jobs to stop through their stop tokens, discards the runs waiting in
  /// the executor (job_dropped) and returns promptly. Either way a durable store's runs that
  /// had not started (queued behind a run of their job, or waiting for a free worker without
  /// `wait`) stay recorded claimed: the scheduler that next takes this one's fires over runs
  /// them, as does this one if started again. The loop thread is joined unless this is called
  /// on it.
  /// @throws SchedulerNotRunningError when already stopped.
  void shutdown(bool wait = true);

  /// The current state.
  [[nodiscard]] SchedulerState state() const;

  /// Registers `listener` for the event types in `mask` and, when `job_id` is not empty, for
  /// the events of that job only; returns an id for `remove_listener`.
  /// Listeners run on the thread where the event happens (the loop thread, an executor thread,
  /// or the caller of the member that caused it), never under a lock; one that throws is logged.
  ListenerId add_listener(Listener listener, EventMask mask = all_events, std::string job_id = {});

  /// Unregisters a listener; returns whether it was registered.
  bool remove_listener(ListenerId id);

  /// The scheduler's clock.
  [[nodiscard]] const C& clock() const noexcept;

  /// The scheduler's time, by which jobs are due: the clock's now, corrected by the offset a
  /// store that follows a database's clock measured (PostgresJobStore, for a clock that
  /// follows_real_time; else the clock's now).
  /// Thread safety: thread-safe.
  [[nodiscard]] TimePoint now() const;

  /// The executor with index `I` (thread-safe by the Executor concept).
  template <std::size_t I = 0>
  [[nodiscard]] std::tuple_element_t<I, std::tuple<E...>>& executor() noexcept {
    return std::get<I>(executors());
  }

  /// Processes the jobs due at now() and returns the next wake-up: the instant (of now()) the
  /// application's loop should call again (empty: nothing is scheduled; it is woken through the
  /// wake-up handler when that changes). Runs due jobs only while running; see CallbackScheduler.
  std::optional<TimePoint> process_due_jobs() requires(M == SchedulerMode::callback);

  /// As `process_due_jobs()`, at the given instant instead of now().
  std::optional<TimePoint> process_due_jobs(TimePoint now) requires(M == SchedulerMode::callback);

  /// Sets the handler called (from any thread, never under a lock) when the next wake-up may
  /// have moved earlier than the last one `process_due_jobs` returned: a job was added,
  /// changed or resumed, a queued run became runnable, the scheduler started or was resumed.
  /// The application's loop should then call `process_due_jobs` soon. A call already in
  /// progress on another thread may still be running when this returns (the handler is called
  /// without a lock), so what the old handler uses must outlive such a call.
  void set_wakeup_handler(std::function<void()> handler) requires(M == SchedulerMode::callback);

 protected:
  /// Whether the stores, executors and clock can all be default-made.
  static constexpr bool default_made = (std::default_initializable<S> && ...) &&
                                       (std::default_initializable<E> && ...) &&
                                       std::default_initializable<C>;

  /// A stopped scheduler over default-made stores, executors and clock, for the named
  /// schedulers' constructors, which require default_made (the library compiled once holds it).
  explicit BasicScheduler(SchedulerOptions options);

 private:
  using Core = detail::SchedulerCore<M, C, Stores<S...>, Executors<E...>>;
  friend struct detail::BodyAccess;

  // What the thin templates above hand to the core, with the callable and trigger erased. The
  // durable ones are called only by templates constrained on any_durable, and do nothing
  // otherwise: they carry no constraint of their own, since Clang 14 cannot match an
  // out-of-line definition constrained on a class member, and instantiates constrained members
  // with an explicit instantiation of the class even where their constraints fail.
  std::string add_body(detail::BodyRef body, AnyTrigger trigger, JobOptions options);
  std::string add_prepared(detail::PreparedOf<TaskRegistry> prepared, AnyTrigger trigger,
                           JobOptions options);
  std::add_lvalue_reference_t<TaskRegistry> tasks();
  void task_registered(const std::string& name);
  void begin_batch();
  void end_batch(bool commit);
  JobInfo reschedule(std::string_view id, AnyTrigger trigger);
  std::tuple<E...>& executors() noexcept;

  std::unique_ptr<Core> core_;
};

}  // namespace apsched

namespace apsched::detail {

/// The constructors shared by BlockingScheduler, BackgroundScheduler and CallbackScheduler.
///
/// Thread safety: as BasicScheduler.
template <SchedulerMode M, class S, class E, class C>
class NamedScheduler
    : public BasicScheduler<M, C, typename StoreListOf<S>::List, typename ExecutorListOf<E>::List> {
  using Base =
      BasicScheduler<M, C, typename StoreListOf<S>::List, typename ExecutorListOf<E>::List>;

 public:
  /// Default-constructed stores, executors and clock.
  NamedScheduler() requires Base::default_made : NamedScheduler{SchedulerOptions{}} {}

  /// Default-constructed stores, executors and clock, with `options`.
  explicit NamedScheduler(SchedulerOptions options) requires Base::default_made
      : Base{std::move(options)} {}

  /// The given store (or tuple of stores), executor (or tuple of executors), clock and options.
  explicit NamedScheduler(typename StoreListOf<S>::Argument stores,
                          typename ExecutorListOf<E>::Argument executors = {}, C clock = {},
                          SchedulerOptions options = {})
      : Base{StoreListOf<S>::tuple(std::move(stores)),
             ExecutorListOf<E>::tuple(std::move(executors)), std::move(clock), std::move(options)} {
  }
};

}  // namespace apsched::detail

#if !APSCHED_SEPARATE_COMPILATION
#include <apsched/impl/scheduler.hpp>
#endif
