// SPDX-License-Identifier: MIT
// A LISTEN connection on a thread of its own, which hands each notification to a handler and
// reconnects with back-off when the connection is lost.
#pragma once

#include <apsched/detail/postgres/connection.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>

namespace apsched::detail::postgres {

/// Listens on one channel through a connection of its own, on a thread of its own. Each
/// notification's payload goes to the handler; after every (re)connection the handler gets
/// std::nullopt instead, since notifications sent while the listener was not listening are lost.
/// A lost or refused connection is tried again after a back-off that doubles from 100 ms up to
/// 5 s. The handler is called on the listener's thread; it must not throw (what it throws is
/// dropped) and must not destroy the Listener.
///
/// Thread safety: the constructor and destructor must not run concurrently with each other;
/// the handler is only called between them.
class Listener {
 public:
  /// Called with a notification's payload, or std::nullopt after a (re)connection.
  using Handler = std::function<void(std::optional<std::string_view> payload)>;

  /// Starts the thread, which connects with `conninfo` and LISTENs on `channel`.
  /// @throws std::system_error if the thread or its wake-up pipe cannot be made
  Listener(std::string conninfo, std::string channel, Handler handler)
      : conninfo_{std::move(conninfo)}, channel_{std::move(channel)}, handler_{std::move(handler)} {
    if (::pipe2(pipe_.data(), O_CLOEXEC | O_NONBLOCK) != 0) {
      throw std::system_error{errno, std::generic_category(), "Listener: pipe2"};
    }
    try {
      thread_ = std::jthread{[this](const std::stop_token& stop) { run(stop); }};
    } catch (...) {
      close_pipe();
      throw;
    }
  }

  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
  Listener(Listener&&) = delete;
  Listener& operator=(Listener&&) = delete;

  /// Stops the thread (interrupting its wait) and joins it. In a process forked from the one
  /// that made it, where the thread does not exist, it is left alone.
  ~Listener() {
    if (::getpid() != pid_) {
      // Joining or detaching a thread of the parent would be undefined: its handle is leaked.
      static_cast<void>(new std::jthread{std::move(thread_)});  // NOLINT(*-owning-memory)
      return;
    }
    thread_.request_stop();
    const char byte = 0;
    [[maybe_unused]] const ssize_t written = ::write(pipe_[1], &byte, 1);
    if (thread_.joinable()) {
      thread_.join();
    }
    close_pipe();
  }

 private:
  void run(const std::stop_token& stop) {
    std::optional<Connection> connection;
    std::chrono::milliseconds backoff{100};
    while (!stop.stop_requested()) {
      if (!connection || !connection->connected()) {
        try {
          connection.reset();
          connection.emplace(Connection::open(conninfo_));
          connection->listen(channel_);
          backoff = std::chrono::milliseconds{100};
          deliver(std::nullopt);
        } catch (...) {
          connection.reset();
          wait_interrupt(backoff);
          backoff = std::min<std::chrono::milliseconds>(backoff * 2, std::chrono::seconds{5});
          continue;
        }
      }
      try {
        for (const Notification& notification :
             connection->wait_for_notifications(std::chrono::milliseconds{-1}, pipe_[0])) {
          deliver(std::string_view{notification.payload});
        }
      } catch (...) {
        connection.reset();  // lost: connect again at once, then back off if that fails
      }
    }
  }

  void deliver(std::optional<std::string_view> payload) noexcept {
    try {
      handler_(payload);
    } catch (...) {  // NOLINT(bugprone-empty-catch): documented: the handler must not throw
    }
  }

  // Waits up to `timeout` for the stop request's byte on the pipe.
  void wait_interrupt(std::chrono::milliseconds timeout) const noexcept {
    pollfd descriptor{.fd = pipe_[0], .events = POLLIN, .revents = 0};
    ::poll(&descriptor, 1, static_cast<int>(timeout.count()));
  }

  void close_pipe() noexcept {
    for (int& fd : pipe_) {
      if (fd >= 0) {
        ::close(fd);
        fd = -1;
      }
    }
  }

  std::string conninfo_;
  std::string channel_;
  Handler handler_;
  // Written by the destructor to interrupt the thread's wait.
  std::array<int, 2> pipe_{-1, -1};
  // The process that started the thread.
  ::pid_t pid_ = ::getpid();
  std::jthread thread_;
};

}  // namespace apsched::detail::postgres
