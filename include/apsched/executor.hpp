// SPDX-License-Identifier: MIT
// The Executor concept: where job runs execute. Also Work, the unit of work executors receive.
#pragma once

#include <concepts>
#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

namespace apsched {

/// A move-only unit of work handed to an executor: call `run()` at most once. Work destroyed
/// without having run reports itself as dropped to the scheduler, so a run an executor discards
/// (on shutdown) is never lost silently.
///
/// Thread safety: not thread-safe (one owner at a time; it may be moved between threads).
class Work {
 public:
  /// Empty: holds no work.
  Work() noexcept = default;

  /// Wraps `work`, a callable with `void operator()() noexcept`-like behaviour: the scheduler's
  /// work items never throw. Callables of up to 16 bytes are stored inline, without allocating.
  template <class F>
  requires(!std::same_as<std::remove_cvref_t<F>, Work> &&
           std::invocable<std::decay_t<F>&>) explicit Work(F&& work)
      : vtable_{&vtable_for<std::decay_t<F>>} {
    using Callable = std::decay_t<F>;
    if constexpr (fits_inline<Callable>) {
      ::new (static_cast<void*>(storage_)) Callable(std::forward<F>(work));
    } else {
      heap_ = new Callable(std::forward<F>(work));
    }
  }

  Work(Work&& other) noexcept : vtable_{std::exchange(other.vtable_, nullptr)} {
    if (vtable_ != nullptr) {
      vtable_->move(other, *this);
    }
  }
  Work& operator=(Work&& other) noexcept {
    if (this != &other) {
      reset();
      vtable_ = std::exchange(other.vtable_, nullptr);
      if (vtable_ != nullptr) {
        vtable_->move(other, *this);
      }
    }
    return *this;
  }
  Work(const Work&) = delete;
  Work& operator=(const Work&) = delete;
  ~Work() { reset(); }

  /// Runs the work, then destroys it; a second call does nothing.
  void run() noexcept {
    if (const VTable* vtable = std::exchange(vtable_, nullptr)) {
      vtable->run_and_destroy(*this);
    }
  }

  /// True while it holds work that has not run.
  [[nodiscard]] explicit operator bool() const noexcept { return vtable_ != nullptr; }

 private:
  static constexpr std::size_t inline_size = 16;

  template <class F>
  static constexpr bool fits_inline =
      sizeof(F) <= inline_size &&
      alignof(F) <= alignof(void*) && std::is_nothrow_move_constructible_v<F>;

  struct VTable {
    void (*run_and_destroy)(Work&) noexcept;
    void (*move)(Work& from, Work& to) noexcept;
    void (*destroy)(Work&) noexcept;
  };

  template <class F>
  static F& as(Work& work) noexcept {
    if constexpr (fits_inline<F>) {
      return *std::launder(reinterpret_cast<F*>(work.storage_));
    } else {
      return *static_cast<F*>(work.heap_);
    }
  }
  template <class F>
  static void destroy_of(Work& work) noexcept {
    if constexpr (fits_inline<F>) {
      as<F>(work).~F();
    } else {
      delete static_cast<F*>(work.heap_);
    }
  }
  template <class F>
  static void run_of(Work& work) noexcept {
    as<F>(work)();
    destroy_of<F>(work);
  }
  template <class F>
  static void move_of(Work& from, Work& to) noexcept {
    if constexpr (fits_inline<F>) {
      ::new (static_cast<void*>(to.storage_)) F(std::move(as<F>(from)));
      as<F>(from).~F();
    } else {
      to.heap_ = from.heap_;
    }
  }
  template <class F>
  static constexpr VTable vtable_for = {&run_of<F>, &move_of<F>, &destroy_of<F>};

  void reset() noexcept {
    if (const VTable* vtable = std::exchange(vtable_, nullptr)) {
      vtable->destroy(*this);
    }
  }

  const VTable* vtable_ = nullptr;
  union {
    alignas(void*) std::byte storage_[inline_size];
    void* heap_;
  };
};

/// The former name of Work: "task" now means only a function registered for durable jobs
/// (TaskRegistry).
using Task [[deprecated("apsched::Task is now apsched::Work")]] = Work;

/// Runs the scheduler's job runs.
///
/// Requirements, for an `E e` and a `Work work`:
/// 1. `e.submit(std::move(work))` accepts it and eventually calls `work.run()` exactly
///    once, on a thread of the executor's choosing (the submitting thread included, as
///    InlineExecutor does), or destroys it without running it (on shutdown). It must not block
///    the caller waiting for capacity: the scheduler loop calls it. It may throw
///    ExecutorShutdownError after `shutdown`.
/// 2. `e.shutdown(wait)` stops accepting work items. With `wait == true` it returns after every
///    accepted work item has run (called from one of the executor's own threads, it does not wait
///    for that thread). With `wait == false` it destroys the work items not yet started and returns
///    without waiting for running ones. A second call does nothing more.
/// 3. Optional: `e.start()`, called by the scheduler's `start()`, (re)starts an executor after
///    `shutdown`; without it an executor is usable once.
/// 4. Work items never throw: the scheduler catches every exception of a job inside the work item
/// and
///    reports it as an error event, so a failing job never stops an executor thread.
/// 5. Optional: `e.available()` returns how many more work items it would start at once if they
/// were
///    submitted now (a `std::size_t`; a hint, stale as soon as it is read). With it, a step of
///    the scheduler (with a real-time clock) hands it no more durable jobs' runs than that plus
///    the runs it ended over the last 100 ms or so (its start window): due jobs beyond that stay
///    unclaimed in their store, for other schedulers or a later step, and a run decided beyond
///    it waits with its fire recorded `claimed` (FireState), so that a store's `submitted`
///    fires are the ones that started or were about to. Without it every run counts as
///    starting at once.
///
/// The scheduler calls `submit` from its loop thread and from threads that call
/// `run_job_now`; `shutdown` and `start` from the threads that call the scheduler's
/// `shutdown` and `start`. Those calls are not serialised: an executor must be thread-safe.
template <class E>
concept Executor = requires(E& executor, Work&& work, bool wait) {
  executor.submit(std::move(work));
  executor.shutdown(wait);
};

/// An Executor that can be restarted after shutdown (see Executor, requirement 3).
template <class E>
concept RestartableExecutor = Executor<E> && requires(E& executor) {
  executor.start();
};

/// An Executor that reports how many more work items it would start at once (see Executor,
/// requirement 5): `e.available()` returns a `std::size_t`, a hint that is stale as soon as it
/// is read. Called on the scheduler's loop thread; an executor that models this states it with
/// a `static_assert` beside its class.
template <class E>
concept RoomReportingExecutor = Executor<E> && requires(E& executor) {
  { executor.available() } -> std::convertible_to<std::size_t>;
};

}  // namespace apsched
