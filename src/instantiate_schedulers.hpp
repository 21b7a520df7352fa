// SPDX-License-Identifier: MIT
// APSCHED_INSTANTIATE_SCHEDULERS: the explicit instantiations of the named schedulers over one
// store, which each library of the compiled mode holds for the store it serves.
#pragma once

#include <apsched/impl/scheduler.hpp>
#include <apsched/scheduler.hpp>

/// Instantiates BasicScheduler over Stores<Store> and the system clock in each mode (blocking,
/// background, callback), with either standard executor (ThreadPoolExecutor, InlineExecutor):
/// every named scheduler a program composes of that one store. Use it in namespace apsched, in
/// a unit that includes the definitions of the store's members and of the executors'.
// A macro: an explicit instantiation must name each class, and this writes the list once.
#define APSCHED_INSTANTIATE_SCHEDULERS(Store)                                          \
  template class BasicScheduler<SchedulerMode::blocking, SystemClock, Stores<Store>,   \
                                Executors<ThreadPoolExecutor>>;                        \
  template class BasicScheduler<SchedulerMode::blocking, SystemClock, Stores<Store>,   \
                                Executors<InlineExecutor>>;                            \
  template class BasicScheduler<SchedulerMode::background, SystemClock, Stores<Store>, \
                                Executors<ThreadPoolExecutor>>;                        \
  template class BasicScheduler<SchedulerMode::background, SystemClock, Stores<Store>, \
                                Executors<InlineExecutor>>;                            \
  template class BasicScheduler<SchedulerMode::callback, SystemClock, Stores<Store>,   \
                                Executors<ThreadPoolExecutor>>;                        \
  template class BasicScheduler<SchedulerMode::callback, SystemClock, Stores<Store>,   \
                                Executors<InlineExecutor>>
