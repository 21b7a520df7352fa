// SPDX-License-Identifier: MIT
// Version of the apsched headers, for preprocessor and constexpr checks.
#pragma once

#define APSCHED_VERSION_MAJOR 0
#define APSCHED_VERSION_MINOR 1
#define APSCHED_VERSION_PATCH 0

namespace apsched {

/// The library version as one number: major * 10000 + minor * 100 + patch.
///
/// Thread safety: thread-safe (a constant).
inline constexpr int version =
    APSCHED_VERSION_MAJOR * 10000 + APSCHED_VERSION_MINOR * 100 + APSCHED_VERSION_PATCH;

}  // namespace apsched
