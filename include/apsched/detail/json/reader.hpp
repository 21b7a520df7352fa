// SPDX-License-Identifier: MIT
// ObjectReader: reads the members of a JSON object for a decoder, naming each one in its errors.
#pragma once

#include <apsched/clock.hpp>
#include <apsched/detail/json/time.hpp>
#include <apsched/error.hpp>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace apsched::detail::json {

/// `value` as compact JSON for an error message, cut to about 60 characters.
[[nodiscard]] inline std::string show(const nlohmann::json& value) {
  std::string text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.size() > 60) {
    text.resize(57);
    text += "...";
  }
  return text;
}

/// `values` as `"a", "b", "c"` for an error message.
template <class Range>
[[nodiscard]] std::string quoted_list(const Range& values) {
  std::string text;
  for (const auto& value : values) {
    text += fmt::format("{}\"{}\"", text.empty() ? "" : ", ", value);
  }
  return text;
}

/// `value` if it is a JSON integer that fits 64 signed bits. Floats are refused even when
/// whole: a writer that produced 1.0 did not write an integer.
[[nodiscard]] inline std::optional<std::int64_t> exact_int64(const nlohmann::json& value) {
  if (value.is_number_unsigned()) {
    const auto number = value.get<std::uint64_t>();
    if (number > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return std::nullopt;
    }
    return static_cast<std::int64_t>(number);
  }
  if (value.is_number_integer()) {
    return value.get<std::int64_t>();
  }
  return std::nullopt;
}

/// `value` if it is a JSON integer that fits 64 unsigned bits.
[[nodiscard]] inline std::optional<std::uint64_t> exact_uint64(const nlohmann::json& value) {
  if (value.is_number_unsigned()) {
    return value.get<std::uint64_t>();
  }
  if (value.is_number_integer() && value.get<std::int64_t>() >= 0) {
    return static_cast<std::uint64_t>(value.get<std::int64_t>());
  }
  return std::nullopt;
}

/// A name and the enumerator it stands for.
template <class E>
using EnumName = std::pair<std::string_view, E>;

/// The name of `value` in `names` (every enumerator is listed, so this always finds one).
template <class E, std::size_t N>
[[nodiscard]] constexpr std::string_view enum_name(const std::array<EnumName<E>, N>& names,
                                                   E value) noexcept {
  for (const auto& [name, enumerator] : names) {
    if (enumerator == value) {
      return name;
    }
  }
  return "?";
}

/// Reads the members of one JSON object. Each accessor names the member, the value found and
/// the value expected in its SerializationError: `decode: field "triggers[0].jitter_ns" of the
/// interval trigger is "5"; expected an integer number of nanoseconds >= 0`. finish() rejects
/// members no accessor asked for, so a misspelt member is an error, not a silent default.
///
/// Thread safety: not thread-safe.
class ObjectReader {
 public:
  /// Reads `object`; `call` and `what` name the call and the object in errors ("decode",
  /// "interval trigger"), and `path` is put before member names ("triggers[0].").
  /// @throws SerializationError if `object` is not a JSON object.
  ObjectReader(const nlohmann::json& object, std::string_view call, std::string_view what,
               std::string path)
      : object_{object}, call_{call}, what_{what}, path_{std::move(path)} {
    if (!object.is_object()) {
      const std::string_view at =
          path_.empty() ? std::string_view{} : std::string_view{path_}.substr(0, path_.size() - 1);
      throw SerializationError{fmt::format("{}: the {}{} is {}; expected a JSON object", call_,
                                           what_, at.empty() ? "" : fmt::format(" at \"{}\"", at),
                                           show(object))};
    }
  }

  /// The member `name`, or nullptr when it is absent.
  [[nodiscard]] const nlohmann::json* find(std::string_view name) {
    known_.push_back(name);
    const auto it = object_.find(name);
    return it == object_.end() ? nullptr : &*it;
  }

  /// The member `name`.
  /// @throws SerializationError when it is absent (`expected` describes what was expected).
  [[nodiscard]] const nlohmann::json& require(std::string_view name, std::string_view expected) {
    const nlohmann::json* value = find(name);
    if (value == nullptr) {
      throw SerializationError{fmt::format("{}: field \"{}{}\" of the {} is missing; expected {}",
                                           call_, path_, name, what_, expected)};
    }
    return *value;
  }

  /// Throws the SerializationError for member `name` holding `value` instead of `expected`.
  [[noreturn]] void fail(std::string_view name, const nlohmann::json& value,
                         std::string_view expected) const {
    throw SerializationError{fmt::format("{}: field \"{}{}\" of the {} is {}; expected {}", call_,
                                         path_, name, what_, show(value), expected)};
  }

  /// The string member `name`.
  [[nodiscard]] std::string string(std::string_view name, std::string_view expected = "a string") {
    return as_string(name, require(name, expected), expected);
  }
  /// The string member `name`, or empty when absent.
  [[nodiscard]] std::optional<std::string> optional_string(std::string_view name,
                                                           std::string_view expected = "a string") {
    const nlohmann::json* value = find(name);
    return value == nullptr ? std::nullopt : std::optional{as_string(name, *value, expected)};
  }

  /// The boolean member `name`, or `fallback` when absent.
  [[nodiscard]] bool boolean(std::string_view name, bool fallback) {
    const nlohmann::json* value = find(name);
    if (value == nullptr) {
      return fallback;
    }
    if (!value->is_boolean()) {
      fail(name, *value, "true or false");
    }
    return value->get<bool>();
  }

  /// The integer member `name`, in `[min, max]`.
  [[nodiscard]] std::int64_t integer(std::string_view name, std::int64_t min, std::int64_t max) {
    return as_integer(name, require(name, range_text(min, max)), min, max);
  }
  /// The integer member `name` in `[min, max]`, or empty when absent.
  [[nodiscard]] std::optional<std::int64_t> optional_integer(std::string_view name,
                                                             std::int64_t min, std::int64_t max) {
    const nlohmann::json* value = find(name);
    return value == nullptr ? std::nullopt : std::optional{as_integer(name, *value, min, max)};
  }
  /// The unsigned integer member `name` in `[min, max]` (a count), or `fallback` when absent.
  [[nodiscard]] std::uint64_t count(std::string_view name, std::uint64_t min, std::uint64_t max,
                                    std::uint64_t fallback) {
    const nlohmann::json* value = find(name);
    if (value == nullptr) {
      return fallback;
    }
    const std::optional<std::uint64_t> result = exact_uint64(*value);
    if (!result || *result < min || *result > max) {
      fail(name, *value, fmt::format("an integer from {} to {}", min, max));
    }
    return *result;
  }

  /// The duration member `name` (integer nanoseconds, at least `min`).
  [[nodiscard]] Duration duration(std::string_view name, Duration min) {
    return as_duration(name, require(name, duration_text(min)), min);
  }
  /// The duration member `name` (integer nanoseconds, at least `min`), or empty when absent.
  [[nodiscard]] std::optional<Duration> optional_duration(std::string_view name, Duration min) {
    const nlohmann::json* value = find(name);
    return value == nullptr ? std::nullopt : std::optional{as_duration(name, *value, min)};
  }

  /// The instant member `name` (an RFC 3339 string).
  [[nodiscard]] TimePoint time(std::string_view name) {
    return as_time(name, require(name, time_text));
  }
  /// The instant member `name` (an RFC 3339 string), or empty when absent.
  [[nodiscard]] std::optional<TimePoint> optional_time(std::string_view name) {
    const nlohmann::json* value = find(name);
    return value == nullptr ? std::nullopt : std::optional{as_time(name, *value)};
  }

  /// The enumerator named by string member `name`, or `fallback` when absent.
  template <class E, std::size_t N>
  [[nodiscard]] E enumeration(std::string_view name, const std::array<EnumName<E>, N>& names,
                              E fallback) {
    const nlohmann::json* value = find(name);
    if (value == nullptr) {
      return fallback;
    }
    if (value->is_string()) {
      const auto& text = value->get_ref<const std::string&>();
      for (const auto& [enumerator_name, enumerator] : names) {
        if (text == enumerator_name) {
          return enumerator;
        }
      }
    }
    std::vector<std::string_view> valid;
    for (const auto& entry : names) {
      valid.push_back(entry.first);
    }
    fail(name, *value, "one of " + quoted_list(valid));
  }

  /// The prefix for the path of a nested member: `"triggers[0]."` for `member("triggers", 0)`.
  [[nodiscard]] std::string member_path(std::string_view name) const {
    return fmt::format("{}{}.", path_, name);
  }
  [[nodiscard]] std::string member_path(std::string_view name, std::size_t index) const {
    return fmt::format("{}{}[{}].", path_, name, index);
  }
  /// The full name of member `name`, for messages: `"triggers[0].interval_ns"`.
  [[nodiscard]] std::string full_name(std::string_view name) const {
    return path_ + std::string{name};
  }

  /// @throws SerializationError if the object has a member no accessor asked for.
  void finish() const {
    for (const auto& item : object_.items()) {
      if (std::find(known_.begin(), known_.end(), item.key()) == known_.end()) {
        throw SerializationError{
            fmt::format("{}: the {} has an unknown field \"{}{}\"; expected only {}", call_, what_,
                        path_, item.key(), quoted_list(known_))};
      }
    }
  }

 private:
  static constexpr std::string_view time_text =
      "an RFC 3339 time string such as \"2026-12-01T09:00:00Z\"";

  static std::string range_text(std::int64_t min, std::int64_t max) {
    return fmt::format("an integer from {} to {}", min, max);
  }
  static std::string duration_text(Duration min) {
    if (min == Duration::min()) {
      return "an integer number of nanoseconds";
    }
    return fmt::format("an integer number of nanoseconds >= {}",
                       to_nanoseconds(min).value_or(std::numeric_limits<std::int64_t>::min()));
  }

  std::string as_string(std::string_view name, const nlohmann::json& value,
                        std::string_view expected) const {
    if (!value.is_string()) {
      fail(name, value, expected);
    }
    return value.get<std::string>();
  }

  std::int64_t as_integer(std::string_view name, const nlohmann::json& value, std::int64_t min,
                          std::int64_t max) const {
    const std::optional<std::int64_t> result = exact_int64(value);
    if (!result || *result < min || *result > max) {
      fail(name, value, range_text(min, max));
    }
    return *result;
  }

  Duration as_duration(std::string_view name, const nlohmann::json& value, Duration min) const {
    const std::optional<std::int64_t> nanoseconds = exact_int64(value);
    const std::optional<Duration> result =
        nanoseconds ? from_nanoseconds(*nanoseconds) : std::nullopt;
    if (!result || *result < min) {
      fail(name, value, duration_text(min));
    }
    return *result;
  }

  TimePoint as_time(std::string_view name, const nlohmann::json& value) const {
    const std::optional<TimePoint> result =
        value.is_string() ? parse_rfc3339(value.get_ref<const std::string&>()) : std::nullopt;
    if (!result) {
      fail(name, value, time_text);
    }
    return *result;
  }

  const nlohmann::json& object_;
  std::string_view call_;
  std::string_view what_;
  std::string path_;
  std::vector<std::string_view> known_;
};

}  // namespace apsched::detail::json
