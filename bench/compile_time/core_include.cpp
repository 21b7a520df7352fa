// SPDX-License-Identifier: MIT
// The core's umbrella header, nothing used.
#include <apsched/apsched.hpp>

int main() {}
