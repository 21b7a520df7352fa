// SPDX-License-Identifier: MIT
// The definitions of ArgumentWriter, ArgumentReader and ArgumentValue, over nlohmann::json.
// detail/json/arguments.hpp includes this in header-only mode; in the compiled mode the
// apsched::json_compiled library holds them.
#pragma once

#include <apsched/config.hpp>
#include <apsched/detail/json/arguments.hpp>
#include <apsched/detail/json/reader.hpp>
#include <apsched/error.hpp>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace apsched::detail::json {

APSCHED_INLINE bool ArgumentValue::is_null() const noexcept { return value_->is_null(); }

APSCHED_INLINE std::optional<bool> ArgumentValue::boolean() const noexcept {
  if (const auto* value = value_->get_ptr<const nlohmann::json::boolean_t*>()) {
    return *value;
  }
  return std::nullopt;
}

APSCHED_INLINE std::optional<JsonNumber> ArgumentValue::number() const noexcept {
  JsonNumber number;
  switch (value_->type()) {
    case nlohmann::json::value_t::number_integer:
      number.kind = JsonNumber::Kind::signed_integer;
      number.signed_value = *value_->get_ptr<const nlohmann::json::number_integer_t*>();
      return number;
    case nlohmann::json::value_t::number_unsigned:
      number.kind = JsonNumber::Kind::unsigned_integer;
      number.unsigned_value = *value_->get_ptr<const nlohmann::json::number_unsigned_t*>();
      return number;
    case nlohmann::json::value_t::number_float:
      number.kind = JsonNumber::Kind::floating;
      number.floating_value = *value_->get_ptr<const nlohmann::json::number_float_t*>();
      return number;
    default:
      return std::nullopt;
  }
}

APSCHED_INLINE std::optional<std::string_view> ArgumentValue::string() const noexcept {
  if (const auto* value = value_->get_ptr<const nlohmann::json::string_t*>()) {
    return std::string_view{*value};
  }
  return std::nullopt;
}

APSCHED_INLINE bool ArgumentValue::is_array() const noexcept { return value_->is_array(); }

APSCHED_INLINE bool ArgumentValue::is_object() const noexcept { return value_->is_object(); }

APSCHED_INLINE std::size_t ArgumentValue::size() const noexcept {
  return value_->get_ptr<const nlohmann::json::array_t*>()->size();
}

APSCHED_INLINE ArgumentValue ArgumentValue::operator[](std::size_t index) const noexcept {
  return ArgumentValue{(*value_->get_ptr<const nlohmann::json::array_t*>())[index]};
}

APSCHED_INLINE std::vector<std::pair<std::string_view, ArgumentValue>> ArgumentValue::members()
    const {
  const nlohmann::json::object_t& object = *value_->get_ptr<const nlohmann::json::object_t*>();
  std::vector<std::pair<std::string_view, ArgumentValue>> members;
  members.reserve(object.size());
  for (const auto& [key, member] : object) {
    members.emplace_back(key, ArgumentValue{member});
  }
  return members;
}

APSCHED_INLINE ArgumentValue ArgumentReader::operator[](std::size_t index) const noexcept {
  return ArgumentValue{*arguments_}[index];
}

APSCHED_INLINE void ArgumentReader::fail(std::size_t index, std::string (*type)(),
                                         const char* reason) const {
  throw SerializationError{fmt::format("{}: task \"{}\" parameter {} expects {}, got {}{}", call_,
                                       task_, index + 1, type(), show((*this)[index].json()),
                                       reason == nullptr ? "" : fmt::format(" ({})", reason))};
}

struct ArgumentWriter::State {
  std::string_view call;
  std::string_view task;
  nlohmann::json arguments = nlohmann::json::array();
  // The arrays and objects begun and not ended, innermost last; the first is `arguments`. Only
  // the innermost grows, so the others' pointers stay valid.
  std::vector<nlohmann::json*> open;
  // The member of the innermost object that the next value is.
  std::string key;

  // Adds `value` to the innermost array or object; returns it there.
  nlohmann::json& add(nlohmann::json value) {
    nlohmann::json& into = *open.back();
    if (into.is_object()) {
      return into[key] = std::move(value);
    }
    into.push_back(std::move(value));
    return into.back();
  }
};

APSCHED_INLINE ArgumentWriter::ArgumentWriter(std::string_view call, std::string_view task)
    : state_{std::make_unique<State>()} {
  state_->call = call;
  state_->task = task;
  state_->open.push_back(&state_->arguments);
}

APSCHED_INLINE ArgumentWriter::~ArgumentWriter() = default;

APSCHED_INLINE void ArgumentWriter::null() { state_->add(nullptr); }

APSCHED_INLINE void ArgumentWriter::boolean(bool value) { state_->add(value); }

APSCHED_INLINE void ArgumentWriter::signed_integer(std::int64_t value) { state_->add(value); }

APSCHED_INLINE void ArgumentWriter::unsigned_integer(std::uint64_t value) { state_->add(value); }

APSCHED_INLINE void ArgumentWriter::floating(double value) { state_->add(value); }

APSCHED_INLINE void ArgumentWriter::string(std::string_view value) { state_->add(value); }

APSCHED_INLINE void ArgumentWriter::encoded(nlohmann::json value) { state_->add(std::move(value)); }

APSCHED_INLINE void ArgumentWriter::begin_array() {
  state_->open.push_back(&state_->add(nlohmann::json::array()));
}

APSCHED_INLINE void ArgumentWriter::begin_object() {
  state_->open.push_back(&state_->add(nlohmann::json::object()));
}

APSCHED_INLINE void ArgumentWriter::key(std::string_view name) { state_->key = name; }

APSCHED_INLINE void ArgumentWriter::end() { state_->open.pop_back(); }

APSCHED_INLINE void ArgumentWriter::fail(const char* reason) const {
  // Inside an argument's array or object, that argument is the last one added already.
  const std::size_t index = state_->arguments.size() + (state_->open.size() == 1 ? 1 : 0);
  throw SerializationError{fmt::format("{}: task \"{}\" argument {} cannot be encoded: {}",
                                       state_->call, state_->task, index, reason)};
}

APSCHED_INLINE const nlohmann::json& ArgumentWriter::value() const noexcept {
  return state_->arguments;
}

APSCHED_INLINE std::string ArgumentWriter::text() const { return state_->arguments.dump(); }

}  // namespace apsched::detail::json
