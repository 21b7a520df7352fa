// SPDX-License-Identifier: MIT
// What can be a job (JobFunction), and how job bodies call it.
#include <apsched/detail/job_body.hpp>
#include <apsched/job.hpp>

#include "support/catch.hpp"

#include <coroutine>
#include <memory>
#include <string>

namespace job_test {

using apsched::JobContext;
using apsched::JobFunction;

namespace {
struct Functor {
  int* calls;
  void operator()() const { ++*calls; }
};
using FreeFunction = void (*)(int);
}  // namespace

TEST_CASE("job functions take nothing, bound arguments, or a context first", "[job]") {
  STATIC_REQUIRE(JobFunction<void (*)()>);
  STATIC_REQUIRE(JobFunction<FreeFunction, int>);
  STATIC_REQUIRE(JobFunction<Functor>);
  STATIC_REQUIRE(JobFunction<decltype([](const JobContext&) {})>);
  STATIC_REQUIRE(JobFunction<decltype([](const JobContext&, const std::string&) {}), std::string>);
  STATIC_REQUIRE(JobFunction<decltype([](JobContext) {})>);
  STATIC_REQUIRE(JobFunction<decltype([]() mutable {})>);
}

TEST_CASE("what cannot be a job is rejected at compile time", "[job]") {
  STATIC_REQUIRE_FALSE(JobFunction<int>);
  STATIC_REQUIRE_FALSE(JobFunction<decltype([](int) {})>);  // argument missing
  STATIC_REQUIRE_FALSE(JobFunction<decltype([] {}), int>);  // argument extra
  STATIC_REQUIRE_FALSE(JobFunction<decltype([](std::string&) {}), std::string>);  // would mutate
}

namespace {

// A minimal lazy coroutine task: a type with a promise.
struct LazyTask {
  struct promise_type {
    LazyTask get_return_object() { return {}; }
    std::suspend_always initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() {}
    void unhandled_exception() {}
  };
};

}  // namespace

TEST_CASE("job functions returning a coroutine task are recognised, so make_body refuses them",
          "[job]") {
  using apsched::detail::ReturnsCoroutine;
  STATIC_REQUIRE(ReturnsCoroutine<LazyTask (*)()>);
  STATIC_REQUIRE(ReturnsCoroutine<LazyTask (*)(const JobContext&, int), int>);
  STATIC_REQUIRE_FALSE(ReturnsCoroutine<void (*)()>);
  STATIC_REQUIRE_FALSE(ReturnsCoroutine<int (*)(int), int>);
}

TEST_CASE("a job body passes the context and the bound arguments", "[job]") {
  std::string seen;
  auto body = apsched::detail::make_body(
      [&seen](const JobContext& context, const std::string& text, int number) {
        seen = std::string{context.job_id} + "/" + text + "/" + std::to_string(number);
      },
      std::string{"hello"}, 7);
  const JobContext context{.job_id = "job"};
  body.get()->run(context);
  body.get()->run(context);
  CHECK(seen == "job/hello/7");
}

TEST_CASE("stateless callables share one body, and others own theirs", "[job]") {
  auto first = apsched::detail::make_body([] {});
  const auto lambda = [] {};
  auto second = apsched::detail::make_body(lambda);
  auto third = apsched::detail::make_body(lambda);
  CHECK(second.get() == third.get());
  CHECK(first.get() != second.get());  // a different lambda type
  int calls = 0;
  auto owned_a = apsched::detail::make_body(Functor{&calls});
  auto owned_b = apsched::detail::make_body(Functor{&calls});
  CHECK(owned_a.get() != owned_b.get());
  owned_a.get()->run(JobContext{});
  CHECK(calls == 1);
}

TEST_CASE("a body lives as long as its last reference", "[job]") {
  auto tracker = std::make_shared<int>(0);
  std::weak_ptr<int> alive = tracker;
  auto body = apsched::detail::make_body([held = std::move(tracker)] { ++*held; });
  auto copy = body;
  body = apsched::detail::BodyRef{};
  CHECK_FALSE(alive.expired());
  copy.get()->run(JobContext{});
  copy = apsched::detail::BodyRef{};
  CHECK(alive.expired());
}

TEST_CASE("move-only callables can be jobs", "[job]") {
  auto resource = std::make_unique<int>(41);
  auto body = apsched::detail::make_body([owned = std::move(resource)] { ++*owned; });
  body.get()->run(JobContext{});
  SUCCEED("a unique_ptr capture compiled and ran");
}

}  // namespace job_test
