// SPDX-License-Identifier: MIT
// A JSON task parameter type that counts how often it is decoded, to show a job's arguments
// are decoded once. Its own namespace, as a user's type would be, so ADL finds its
// to_json/from_json.
#pragma once

#include <nlohmann/json.hpp>

namespace decode_count {

struct Counted {
  int value = 0;
};

/// The decodes of Counted so far (tests reset it).
inline int decodes = 0;

inline void to_json(nlohmann::json& j, const Counted& counted) { j = counted.value; }
inline void from_json(const nlohmann::json& j, Counted& counted) {
  ++decodes;
  j.get_to(counted.value);
}

}  // namespace decode_count
