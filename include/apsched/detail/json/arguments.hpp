// SPDX-License-Identifier: MIT
// ArgumentWriter, ArgumentReader and ArgumentValue: the boundary between a task's typed
// parameters and the JSON array of its arguments, declared without nlohmann's header; the
// definitions (impl/json/arguments.hpp) are compiled once in the compiled mode.
#pragma once

#include <apsched/config.hpp>

#include <nlohmann/json_fwd.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace apsched::detail::json {

/// A JSON number as nlohmann::json keeps it: a signed or an unsigned 64-bit integer, or a double
/// (a parse keeps integers >= 0 unsigned, a value made from a signed integer keeps it signed).
///
/// Thread safety: not thread-safe (a plain value).
struct JsonNumber {
  /// Which member holds the number.
  enum class Kind : unsigned char { signed_integer, unsigned_integer, floating };

  Kind kind = Kind::signed_integer;
  std::int64_t signed_value = 0;
  std::uint64_t unsigned_value = 0;
  double floating_value = 0;

  /// Whether it is an integer in `[min, max]`. A float is not, even a whole one: a writer that
  /// produced 1.0 did not write an integer.
  [[nodiscard]] constexpr bool within(std::int64_t min, std::uint64_t max) const noexcept {
    switch (kind) {
      case Kind::signed_integer:
        return signed_value >= min &&
               (signed_value < 0 || static_cast<std::uint64_t>(signed_value) <= max);
      case Kind::unsigned_integer:
        return (min <= 0 || unsigned_value >= static_cast<std::uint64_t>(min)) &&
               unsigned_value <= max;
      case Kind::floating:
        break;
    }
    return false;
  }

  /// The number as arithmetic type `T`, converted as nlohmann::json's `get<T>()` converts it.
  template <class T>
  [[nodiscard]] constexpr T as() const noexcept {
    switch (kind) {
      case Kind::signed_integer:
        return static_cast<T>(signed_value);
      case Kind::unsigned_integer:
        return static_cast<T>(unsigned_value);
      case Kind::floating:
        break;
    }
    return static_cast<T>(floating_value);
  }
};

/// One JSON value among a call's arguments, read through functions that need no nlohmann
/// header: a view of a value that the arguments own, valid while they live.
///
/// Thread safety: const-thread-safe.
class ArgumentValue {
 public:
  /// Views `value`.
  explicit ArgumentValue(const nlohmann::json& value) noexcept : value_{&value} {}

  /// Whether it is null.
  [[nodiscard]] bool is_null() const noexcept;
  /// Its value if it is true or false.
  [[nodiscard]] std::optional<bool> boolean() const noexcept;
  /// Its value if it is a number.
  [[nodiscard]] std::optional<JsonNumber> number() const noexcept;
  /// Its value if it is a string (a view of the string the arguments hold).
  [[nodiscard]] std::optional<std::string_view> string() const noexcept;
  /// Whether it is an array.
  [[nodiscard]] bool is_array() const noexcept;
  /// Whether it is an object.
  [[nodiscard]] bool is_object() const noexcept;
  /// The number of elements of an array.
  /// @pre is_array()
  [[nodiscard]] std::size_t size() const noexcept;
  /// Element `index` of an array.
  /// @pre is_array() and index < size()
  [[nodiscard]] ArgumentValue operator[](std::size_t index) const noexcept;
  /// The members of an object, by key in lexicographic order.
  /// @pre is_object()
  [[nodiscard]] std::vector<std::pair<std::string_view, ArgumentValue>> members() const;

  /// The value itself, for what reads it through nlohmann (json/task_arguments.hpp).
  [[nodiscard]] const nlohmann::json& json() const noexcept { return *value_; }

 private:
  const nlohmann::json* value_;
};

/// The arguments of one call of a task, a JSON array of one element per parameter, as the
/// task's parameters are decoded from them; failures name the call, the task and the parameter.
///
/// Thread safety: const-thread-safe.
class ArgumentReader {
 public:
  /// Reads `arguments` (an array); `call` ("add_job") and `task` name them in errors.
  ArgumentReader(const nlohmann::json& arguments, std::string_view call,
                 std::string_view task) noexcept
      : arguments_{&arguments}, call_{call}, task_{task} {}

  /// The argument of parameter `index` (from 0).
  /// @pre index < the number of arguments
  [[nodiscard]] ArgumentValue operator[](std::size_t index) const noexcept;

  /// Throws the error of the argument of parameter `index` (from 0) that does not decode as
  /// its type, named by `type()`: `add_job: task "send-report" parameter 2 expects int, got
  /// "abc"`, followed by ` (reason)` when `reason` is not null (what a from_json threw).
  /// @throws SerializationError always
  [[noreturn]] void fail(std::size_t index, std::string (*type)(), const char* reason) const;

 private:
  const nlohmann::json* arguments_;
  std::string_view call_;
  std::string_view task_;
};

/// Builds the JSON array of a call's arguments one value at a time, through functions that need
/// no nlohmann header; containers are begun, filled and ended (`begin_array(); integer(1);
/// end();`), an object's members each given by key() and then a value. text() is the array as
/// nlohmann::json's dump() writes it.
///
/// Thread safety: not thread-safe.
class ArgumentWriter {
 public:
  /// An empty array of arguments; `call` ("add_job") and `task` name them in errors.
  ArgumentWriter(std::string_view call, std::string_view task);
  ~ArgumentWriter();
  ArgumentWriter(const ArgumentWriter&) = delete;
  ArgumentWriter& operator=(const ArgumentWriter&) = delete;
  ArgumentWriter(ArgumentWriter&&) = delete;
  ArgumentWriter& operator=(ArgumentWriter&&) = delete;

  /// Adds null.
  void null();
  /// Adds true or false.
  void boolean(bool value);
  /// Adds a signed integer.
  void signed_integer(std::int64_t value);
  /// Adds an unsigned integer.
  void unsigned_integer(std::uint64_t value);
  /// Adds a floating-point number (text() writes a NaN or an infinity as null, as dump() does).
  void floating(double value);
  /// Adds a string. Its UTF-8 is checked by text(), as dump() checks it.
  void string(std::string_view value);
  /// Adds a value that nlohmann::json encoded (json/task_arguments.hpp).
  void encoded(nlohmann::json value);
  /// Adds an array and adds what follows to it, up to the matching end().
  void begin_array();
  /// Adds an object and adds what follows to it, up to the matching end().
  void begin_object();
  /// Names the member of the current object that the next value is.
  /// @pre an object is begun
  void key(std::string_view name);
  /// Ends the innermost array or object begun.
  /// @pre an array or object is begun
  void end();

  /// Throws the error for the argument being added, which could not be encoded:
  /// `add_job: task "send-report" argument 2 cannot be encoded: {reason}`.
  /// @throws SerializationError always
  [[noreturn]] void fail(const char* reason) const;

  /// The arguments added.
  /// @pre every array and object begun is ended
  [[nodiscard]] const nlohmann::json& value() const noexcept;
  /// The arguments added, as the text of a JSON array, as nlohmann::json's dump() writes it.
  /// @pre every array and object begun is ended
  /// @throws nlohmann::json::type_error (316, as dump()) if a string is not valid UTF-8
  [[nodiscard]] std::string text() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace apsched::detail::json

#if !APSCHED_SEPARATE_COMPILATION
#include <apsched/impl/json/arguments.hpp>
#endif
