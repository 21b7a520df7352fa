// SPDX-License-Identifier: MIT
// The definitions of BasicScheduler's members: each hands its call to the SchedulerCore the
// scheduler holds. scheduler.hpp includes this in header-only mode; in the compiled mode the
// apsched::compiled library includes it once, for the named schedulers it instantiates.
#pragma once

/// Defined once the definitions are in: a unit of the compiled mode checks it does not see them.
#define APSCHED_IMPL_SCHEDULER_INCLUDED 1

#include <apsched/detail/scheduler/core.hpp>
#include <apsched/scheduler.hpp>

#include <fmt/core.h>

#include <cstddef>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace apsched {

template <SchedulerMode M, Clock C, JobStore... S, Executor... E>
BasicScheduler<M, C, Stores<S...>, Executors<E...>>::BasicScheduler(std::tuple<S...> stores,
                                                                    std::tuple<E...> executors,
                                                                    C clock,
                                                                    SchedulerOptions options)
    : core_{std::make_unique<Core>(std::move(stores), std::move(executors), std::move(clock),
                                   std::move(options))} {}

template <SchedulerMode M, Clock C, JobStore... S, Executor... E>
BasicScheduler<M, C, Stores<S...>, Executors<E...>>::BasicScheduler(SchedulerOptions options)
    : core_{[&options]() -> std::unique_ptr<Core> {
        if constexpr (default_made) {
          return std::make_unique<Core>(std::tuple<S...>{}, std::tuple<E...>{}, C{},
                                        std::move(options));
        } else {
          // Never called: the named schedulers' constructors require default_made.
          static_cast<void>(options);
          throw std::logic_error{"BasicScheduler: its stores cannot be default-made"};
        }
      }()} {}

template <SchedulerMode M, Clock C, JobStore... S, Executor... E>
BasicScheduler<M, C, Stores<S...>, Executors<E...>>::~BasicScheduler() = default;

template <SchedulerMode M, Clock C, JobStore... S, Executor... E>
std::optional<JobInfo> BasicScheduler<M, C, Stores<S...>, Executors<E...>>::get_job(
    std::string_view id) const {
  return core_->get_job(id);
}

template <SchedulerMode M, Clock C, JobStore... S, Executor... E>
std::vector<JobInfo> BasicScheduler<M, C, Stores<S...>, Executors<E...>>::get_jobs(
    std::string_view store) const {
  return core_->get_jobs(store);
}

template <SchedulerMode M, Clock C, JobStore... S, Executor... E>
std::vector<FireRecord> BasicScheduler<M, C, Stores<S...>, Executors<E...>>::get_fire_history(
    std::string_view id, std::size_t limit) const {
  return core_->get_fire_history(id, limit);
}

template <SchedulerMode M, Clock C, JobStore... S, Executor... E>
JobInfo BasicScheduler<M, C, Stores<S...>, Executors<E...>>::modify_job(std::string_view id,
                                                                        const JobChanges& changes) {
  return core_->modify_job(id, changes);
}

template <SchedulerMode M, Clock C, JobStore... S, Executor... E>
JobInfo BasicScheduler<M, C, Stores<S...>, Executors<E...>>::pause_job(std::string_view id) {
  return core_->pause_job(id);
}

template <SchedulerMode M, Clock C, JobStore... S, Executor... E>
JobInfo BasicScheduler<M, C, Stores<S...>, Executors<E...>>::resume_job(std::string_view id,
                                                                        MissedRuns missed) {
  return core_->resume_job(id, missed);
}

template <SchedulerMode M, Clock C, JobStore... S, Executor... E>
void BasicScheduler<M, C, Stores<S...>, Executors<E...>>::remove_job(std::string_view id) {
  core_->remove_job(id);
}

template <SchedulerMode M, Clock C, JobStore... S, Executor... E>
void BasicScheduler<M, C, Stores<S...>, Executors<E...>>::remove_all_jobs(std::string_view store) {
  core_->remove_all_jobs(store);
}

template <SchedulerMode M, Clock C, JobStore... S, Executor... E>
bool BasicScheduler<M, C, Stores<S...>, Executors<E...>>::run_job_now(std::string_view id) {
  return core_->run_job_now(id);
}

template <SchedulerMode M, Clock C, JobStore... S, Executor... E>
void BasicScheduler<M, C, Stores<S...>, Executors<E...>>::print_jobs(std::FILE* out) const {
  fmt::print(out, "{}", format_jobs());
}

template <SchedulerMode M, Clock C, JobStore... S, Executor... E>
std::string BasicScheduler<M, C, Stores<S...>, Executors<E...>>::format_jobs() const {
  return core_->format_jobs();
}

template <SchedulerMode M, Clock C, JobStore... S, Executor... E>
void BasicScheduler<M, C, Stores<S...>, Executors<E...>>::start(bool paused) {
  core_->start(paused);
}

template <SchedulerMode M, Clock C, JobStore... S, Executor... E>
void BasicScheduler<M, C, Stores<S...>, Executors<E...>>::pause() {
  core_->pause();
}

template <SchedulerMode M, Clock C, JobStore... S, Executor... E>
void BasicScheduler<M, C, Stores<S...>, Executors<E...>>::resume() {
  core_->resume();
}

template <SchedulerMode M, Clock C, JobStore... S, Executor... E>
void BasicScheduler<M, C, Stores<S...>, Executors<E...>>::shutdown(bool wait) {
  core_->shutdown(wait);
}

template <SchedulerMode M, Clock C, JobStore... S, Executor... E>
SchedulerState BasicScheduler<M, C, Stores<S...>, Executors<E...>>::state() const {
  return core_->state();
}

template <SchedulerMode M, Clock C, JobStore... S, Executor... E>
ListenerId BasicScheduler<M, C, Stores<S...>, Executors<E...>>::add_listener(Listener listener,
                                                                             EventMask mask,
                                                                             std::string job_id) {
  return core_->add_listener(std::move(listener), mask, std::move(job_id));
}

template <SchedulerMode M, Clock C, JobStore... S, Executor... E>
bool BasicScheduler<M, C, Stores<S...>, Executors<E...>>::remove_listener(ListenerId id) {
  return core_->remove_listener(id);
}

template <SchedulerMode M, Clock C, JobStore... S, Executor... E>
const C& BasicScheduler<M, C, Stores<S...>, Executors<E...>>::clock() const noexcept {
  return core_->clock();
}

template <SchedulerMode M, Clock C, JobStore... S, Executor... E>
TimePoint BasicScheduler<M, C, Stores<S...>, Executors<E...>>::now() const {
  return core_->now();
}

template <SchedulerMode M, Clock C, JobStore... S, Executor... E>
std::optional<TimePoint>
BasicScheduler<M, C, Stores<S...>, Executors<E...>>::process_due_jobs() requires(
    M == SchedulerMode::callback) {
  // Clang 14 instantiates this in other modes too (see the private members' comment).
  if constexpr (M == SchedulerMode::callback) {
    return core_->process_due_jobs();
  } else {
    return std::nullopt;
  }
}

template <SchedulerMode M, Clock C, JobStore... S, Executor... E>
std::optional<TimePoint> BasicScheduler<M, C, Stores<S...>, Executors<E...>>::process_due_jobs(
    TimePoint now) requires(M == SchedulerMode::callback) {
  if constexpr (M == SchedulerMode::callback) {
    return core_->process_due_jobs(now);
  } else {
    static_cast<void>(now);
    return std::nullopt;
  }
}

template <SchedulerMode M, Clock C, JobStore... S, Executor... E>
void BasicScheduler<M, C, Stores<S...>, Executors<E...>>::set_wakeup_handler(
    std::function<void()> handler) requires(M == SchedulerMode::callback) {
  if constexpr (M == SchedulerMode::callback) {
    core_->set_wakeup_handler(std::move(handler));
  } else {
    static_cast<void>(handler);
  }
}

template <SchedulerMode M, Clock C, JobStore... S, Executor... E>
std::string BasicScheduler<M, C, Stores<S...>, Executors<E...>>::add_body(detail::BodyRef body,
                                                                          AnyTrigger trigger,
                                                                          JobOptions options) {
  return core_->add_record(std::move(body), std::move(trigger), std::move(options), nullptr);
}

template <SchedulerMode M, Clock C, JobStore... S, Executor... E>
std::string BasicScheduler<M, C, Stores<S...>, Executors<E...>>::add_prepared(
    detail::PreparedOf<TaskRegistry> prepared, AnyTrigger trigger, JobOptions options) {
  if constexpr (any_durable) {
    return core_->add_prepared(std::move(prepared), std::move(trigger), std::move(options));
  } else {
    static_cast<void>(prepared);
    static_cast<void>(trigger);
    static_cast<void>(options);
    return {};
  }
}

template <SchedulerMode M, Clock C, JobStore... S, Executor... E>
auto BasicScheduler<M, C, Stores<S...>, Executors<E...>>::tasks()
    -> std::add_lvalue_reference_t<TaskRegistry> {
  if constexpr (any_durable) {
    return core_->tasks();
  } else {
    return;
  }
}

template <SchedulerMode M, Clock C, JobStore... S, Executor... E>
void BasicScheduler<M, C, Stores<S...>, Executors<E...>>::task_registered(const std::string& name) {
  if constexpr (any_durable) {
    core_->task_registered(name);
  } else {
    static_cast<void>(name);
  }
}

template <SchedulerMode M, Clock C, JobStore... S, Executor... E>
void BasicScheduler<M, C, Stores<S...>, Executors<E...>>::begin_batch() {
  if constexpr (any_durable) {
    core_->begin_batch();
  }
}

template <SchedulerMode M, Clock C, JobStore... S, Executor... E>
void BasicScheduler<M, C, Stores<S...>, Executors<E...>>::end_batch(bool commit) {
  if constexpr (any_durable) {
    core_->end_batch(commit);
  } else {
    static_cast<void>(commit);
  }
}

template <SchedulerMode M, Clock C, JobStore... S, Executor... E>
JobInfo BasicScheduler<M, C, Stores<S...>, Executors<E...>>::reschedule(std::string_view id,
                                                                        AnyTrigger trigger) {
  return core_->reschedule(id, std::move(trigger));
}

template <SchedulerMode M, Clock C, JobStore... S, Executor... E>
std::tuple<E...>& BasicScheduler<M, C, Stores<S...>, Executors<E...>>::executors() noexcept {
  return core_->executors();
}

}  // namespace apsched
