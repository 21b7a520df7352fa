// SPDX-License-Identifier: MIT
// A fast hash for job ids, which are short strings (15 characters when generated), and a
// fast random generator for ids and jitter.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace apsched::detail {

/// Mixes the bits of `x` so each input bit affects every output bit (a 64-bit finaliser).
[[nodiscard]] constexpr std::uint64_t mix64(std::uint64_t x) noexcept {
  x ^= x >> 32;
  x *= 0xD6E8FEB86659FD93ULL;
  x ^= x >> 32;
  x *= 0xD6E8FEB86659FD93ULL;
  x ^= x >> 32;
  return x;
}

/// A 64-bit hash of `text`, eight bytes at a time. Not for untrusted input at scale: it is not
/// keyed, so colliding ids can be constructed (job ids come from the application).
[[nodiscard]] inline std::uint64_t hash_id(std::string_view text) noexcept {
  std::uint64_t hash = 0x9E3779B97F4A7C15ULL ^ text.size();
  const char* data = text.data();
  std::size_t left = text.size();
  const auto absorb = [&hash](std::uint64_t word) {
    hash = (hash ^ word) * 0xFF51AFD7ED558CCDULL;
    hash ^= hash >> 29;
  };
  if (left >= 8) {
    while (left > 8) {
      std::uint64_t word = 0;
      std::memcpy(&word, data, 8);
      absorb(word);
      data += 8;
      left -= 8;
    }
    // The last eight bytes, overlapping the previous word when the length is not a multiple of
    // eight: one fixed-size load instead of a byte loop.
    std::uint64_t word = 0;
    std::memcpy(&word, text.data() + text.size() - 8, 8);
    absorb(word);
  } else {
    std::uint64_t word = 0;
    for (std::size_t i = 0; i < left; ++i) {
      word |= std::uint64_t{static_cast<unsigned char>(data[i])} << (8 * i);
    }
    absorb(word);
  }
  return mix64(hash);
}

/// A seed that differs between schedulers, processes and machines: the wall and steady clocks
/// to the nanosecond, addresses (randomised per process where the system does that) and a
/// process-wide count, mixed. For ids and jitter, not cryptography.
[[nodiscard]] inline std::uint64_t fresh_seed() noexcept {
  static std::atomic<std::uint64_t> count{0};
  const int local = 0;
  std::uint64_t seed = mix64(
      static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count()));
  seed = mix64(seed ^ static_cast<std::uint64_t>(
                          std::chrono::steady_clock::now().time_since_epoch().count()));
  seed = mix64(seed ^ reinterpret_cast<std::uintptr_t>(&local));
  seed = mix64(seed ^ reinterpret_cast<std::uintptr_t>(&count));
  return mix64(seed ^ count.fetch_add(1, std::memory_order_relaxed));
}

/// A small, fast UniformRandomBitGenerator (SplitMix64): for ids and jitter, not cryptography.
class SplitMix64 {
 public:
  using result_type = std::uint64_t;

  explicit SplitMix64(std::uint64_t seed) noexcept : state_{seed} {}

  static constexpr result_type min() noexcept { return 0; }
  static constexpr result_type max() noexcept { return ~result_type{0}; }

  result_type operator()() noexcept {
    state_ += 0x9E3779B97F4A7C15ULL;
    return mix64(state_);
  }

  /// A uniformly distributed number in [0, bound] (both ends included), without the modulo
  /// bias: draws below 2^64 mod (bound + 1) are drawn again.
  result_type at_most(result_type bound) noexcept {
    if (bound == max()) {
      return (*this)();
    }
    const result_type range = bound + 1;
    const result_type threshold = (0 - range) % range;
    result_type draw = (*this)();
    while (draw < threshold) {
      draw = (*this)();
    }
    return draw % range;
  }

 private:
  std::uint64_t state_;
};

}  // namespace apsched::detail
