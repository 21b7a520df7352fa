// SPDX-License-Identifier: MIT
// The SQLite part's umbrella header, nothing used.
// Compiled mode: apsched::sqlite_compiled (the definitions of the SQLite store and its view).
#include <apsched/sqlite.hpp>

int main() {}
