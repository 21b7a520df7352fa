// SPDX-License-Identifier: MIT
// Catch2 for the tests, whichever major version (2 or 3) is installed.
#pragma once

#if __has_include(<catch2/catch_all.hpp>)
#include <catch2/catch_all.hpp>
namespace apsched::test {
/// Matches a string that contains `text`.
inline auto contains(const std::string& text) { return Catch::Matchers::ContainsSubstring(text); }
}  // namespace apsched::test
#else
#include <catch2/catch.hpp>
namespace apsched::test {
/// Matches a string that contains `text`.
inline auto contains(const std::string& text) { return Catch::Matchers::Contains(text); }
}  // namespace apsched::test
#endif
