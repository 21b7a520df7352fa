// SPDX-License-Identifier: MIT
// An Asio echo server whose io_context also runs scheduled jobs: statistics on the context and on
// the thread pool, a coroutine job probing the server, and the shutdown itself.
#include <apsched/asio/scheduler.hpp>
#include <apsched/triggers/date.hpp>
#include <apsched/triggers/interval.hpp>

#include <fmt/chrono.h>
#include <fmt/core.h>
#include <asio/buffer.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read_until.hpp>
#include <asio/redirect_error.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <exception>
#include <string>
#include <utility>

using asio::ip::tcp;

namespace {

// Atomic because the "pool" job reads them on a thread of its own.
struct Stats {
  std::atomic<int> accepted{0};
  std::atomic<int> open{0};
  std::atomic<int> echoed{0};
};

asio::awaitable<void> echo(tcp::socket socket, Stats& stats) {
  ++stats.open;
  std::string buffer;
  asio::error_code error;
  for (;;) {
    const std::size_t size =
        co_await asio::async_read_until(socket, asio::dynamic_buffer(buffer), '\n',
                                        asio::redirect_error(asio::use_awaitable, error));
    if (error) {
      break;  // end of file: the peer is done
    }
    co_await asio::async_write(socket, asio::buffer(buffer, size),
                               asio::redirect_error(asio::use_awaitable, error));
    if (error) {
      break;
    }
    buffer.erase(0, size);
    ++stats.echoed;
  }
  --stats.open;
}

asio::awaitable<void> serve(tcp::acceptor& acceptor, Stats& stats) {
  for (;;) {
    asio::error_code error;
    tcp::socket socket =
        co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, error));
    if (error) {
      co_return;  // the acceptor was closed: the server is shutting down
    }
    ++stats.accepted;
    // Detached: one broken connection must not end the server.
    asio::co_spawn(acceptor.get_executor(), echo(std::move(socket), stats), asio::detached);
  }
}

// Sends one line and returns its echo, without the newline.
asio::awaitable<std::string> round_trip(tcp::socket& socket, std::string line) {
  line += '\n';
  co_await asio::async_write(socket, asio::buffer(line), asio::use_awaitable);
  std::string reply;
  const std::size_t size = co_await asio::async_read_until(socket, asio::dynamic_buffer(reply),
                                                           '\n', asio::use_awaitable);
  reply.resize(size - 1);
  co_return reply;
}

asio::awaitable<void> client(tcp::endpoint server) {
  tcp::socket socket{co_await asio::this_coro::executor};
  co_await socket.async_connect(server, asio::use_awaitable);
  for (const char* line : {"hello", "from the", "client"}) {
    fmt::print("client got back: {}\n", co_await round_trip(socket, line));
  }
}

}  // namespace

int main() {
  using namespace std::chrono_literals;
  using std::chrono::milliseconds;
  asio::io_context io;  // declared first: it must outlive the scheduler
  tcp::acceptor acceptor{io, {asio::ip::make_address("127.0.0.1"), 0}};
  const tcp::endpoint server = acceptor.local_endpoint();
  fmt::print("echo server listening on 127.0.0.1:{}\n", server.port());
  Stats stats;

  // One worker is enough for one job; the default pool has ten.
  apsched::AsioScheduler scheduler{io, {}, apsched::ThreadPoolExecutor{1}};
  // Nothing runs before io.run(); starting first keeps the pool's thread start-up out of the
  // timeline below.
  scheduler.start();
  // Fire times are start + k * interval, so the printed offsets are exact and stable; the jobs
  // are 50 ms or more apart, so their output never interleaves.
  const apsched::TimePoint start = std::chrono::system_clock::now();
  const auto at = [start](const apsched::JobContext& context) {
    return std::chrono::duration_cast<milliseconds>(context.scheduled_run_time - start);
  };
  const auto print_stats = [&stats](milliseconds when, const char* where) {
    fmt::print("[+{}] stats on {}: {} accepted, {} open, {} lines echoed\n", when, where,
               stats.accepted.load(), stats.open.load(), stats.echoed.load());
  };
  // On the io_context ("default"): between the server's handlers, so it must be quick.
  scheduler.add_job(
      [&](const apsched::JobContext& context) { print_stats(at(context), "the io_context"); },
      apsched::IntervalTrigger{200ms, {.start_date = start + 200ms}}, {.id = "stats"});
  // On the pool: where a job that may block (a file, a metrics push) cannot stall the server.
  scheduler.add_job(
      [&](const apsched::JobContext& context) { print_stats(at(context), "the pool"); },
      apsched::IntervalTrigger{400ms, {.start_date = start + 300ms}},
      {.id = "stats-pool", .executor = "pool"});
  // A coroutine job does network I/O without blocking the context; the run lasts until it ends.
  scheduler.add_job(
      [&](const apsched::JobContext& context) -> asio::awaitable<void> {
        tcp::socket socket{co_await asio::this_coro::executor};
        co_await socket.async_connect(server, asio::use_awaitable);
        const std::string reply = co_await round_trip(socket, "ping");
        fmt::print("[+{}] probe: {} came back\n", at(context), reply);
      },
      apsched::IntervalTrigger{400ms, {.start_date = start + 500ms}}, {.id = "probe"});
  scheduler.add_job(
      [&](const apsched::JobContext& context) {
        fmt::print("[+{}] shutting down\n", at(context));
        // Releases the scheduler's hold on the context; closing the acceptor ends `serve`, so
        // io.run() returns once the last connection is done.
        scheduler.shutdown();
        acceptor.close();
      },
      apsched::DateTrigger{start + 1050ms}, {.id = "shutdown"});

  asio::co_spawn(io, serve(acceptor, stats), asio::detached);
  // Rethrown from io.run(): the example must fail loudly if its own client does.
  asio::co_spawn(io, client(server), [](const std::exception_ptr& error) {
    if (error) {
      std::rethrow_exception(error);
    }
  });
  io.run();
  fmt::print("stopped: {} connections, {} lines echoed\n", stats.accepted.load(),
             stats.echoed.load());
}
