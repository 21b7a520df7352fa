// SPDX-License-Identifier: MIT
// The floor of the compile-time bench: the standard headers a scheduler program includes anyway.
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

int main() {}
