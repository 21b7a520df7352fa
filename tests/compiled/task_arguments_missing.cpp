// SPDX-License-Identifier: MIT
// Must not compile: in the compiled mode, a task taking a user type (or, with
// APSCHED_TEST_ARGUMENT, a call passing one) without json/task_arguments.hpp. The ctests
// json_compiled_parameter_needs_codec and json_compiled_argument_needs_codec check that the
// static_assert names the header.
#include <apsched/json/task_registry.hpp>

namespace {

struct Parcel {
  int grams = 0;
};

}  // namespace

int main() {
  apsched::TaskRegistry tasks;
#if APSCHED_TEST_ARGUMENT
  tasks.add("ship", [](int) {});
  (void)tasks.prepare("add_job", "ship", Parcel{1});
#else
  tasks.add("ship", [](Parcel) {});
#endif
}
