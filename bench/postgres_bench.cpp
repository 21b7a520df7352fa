// SPDX-License-Identifier: MIT
// postgres_bench: the PostgreSQL store with 1, 2 and 3 scheduler processes on one database:
// fires per second, each exactly once, and how late due jobs start (p50/p99), also with
// 1,000,000 further jobs stored; and how soon a job added on one scheduler starts on another
// (LISTEN/NOTIFY); and a mixed load: 1,000 date fires/s with 100 interval jobs at 100 ms, the
// start lateness of each kind. Needs a server:
// APSCHED_TEST_POSTGRES (a libpq connection string; tests/support/postgres_server.sh start
// STATE prints one). Each
// measurement works in a schema of its own, dropped afterwards. Prints markdown tables.
#include <apsched/background_scheduler.hpp>
#include <apsched/postgres/job_store.hpp>
#include <apsched/triggers/date.hpp>
#include <apsched/triggers/interval.hpp>

#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <new>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using apsched::TimePoint;
using apsched::detail::postgres::Connection;
using Scheduler = apsched::BackgroundScheduler<apsched::PostgresJobStore>;

// Memory shared with the forked processes: a run counter and each job's start lateness (ns).
struct Shared {
  std::atomic<std::int64_t> runs{0};
  // Start lateness (ns) of the interval jobs' runs, `interval_capacity` at most.
  std::atomic<std::int64_t> interval_runs{0};
  static constexpr std::size_t interval_capacity = 1 << 16;
  std::atomic<std::int64_t> interval_late[interval_capacity]{};
  // `jobs` entries, in the same mapping after this struct.
  std::atomic<std::int64_t>* late = nullptr;
};

Shared* shared_memory(std::size_t jobs) {
  const std::size_t size = sizeof(Shared) + jobs * sizeof(std::atomic<std::int64_t>);
  void* memory = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) {
    throw std::runtime_error{"mmap failed"};
  }
  auto* shared = new (memory) Shared{};
  auto* late =
      reinterpret_cast<std::atomic<std::int64_t>*>(static_cast<char*>(memory) + sizeof(Shared));
  for (std::size_t i = 0; i < jobs; ++i) {
    new (late + i) std::atomic<std::int64_t>{0};
  }
  shared->late = late;
  return shared;
}

// A schema of its own on the server, dropped at the end.
class Schema {
 public:
  explicit Schema(std::string base) : base_{std::move(base)}, admin_{Connection::open(base_)} {
    std::random_device random;
    name_ = fmt::format("apsched_bench_{:08x}", random());
    admin_.exec(fmt::format("CREATE SCHEMA {}", name_));
  }
  Schema(const Schema&) = delete;
  Schema& operator=(const Schema&) = delete;
  ~Schema() {
    try {
      admin_.exec(fmt::format("DROP SCHEMA {} CASCADE", name_));
    } catch (...) {  // NOLINT(bugprone-empty-catch): left behind, it only takes space
    }
  }
  [[nodiscard]] std::string conninfo() const {
    return fmt::format("{} options='-csearch_path={}'", base_, name_);
  }

 private:
  std::string base_;
  Connection admin_;
  std::string name_;
};

void register_work(Scheduler& scheduler, Shared* shared) {
  scheduler.register_task("work", [shared](const apsched::JobContext& context, int index) {
    shared->late[index].store(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                  context.started_at - context.scheduled_run_time)
                                  .count(),
                              std::memory_order_relaxed);
    shared->runs.fetch_add(1, std::memory_order_relaxed);
  });
  scheduler.register_task("tick", [shared](const apsched::JobContext& context) {
    const std::int64_t slot = shared->interval_runs.fetch_add(1, std::memory_order_relaxed);
    if (slot < static_cast<std::int64_t>(Shared::interval_capacity)) {
      shared->interval_late[slot].store(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                            context.started_at - context.scheduled_run_time)
                                            .count(),
                                        std::memory_order_relaxed);
    }
  });
}

// Forks `processes` schedulers on `conninfo` that run until `jobs` runs are counted; returns the
// seconds from their start until then.
double run_processes(const std::string& conninfo, std::size_t processes, std::int64_t jobs,
                     Shared* shared) {
  int go[2];
  if (::pipe(go) != 0) {
    throw std::runtime_error{"pipe failed"};
  }
  std::vector<pid_t> children;
  for (std::size_t p = 0; p < processes; ++p) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::close(go[1]);
      int status = 0;
      try {
        Scheduler scheduler{
            apsched::PostgresJobStore{conninfo, {.poll_interval = 100ms, .lease_duration = 5s}}};
        register_work(scheduler, shared);
        char byte = 0;
        if (::read(go[0], &byte, 1) != 1) {
          std::_Exit(4);
        }
        scheduler.start();
        while (shared->runs.load() < jobs) {
          std::this_thread::sleep_for(1ms);
        }
        scheduler.shutdown();
      } catch (const std::exception& error) {
        std::fprintf(stderr, "child: %s\n", error.what());
        status = 2;
      }
      std::_Exit(status);
    }
    children.push_back(pid);
  }
  ::close(go[0]);
  const auto begin = std::chrono::steady_clock::now();
  const std::string bytes(processes, 'g');
  if (::write(go[1], bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size())) {
    throw std::runtime_error{"write failed"};
  }
  ::close(go[1]);
  while (shared->runs.load() < jobs) {
    std::this_thread::sleep_for(200us);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  bool failed = false;
  for (const pid_t child : children) {
    int status = 0;
    ::waitpid(child, &status, 0);
    failed = failed || !WIFEXITED(status) || WEXITSTATUS(status) != 0;
  }
  if (failed) {
    throw std::runtime_error{"a child process failed"};
  }
  return seconds;
}

// Adds `jobs` date jobs, job i due at `due(i)`, in one batch.
template <class Due>
void add_jobs(const std::string& conninfo, std::int64_t jobs, Shared* shared, Due due) {
  Scheduler setup{apsched::PostgresJobStore{conninfo}};
  register_work(setup, shared);
  setup.batch([&] {
    for (std::int64_t i = 0; i < jobs; ++i) {
      setup.add_job(apsched::task("work"), apsched::DateTrigger{due(i)},
                    {.id = fmt::format("job-{:06}", i)}, static_cast<int>(i));
    }
  });
}

// Stores `count` further jobs due in a year, copies of one added through the scheduler (in one
// statement: adding them one by one would take minutes).
void add_idle_jobs(const std::string& conninfo, std::int64_t count, Shared* shared) {
  const TimePoint later = apsched::SystemClock{}.now() + std::chrono::hours{24 * 365};
  {
    Scheduler setup{apsched::PostgresJobStore{conninfo}};
    register_work(setup, shared);
    setup.add_job(apsched::task("work"), apsched::DateTrigger{later}, {.id = "idle"}, 0);
  }
  Connection db = Connection::open(conninfo);
  db.query(
      "INSERT INTO apsched_jobs (id, task, arguments, trigger, options, next_fire, next_run, "
      "paused, run_count, failure_count, version) SELECT 'idle-' || g, task, arguments, trigger, "
      "options, next_fire, next_run, paused, 0, 0, 1 FROM apsched_jobs, generate_series(1, $1) g "
      "WHERE id = 'idle'",
      count);
  db.exec("ANALYZE apsched_jobs");
}

// The mixed load: `seconds` x 1,000 date jobs due evenly from 4 s after the call, and 100
// interval jobs at 100 ms over the same span, run by `processes` schedulers until every date job
// has run. Returns the seconds from the first date job's due time until the last one ran.
double mixed_load(const std::string& conninfo, std::size_t processes, std::int64_t seconds,
                  Shared* shared) {
  const std::int64_t dates = seconds * 1'000;
  const TimePoint first = apsched::SystemClock{}.now() + 4s;
  add_jobs(conninfo, dates, shared,
           [first](std::int64_t i) { return first + std::chrono::microseconds{1'000 * i}; });
  {
    Scheduler setup{apsched::PostgresJobStore{conninfo}};
    register_work(setup, shared);
    setup.batch([&] {
      for (int i = 0; i < 100; ++i) {
        setup.add_job(apsched::task("tick"),
                      apsched::IntervalTrigger{100ms,
                                               {.start_date = first + std::chrono::milliseconds{i},
                                                .end_date = first + std::chrono::seconds{seconds}}},
                      {.id = fmt::format("tick-{:03}", i)});
      }
    });
  }
  if (apsched::SystemClock{}.now() > first) {
    throw std::runtime_error{"adding the mixed load's jobs took longer than its 4 s lead"};
  }
  (void)run_processes(conninfo, processes, dates, shared);
  return std::chrono::duration<double>(apsched::SystemClock{}.now() - first).count();
}

// Milliseconds from adding a job due now on one scheduler until it starts on another, which is
// idle and polls every 10 s, `samples` times.
std::vector<double> wake_latencies(const std::string& conninfo, int samples) {
  std::mutex mutex;
  std::condition_variable started_cv;
  std::int64_t started = 0;
  TimePoint started_at;
  Scheduler idle{
      apsched::PostgresJobStore{conninfo, {.poll_interval = 10s, .lease_duration = 20s}}};
  idle.register_task("mark", [&](const apsched::JobContext& context) {
    const std::lock_guard lock{mutex};
    started_at = context.started_at;
    ++started;
    started_cv.notify_all();
  });
  idle.start();
  Scheduler adder{apsched::PostgresJobStore{conninfo, {.listen = false}}};
  adder.register_task("mark", [](const apsched::JobContext&) {});
  std::vector<double> latencies;
  for (int i = 0; i < samples; ++i) {
    std::this_thread::sleep_for(100ms);  // the idle scheduler is back asleep
    const TimePoint added = apsched::SystemClock{}.now();
    adder.add_job(apsched::task("mark"), apsched::DateTrigger{added},
                  {.id = fmt::format("m-{}", i)});
    std::unique_lock lock{mutex};
    if (!started_cv.wait_for(lock, 30s, [&] { return started > i; })) {
      throw std::runtime_error{"a job added on another scheduler did not start within 30 s"};
    }
    latencies.push_back(std::chrono::duration<double, std::milli>(started_at - added).count());
  }
  idle.shutdown();
  return latencies;
}

double percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  const auto index = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1));
  return values[index];
}

}  // namespace

int main(int argc, char** argv) {
  const char* base = std::getenv("APSCHED_TEST_POSTGRES");
  if (base == nullptr || *base == 0) {
    fmt::print("postgres_bench: set APSCHED_TEST_POSTGRES to a connection string; skipped\n");
    return 0;
  }
  bool quick = false;
  std::string_view only;  // --only=fires|lateness|stored|mixed|wake: that table alone
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg{argv[i]};
    if (arg == "--quick") {
      quick = true;
    } else if (arg.starts_with("--only=")) {
      only = arg.substr(7);
    } else {
      fmt::print(stderr, "postgres_bench: unknown argument {}; expected --quick or --only=NAME\n",
                 arg);
      return 2;
    }
  }
  const auto wanted = [only](std::string_view table) { return only.empty() || only == table; };
  const std::int64_t burst = quick ? 2'000 : 10'000;
  const std::int64_t spread = quick ? 500 : 2'000;
  const std::int64_t stored = quick ? 100'000 : 1'000'000;
  try {
    if (wanted("fires")) {
      fmt::print("## Fires per second: {} jobs due at once, each run exactly once\n\n", burst);
      fmt::print(
          "BackgroundScheduler + thread pool per process, all on one PostgreSQL 15 database on "
          "this machine (loopback). From the processes' start until every job has run.\n\n");
      fmt::print("| processes | fires | seconds | fires/s |\n|---:|---:|---:|---:|\n");
      for (std::size_t processes = 1; processes <= 3; ++processes) {
        Schema schema{base};
        Shared* shared = shared_memory(static_cast<std::size_t>(burst));
        const TimePoint past = apsched::SystemClock{}.now() - 1s;
        add_jobs(schema.conninfo(), burst, shared, [past](std::int64_t) { return past; });
        const double seconds = run_processes(schema.conninfo(), processes, burst, shared);
        fmt::print("| {} | {} | {:.3f} | {:.0f} |\n", processes, burst, seconds,
                   static_cast<double>(burst) / seconds);
      }
    }
    if (wanted("lateness")) {
      fmt::print("\n## Start lateness: {} jobs due over 2 s\n\n", spread);
      fmt::print(
          "How long after its scheduled time each job started (claim, commit and hand-over to "
          "the pool), with 1 to 3 processes.\n\n");
      fmt::print("| processes | jobs | p50 ms | p99 ms | max ms |\n|---:|---:|---:|---:|---:|\n");
      for (std::size_t processes = 1; processes <= 3; ++processes) {
        Schema schema{base};
        Shared* shared = shared_memory(static_cast<std::size_t>(spread));
        const TimePoint first = apsched::SystemClock{}.now() + 2s;
        add_jobs(schema.conninfo(), spread, shared,
                 [first, spread](std::int64_t i) { return first + 2000ms * i / spread; });
        (void)run_processes(schema.conninfo(), processes, spread, shared);
        std::vector<double> late;
        for (std::int64_t i = 0; i < spread; ++i) {
          late.push_back(static_cast<double>(shared->late[i].load()) / 1e6);
        }
        fmt::print("| {} | {} | {:.2f} | {:.2f} | {:.2f} |\n", processes, spread,
                   percentile(late, 0.5), percentile(late, 0.99), percentile(late, 1.0));
      }
    }
    if (wanted("stored")) {
      fmt::print("\n## With {} further jobs stored (due in a year)\n\n", stored);
      fmt::print(
          "The same measurements on a database that also holds {} idle jobs: {} jobs due at "
          "once, then {} due over 2 s.\n\n",
          stored, burst, spread);
      fmt::print(
          "| processes | fires/s | lateness p50 ms | p99 ms | max ms "
          "|\n|---:|---:|---:|---:|---:|\n");
      for (const std::size_t processes : {std::size_t{1}, std::size_t{3}}) {
        Schema schema{base};
        Shared* shared = shared_memory(static_cast<std::size_t>(burst));
        add_idle_jobs(schema.conninfo(), stored, shared);
        const TimePoint past = apsched::SystemClock{}.now() - 1s;
        add_jobs(schema.conninfo(), burst, shared, [past](std::int64_t) { return past; });
        const double seconds = run_processes(schema.conninfo(), processes, burst, shared);
        Shared* timed = shared_memory(static_cast<std::size_t>(spread));
        const TimePoint first = apsched::SystemClock{}.now() + 2s;
        add_jobs(schema.conninfo(), spread, timed,
                 [first, spread](std::int64_t i) { return first + 2000ms * i / spread; });
        (void)run_processes(schema.conninfo(), processes, spread, timed);
        std::vector<double> late;
        for (std::int64_t i = 0; i < spread; ++i) {
          late.push_back(static_cast<double>(timed->late[i].load()) / 1e6);
        }
        fmt::print("| {} | {:.0f} | {:.2f} | {:.2f} | {:.2f} |\n", processes,
                   static_cast<double>(burst) / seconds, percentile(late, 0.5),
                   percentile(late, 0.99), percentile(late, 1.0));
      }
    }
    if (wanted("mixed")) {
      const std::int64_t seconds = quick ? 3 : 10;
      fmt::print("\n## Mixed load: 1,000 date fires/s and 100 interval jobs at 100 ms\n\n");
      fmt::print(
          "{} s of date jobs due 1 ms apart ({} jobs) and 100 interval jobs every 100 ms (1,000 "
          "fires/s) over the same {} s, on 1 and 3 processes; start lateness of each kind, and "
          "the interval runs counted (of {} due).\n\n",
          seconds, seconds * 1'000, seconds, seconds * 1'000);
      fmt::print(
          "| processes | date p50 ms | date p99 ms | date max ms | interval p50 ms | interval "
          "p99 ms | interval max ms | interval runs "
          "|\n|---:|---:|---:|---:|---:|---:|---:|---:|\n");
      for (const std::size_t processes : {std::size_t{1}, std::size_t{3}}) {
        Schema schema{base};
        Shared* shared = shared_memory(static_cast<std::size_t>(seconds * 1'000));
        (void)mixed_load(schema.conninfo(), processes, seconds, shared);
        std::vector<double> late;
        for (std::int64_t i = 0; i < seconds * 1'000; ++i) {
          late.push_back(static_cast<double>(shared->late[i].load()) / 1e6);
        }
        const auto ticks = static_cast<std::size_t>(std::min<std::int64_t>(
            shared->interval_runs.load(), static_cast<std::int64_t>(Shared::interval_capacity)));
        std::vector<double> ticked;
        for (std::size_t i = 0; i < ticks; ++i) {
          ticked.push_back(static_cast<double>(shared->interval_late[i].load()) / 1e6);
        }
        if (ticked.empty()) {
          ticked.push_back(0);
        }
        fmt::print("| {} | {:.2f} | {:.2f} | {:.2f} | {:.2f} | {:.2f} | {:.2f} | {} |\n", processes,
                   percentile(late, 0.5), percentile(late, 0.99), percentile(late, 1.0),
                   percentile(ticked, 0.5), percentile(ticked, 0.99), percentile(ticked, 1.0),
                   shared->interval_runs.load());
      }
    }
    if (wanted("wake")) {
      const int samples = quick ? 5 : 20;
      Schema schema{base};
      const std::vector<double> latencies = wake_latencies(schema.conninfo(), samples);
      fmt::print("\n## Wake-up through LISTEN/NOTIFY\n\n");
      fmt::print(
          "A job due now, added on one scheduler; from the add until it starts on another, "
          "idle scheduler that polls every 10 s ({} samples).\n\n",
          samples);
      fmt::print("| p50 ms | max ms |\n|---:|---:|\n| {:.2f} | {:.2f} |\n",
                 percentile(latencies, 0.5), percentile(latencies, 1.0));
    }
  } catch (const std::exception& error) {
    fmt::print(stderr, "postgres_bench: {}\n", error.what());
    return 1;
  }
  return 0;
}
