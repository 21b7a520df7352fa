// SPDX-License-Identifier: MIT
// The second unit of the compiled-mode consumer: a scheduler used from two units, as an
// application that schedules jobs in several files does.
#pragma once

#include <apsched/apsched.hpp>

#include <atomic>

/// Adds to `scheduler` an interval job that counts its runs in `runs`; returns its id.
std::string add_counting_job(apsched::BlockingScheduler<>& scheduler, std::atomic<int>& runs);
