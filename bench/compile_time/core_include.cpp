// SPDX-License-Identifier: MIT
// The core's umbrella header, nothing used.
// Compiled mode: apsched::compiled (the definitions of the named schedulers over the memory store).
#include <apsched/apsched.hpp>

int main() {}
