// SPDX-License-Identifier: MIT
// The SQLite part's umbrella header, nothing used.
#include <apsched/sqlite.hpp>

int main() {}
