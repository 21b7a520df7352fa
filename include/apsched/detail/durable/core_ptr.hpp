// SPDX-License-Identifier: MIT
// CorePtr: the owner of a durable store's core, whose type the store's public header leaves
// incomplete so that a unit of the compiled mode does not compile the store's internals.
#pragma once

#include <memory>
#include <utility>

namespace apsched::detail::durable {

/// Owns one T, made by make() where T is complete, and destroys it through a function recorded
/// there: moving, resetting and destroying a CorePtr compile where T is incomplete, so a class
/// holding one declares its special members in its public header and defines them elsewhere.
/// The pointer does not propagate const: a const store's members use its core as they please.
///
/// Thread safety: not thread-safe (as std::unique_ptr).
template <class T>
class CorePtr {
 public:
  /// An empty pointer, owning nothing.
  CorePtr() noexcept = default;

  /// A pointer owning a T made from `args`.
  /// @throws what T's constructor throws; std::bad_alloc
  template <class... Args>
  [[nodiscard]] static CorePtr make(Args&&... args) {
    return CorePtr{std::make_unique<T>(std::forward<Args>(args)...).release(),
                   [](T* core) noexcept { delete core; }};
  }

  CorePtr(CorePtr&& other) noexcept
      : core_{std::exchange(other.core_, nullptr)}, destroy_{other.destroy_} {}
  /// Destroys what this pointer owns and takes what `other` owns.
  CorePtr& operator=(CorePtr&& other) noexcept {
    if (this != &other) {
      reset();
      core_ = std::exchange(other.core_, nullptr);
      destroy_ = other.destroy_;
    }
    return *this;
  }
  CorePtr(const CorePtr&) = delete;
  CorePtr& operator=(const CorePtr&) = delete;
  ~CorePtr() { reset(); }

  /// Destroys what this pointer owns, leaving it empty.
  void reset() noexcept {
    if (core_ != nullptr) {
      destroy_(std::exchange(core_, nullptr));
    }
  }

  /// The T owned, or nullptr.
  [[nodiscard]] T* get() const noexcept { return core_; }
  /// @pre not empty
  [[nodiscard]] T& operator*() const noexcept { return *core_; }
  /// @pre not empty
  [[nodiscard]] T* operator->() const noexcept { return core_; }
  /// Whether the pointer owns a T.
  explicit operator bool() const noexcept { return core_ != nullptr; }

 private:
  using Destroy = void (*)(T*) noexcept;

  CorePtr(T* core, Destroy destroy) noexcept : core_{core}, destroy_{destroy} {}

  T* core_ = nullptr;
  Destroy destroy_ = nullptr;
};

}  // namespace apsched::detail::durable
