// SPDX-License-Identifier: MIT
// The definitions of FireOwner's members. durable_job_store.hpp includes this in header-only
// mode; in the compiled mode the apsched::compiled library holds them.
#pragma once

#include <apsched/config.hpp>
#include <apsched/durable_job_store.hpp>

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

namespace apsched {

APSCHED_INLINE FireOwner FireOwner::parse(std::string_view text) {
  const std::size_t last = text.rfind(':');
  const std::size_t middle = last == std::string_view::npos || last == 0
                                 ? std::string_view::npos
                                 : text.rfind(':', last - 1);
  if (middle != std::string_view::npos) {
    const std::string_view digits = text.substr(middle + 1, last - middle - 1);
    std::int64_t pid = 0;
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), pid);
    // Canonical digits only, so that text() gives back exactly what was stored.
    if (error == std::errc{} && end == digits.data() + digits.size() && !digits.empty() &&
        digits.front() != '-' && digits.front() != '+' &&
        (digits.front() != '0' || digits.size() == 1)) {
      return FireOwner{.host = std::string{text.substr(0, middle)},
                       .pid = pid,
                       .token = std::string{text.substr(last + 1)}};
    }
  }
  return FireOwner{.host = {}, .pid = -1, .token = std::string{text}};
}

APSCHED_INLINE std::string FireOwner::text() const {
  if (pid < 0) {
    return token;
  }
  std::string result = host;
  result += ':';
  result += std::to_string(pid);
  result += ':';
  result += token;
  return result;
}

}  // namespace apsched
