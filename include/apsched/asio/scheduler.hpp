// SPDX-License-Identifier: MIT
// AsioScheduler: the scheduler driven by an Asio io_context (the callback model on a timer).
#pragma once

#include <apsched/asio/coroutine_job.hpp>
#include <apsched/asio/io_context_executor.hpp>
#include <apsched/clock.hpp>
#include <apsched/detail/asio/net.hpp>
#include <apsched/executors/thread_pool.hpp>
#include <apsched/scheduler.hpp>
#include <apsched/stores/memory.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <tuple>
#include <utility>

namespace apsched {

namespace detail {

template <class C>
concept ObservableClock = requires(const C& clock) {
  clock.observe(std::function<void()>{});
};

// What observing a ManualClock returns; nothing for other clocks.
template <class C>
struct ClockObservation {
  using Type = std::tuple<>;
};
template <ObservableClock C>
struct ClockObservation<C> {
  using Type = decltype(std::declval<const C&>().observe(std::function<void()>{}));
};

}  // namespace detail

/// A scheduler that lives on an Asio `io_context` (standalone Asio, or Boost.Asio with
/// APSCHED_USE_BOOST_ASIO): no thread of its own. It is the CallbackScheduler core with a
/// `steady_timer` armed for the next wake-up, re-armed after each step and whenever a job is
/// added, changed or removed from any thread. Same job API, triggers, stores and events as the
/// other schedulers (see BasicScheduler).
///
/// Executors: "default" runs jobs as handlers on the io_context (IoContextExecutor); "pool"
/// runs them on a ThreadPoolExecutor (or the executor type `E`), chosen per job with
/// `JobOptions::executor`. Coroutine jobs, functions returning `awaitable<void>`, are spawned
/// on the io_context whichever executor starts them; see CoroutineJobFunction.
///
/// While running, the scheduler keeps `io_context::run()` from returning (a work guard), since
/// jobs may be added from other threads at any time; `shutdown` releases it. The io_context must
/// outlive the scheduler. Destroying the scheduler cancels its timer and its pending handlers
/// (they find it gone and do nothing); coroutine jobs still in flight are asked to stop and end
/// on the context without reporting to it. Stopping the io_context loses nothing stored: jobs
/// stay in their store, and their runs continue when the context runs again.
///
/// @code
/// asio::io_context io;
/// apsched::AsioScheduler scheduler{io};
/// scheduler.add_job([] { fmt::print("tick\n"); },
/// apsched::IntervalTrigger{std::chrono::seconds{1}}); scheduler.add_job([]() ->
/// asio::awaitable<void> { co_await ...; }, apsched::DateTrigger{at}); scheduler.start(); io.run();
/// @endcode
///
/// Thread safety: thread-safe (as BasicScheduler); the io_context may be run by several
/// threads (the scheduler's own handlers run on a strand).
template <class S = MemoryJobStore, class E = ThreadPoolExecutor, Clock C = SystemClock>
class AsioScheduler : public BasicScheduler<SchedulerMode::callback, C, Stores<S>,
                                            Executors<IoContextExecutor, E>> {
  using Base =
      BasicScheduler<SchedulerMode::callback, C, Stores<S>, Executors<IoContextExecutor, E>>;

 public:
  /// A stopped scheduler on `context`, with the given store, second executor, clock and
  /// options. Executor aliases default to "default" (the io_context) and "pool".
  explicit AsioScheduler(detail::net::io_context& context, S store = {}, E pool = {}, C clock = {},
                         SchedulerOptions options = {})
      : Base{std::tuple<S>{std::move(store)},
             std::tuple<IoContextExecutor, E>{IoContextExecutor{context}, std::move(pool)},
             std::move(clock), with_default_aliases(std::move(options))},
        context_{&context},
        timer_{context},
        shared_{std::make_shared<Shared>(detail::net::make_strand(context))} {
    Base::set_wakeup_handler([shared = shared_, this] { request_step(shared); });
    if constexpr (detail::ObservableClock<C>) {
      observation_ = this->clock().observe([shared = shared_, this] { request_step(shared); });
    }
  }

  AsioScheduler(const AsioScheduler&) = delete;
  AsioScheduler& operator=(const AsioScheduler&) = delete;
  AsioScheduler(AsioScheduler&&) = delete;
  AsioScheduler& operator=(AsioScheduler&&) = delete;

  /// Waits for a step of the scheduler running on another thread, then detaches the pending
  /// handlers and cancels the timer; then shuts down as BasicScheduler's destructor does.
  /// @pre not called from a job or listener running on the io_context.
  ~AsioScheduler() {
    if constexpr (detail::ObservableClock<C>) {
      observation_.reset();
    }
    Base::set_wakeup_handler(nullptr);
    {
      std::unique_lock lock{shared_->mutex};
      shared_->alive = false;
    }
    timer_.cancel();
    std::lock_guard lock{work_mutex_};
    work_.reset();
  }

  /// Adds a job as BasicScheduler::add_job does; a coroutine job (see CoroutineJobFunction) is
  /// spawned on the io_context for each run.
  /// @throws as BasicScheduler::add_job.
  template <class F, Trigger T, class... Args>
  std::string add_job(F&& function, T trigger, JobOptions options = {},
                      Args&&... args) requires JobFunction<F, Args...> {
    if constexpr (CoroutineJobFunction<F, Args...>) {
      return detail::BodyAccess::add_job(
          static_cast<Base&>(*this),
          detail::make_coroutine_body(*context_, std::forward<F>(function),
                                      std::forward<Args>(args)...),
          AnyTrigger{std::move(trigger)}, std::move(options));
    } else {
      return Base::add_job(std::forward<F>(function), std::move(trigger), std::move(options),
                           std::forward<Args>(args)...);
    }
  }

  /// Starts the scheduler (see BasicScheduler::start): its first step is posted to the
  /// io_context, which it keeps from running out of work until `shutdown`.
  /// @throws SchedulerAlreadyRunningError if it is running or paused.
  void start(bool paused = false) {
    Base::start(paused);
    std::lock_guard lock{work_mutex_};
    work_.emplace(context_->get_executor());
  }

  /// Stops the scheduler (see BasicScheduler::shutdown). Never blocks on the io_context: with
  /// `wait`, runs queued on the context and coroutine jobs in flight still finish there; without,
  /// queued runs are dropped and running coroutine jobs are cancelled. Releases the work guard
  /// and cancels the timer.
  /// @throws SchedulerNotRunningError when already stopped.
  void shutdown(bool wait = true) {
    Base::shutdown(wait);
    {
      std::lock_guard lock{work_mutex_};
      work_.reset();
    }
    detail::net::post(shared_->strand, [shared = shared_, this] {
      const std::shared_lock guard{shared->mutex};
      if (shared->alive) {
        timer_.cancel();
      }
    });
  }

  /// The io_context the scheduler runs on.
  [[nodiscard]] detail::net::io_context& context() const noexcept { return *context_; }

 private:
  // The loop is the io_context's: stepping by hand would race with the scheduler's own steps.
  using Base::process_due_jobs;
  using Base::set_wakeup_handler;

  using Strand = detail::net::strand<detail::net::io_context::executor_type>;

  // What the scheduler's handlers share with it; they may run after its destruction.
  struct Shared {
    explicit Shared(Strand on) : strand{std::move(on)} {}
    // Runs the scheduler's own handlers one at a time.
    Strand strand;
    // Whether a step is posted and has not begun.
    std::atomic<bool> step_posted{false};
    // Shared by a handler while it uses the scheduler, taken exclusively by the destructor;
    // guards `alive`.
    std::shared_mutex mutex;
    bool alive = true;
  };

  static SchedulerOptions with_default_aliases(SchedulerOptions options) {
    if (options.executor_aliases.empty()) {
      options.executor_aliases = {"default", "pool"};
    }
    return options;
  }

  // Posts one step to the strand, unless one is already pending. Any thread; touches only
  // `shared` until the step runs, so it is safe while the scheduler is being destroyed.
  void request_step(const std::shared_ptr<Shared>& shared) {
    if (shared->step_posted.exchange(true, std::memory_order_acq_rel)) {
      return;
    }
    detail::net::post(shared->strand, [shared, this] {
      shared->step_posted.store(false, std::memory_order_release);
      const std::shared_lock guard{shared->mutex};
      if (shared->alive) {
        step();
      }
    });
  }

  // On the strand: processes due jobs and arms the timer for the next wake-up.
  void step() {
    const std::optional<TimePoint> next = Base::process_due_jobs();
    if (!next) {
      timer_.cancel();
      return;
    }
    // Wall-clock steps are noticed within a second, as by SystemClock::wait_until.
    const Duration remaining =
        std::clamp(*next - this->now(), Duration::zero(), Duration{std::chrono::seconds{1}});
    timer_.expires_after(
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(remaining));
    timer_.async_wait(detail::net::bind_executor(
        shared_->strand, [shared = shared_, this](const detail::ErrorCode& error) {
          if (error) {
            return;  // cancelled: re-armed or shut down
          }
          const std::shared_lock guard{shared->mutex};
          if (shared->alive) {
            step();
          }
        }));
  }

  detail::net::io_context* context_;
  // Used on the strand, and by the destructor once no handler can use it.
  detail::net::steady_timer timer_;
  std::shared_ptr<Shared> shared_;
  // Guards work_.
  std::mutex work_mutex_;
  std::optional<detail::net::executor_work_guard<detail::net::io_context::executor_type>> work_;
  [[no_unique_address]] typename detail::ClockObservation<C>::Type observation_;
};

}  // namespace apsched
