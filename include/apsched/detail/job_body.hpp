// SPDX-License-Identifier: MIT
// The type-erased callable of a job, shared between the job record and its running instances.
#pragma once

#include <apsched/error.hpp>
#include <apsched/job.hpp>

#include <atomic>
#include <concepts>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

namespace apsched::detail {

/// What a RunCompletion reports to: the scheduler that started the run, until it is destroyed.
///
/// Thread safety: thread-safe.
struct CompletionAnchor {
  /// Records the end of the run `run` in `owner`; `error` is empty on success.
  using Finish = void (*)(void* owner, void* run, std::exception_ptr error) noexcept;
  /// Frees `run` after its scheduler is gone.
  using Discard = void (*)(void* run) noexcept;

  CompletionAnchor(void* scheduler, Finish on_finish, Discard on_discard) noexcept
      : owner{scheduler}, finish{on_finish}, discard{on_discard} {}

  /// Called by the scheduler's destructor: waits for finishes in progress; later ones discard.
  void retire() noexcept {
    std::unique_lock lock{mutex};
    owner = nullptr;
  }

  // Shared by finishing runs, taken exclusively by retire(); guards owner.
  std::shared_mutex mutex;
  void* owner;
  const Finish finish;
  const Discard discard;
};

/// The end of one asynchronous run: a job body that finishes after `start` returns (a coroutine
/// job) moves it out of `start` and calls it once, from any thread, when the run is over.
/// Destroyed without being called (its event loop was destroyed first), it reports the run as
/// failed with an ExecutorShutdownError. Move-only.
///
/// Thread safety: not thread-safe; distinct completions may be used concurrently.
class RunCompletion {
 public:
  RunCompletion() noexcept = default;
  RunCompletion(std::shared_ptr<CompletionAnchor> anchor, void* run) noexcept
      : anchor_{std::move(anchor)}, run_{run} {}
  RunCompletion(RunCompletion&& other) noexcept
      : anchor_{std::move(other.anchor_)}, run_{std::exchange(other.run_, nullptr)} {}
  RunCompletion& operator=(RunCompletion&& other) noexcept {
    if (this != &other) {
      abandon();
      anchor_ = std::move(other.anchor_);
      run_ = std::exchange(other.run_, nullptr);
    }
    return *this;
  }
  RunCompletion(const RunCompletion&) = delete;
  RunCompletion& operator=(const RunCompletion&) = delete;
  ~RunCompletion() { abandon(); }

  /// Whether the run is still to be completed through this object.
  [[nodiscard]] explicit operator bool() const noexcept { return run_ != nullptr; }

  /// Ends the run: successfully when `error` is empty, else as failed with `error`.
  /// @pre `*this` is true.
  void operator()(std::exception_ptr error = nullptr) noexcept {
    void* run = std::exchange(run_, nullptr);
    const std::shared_lock lock{anchor_->mutex};
    if (anchor_->owner != nullptr) {
      anchor_->finish(anchor_->owner, run, std::move(error));
    } else {
      anchor_->discard(run);
    }
  }

  /// Gives the run back to the caller (the scheduler, when its body finished synchronously).
  [[nodiscard]] void* release() noexcept { return std::exchange(run_, nullptr); }

 private:
  void abandon() noexcept {
    if (run_ != nullptr) {
      (*this)(std::make_exception_ptr(ExecutorShutdownError{
          "the run was abandoned before it finished: its event loop was destroyed"}));
    }
  }

  std::shared_ptr<CompletionAnchor> anchor_;
  void* run_ = nullptr;
};

/// The callable of a job. Reference-counted by BodyRef; immutable once built, so running
/// instances share it with the record.
class JobBody {
 public:
  /// A body counted by BodyRef, or (counted == false) one that outlives every reference.
  explicit JobBody(bool counted) noexcept : counted_{counted} {}
  JobBody(const JobBody&) = delete;
  JobBody& operator=(const JobBody&) = delete;

  /// Runs the job; may throw whatever the job throws.
  virtual void run(const JobContext& context) = 0;

  /// Starts the job. A body that finishes later moves `done` out and calls it when it ends;
  /// the default runs the job to its end here and leaves `done` alone. May throw (the run
  /// failed to start, or failed synchronously).
  virtual void start(const JobContext& context, RunCompletion& done) {
    static_cast<void>(done);
    run(context);
  }

 protected:
  virtual ~JobBody() = default;

 private:
  friend class BodyRef;
  // Stateless callables share one static body that is never counted or deleted.
  bool counted_;
  std::atomic<std::uint32_t> references_{1};
};

/// An owning, copyable reference to a JobBody.
class BodyRef {
 public:
  BodyRef() noexcept = default;
  /// Adopts `body`, whose count is already 1 (or which is uncounted).
  explicit BodyRef(JobBody* body) noexcept : body_{body} {}
  BodyRef(const BodyRef& other) noexcept : body_{other.body_} { acquire(); }
  BodyRef(BodyRef&& other) noexcept : body_{std::exchange(other.body_, nullptr)} {}
  BodyRef& operator=(BodyRef other) noexcept {
    std::swap(body_, other.body_);
    return *this;
  }
  ~BodyRef() { release(); }

  [[nodiscard]] JobBody* get() const noexcept { return body_; }
  [[nodiscard]] explicit operator bool() const noexcept { return body_ != nullptr; }

 private:
  void acquire() const noexcept {
    if (body_ != nullptr && body_->counted_) {
      body_->references_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  void release() noexcept {
    if (body_ != nullptr && body_->counted_ &&
        body_->references_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      delete body_;
    }
  }

  JobBody* body_ = nullptr;
};

/// How the scheduler takes the task call and the body out of a prepared task job (the value a
/// task registry's `prepare` returns): `static TaskCall take_call(Prepared&)` and
/// `static BodyRef take_body(Prepared&)`. Specialised beside each prepared type (the json part's
/// PreparedTask).
template <class Prepared>
struct PreparedAccess;

template <class F, class... Args>
class JobBodyFor final : public JobBody {
 public:
  template <class G, class... A>
  explicit JobBodyFor(bool counted, G&& function, A&&... args)
      : JobBody{counted},
        function_{std::forward<G>(function)},
        arguments_{std::forward<A>(args)...} {}

  void run(const JobContext& context) override {
    std::apply(
        [&](const Args&... args) {
          if constexpr (std::invocable<F&, const JobContext&, const Args&...>) {
            std::invoke(function_, context, args...);
          } else {
            std::invoke(function_, args...);
          }
        },
        arguments_);
  }

 private:
  F function_;
  std::tuple<Args...> arguments_;
};

/// The result type of calling job function `F` with `Args` (and a context, when it takes one).
template <class F, class... Args>
struct JobResult {
  using Type = void;
};
template <class F, class... Args>
requires std::invocable<F&, const JobContext&, const Args&...>
struct JobResult<F, Args...> {
  using Type = std::invoke_result_t<F&, const JobContext&, const Args&...>;
};
template <class F, class... Args>
requires(!std::invocable<F&, const JobContext&, const Args&...> &&
         std::invocable<F&, const Args&...>) struct JobResult<F, Args...> {
  using Type = std::invoke_result_t<F&, const Args&...>;
};

/// Whether `F` is a coroutine returning a lazy task (any type with a coroutine promise, such as
/// asio::awaitable): calling it runs nothing until the task is awaited or spawned.
template <class F, class... Args>
concept ReturnsCoroutine = requires {
  typename std::coroutine_traits<typename JobResult<F, Args...>::Type>::promise_type;
};

/// Builds the body of a job running `function(args...)`.
/// A function returning a coroutine is a compile error: its result would be dropped unrun.
template <class F, class... Args>
requires JobFunction<F, Args...>
[[nodiscard]] BodyRef make_body(F&& function, Args&&... args) {
  using Body = JobBodyFor<std::decay_t<F>, std::decay_t<Args>...>;
  using Function = std::decay_t<F>;
  static_assert(!ReturnsCoroutine<Function, std::decay_t<Args>...>,
                "this job function returns a coroutine, which would be dropped unrun: coroutine "
                "jobs need a scheduler that runs them (AsioScheduler for asio::awaitable<void>)");
  if constexpr (sizeof...(Args) == 0 && std::is_empty_v<Function> &&
                std::is_default_constructible_v<Function>) {
    // A stateless callable behaves the same in every job, so all its jobs share one body.
    static Body shared{false, Function{}};
    return BodyRef{&shared};
  } else {
    return BodyRef{new Body{true, std::forward<F>(function), std::forward<Args>(args)...}};
  }
}

/// How a scheduler built on BasicScheduler (AsioScheduler's coroutine jobs) adds a job whose
/// body it made itself; otherwise as BasicScheduler::add_job.
///
/// Thread safety: as BasicScheduler::add_job.
struct BodyAccess {
  /// Adds to `scheduler` a job running `body` at the fire times of `trigger`; returns its id.
  template <class Scheduler>
  static std::string add_job(Scheduler& scheduler, BodyRef body, AnyTrigger trigger,
                             JobOptions options) {
    return scheduler.add_body(std::move(body), std::move(trigger), std::move(options));
  }
};

}  // namespace apsched::detail
