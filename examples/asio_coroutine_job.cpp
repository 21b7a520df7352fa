// SPDX-License-Identifier: MIT
// Coroutine jobs on an AsioScheduler: a run co_awaits Asio operations, and its timeout cancels the
// operation in progress through the coroutine's cancellation slot.
#include <apsched/asio/scheduler.hpp>
#include <apsched/triggers/date.hpp>
#include <apsched/triggers/interval.hpp>

#include <fmt/chrono.h>
#include <fmt/core.h>
#include <asio/error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <chrono>
#include <exception>
#include <system_error>

int main() {
  using namespace std::chrono_literals;
  asio::io_context io;  // declared first: it must outlive the scheduler
  apsched::AsioScheduler scheduler{io};
  // Nothing runs before io.run(); starting first keeps the pool's thread start-up (slow under
  // sanitizers) out of the timeline below.
  scheduler.start();
  // Fire times are exact, so offsets from here print the same on every run.
  const apsched::TimePoint start = std::chrono::system_clock::now();
  const auto at = [start](const apsched::JobContext& context) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(context.scheduled_run_time -
                                                                 start);
  };
  scheduler.add_listener(
      [](const apsched::Event& event) {
        if (event.type == apsched::EventType::job_timeout) {
          fmt::print("{}: job_timeout, cancelling it\n", event.job_id);
          return;
        }
        try {
          std::rethrow_exception(event.exception);
        } catch (const std::system_error& error) {
          fmt::print("{}: job_error \"{}\", operation_aborted: {}\n", event.job_id, error.what(),
                     error.code() == asio::error::operation_aborted);
        } catch (const std::exception& error) {
          fmt::print("{}: job_error \"{}\"\n", event.job_id, error.what());
        }
      },
      apsched::EventType::job_timeout | apsched::EventType::job_error);

  // While a run awaits its reply, the io_context thread is free for other handlers and jobs.
  scheduler.add_job(
      [&](const apsched::JobContext& context) -> asio::awaitable<void> {
        asio::steady_timer reply{co_await asio::this_coro::executor, 50ms};
        co_await reply.async_wait(asio::use_awaitable);
        fmt::print("[+{}] {} (attempt {}): reply after 50ms\n", at(context), context.job_id,
                   context.attempt);
      },
      apsched::IntervalTrigger{300ms, {.start_date = start + 300ms}}, {.id = "poll"});
  // Never answered: the 150 ms timeout cancels the wait, and the run ends with the
  // operation_aborted the awaited timer throws (it could catch it to clean up first).
  scheduler.add_job(
      [&](const apsched::JobContext& context) -> asio::awaitable<void> {
        fmt::print("[+{}] {} (attempt {}): waiting for a reply that never comes\n", at(context),
                   context.job_id, context.attempt);
        asio::steady_timer never{co_await asio::this_coro::executor, 1h};
        co_await never.async_wait(asio::use_awaitable);
      },
      apsched::DateTrigger{start}, {.id = "stuck", .timeout = 150ms});
  // io.run() returns once the scheduler no longer holds the context and the last run has ended.
  scheduler.add_job([&] { scheduler.shutdown(); }, apsched::DateTrigger{start + 1s});

  io.run();
  fmt::print("io_context done\n");
}
