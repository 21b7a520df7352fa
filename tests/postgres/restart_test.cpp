// SPDX-License-Identifier: MIT
// Background schedulers on a PostgreSQL database whose server restarts under them: they report
// store errors, reconnect and go on, and no job, fire or outcome is lost or doubled, whether the
// restart falls between runs or a run is still going across it.
// The test server is restarted with postgres_restart_command() (the fixture's server restarts
// itself; for a server of APSCHED_TEST_POSTGRES, APSCHED_TEST_POSTGRES_RESTART holds a shell
// command that restarts it); without one, every other session of the database is terminated
// instead, which is what clients see of a restart, only without the outage.
#include <apsched/background_scheduler.hpp>
#include <apsched/postgres/job_store.hpp>
#include <apsched/triggers/date.hpp>
#include <apsched/triggers/interval.hpp>

#include "support/catch.hpp"
#include "support/postgres.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace postgres_restart_test {

using namespace std::chrono_literals;
using apsched::TimePoint;
using apsched::detail::postgres::Connection;
using apsched::test::TestSchema;

namespace {

using Scheduler = apsched::BackgroundScheduler<apsched::PostgresJobStore>;

// How long a wait may take before the test calls it hung.
constexpr std::chrono::seconds hang_limit{30};

std::int64_t nanoseconds(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

// What the schedulers did, as their tasks and listeners report it. Thread-safe.
class Observed {
 public:
  // A run: the job's id and its scheduled time in nanoseconds.
  using Fire = std::pair<std::string, std::int64_t>;

  struct State {
    // The runs per (job, scheduled time), and the latest scheduled time each job ran for.
    std::map<Fire, int> runs;
    std::map<std::string, std::int64_t, std::less<>> latest;
    // The runs whose end the schedulers have handled (job_executed).
    std::set<Fire> executed;
    // Per scheduler: its runs, its store_error events, and the first few errors' messages.
    std::array<int, 2> runs_by{};
    std::array<int, 2> store_errors{};
    std::vector<std::string> messages;
  };

  // Records a run of task "record" by scheduler `node`.
  void run(std::size_t node, const apsched::JobContext& context) {
    {
      std::lock_guard lock{mutex_};
      const Fire fire{std::string{context.job_id}, nanoseconds(context.scheduled_run_time)};
      ++state_.runs[fire];
      std::int64_t& latest = state_.latest[fire.first];
      latest = std::max(latest, fire.second);
      ++state_.runs_by.at(node);
    }
    changed_.notify_all();
  }

  // The listener for scheduler `node`: records its store_error and job_executed events.
  auto listener(std::size_t node) {
    return [this, node](const apsched::Event& event) {
      if (event.type == apsched::EventType::job_executed) {
        executed(event);
      } else {
        store_error(node, event);
      }
    };
  }
  // The events listener() records.
  static constexpr apsched::EventMask events =
      apsched::EventType::store_error | apsched::EventType::job_executed;

  // Waits until `done(state)` holds; false if it does not within hang_limit.
  template <class F>
  bool wait_until(F done) {
    std::unique_lock lock{mutex_};
    return changed_.wait_for(lock, hang_limit, [&] { return done(std::as_const(state_)); });
  }

  // A copy of what was observed so far.
  [[nodiscard]] State snapshot() const {
    std::lock_guard lock{mutex_};
    return state_;
  }

 private:
  void executed(const apsched::Event& event) {
    {
      std::lock_guard lock{mutex_};
      state_.executed.emplace(event.job_id, nanoseconds(event.scheduled_run_time.value()));
    }
    changed_.notify_all();
  }

  void store_error(std::size_t node, const apsched::Event& event) {
    std::string message = "(not a std::exception)";
    try {
      std::rethrow_exception(event.exception);
    } catch (const std::exception& error) {
      message = error.what();
    } catch (...) {  // NOLINT(bugprone-empty-catch): the message says so
    }
    {
      std::lock_guard lock{mutex_};
      ++state_.store_errors.at(node);
      if (state_.messages.size() < 5) {
        state_.messages.push_back(fmt::format("scheduler {}: {}", node, message));
      }
    }
    changed_.notify_all();
  }

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  State state_;
};

// Holds the runs that pass it until it is opened. Thread-safe.
class Gate {
 public:
  // Waits here until open(), after telling arrived_within that a run came.
  void pass() {
    std::unique_lock lock{mutex_};
    arrived_ = true;
    changed_.notify_all();
    changed_.wait(lock, [this] { return open_; });
  }

  // Whether a run came within `limit`.
  bool arrived_within(std::chrono::seconds limit) {
    std::unique_lock lock{mutex_};
    return changed_.wait_for(lock, limit, [this] { return arrived_; });
  }

  void open() {
    {
      std::lock_guard lock{mutex_};
      open_ = true;
    }
    changed_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool arrived_ = false;
  bool open_ = false;
};

// Opens `gate` on destruction: a test that fails early must not leave a run waiting (the
// scheduler's destructor waits for its running jobs).
class OpenOnExit {
 public:
  explicit OpenOnExit(Gate& gate) noexcept : gate_{&gate} {}
  OpenOnExit(const OpenOnExit&) = delete;
  OpenOnExit& operator=(const OpenOnExit&) = delete;
  ~OpenOnExit() { gate_->open(); }

 private:
  Gate* gate_;
};

// How many times job `id` ran, over all its scheduled times.
int runs_of(const Observed::State& state, const std::string& id) {
  int count = 0;
  for (auto it =
           state.runs.lower_bound(Observed::Fire{id, std::numeric_limits<std::int64_t>::min()});
       it != state.runs.end() && it->first.first == id; ++it) {
    count += it->second;
  }
  return count;
}

// Whether every job of `ids` ran for a scheduled time after `after`.
bool ran_after(const Observed::State& state, const std::vector<std::string>& ids, TimePoint after) {
  return std::all_of(ids.begin(), ids.end(), [&](const std::string& id) {
    const auto latest = state.latest.find(id);
    return latest != state.latest.end() && latest->second > nanoseconds(after);
  });
}

// A scheduler on the test schema whose task "record" reports its runs to `observed` as those of
// `node`. Polls every 100 ms; its lease (10 s) outlasts the restart, so that neither scheduler
// takes the other's fires over.
std::unique_ptr<Scheduler> make_scheduler(const TestSchema& schema, Observed& observed,
                                          std::size_t node) {
  auto scheduler = std::make_unique<Scheduler>(apsched::PostgresJobStore{
      schema.conninfo(fmt::format("apsched-restart-{}", node)),
      {.poll_interval = 100ms, .history_per_job = 10'000, .lease_duration = 10s}});
  scheduler->register_task("record", [&observed, node](const apsched::JobContext& context) {
    observed.run(node, context);
  });
  scheduler->add_listener(observed.listener(node), Observed::events);
  return scheduler;
}

// Restarts the server with postgres_restart_command(); without one, terminates
// every other session of the test database, then ends the transaction of schema.admin() if one
// is open. Returns whether the server was restarted.
bool restart_server(TestSchema& schema) {
  if (const std::string command = apsched::test::postgres_restart_command(); !command.empty()) {
    INFO("restart command: " << command);
    REQUIRE(std::system(command.c_str()) == 0);
    return true;
  }
  WARN(
      "no restart command (APSCHED_TEST_POSTGRES_RESTART) for the server of "
      "APSCHED_TEST_POSTGRES: the schedulers' sessions are terminated with "
      "pg_terminate_backend instead of a server restart (no outage)");
  const std::int64_t terminated =
      schema.admin()
          .query(
              "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = "
              "current_database() AND pid <> pg_backend_pid()")
          .int64(0, 0);
  REQUIRE(terminated >= 1);  // at least the schedulers' sessions
  if (PQtransactionStatus(schema.admin().handle()) != PQTRANS_IDLE) {
    schema.admin().exec("ROLLBACK");
  }
  return false;
}

// The runs and store errors per scheduler, and the first errors' messages, for failure output.
std::string describe(const Observed::State& state) {
  std::string text = fmt::format(
      "{} runs ({} by scheduler 0, {} by scheduler 1); store errors: {} and {}", state.runs.size(),
      state.runs_by[0], state.runs_by[1], state.store_errors[0], state.store_errors[1]);
  for (const std::string& message : state.messages) {
    text += "\n  ";
    text += message;
  }
  return text;
}

std::int64_t single(Connection& db, const std::string& sql) { return db.query(sql).int64(0, 0); }

}  // namespace

TEST_CASE("postgres restart: schedulers reconnect and continue, and nothing is lost",
          "[postgres][restart][thread][serial]") {
  TestSchema schema;
  Observed observed;
  std::vector<std::string> ticks;
  std::vector<std::string> dates;
  std::map<std::string, TimePoint> due;  // the date jobs' due times
  TimePoint restart_began;
  TimePoint restarted;
  bool real_restart = false;
  {
    std::array<std::unique_ptr<Scheduler>, 2> nodes{make_scheduler(schema, observed, 0),
                                                    make_scheduler(schema, observed, 1)};
    Scheduler& first = *nodes[0];
    // Interval jobs every 150 ms, their fire times spread so that both schedulers claim some.
    const TimePoint start = apsched::SystemClock{}.now() + 200ms;
    first.batch([&] {
      for (int i = 0; i < 6; ++i) {
        ticks.push_back(fmt::format("tick-{}", i));
        first.add_job(apsched::task("record"),
                      apsched::IntervalTrigger{150ms, {.start_date = start + i * 23ms}},
                      {.id = ticks.back()});
      }
    });
    for (const auto& node : nodes) {
      node->start();
    }
    // Let every interval job run twice before the restart.
    REQUIRE(observed.wait_until([&](const Observed::State& state) {
      return std::all_of(ticks.begin(), ticks.end(),
                         [&](const std::string& id) { return runs_of(state, id) >= 2; });
    }));

    // Date jobs due over the next second: during the outage and after it.
    const TimePoint before = apsched::SystemClock{}.now();
    for (int i = 0; i < 10; ++i) {
      const std::string id = fmt::format("during-{}", i);
      dates.push_back(id);
      due[id] = before + 100ms * (i + 1);
      first.add_job(apsched::task("record"), apsched::DateTrigger{due[id]}, {.id = id});
    }
    // The sessions are cut between runs (a run going on across the restart is the next test's
    // subject): every job row is locked FOR KEY SHARE, which the schedulers' rounds (FOR UPDATE
    // SKIP LOCKED) skip while their writes of outcomes pass, and the runs already submitted end.
    // The restart ends the lock.
    Connection& admin = schema.admin();
    admin.exec("BEGIN");
    admin.exec(fmt::format("SELECT 1 FROM {}.apsched_jobs FOR KEY SHARE", schema.name()));
    const auto submitted = admin.query(fmt::format(
        "SELECT job_id, scheduled FROM {}.apsched_fires WHERE state = 'submitted'", schema.name()));
    std::vector<Observed::Fire> in_flight;
    for (int i = 0; i < submitted.rows(); ++i) {
      in_flight.emplace_back(std::string{submitted.text(i, 0)}, submitted.int64(i, 1));
    }
    REQUIRE(observed.wait_until([&](const Observed::State& state) {
      return std::all_of(in_flight.begin(), in_flight.end(),
                         [&](const Observed::Fire& fire) { return state.executed.contains(fire); });
    }));
    restart_began = apsched::SystemClock{}.now();
    real_restart = restart_server(schema);
    restarted = apsched::SystemClock{}.now();

    // Date jobs added after the restart, through a store of their own (the running schedulers
    // may still be waiting to reconnect).
    {
      Scheduler adder{apsched::PostgresJobStore{schema.conninfo()}};
      adder.register_task("record", [](const apsched::JobContext&) {});
      for (int i = 0; i < 5; ++i) {
        const std::string id = fmt::format("after-{}", i);
        dates.push_back(id);
        due[id] = restarted + 100ms * (i + 1);
        adder.add_job(apsched::task("record"), apsched::DateTrigger{due[id]}, {.id = id});
      }
    }

    // Every interval job runs again after the restart, and every date job runs.
    const bool continued = observed.wait_until([&](const Observed::State& state) {
      return ran_after(state, ticks, restarted) &&
             std::all_of(dates.begin(), dates.end(),
                         [&](const std::string& id) { return runs_of(state, id) > 0; });
    });
    INFO(describe(observed.snapshot()));
    REQUIRE(continued);
    // The schedulers met the lost connection and reported it, without stopping. With a real
    // restart each did: the server is down for longer than their 100 ms poll.
    CHECK(observed.wait_until([&](const Observed::State& state) {
      const std::array<int, 2>& errors = state.store_errors;
      return real_restart ? errors[0] > 0 && errors[1] > 0 : errors[0] + errors[1] > 0;
    }));
    for (const auto& node : nodes) {
      CHECK(node->state() == apsched::SchedulerState::running);
    }
    for (const auto& node : nodes) {
      node->shutdown();
    }
  }  // the stores write the outcomes still pending as they close

  const Observed::State observed_state = observed.snapshot();
  const std::map<Observed::Fire, int>& runs = observed_state.runs;
  INFO(describe(observed_state));
  INFO("the restart ran from " << nanoseconds(restart_began) << " to " << nanoseconds(restarted)
                               << " ns");
  // No fire ran twice; each date job ran once, at its due time.
  for (const auto& [fire, count] : runs) {
    INFO(fire.first << " at " << fire.second << " ns");
    CHECK(count == 1);
  }
  for (const std::string& id : dates) {
    INFO(id);
    CHECK(runs_of(observed_state, id) == 1);
    CHECK(runs.contains(Observed::Fire{id, nanoseconds(due[id])}));
  }

  Connection db = schema.connect();
  // Every interval job is still stored and scheduled; the date jobs are gone.
  std::vector<std::string> stored;
  const auto jobs = db.query("SELECT id, next_run, paused FROM apsched_jobs ORDER BY id");
  for (int i = 0; i < jobs.rows(); ++i) {
    stored.emplace_back(jobs.text(i, 0));
    CHECK(jobs.int64(i, 1) > nanoseconds(restarted));
    CHECK(jobs.text(i, 2) == "f");
  }
  CHECK(stored == ticks);
  // Every fire ended: none was left submitted (its outcome lost), abandoned, dropped or missed.
  // Besides the runs, only fires folded into a later run (coalesced) or skipped for max_instances
  // are recorded.
  std::vector<std::string> unfinished;
  const auto others = db.query(
      "SELECT job_id, scheduled, state, runs, attempt, owner, recorded_at, finished_at, error "
      "FROM apsched_fires WHERE state NOT IN ('succeeded', 'coalesced', 'skipped') "
      "ORDER BY scheduled");
  for (int i = 0; i < others.rows(); ++i) {
    unfinished.push_back(fmt::format(
        "{} at {} ns: {} (runs {}, attempt {}, owner {}, recorded {}, finished {}, error {})",
        others.text(i, 0), others.text(i, 1), others.text(i, 2), others.text(i, 3),
        others.text(i, 4), others.text(i, 5), others.text(i, 6), others.text(i, 7),
        others.text(i, 8)));
  }
  CHECK(unfinished == std::vector<std::string>{});
  // The fires recorded as succeeded are exactly the runs the tasks saw.
  std::set<Observed::Fire> recorded;
  const auto fires =
      db.query("SELECT job_id, scheduled FROM apsched_fires WHERE state = 'succeeded'");
  for (int i = 0; i < fires.rows(); ++i) {
    recorded.emplace(std::string{fires.text(i, 0)}, fires.int64(i, 1));
  }
  std::vector<std::string> not_recorded;
  for (const auto& [fire, count] : runs) {
    if (recorded.erase(fire) == 0) {
      not_recorded.push_back(fmt::format("{} at {} ns", fire.first, fire.second));
    }
  }
  std::vector<std::string> not_run;
  for (const Observed::Fire& fire : recorded) {
    not_run.push_back(fmt::format("{} at {} ns", fire.first, fire.second));
  }
  CHECK(not_recorded == std::vector<std::string>{});
  CHECK(not_run == std::vector<std::string>{});
  // Both leases are released: neither scheduler left fires to take over.
  CHECK(single(db, "SELECT count(*) FROM apsched_owners") == 0);
}

TEST_CASE("postgres restart: a run going on across the restart ends normally and is recorded",
          "[postgres][restart][thread][serial]") {
  TestSchema schema;
  Observed observed;
  // Shared with the task, so that it outlives a run still waiting in it.
  const auto gate = std::make_shared<Gate>();
  // The loop polls once a minute and nothing else is due: it leaves its connection alone while
  // the server restarts, so that the run's end is the first to meet the lost connection.
  Scheduler scheduler{apsched::PostgresJobStore{schema.conninfo("apsched-restart-in-flight"),
                                                {.poll_interval = 60s, .lease_duration = 120s}}};
  scheduler.register_task("slow", [gate, &observed](const apsched::JobContext& context) {
    gate->pass();
    observed.run(0, context);
  });
  scheduler.add_listener(observed.listener(0), Observed::events);
  const OpenOnExit open_on_exit{*gate};
  const TimePoint first = apsched::SystemClock{}.now() + 50ms;
  scheduler.add_job(apsched::task("slow"), apsched::IntervalTrigger{1h, {.start_date = first}},
                    {.id = "slow"});
  scheduler.start();
  REQUIRE(gate->arrived_within(hang_limit));
  restart_server(schema);
  gate->open();
  const Observed::Fire fire{"slow", nanoseconds(first)};
  REQUIRE(observed.wait_until(
      [&](const Observed::State& state) { return state.executed.contains(fire); }));

  // The outcome is written once the store has its connection back: the first call may still
  // meet the lost connection, which fails one call (see PostgresJobStore).
  std::vector<apsched::FireRecord> history;
  std::string first_failure = "none";
  try {
    history = scheduler.get_fire_history("slow");
  } catch (const apsched::StoreError& error) {
    first_failure = error.what();
    history = scheduler.get_fire_history("slow");
  }
  INFO("the first get_fire_history failed with: " << first_failure);
  REQUIRE(history.size() == 1);
  CHECK(history[0].scheduled == first);
  CHECK(history[0].state == apsched::FireState::succeeded);
  CHECK(history[0].attempt == 1);
  const std::optional<apsched::JobInfo> job = scheduler.get_job("slow");
  REQUIRE(job.has_value());
  CHECK(job->next_run_time == first + 1h);
  scheduler.shutdown();
  const Observed::State state = observed.snapshot();
  CHECK(state.runs == std::map<Observed::Fire, int>{{fire, 1}});
}

}  // namespace postgres_restart_test
