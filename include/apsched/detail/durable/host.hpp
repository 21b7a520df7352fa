// SPDX-License-Identifier: MIT
// The host and process a durable store runs in, as both database stores record them in their
// owner tokens and leases: the host name, the process id and whether a process of this host is
// gone, with fallbacks where POSIX is missing.
#pragma once

#include <fmt/core.h>

#include <cstdint>
#include <random>
#include <string>

#if defined(__unix__) || defined(__APPLE__)
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <utility>
#endif

namespace apsched::detail::durable {

#if defined(__unix__) || defined(__APPLE__)

/// The name of this host, or "" when it cannot be read.
[[nodiscard]] inline std::string host_name() {
  std::array<char, 256> name{};
  // One byte short of the buffer, so that a truncated name is still terminated.
  if (::gethostname(name.data(), name.size() - 1) != 0) {
    return {};
  }
  return std::string{name.data()};
}

/// The id of this process.
[[nodiscard]] inline std::int64_t process_id() noexcept {
  return static_cast<std::int64_t>(::getpid());
}

/// Whether process `pid` of this host is certainly gone: false while it runs, when this process
/// may not signal it, and for a pid no process can have.
[[nodiscard]] inline bool process_gone(std::int64_t pid) noexcept {
  if (pid <= 0 || !std::in_range<::pid_t>(pid)) {
    return false;
  }
  return ::kill(static_cast<::pid_t>(pid), 0) != 0 && errno == ESRCH;
}

#else

// Without POSIX neither the host nor the processes are known: an owner is then taken over only
// when its lease lapses, never because its process is gone.

/// The name of this host: "" (unknown).
[[nodiscard]] inline std::string host_name() { return {}; }

/// The id of this process: 0 (unknown).
[[nodiscard]] inline std::int64_t process_id() noexcept { return 0; }

/// Whether process `pid` of this host is certainly gone: never known, so false.
[[nodiscard]] inline bool process_gone(std::int64_t /*pid*/) noexcept { return false; }

#endif

/// A new token naming one store object as the owner of the fires it records,
/// "host:pid:random" (FireOwner::parse reads it back): host_name(), process_id() and 16 random
/// hex digits, so that two stores of one process differ.
[[nodiscard]] inline std::string owner_token() {
  std::random_device random;
  return fmt::format("{}:{}:{:08x}{:08x}", host_name(), process_id(), random(), random());
}

}  // namespace apsched::detail::durable
