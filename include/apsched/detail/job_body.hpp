// SPDX-License-Identifier: MIT
// The type-erased callable of a job, shared between the job record and its running instances.
#pragma once

#include <apsched/job.hpp>

#include <atomic>
#include <concepts>
#include <cstdint>
#include <functional>
#include <tuple>
#include <type_traits>
#include <utility>

namespace apsched {

/// A callable that can be a job with bound arguments `Args`: invocable as `f(context, args...)`
/// with a `const JobContext&`, or as `f(args...)`. Bound arguments are passed as const lvalues,
/// since every run receives the same ones.
template <class F, class... Args>
concept JobFunction = std::move_constructible<std::decay_t<F>> &&
    (std::invocable<std::decay_t<F>&, const JobContext&, const std::decay_t<Args>&...> ||
     std::invocable<std::decay_t<F>&, const std::decay_t<Args>&...>);

}  // namespace apsched

namespace apsched::detail {

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

/// Builds the body of a job running `function(args...)`.
template <class F, class... Args>
requires JobFunction<F, Args...>
[[nodiscard]] BodyRef make_body(F&& function, Args&&... args) {
  using Body = JobBodyFor<std::decay_t<F>, std::decay_t<Args>...>;
  using Function = std::decay_t<F>;
  if constexpr (sizeof...(Args) == 0 && std::is_empty_v<Function> &&
                std::is_default_constructible_v<Function>) {
    // A stateless callable behaves the same in every job, so all its jobs share one body.
    static Body shared{false, Function{}};
    return BodyRef{&shared};
  } else {
    return BodyRef{new Body{true, std::forward<F>(function), std::forward<Args>(args)...}};
  }
}

}  // namespace apsched::detail
