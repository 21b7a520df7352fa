// SPDX-License-Identifier: MIT
// The durable engine over a dialect in memory: records handed out, rebuilt and set aside; the
// take-over of dead owners' fires; the fire history; job writes and the lease given up.
#include <apsched/detail/durable/engine.hpp>

#include <apsched/json/task_registry.hpp>
#include <apsched/json/trigger_codec.hpp>
#include <apsched/triggers/date.hpp>

#include "support/catch.hpp"
#include "support/memory_dialect.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace detail_durable_engine_test {

using apsched::AbandonedFire;
using apsched::FireState;
using apsched::JobRecord;
using apsched::StoreError;
using apsched::TimePoint;
using apsched::detail::durable::Engine;
using apsched::detail::durable::EngineState;
using apsched::detail::durable::FireRow;
using apsched::detail::durable::InFlightFire;
using apsched::detail::durable::JobRow;
using apsched::detail::durable::LeaseRow;
using apsched::test::MemoryDialect;
using apsched::test::MemoryTables;

namespace {

// A row of job `id` running task "ping" once, at row version `version`.
JobRow make_row(std::string id, std::int64_t version, std::string task = "ping") {
  return JobRow{.id = std::move(id),
                .task = std::move(task),
                .arguments = "[1]",
                .trigger = apsched::TriggerCodecs::builtin().encode_text(
                    apsched::AnyTrigger{apsched::DateTrigger{TimePoint{}}}),
                .options = "{}",
                .version = version};
}

// An engine state with the task "ping" registered.
struct Fixture {
  Fixture() : state{apsched::TriggerCodecs::builtin(), 100} {
    auto registry = std::make_shared<apsched::TaskRegistry>();
    registry->add("ping", [](int /*value*/) {});
    Engine<MemoryDialect>{state, MemoryDialect{&db}}.attach(std::move(registry), 3);
    db.log.clear();
  }

  Engine<MemoryDialect> engine() { return {state, MemoryDialect{&db}}; }

  MemoryTables db;
  EngineState state;
};

}  // namespace

TEST_CASE("the engine hands out one record per job and rebuilds it in place when its row changes",
          "[durable][engine]") {
  Fixture f;
  JobRecord* first = f.engine().hand_out(make_row("a", 1));
  REQUIRE(first != nullptr);
  CHECK(first->id == "a");
  CHECK(first->store == 3);
  CHECK(f.engine().hand_out(make_row("a", 1)) == first);
  CHECK(f.engine().find_cached("a") == first);
  JobRow paused = make_row("a", 2);
  paused.paused = true;
  CHECK(f.engine().hand_out(paused) == first);
  CHECK(first->paused);
  CHECK(f.state.cache.find("a")->version == 2);
  CHECK(f.db.log.empty());
}

TEST_CASE("a row the engine cannot use is set aside through the dialect and not handed out",
          "[durable][engine]") {
  Fixture f;
  CHECK(f.engine().hand_out(make_row("a", 1, "nowhere")) == nullptr);
  JobRow bad = make_row("b", 1);
  bad.options = R"({"overlap":"sometimes"})";
  CHECK(f.engine().hand_out(bad) == nullptr);
  CHECK(f.engine().find_cached("a") == nullptr);
  CHECK(f.db.log == std::vector<std::string>{"set_aside a unknown", "set_aside b bad"});
  f.engine().attach(f.state.tasks, 1);
  CHECK(f.db.log.back() == "retry_unknown_task ");
}

TEST_CASE(
    "lapsed owners are the other owners whose lease lapsed or process is gone, and orphans "
    "once",
    "[durable][engine]") {
  Fixture f;
  f.db.owners = {LeaseRow{.owner = f.state.owner, .host = "", .lease_until = 1},
                 LeaseRow{.owner = "dead", .host = "", .lease_until = 7, .lapsed = true},
                 LeaseRow{.owner = "alive", .host = "", .lease_until = 9}};
  f.db.orphans = {"old"};
  const auto first = f.engine().lapsed_owners(0);
  CHECK(first.listed);
  REQUIRE(first.dead.size() == 2);
  CHECK(first.dead[0].owner == "dead");
  CHECK(first.dead[0].lease_until == 7);
  CHECK_FALSE(first.dead[0].orphan);
  CHECK(first.dead[1].owner == "old");
  CHECK(first.dead[1].orphan);
  f.db.owners.erase(f.db.owners.begin());
  const auto second = f.engine().lapsed_owners(0);
  CHECK_FALSE(second.listed);
  CHECK(second.dead.size() == 1);  // orphans are looked for once
}

TEST_CASE(
    "the take-over runs claimed fires and reruns here, and ends the others abandoned or "
    "dropped",
    "[durable][engine]") {
  Fixture f;
  f.db.in_flight["dead"] = {
      InFlightFire{.job_id = "claimed", .scheduled = 10, .attempt = 2, .rerun = true},
      InFlightFire{
          .job_id = "rerun", .scheduled = 20, .attempt = 1, .rerun = true, .started = true},
      InFlightFire{.job_id = "ran", .scheduled = 30, .attempt = 1, .started = true},
      InFlightFire{.job_id = "gone", .scheduled = 40, .attempt = 1, .job_gone = true},
      InFlightFire{
          .job_id = "last", .scheduled = 50, .attempt = 1, .rerun = true, .job_gone = true}};
  std::vector<AbandonedFire> taken;
  f.engine().take_over({.owner = "dead", .lease_until = 7}, 99, taken);
  CHECK(f.db.log ==
        std::vector<std::string>{
            "begin", "release_owner dead 7", "take_fire claimed 10 2 99", "take_fire rerun 20 2 99",
            "end_fire ran 30 abandoned its scheduler (dead) stopped while it ran",
            "trim_history ran",
            "end_fire gone 40 dropped its scheduler (dead) stopped before it started, and the job "
            "no longer exists",
            "trim_history gone",
            "end_fire last 50 dropped its scheduler (dead) stopped before it started, and the job "
            "no longer exists; its job is gone (released)",
            "trim_history last", "commit"});
  REQUIRE(taken.size() == 5);
  CHECK(taken[0].rerun);
  CHECK_FALSE(taken[0].started);
  CHECK(taken[0].attempt == 2);
  CHECK(taken[1].rerun);
  CHECK(taken[1].started);
  CHECK_FALSE(taken[2].rerun);
  CHECK(taken[4].last_fire);
  CHECK_FALSE(taken[4].rerun);
}

TEST_CASE("the take-over holds the retired record of a job's last fire to rerun it",
          "[durable][engine]") {
  Fixture f;
  f.db.retired.emplace("last", make_row("last", 4));
  f.db.in_flight["dead"] = {InFlightFire{
      .job_id = "last", .scheduled = 50, .attempt = 1, .rerun = true, .job_gone = true}};
  std::vector<AbandonedFire> taken;
  f.engine().take_over({.owner = "dead", .lease_until = 7}, 99, taken);
  REQUIRE(taken.size() == 1);
  CHECK(taken[0].rerun);
  REQUIRE(f.state.cache.find("last") != nullptr);
  CHECK(f.state.cache.find("last")->retired);
}

TEST_CASE("the take-over leaves an owner another store took or that renewed its lease",
          "[durable][engine]") {
  Fixture f;
  f.db.owner_released = false;
  f.db.in_flight["dead"] = {InFlightFire{.job_id = "a", .scheduled = 10, .rerun = true}};
  std::vector<AbandonedFire> taken;
  f.engine().take_over({.owner = "dead", .lease_until = 7}, 0, taken);
  CHECK(taken.empty());
  CHECK(f.db.log == std::vector<std::string>{"begin", "release_owner dead 7", "commit"});
  f.db.log.clear();
  f.engine().take_over({.owner = "old", .lease_until = -1, .orphan = true}, 0, taken);
  CHECK(f.db.log == std::vector<std::string>{"begin", "commit"});  // an orphan has no row
}

TEST_CASE(
    "the fire history decodes the dialect's rows and names the store for a state it does "
    "not know",
    "[durable][engine]") {
  Fixture f;
  f.db.fires = {FireRow{.job_id = "a",
                        .scheduled = 2'000,
                        .state = "failed",
                        .runs = -1,
                        .owner = "x",
                        .recorded_at = 3'000,
                        .error = "boom",
                        .attempt = 2},
                FireRow{.job_id = "a", .scheduled = 1'000, .state = "lost"}};
  const auto newest = f.engine().fire_history("a", 1);
  REQUIRE(newest.size() == 1);
  CHECK(newest[0].state == FireState::failed);
  CHECK(newest[0].runs == 0);
  CHECK(newest[0].error == "boom");
  CHECK(newest[0].attempt == 2);
  CHECK_FALSE(newest[0].finished_at);
  REQUIRE_THROWS_AS(f.engine().fire_history("a", 5), StoreError);
  REQUIRE_THROWS_WITH(f.engine().fire_history("a", 5),
                      apsched::test::contains("a fire of job \"a\" has state \"lost\""));
}

TEST_CASE("the engine marks a record stale when its update finds the job gone",
          "[durable][engine]") {
  Fixture f;
  f.db.jobs.emplace("a", make_row("a", 1));
  JobRecord* record = f.engine().hand_out(make_row("a", 1));
  REQUIRE(record != nullptr);
  f.engine().update(*record);
  CHECK(f.state.cache.find("a")->version == 2);
  CHECK_FALSE(f.state.cache.find("a")->stale);
  f.db.jobs.clear();
  f.engine().update(*record);
  CHECK(f.state.cache.find("a")->stale);
}

TEST_CASE("commit_due converts the decision before the dialect writes it, and settles the record",
          "[durable][engine]") {
  Fixture f;
  JobRecord* record = f.engine().hand_out(make_row("a", 1));
  REQUIRE(record != nullptr);
  record->next_run = TimePoint{std::chrono::nanoseconds{500}};
  const std::vector<apsched::FireDecision> fires{
      {.scheduled = TimePoint{std::chrono::nanoseconds{100}}, .state = FireState::missed},
      {.scheduled = TimePoint{std::chrono::nanoseconds{200}}, .state = FireState::submitted}};
  CHECK(f.engine().commit_due(*record, fires, false, "test"));
  CHECK(f.state.cache.find("a")->version == 2);
  f.db.committed = false;
  CHECK_FALSE(f.engine().commit_due(*record, fires, true, "test"));
  CHECK(f.state.cache.find("a")->stale);
  CHECK(f.db.log ==
        std::vector<std::string>{"commit_due a v1 advance next 500 fires 100,200 missed finished",
                                 "commit_due a v2 remove next 500 fires 100,200 missed finished"});
  JobRecord stranger{.id = "a", .body = {}, .trigger = record->trigger};
  REQUIRE_THROWS_AS(f.engine().commit_due(stranger, fires, false, "test"),
                    apsched::InvalidArgumentError);
  CHECK(f.db.log.size() == 2);
}

TEST_CASE("erase and clear forget the records and the jobs set aside", "[durable][engine]") {
  Fixture f;
  f.db.jobs.emplace("a", make_row("a", 1));
  REQUIRE(f.engine().hand_out(make_row("a", 1)) != nullptr);
  CHECK(f.engine().erase("a"));
  CHECK_FALSE(f.engine().erase("a"));
  CHECK(f.engine().find_cached("a") == nullptr);
  f.engine().clear();
  CHECK(f.db.log == std::vector<std::string>{"erase_job a", "forget_set_aside a", "erase_job a",
                                             "forget_set_aside a", "clear_jobs",
                                             "forget_all_set_aside"});
}

TEST_CASE("a store gives its lease up, or lets it lapse when it left fires in flight",
          "[durable][engine]") {
  Fixture f;
  f.engine().release_lease();
  CHECK(f.db.log == std::vector<std::string>{"prepare_release", "drop_lease"});
  f.db.log.clear();
  f.db.lease_dropped = false;
  f.engine().release_lease();
  CHECK(f.db.log == std::vector<std::string>{"prepare_release", "drop_lease", "lapse_lease"});
}

TEST_CASE("deferred outcomes are kept until written, and recorded outcomes written at once",
          "[durable][engine]") {
  Fixture f;
  CHECK(f.engine().defer_outcome("a", nullptr, TimePoint{}, FireState::succeeded, "", "test"));
  CHECK_FALSE(f.engine().defer_outcome("a", nullptr, TimePoint{}, FireState::failed, "x", "test"));
  REQUIRE(f.state.pending.size() == 2);
  CHECK_FALSE(f.state.pending[0].counted);
  CHECK(f.state.pending[1].error == "x");
  f.engine().record_outcome("b", nullptr, TimePoint{std::chrono::nanoseconds{7}},
                            FireState::dropped, "", "test");
  CHECK(f.db.log == std::vector<std::string>{"write_outcome b 7 dropped"});
  CHECK(f.state.pending.size() == 2);
}

}  // namespace detail_durable_engine_test
