// SPDX-License-Identifier: MIT
// RecordVisitor: a callable taking a job record, referred to without its type, so that a durable
// store's for_each hands its visitor to a member compiled once.
#pragma once

#include <apsched/job_store.hpp>

#include <concepts>
#include <functional>
#include <memory>
#include <type_traits>

namespace apsched::detail::durable {

/// Refers to a callable invocable with `const JobRecord&` (as std::function_ref will), without
/// owning or copying it.
///
/// Thread safety: not thread-safe (a reference; the callable must outlive it).
class RecordVisitor {
 public:
  /// Refers to `visit`, which must outlive this object.
  template <class F>
  requires(!std::same_as<std::remove_cvref_t<F>, RecordVisitor> &&
           std::invocable<F&, const JobRecord&>) explicit RecordVisitor(F&& visit) noexcept
      : visit_{const_cast<void*>(static_cast<const void*>(std::addressof(visit)))},
        call_{[](void* callable, const JobRecord& record) {
          std::invoke(*static_cast<std::remove_reference_t<F>*>(callable), record);
        }} {}

  /// Calls the callable with `record`.
  /// @throws what the callable throws
  void operator()(const JobRecord& record) const { call_(visit_, record); }

 private:
  void* visit_;
  void (*call_)(void*, const JobRecord&);
};

}  // namespace apsched::detail::durable
