// SPDX-License-Identifier: MIT
// Coroutine jobs: job functions returning an Asio awaitable<void>, run with co_spawn.
#pragma once

#include <apsched/detail/asio/net.hpp>
#include <apsched/detail/job_body.hpp>
#include <apsched/job.hpp>

#include <concepts>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <tuple>
#include <type_traits>
#include <utility>

namespace apsched {

namespace detail {

template <class R>
inline constexpr bool is_awaitable_void = false;
template <class Executor>
inline constexpr bool is_awaitable_void<net::awaitable<void, Executor>> = true;

}  // namespace detail

/// A job function that is an Asio coroutine: `f(context, args...)` or `f(args...)` returns
/// `awaitable<void>` (of standalone Asio, or of Boost.Asio with APSCHED_USE_BOOST_ASIO).
/// AsioScheduler runs it with `co_spawn` on its io_context; the run ends when the coroutine
/// does. The context argument is a copy that lives as long as the coroutine.
template <class F, class... Args>
concept CoroutineJobFunction = JobFunction<F, Args...> && detail::is_awaitable_void<
    typename detail::JobResult<std::decay_t<F>, std::decay_t<Args>...>::Type>;

}  // namespace apsched

namespace apsched::detail {

/// The body of a coroutine job: `start` spawns the coroutine on a strand of the io_context and
/// hands its completion to the coroutine's end. Stop requests (timeout, shutdown without wait)
/// become a terminal cancellation through the spawn's cancellation slot, so the awaited Asio
/// operation in progress ends with `operation_aborted`.
template <class F, class... Args>
class CoroutineBody final : public JobBody {
 public:
  template <class G, class... A>
  CoroutineBody(net::io_context& context, G&& function, A&&... args)
      : JobBody{true},
        context_{&context},
        function_{std::forward<G>(function)},
        arguments_{std::forward<A>(args)...} {}

  // A coroutine cannot run to its end on the calling thread.
  void run(const JobContext& /*context*/) override {
    throw ExecutorShutdownError{"a coroutine job runs only through its io_context"};
  }

  void start(const JobContext& context, RunCompletion& done) override {
    auto state = std::make_shared<State>(net::make_strand(*context_), std::move(done));
    state->on_stop.emplace(context.stop_token, Cancel{state});
    auto strand = state->strand;
    net::co_spawn(strand, drive(this, context),
                  net::bind_cancellation_slot(state->signal.slot(),
                                              [state](std::exception_ptr error) mutable {
                                                state->on_stop.reset();
                                                state->done(std::move(error));
                                              }));
  }

 private:
  using Strand = net::strand<net::io_context::executor_type>;

  struct State;
  // Emits the cancellation on the coroutine's strand, where the signal may be used.
  struct Cancel {
    std::weak_ptr<State> state;
    void operator()() const {
      if (auto alive = state.lock()) {
        net::post(alive->strand, [weak = state] {
          if (auto target = weak.lock()) {
            target->signal.emit(net::cancellation_type::terminal);
          }
        });
      }
    }
  };
  struct State {
    State(Strand on, RunCompletion&& completion)
        : strand{std::move(on)}, done{std::move(completion)} {}
    Strand strand;
    RunCompletion done;
    net::cancellation_signal signal;
    std::optional<std::stop_callback<Cancel>> on_stop;
  };

  // The body outlives the coroutine: the run holds a reference to it until `done` is called.
  static net::awaitable<void> drive(CoroutineBody* self, JobContext context) {
    co_await std::apply(
        [&](const Args&... args) {
          if constexpr (std::invocable<F&, const JobContext&, const Args&...>) {
            return std::invoke(self->function_, context, args...);
          } else {
            return std::invoke(self->function_, args...);
          }
        },
        self->arguments_);
  }

  net::io_context* context_;
  F function_;
  std::tuple<Args...> arguments_;
};

/// Builds the body of a coroutine job spawned on `context`.
template <class F, class... Args>
[[nodiscard]] BodyRef make_coroutine_body(net::io_context& context, F&& function, Args&&... args) {
  using Body = CoroutineBody<std::decay_t<F>, std::decay_t<Args>...>;
  return BodyRef{new Body{context, std::forward<F>(function), std::forward<Args>(args)...}};
}

}  // namespace apsched::detail
