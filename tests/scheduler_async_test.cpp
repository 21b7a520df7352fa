// SPDX-License-Identifier: MIT
// Asynchronous runs in the scheduler core: job bodies that take their RunCompletion out of
// start() and end later (how AsioScheduler runs coroutine jobs), driven by hand.
#include <apsched/callback_scheduler.hpp>
#include <apsched/detail/job_body.hpp>
#include <apsched/executors/inline.hpp>
#include <apsched/stores/memory.hpp>
#include <apsched/testing/manual_clock.hpp>
#include <apsched/triggers/interval.hpp>

#include "support/catch.hpp"
#include "support/event_log.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <vector>

namespace scheduler_async_test {

using namespace std::chrono_literals;
using apsched::EventType;
using apsched::test::contains;

namespace {

using Scheduler = apsched::CallbackScheduler<apsched::MemoryJobStore, apsched::InlineExecutor,
                                             apsched::ManualClock>;

// The runs a PendingBody started and has not finished, as the test sees them.
struct Pending {
  std::vector<apsched::detail::RunCompletion> completions;
  std::vector<std::stop_token> stop_tokens;
};

// A body whose runs end only when the test calls their completion.
class PendingBody final : public apsched::detail::JobBody {
 public:
  explicit PendingBody(Pending& pending) : JobBody{true}, pending_{&pending} {}
  void run(const apsched::JobContext& /*context*/) override {
    throw std::logic_error{"PendingBody runs only asynchronously"};
  }
  void start(const apsched::JobContext& context, apsched::detail::RunCompletion& done) override {
    pending_->completions.push_back(std::move(done));
    pending_->stop_tokens.push_back(context.stop_token);
  }

 private:
  Pending* pending_;
};

struct Fixture {
  apsched::test::EventLog log;
  Pending pending;
  apsched::ManualClock clock;
  Scheduler scheduler{apsched::MemoryJobStore{}, {}, clock};
  Fixture() {
    scheduler.add_listener(log.listener());
    scheduler.start();
  }
  void add(apsched::JobOptions options) {
    apsched::detail::BodyAccess::add_job(
        scheduler, apsched::detail::BodyRef{new PendingBody{pending}},
        apsched::AnyTrigger{apsched::IntervalTrigger{1min}}, std::move(options));
  }
  void advance(apsched::Duration step) {
    clock.advance(step);
    scheduler.process_due_jobs();
  }
};

}  // namespace

TEST_CASE("an asynchronous run is running until its completion is called", "[scheduler][async]") {
  Fixture f;
  f.add({.id = "async"});
  f.advance(1min);
  REQUIRE(f.pending.completions.size() == 1);
  CHECK(f.scheduler.get_job("async")->running_instances == 1);
  CHECK(f.log.names(apsched::test::run_events) ==
        std::vector<std::string>{"job_submitted", "job_started"});
  f.pending.completions[0]();
  CHECK_FALSE(f.pending.completions[0]);
  const auto info = f.scheduler.get_job("async");
  CHECK(info->running_instances == 0);
  CHECK(info->run_count == 1);
  CHECK(info->last_outcome == apsched::JobOutcome::success);
  CHECK(f.log.names(apsched::test::run_events) ==
        std::vector<std::string>{"job_submitted", "job_started", "job_executed"});
}

TEST_CASE("max_instances counts asynchronous runs until they end", "[scheduler][async]") {
  Fixture f;
  f.add({.id = "async", .max_instances = 1});
  f.advance(1min);
  f.advance(1min);
  CHECK(f.pending.completions.size() == 1);
  CHECK(f.log.count(EventType::job_max_instances) == 1);
  f.pending.completions[0]();
  f.advance(1min);
  CHECK(f.pending.completions.size() == 2);
}

TEST_CASE("an asynchronous run that ends with an error reports job_error", "[scheduler][async]") {
  Fixture f;
  f.add({.id = "async"});
  f.advance(1min);
  f.pending.completions[0](std::make_exception_ptr(std::runtime_error{"lost connection"}));
  const auto errors = f.log.of(EventType::job_error);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].job_id == "async");
  REQUIRE_THROWS_WITH(std::rethrow_exception(errors[0].exception), "lost connection");
  CHECK(f.scheduler.get_job("async")->failure_count == 1);
}

TEST_CASE("an asynchronous run whose completion is destroyed uncalled reports an error",
          "[scheduler][async]") {
  Fixture f;
  f.add({.id = "async"});
  f.advance(1min);
  f.pending.completions.clear();
  const auto errors = f.log.of(EventType::job_error);
  REQUIRE(errors.size() == 1);
  REQUIRE_THROWS_AS(std::rethrow_exception(errors[0].exception), apsched::ExecutorShutdownError);
  REQUIRE_THROWS_WITH(std::rethrow_exception(errors[0].exception),
                      contains("the run was abandoned before it finished"));
  CHECK(f.scheduler.get_job("async")->running_instances == 0);
}

TEST_CASE("an asynchronous run past its timeout is asked to stop", "[scheduler][async]") {
  Fixture f;
  f.add({.id = "async", .timeout = 10s});
  f.advance(1min);
  REQUIRE(f.pending.stop_tokens.size() == 1);
  CHECK_FALSE(f.pending.stop_tokens[0].stop_requested());
  f.advance(10s);
  CHECK(f.pending.stop_tokens[0].stop_requested());
  CHECK(f.log.count(EventType::job_timeout) == 1);
  f.pending.completions[0]();
  CHECK(f.log.count(EventType::job_executed) == 1);
}

TEST_CASE("an asynchronous run that ends after its scheduler is discarded", "[scheduler][async]") {
  Pending pending;
  {
    apsched::ManualClock clock;
    Scheduler scheduler{apsched::MemoryJobStore{}, {}, clock};
    apsched::detail::BodyAccess::add_job(
        scheduler, apsched::detail::BodyRef{new PendingBody{pending}},
        apsched::AnyTrigger{apsched::IntervalTrigger{1min}}, apsched::JobOptions{});
    apsched::detail::BodyAccess::add_job(
        scheduler, apsched::detail::BodyRef{new PendingBody{pending}},
        apsched::AnyTrigger{apsched::IntervalTrigger{1min}}, apsched::JobOptions{});
    scheduler.start();
    clock.advance(1min);
    scheduler.process_due_jobs();
    REQUIRE(pending.completions.size() == 2);
    CHECK(pending.stop_tokens[0].stop_requested() == false);
  }
  // The destructor asked both runs to stop; their ends now free them without a scheduler.
  CHECK(pending.stop_tokens[0].stop_requested());
  pending.completions[0]();
  pending.completions.clear();
  SUCCEED("the late completions touched no freed memory (checked by the sanitizers)");
}

}  // namespace scheduler_async_test
