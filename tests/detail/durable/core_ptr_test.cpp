// SPDX-License-Identifier: MIT
// CorePtr: owns what make() made, destroys it once, moves ownership, and is moved and destroyed
// where its type is incomplete.
#include <apsched/detail/durable/core_ptr.hpp>

#include "support/catch.hpp"

#include <utility>

namespace detail_durable_core_ptr_test {

using apsched::detail::durable::CorePtr;

namespace {

// Defined at the end of the file: the functions below see it incomplete, as a store's public
// header sees its core.
struct Late;

// Takes `owner`'s Late and destroys it, where Late is incomplete.
void drop(CorePtr<Late>&& owner) {
  CorePtr<Late> taken{std::move(owner)};
  CorePtr<Late> other;
  other = std::move(taken);
}

CorePtr<Late> make_late(int& destroyed);

struct Counted {
  explicit Counted(int& count, int initial = 0) noexcept : destroyed{&count}, value{initial} {}
  Counted(const Counted&) = delete;
  Counted& operator=(const Counted&) = delete;
  ~Counted() { ++*destroyed; }

  int* destroyed;
  int value;
};

}  // namespace

TEST_CASE("core ptr owns what make made and destroys it once", "[durable][core_ptr]") {
  int destroyed = 0;
  {
    const CorePtr<Counted> core = CorePtr<Counted>::make(destroyed, 7);
    REQUIRE(core);
    REQUIRE(core->value == 7);
    REQUIRE((*core).value == 7);
    REQUIRE(core.get() != nullptr);
    REQUIRE(destroyed == 0);
  }
  REQUIRE(destroyed == 1);
}

TEST_CASE("an empty core ptr owns nothing", "[durable][core_ptr]") {
  CorePtr<Counted> core;
  REQUIRE_FALSE(core);
  REQUIRE(core.get() == nullptr);
  core.reset();
  REQUIRE_FALSE(core);
}

TEST_CASE("core ptr reset destroys what it owns and empties it", "[durable][core_ptr]") {
  int destroyed = 0;
  CorePtr<Counted> core = CorePtr<Counted>::make(destroyed);
  core.reset();
  REQUIRE(destroyed == 1);
  REQUIRE_FALSE(core);
  core.reset();
  REQUIRE(destroyed == 1);
}

TEST_CASE("moving a core ptr moves ownership, not the object", "[durable][core_ptr]") {
  int destroyed = 0;
  CorePtr<Counted> first = CorePtr<Counted>::make(destroyed, 1);
  Counted* const object = first.get();
  CorePtr<Counted> second{std::move(first)};
  REQUIRE_FALSE(first);  // NOLINT(bugprone-use-after-move): moved-from is specified empty
  REQUIRE(second.get() == object);
  REQUIRE(destroyed == 0);

  SECTION("move assignment destroys what the target owned") {
    int other_destroyed = 0;
    CorePtr<Counted> target = CorePtr<Counted>::make(other_destroyed, 2);
    target = std::move(second);
    REQUIRE(other_destroyed == 1);
    REQUIRE(destroyed == 0);
    REQUIRE(target->value == 1);
    target.reset();
    REQUIRE(destroyed == 1);
  }
  SECTION("self move assignment keeps the object") {
    CorePtr<Counted>& alias = second;
    second = std::move(alias);
    REQUIRE(second.get() == object);
    REQUIRE(destroyed == 0);
  }
}

TEST_CASE("core ptr moves and destroys an object whose type is incomplete there",
          "[durable][core_ptr]") {
  int destroyed = 0;
  CorePtr<Late> late = make_late(destroyed);
  REQUIRE(late);
  drop(std::move(late));
  REQUIRE(destroyed == 1);
}

namespace {

struct Late : Counted {
  using Counted::Counted;
};

CorePtr<Late> make_late(int& destroyed) { return CorePtr<Late>::make(destroyed); }

}  // namespace

}  // namespace detail_durable_core_ptr_test
