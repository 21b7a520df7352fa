// SPDX-License-Identifier: MIT
// AnyTrigger: one type that holds any Trigger, so jobs with different triggers share a store.
#pragma once

#include <apsched/clock.hpp>
#include <apsched/trigger.hpp>

#include <cstddef>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <utility>

namespace apsched {

/// Holds a copy of any Trigger and is a Trigger itself. Triggers of up to 32 bytes (the interval
/// and date triggers) are stored inline; larger ones on the heap.
///
/// @code
/// apsched::AnyTrigger trigger = apsched::IntervalTrigger{std::chrono::minutes{5}};
/// auto next = trigger.next_fire_time(std::nullopt, now);
/// @endcode
///
/// Thread safety: const-thread-safe when the held trigger is.
class AnyTrigger {
 public:
  /// Holds `trigger`.
  template <class T>
  requires(!std::same_as<std::remove_cvref_t<T>, AnyTrigger> && Trigger<std::remove_cvref_t<T>>)
      AnyTrigger(T&& trigger)  // NOLINT(google-explicit-constructor): a trigger is an AnyTrigger
      : vtable_{&vtable_for<std::remove_cvref_t<T>>} {
    using Held = std::remove_cvref_t<T>;
    if constexpr (fits_inline<Held>) {
      ::new (static_cast<void*>(storage_)) Held(std::forward<T>(trigger));
    } else {
      heap_ = new Held(std::forward<T>(trigger));
    }
  }

  AnyTrigger(const AnyTrigger& other) : vtable_{other.vtable_} { vtable_->copy(other, *this); }
  AnyTrigger(AnyTrigger&& other) noexcept : vtable_{other.vtable_} { vtable_->move(other, *this); }
  AnyTrigger& operator=(const AnyTrigger& other) {
    if (this != &other) {
      AnyTrigger copy{other};
      *this = std::move(copy);
    }
    return *this;
  }
  AnyTrigger& operator=(AnyTrigger&& other) noexcept {
    if (this != &other) {
      vtable_->destroy(*this);
      vtable_ = other.vtable_;
      vtable_->move(other, *this);
    }
    return *this;
  }
  ~AnyTrigger() { vtable_->destroy(*this); }

  /// See Trigger: forwards to the held trigger.
  [[nodiscard]] std::optional<TimePoint> next_fire_time(std::optional<TimePoint> previous,
                                                        TimePoint now) const {
    return vtable_->next_fire_time(*this, previous, now);
  }

  /// The held trigger's jitter, or zero when it has none.
  [[nodiscard]] Duration jitter() const noexcept { return vtable_->jitter(*this); }

  /// The held trigger's description, or its C++ type name when it has none.
  [[nodiscard]] std::string describe() const { return vtable_->describe(*this); }

  /// The type of the held trigger, as `typeid(T)` for the `T` it was constructed from (used to
  /// look up per-type handlers such as JSON codecs).
  [[nodiscard]] const std::type_info& type() const noexcept { return *vtable_->type; }

  /// The held trigger if it is a `T`, else nullptr.
  template <class T>
  [[nodiscard]] const T* target() const noexcept {
    if (vtable_ != &vtable_for<T>) {
      return nullptr;
    }
    return static_cast<const T*>(get());
  }

 private:
  static constexpr std::size_t inline_size = 32;

  template <class T>
  static constexpr bool fits_inline =
      sizeof(T) <= inline_size &&
      alignof(T) <= alignof(void*) && std::is_nothrow_move_constructible_v<T>;

  struct VTable {
    bool inline_storage;
    std::optional<TimePoint> (*next_fire_time)(const AnyTrigger&, std::optional<TimePoint>,
                                               TimePoint);
    Duration (*jitter)(const AnyTrigger&) noexcept;
    std::string (*describe)(const AnyTrigger&);
    void (*copy)(const AnyTrigger& from, AnyTrigger& to);
    void (*move)(AnyTrigger& from, AnyTrigger& to) noexcept;
    void (*destroy)(AnyTrigger&) noexcept;
    const std::type_info* type;
  };

  const VTable* vtable_;
  union {
    alignas(void*) std::byte storage_[inline_size];
    void* heap_;
  };

  template <class T>
  static const T& as(const AnyTrigger& self) noexcept {
    return *static_cast<const T*>(self.get());
  }

  template <class T>
  static std::optional<TimePoint> next_of(const AnyTrigger& self, std::optional<TimePoint> previous,
                                          TimePoint now) {
    return as<T>(self).next_fire_time(previous, now);
  }
  template <class T>
  static Duration jitter_of(const AnyTrigger& self) noexcept {
    if constexpr (JitteredTrigger<T>) {
      return as<T>(self).jitter();
    } else {
      return Duration::zero();
    }
  }
  template <class T>
  static std::string describe_of(const AnyTrigger& self) {
    if constexpr (DescribedTrigger<T>) {
      return as<T>(self).describe();
    } else {
      return typeid(T).name();
    }
  }
  template <class T>
  static void copy_of(const AnyTrigger& from, AnyTrigger& to) {
    if constexpr (fits_inline<T>) {
      ::new (static_cast<void*>(to.storage_)) T(as<T>(from));
    } else {
      to.heap_ = new T(as<T>(from));
    }
  }
  template <class T>
  static void move_of(AnyTrigger& from, AnyTrigger& to) noexcept {
    if constexpr (fits_inline<T>) {
      ::new (static_cast<void*>(to.storage_))
          T(std::move(*std::launder(reinterpret_cast<T*>(from.storage_))));
    } else {
      // The moved-from AnyTrigger may only be destroyed or assigned to.
      to.heap_ = std::exchange(from.heap_, nullptr);
    }
  }
  template <class T>
  static void destroy_of(AnyTrigger& self) noexcept {
    if constexpr (fits_inline<T>) {
      std::launder(reinterpret_cast<T*>(self.storage_))->~T();
    } else {
      delete static_cast<T*>(self.heap_);
    }
  }

  template <class T>
  static constexpr VTable vtable_for = {fits_inline<T>,  &next_of<T>, &jitter_of<T>,
                                        &describe_of<T>, &copy_of<T>, &move_of<T>,
                                        &destroy_of<T>,  &typeid(T)};

  [[nodiscard]] const void* get() const noexcept {
    return vtable_->inline_storage ? static_cast<const void*>(storage_) : heap_;
  }
};

static_assert(Trigger<AnyTrigger>);

}  // namespace apsched
