// SPDX-License-Identifier: MIT
// The Executor concept: where job runs execute. Also Task, the unit of work executors receive.
#pragma once

#include <concepts>
#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

namespace apsched {

/// A move-only unit of work handed to an executor: call `run()` at most once. A task destroyed
/// without having run reports itself as dropped to the scheduler, so a run an executor discards
/// (on shutdown) is never lost silently.
///
/// Thread safety: not thread-safe (one owner at a time; it may be moved between threads).
class Task {
 public:
  /// An empty task.
  Task() noexcept = default;

  /// Wraps `work`, a callable with `void operator()() noexcept`-like behaviour: the scheduler's
  /// tasks never throw. Callables of up to 16 bytes are stored inline, without allocating.
  template <class F>
  requires(!std::same_as<std::remove_cvref_t<F>, Task> &&
           std::invocable<std::decay_t<F>&>) explicit Task(F&& work)
      : vtable_{&vtable_for<std::decay_t<F>>} {
    using Work = std::decay_t<F>;
    if constexpr (fits_inline<Work>) {
      ::new (static_cast<void*>(storage_)) Work(std::forward<F>(work));
    } else {
      heap_ = new Work(std::forward<F>(work));
    }
  }

  Task(Task&& other) noexcept : vtable_{std::exchange(other.vtable_, nullptr)} {
    if (vtable_ != nullptr) {
      vtable_->move(other, *this);
    }
  }
  Task& operator=(Task&& other) noexcept {
    if (this != &other) {
      reset();
      vtable_ = std::exchange(other.vtable_, nullptr);
      if (vtable_ != nullptr) {
        vtable_->move(other, *this);
      }
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() { reset(); }

  /// Runs the work, then destroys it; a second call does nothing.
  void run() noexcept {
    if (const VTable* vtable = std::exchange(vtable_, nullptr)) {
      vtable->run_and_destroy(*this);
    }
  }

  /// True while the task holds work that has not run.
  [[nodiscard]] explicit operator bool() const noexcept { return vtable_ != nullptr; }

 private:
  static constexpr std::size_t inline_size = 16;

  template <class F>
  static constexpr bool fits_inline =
      sizeof(F) <= inline_size &&
      alignof(F) <= alignof(void*) && std::is_nothrow_move_constructible_v<F>;

  struct VTable {
    void (*run_and_destroy)(Task&) noexcept;
    void (*move)(Task& from, Task& to) noexcept;
    void (*destroy)(Task&) noexcept;
  };

  template <class F>
  static F& as(Task& task) noexcept {
    if constexpr (fits_inline<F>) {
      return *std::launder(reinterpret_cast<F*>(task.storage_));
    } else {
      return *static_cast<F*>(task.heap_);
    }
  }
  template <class F>
  static void destroy_of(Task& task) noexcept {
    if constexpr (fits_inline<F>) {
      as<F>(task).~F();
    } else {
      delete static_cast<F*>(task.heap_);
    }
  }
  template <class F>
  static void run_of(Task& task) noexcept {
    as<F>(task)();
    destroy_of<F>(task);
  }
  template <class F>
  static void move_of(Task& from, Task& to) noexcept {
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

/// Runs the scheduler's job runs.
///
/// Requirements, for an `E e` and a `Task task`:
/// 1. `e.submit(std::move(task))` accepts the task and eventually calls `task.run()` exactly
///    once, on a thread of the executor's choosing (the submitting thread included, as
///    InlineExecutor does), or destroys it without running it (on shutdown). It must not block
///    the caller waiting for capacity: the scheduler loop calls it. It may throw
///    ExecutorShutdownError after `shutdown`.
/// 2. `e.shutdown(wait)` stops accepting tasks. With `wait == true` it returns after every
///    accepted task has run (called from one of the executor's own threads, it does not wait for
///    that thread). With `wait == false` it destroys the tasks not yet started and returns
///    without waiting for running ones. A second call does nothing more.
/// 3. Optional: `e.start()`, called by the scheduler's `start()`, (re)starts an executor after
///    `shutdown`; without it an executor is usable once.
/// 4. Tasks never throw: the scheduler catches every exception of a job inside the task and
///    reports it as an error event, so a failing job never stops an executor thread.
/// 5. Optional: `e.available()` returns how many more tasks it would start at once if they were
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
concept Executor = requires(E& executor, Task&& task, bool wait) {
  executor.submit(std::move(task));
  executor.shutdown(wait);
};

/// An Executor that can be restarted after shutdown (see Executor, requirement 3).
template <class E>
concept RestartableExecutor = Executor<E> && requires(E& executor) {
  executor.start();
};

/// An Executor that reports how many more tasks it would start at once (see Executor,
/// requirement 5): `e.available()` returns a `std::size_t`, a hint that is stale as soon as it
/// is read. Called on the scheduler's loop thread; an executor that models this states it with
/// a `static_assert` beside its class.
template <class E>
concept RoomReportingExecutor = Executor<E> && requires(E& executor) {
  { executor.available() } -> std::convertible_to<std::size_t>;
};

}  // namespace apsched
