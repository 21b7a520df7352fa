// SPDX-License-Identifier: MIT
// sqlite_bench: the durable SQLite store: adds per second (single and batched), store overhead
// per fire, start-up with 100,000 stored jobs until the first due job runs, and the same with 4
// processes on one file. Prints markdown tables.
#include <apsched/apsched.hpp>
#include <apsched/detail/sqlite/database.hpp>
#include <apsched/sqlite/job_store.hpp>

#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <latch>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;
using DurableCallback =
    apsched::CallbackScheduler<apsched::SqliteJobStore, apsched::InlineExecutor>;
using MemoryCallback = apsched::CallbackScheduler<apsched::MemoryJobStore, apsched::InlineExecutor>;
using DurableBackground = apsched::BackgroundScheduler<apsched::SqliteJobStore>;

struct Settings {
  bool quick = false;
  std::vector<std::string> only;
  [[nodiscard]] bool wants(std::string_view section) const {
    return only.empty() || std::find(only.begin(), only.end(), section) != only.end();
  }
};

double seconds_since(SteadyClock::time_point begin) {
  return std::chrono::duration<double>(SteadyClock::now() - begin).count();
}

// A scratch directory for the benchmark's files, removed at exit.
class Scratch {
 public:
  Scratch() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "apsched-bench-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error{"mkdtemp failed"};
    }
    path_ = pattern;
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  ~Scratch() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  // The name of `name` in the directory, as it is.
  [[nodiscard]] std::filesystem::path path(std::string_view name) const { return path_ / name; }
  // A fresh database file name.
  std::filesystem::path file(std::string_view name) {
    const std::filesystem::path file = path_ / name;
    std::error_code ignored;
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::filesystem::remove(file.string() + suffix, ignored);
    }
    return file;
  }

 private:
  std::filesystem::path path_;
};

// One markdown table, printed with aligned columns.
class Table {
 public:
  explicit Table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void print() const {
    std::vector<std::size_t> width(rows_.front().size(), 3);
    for (const auto& row : rows_) {
      for (std::size_t c = 0; c < row.size(); ++c) {
        width[c] = std::max(width[c], row[c].size());
      }
    }
    const auto line = [&](const std::vector<std::string>& row) {
      std::string text = "|";
      for (std::size_t c = 0; c < row.size(); ++c) {
        text += c == 0 ? fmt::format(" {:<{}} |", row[c], width[c])
                       : fmt::format(" {:>{}} |", row[c], width[c]);
      }
      fmt::print("{}\n", text);
    };
    line(rows_.front());
    std::string rule = "|";
    for (std::size_t c = 0; c < width.size(); ++c) {
      rule += c == 0 ? fmt::format(":{}|", std::string(width[c] + 1, '-'))
                     : fmt::format("{}:|", std::string(width[c] + 1, '-'));
    }
    fmt::print("{}\n", rule);
    for (std::size_t r = 1; r < rows_.size(); ++r) {
      line(rows_[r]);
    }
    fmt::print("\n");
  }

 private:
  std::vector<std::vector<std::string>> rows_;
};

std::atomic<std::size_t> runs{0};

// A counter shared by the processes in_processes forks (anonymous shared memory).
std::atomic<std::size_t>& shared_counter() {
  static auto* counter = [] {
    void* memory = ::mmap(nullptr, sizeof(std::atomic<std::size_t>), PROT_READ | PROT_WRITE,
                          MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) {
      throw std::runtime_error{"mmap failed"};
    }
    return new (memory) std::atomic<std::size_t>{0};
  }();
  return *counter;
}

template <class Scheduler>
void register_tasks(Scheduler& scheduler) {
  scheduler.register_task("count", [] { runs.fetch_add(1, std::memory_order_relaxed); });
}

// Adds `count` jobs named "<prefix>-<i>", each due `due(i)`.
template <class Scheduler, class Due>
void add_jobs(Scheduler& scheduler, std::string_view prefix, std::size_t begin, std::size_t end,
              Due due) {
  for (std::size_t i = begin; i < end; ++i) {
    scheduler.add_job(apsched::task("count"), apsched::DateTrigger{due(i)},
                      {.id = fmt::format("{}-{}", prefix, i)});
  }
}

// Forks `processes` children that each run `body(index)` once the parent says go; returns the
// wall time from go until all have exited. The caller must have no threads running.
template <class Body>
double in_processes(std::size_t processes, Body body) {
  int go[2];
  if (::pipe(go) != 0) {
    throw std::runtime_error{"pipe failed"};
  }
  std::vector<pid_t> children;
  for (std::size_t p = 0; p < processes; ++p) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::close(go[1]);
      char byte = 0;
      if (::read(go[0], &byte, 1) != 1) {
        std::_Exit(3);
      }
      int status = 0;
      try {
        body(p);
      } catch (const std::exception& error) {
        fmt::print(stderr, "child {}: {}\n", p, error.what());
        status = 2;
      }
      std::_Exit(status);
    }
    children.push_back(pid);
  }
  ::close(go[0]);
  const SteadyClock::time_point begin = SteadyClock::now();
  const std::string bytes(processes, 'g');
  if (::write(go[1], bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size())) {
    throw std::runtime_error{"write failed"};
  }
  ::close(go[1]);
  bool failed = false;
  for (const pid_t child : children) {
    int status = 0;
    ::waitpid(child, &status, 0);
    failed = failed || !WIFEXITED(status) || WEXITSTATUS(status) != 0;
  }
  const double seconds = seconds_since(begin);
  if (failed) {
    throw std::runtime_error{"a child process failed"};
  }
  return seconds;
}

// The same rows written without the store, as a floor for its adds: `file` (created by the
// store, so with its schema, in WAL mode) gets `count` copies of the first job of `model` under
// new ids through the store's own connection class (synchronous=NORMAL), one INSERT per
// transaction (BEGIN IMMEDIATE ... COMMIT) or all in one. Returns the seconds the inserts took.
double bare_inserts(const std::filesystem::path& file, const std::filesystem::path& model,
                    std::size_t count, bool one_transaction) {
  namespace sqlite = apsched::detail::sqlite;
  // The model row: the columns an add writes, as text (JSON) or integers.
  std::vector<std::string> texts;
  std::vector<std::int64_t> integers;
  {
    sqlite::Database source = sqlite::Database::open(model);
    sqlite::Statement select = source.prepare(
        "SELECT task, arguments, trigger, options, next_fire, next_run, paused, version "
        "FROM jobs LIMIT 1");
    if (!select.step()) {
      throw std::runtime_error{"bare SQLite: the model database has no job"};
    }
    for (int column = 0; column < 4; ++column) {
      texts.push_back(select.column_text(column));
    }
    for (int column = 4; column < 8; ++column) {
      integers.push_back(select.column_int64(column));
    }
  }
  sqlite::Database db = sqlite::Database::open(file);
  sqlite::Statement insert = db.prepare(
      "INSERT INTO jobs (id, task, arguments, trigger, options, next_fire, next_run, paused, "
      "version) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
  const auto add = [&](std::size_t i) {
    const std::string id = fmt::format("bare-{}", i);
    insert.bind_static(1, id);
    for (int t = 0; t < 4; ++t) {
      insert.bind_static(2 + t, texts[static_cast<std::size_t>(t)]);
    }
    for (int n = 0; n < 4; ++n) {
      // next_fire and next_run one unit apart per job, as distinct due times are.
      const std::int64_t shift = n < 2 ? static_cast<std::int64_t>(i) : 0;
      insert.bind(6 + n, integers[static_cast<std::size_t>(n)] + shift);
    }
    insert.execute();
  };
  const SteadyClock::time_point begin = SteadyClock::now();
  if (one_transaction) {
    db.transaction([&] {
      for (std::size_t i = 0; i < count; ++i) {
        add(i);
      }
    });
  } else {
    for (std::size_t i = 0; i < count; ++i) {
      db.transaction([&] { add(i); });
    }
  }
  return seconds_since(begin);
}

void run_adds(const Settings& settings, Scratch& scratch) {
  const std::size_t single = settings.quick ? 2'000 : 20'000;
  const std::size_t batched = settings.quick ? 20'000 : 200'000;
  fmt::print("## Adds: durable jobs (task + date trigger) added through the scheduler\n\n");
  fmt::print(
      "\"single\": each add_job is its own transaction; \"batched\": all in one "
      "scheduler.batch(). synchronous=NORMAL, WAL. \"bare SQLite\": the same rows (a copy of "
      "the first job with new ids) written without the store, through its SQLite connection "
      "class, into a file with the store's schema, one INSERT per BEGIN IMMEDIATE ... COMMIT or "
      "all in one transaction: "
      "the floor for this machine's disk and SQLite. With 4 processes, each adds a quarter, "
      "all at once.\n\n");
  Table table{{"how", "processes", "jobs", "seconds", "adds/s"}};
  const auto later = [](std::size_t) { return apsched::SystemClock{}.now() + 1h; };
  const auto row = [&](std::string how, std::size_t processes, std::size_t jobs, double seconds) {
    table.add({std::move(how), fmt::format("{}", processes), fmt::format("{}", jobs),
               fmt::format("{:.3f}", seconds),
               fmt::format("{:.0f}", static_cast<double>(jobs) / seconds)});
  };
  {
    DurableCallback scheduler{apsched::SqliteJobStore{scratch.file("adds-single.db")}};
    register_tasks(scheduler);
    const SteadyClock::time_point begin = SteadyClock::now();
    add_jobs(scheduler, "job", 0, single, later);
    row("single", 1, single, seconds_since(begin));
  }
  {
    DurableCallback scheduler{apsched::SqliteJobStore{scratch.file("adds-batched.db")}};
    register_tasks(scheduler);
    const SteadyClock::time_point begin = SteadyClock::now();
    scheduler.batch([&] { add_jobs(scheduler, "job", 0, batched, later); });
    row("batched", 1, batched, seconds_since(begin));
  }
  // The floor: the same rows with SQLite alone (see bare_inserts).
  for (const bool one_transaction : {false, true}) {
    const std::filesystem::path file =
        scratch.file(one_transaction ? "adds-bare-batched.db" : "adds-bare-single.db");
    { DurableCallback create{apsched::SqliteJobStore{file}}; }
    const std::size_t jobs = one_transaction ? batched : single;
    const double seconds =
        bare_inserts(file, scratch.path("adds-single.db"), jobs, one_transaction);
    row(one_transaction ? "bare SQLite, one transaction" : "bare SQLite, single", 1, jobs, seconds);
  }
  {
    const std::filesystem::path file = scratch.file("adds-single-4.db");
    { DurableCallback create{apsched::SqliteJobStore{file}}; }
    const double seconds = in_processes(4, [&](std::size_t p) {
      DurableCallback scheduler{apsched::SqliteJobStore{file}};
      register_tasks(scheduler);
      add_jobs(scheduler, fmt::format("p{}", p), 0, single / 4, later);
    });
    row("single", 4, single / 4 * 4, seconds);
  }
  {
    const std::filesystem::path file = scratch.file("adds-batched-4.db");
    { DurableCallback create{apsched::SqliteJobStore{file}}; }
    const std::size_t chunk = 1'000;
    const double seconds = in_processes(4, [&](std::size_t p) {
      DurableCallback scheduler{apsched::SqliteJobStore{file}};
      register_tasks(scheduler);
      // Batches of 1,000, so the processes take turns at the write lock.
      for (std::size_t begin = 0; begin < batched / 4; begin += chunk) {
        scheduler.batch([&] {
          add_jobs(scheduler, fmt::format("p{}", p), begin, std::min(begin + chunk, batched / 4),
                   later);
        });
      }
    });
    row("batched (1,000 per batch)", 4, batched / 4 * 4, seconds);
  }
  table.print();
}

void run_fires(const Settings& settings, Scratch& scratch) {
  const std::size_t count = settings.quick ? 5'000 : 50'000;
  fmt::print("## Store overhead per fire: {} jobs due at once\n\n", count);
  fmt::print(
      "In the CallbackScheduler rows one process_due_jobs() call runs them all. The durable store "
      "finds each due job with an "
      "indexed query; a round of up to 1,024 due jobs records their fires and advances (here: "
      "removes) the jobs in one transaction, committed before they run, and the outcomes of "
      "the runs are written together with the next round. \"overhead per fire\" is the "
      "durable time minus the inline memory store's, per fire. The BackgroundScheduler rows "
      "fork 1 or 4 processes, each a "
      "scheduler with a thread pool on the same file; the time runs from go until together "
      "they have run every fire and each has shut down, writing its last outcomes.\n\n");
  Table table{
      {"store", "processes", "fires", "seconds", "fires/s", "µs per fire", "overhead per fire µs"}};
  const auto past = [](std::size_t) { return apsched::SystemClock{}.now() - 1s; };
  double memory_per_fire = 0;
  {
    MemoryCallback scheduler;
    for (std::size_t i = 0; i < count; ++i) {
      scheduler.add_job([] { runs.fetch_add(1, std::memory_order_relaxed); },
                        apsched::DateTrigger{past(i)});
    }
    scheduler.start();
    runs = 0;
    const SteadyClock::time_point begin = SteadyClock::now();
    (void)scheduler.process_due_jobs();
    const double seconds = seconds_since(begin);
    memory_per_fire = seconds / static_cast<double>(count) * 1e6;
    table.add({"memory, CallbackScheduler + inline", "1", fmt::format("{}", runs.load()),
               fmt::format("{:.3f}", seconds),
               fmt::format("{:.0f}", static_cast<double>(count) / seconds),
               fmt::format("{:.2f}", memory_per_fire), "-"});
  }
  const auto durable_row = [&](std::string name, std::size_t processes, std::size_t fires,
                               double seconds) {
    const double per_fire = seconds / static_cast<double>(fires) * 1e6;
    table.add({std::move(name), fmt::format("{}", processes), fmt::format("{}", fires),
               fmt::format("{:.3f}", seconds),
               fmt::format("{:.0f}", static_cast<double>(fires) / seconds),
               fmt::format("{:.2f}", per_fire), fmt::format("{:.2f}", per_fire - memory_per_fire)});
  };
  {
    DurableCallback scheduler{apsched::SqliteJobStore{scratch.file("fires.db")}};
    register_tasks(scheduler);
    scheduler.batch([&] { add_jobs(scheduler, "job", 0, count, past); });
    scheduler.start();
    runs = 0;
    const SteadyClock::time_point begin = SteadyClock::now();
    (void)scheduler.process_due_jobs();
    const double seconds = seconds_since(begin);
    if (runs.load() != count) {
      throw std::runtime_error{fmt::format("ran {} of {} jobs", runs.load(), count)};
    }
    durable_row("sqlite, CallbackScheduler + inline", 1, count, seconds);
  }
  for (const std::size_t processes : {std::size_t{1}, std::size_t{4}}) {
    const std::filesystem::path file = scratch.file(fmt::format("fires-{}.db", processes));
    {
      DurableCallback setup{apsched::SqliteJobStore{file}};
      register_tasks(setup);
      setup.batch([&] { add_jobs(setup, "job", 0, count, past); });
    }
    std::atomic<std::size_t>& done = shared_counter();
    done = 0;
    const double seconds = in_processes(processes, [&](std::size_t) {
      DurableBackground scheduler{apsched::SqliteJobStore{file, {.poll_interval = 10ms}}};
      scheduler.register_task("count", [&done] { done.fetch_add(1); });
      scheduler.start();
      // Until the processes together have run every fire (a counter in shared memory).
      while (done.load() < count) {
        std::this_thread::sleep_for(1ms);
      }
      scheduler.shutdown();
    });
    if (done.load() != count) {
      throw std::runtime_error{
          fmt::format("{} processes ran {} of {} jobs", processes, done.load(), count)};
    }
    durable_row(fmt::format("sqlite, BackgroundScheduler + pool, {} process(es)", processes),
                processes, count, seconds);
  }
  table.print();
}

void run_startup(const Settings& settings, Scratch& scratch) {
  const std::size_t stored = settings.quick ? 10'000 : 100'000;
  fmt::print("## Start-up with {} stored jobs until the first due job runs\n\n", stored);
  fmt::print(
      "One job is due; the others are due in an hour. Measured from before the store is opened "
      "until the due job's body starts: open, schema check, register the task, start, find the "
      "due job through the index, record its fire. Three runs each; with 4 processes starting "
      "together, until the one that won the fire runs it.\n\n");
  const std::filesystem::path file = scratch.file("startup.db");
  {
    DurableCallback setup{apsched::SqliteJobStore{file}};
    register_tasks(setup);
    const apsched::TimePoint later = apsched::SystemClock{}.now() + 1h;
    setup.batch(
        [&] { add_jobs(setup, "later", 0, stored - 1, [&](std::size_t) { return later; }); });
  }
  Table table{{"processes", "stored jobs", "run 1 ms", "run 2 ms", "run 3 ms"}};
  const auto add_due = [&] {
    DurableCallback setup{apsched::SqliteJobStore{file}};
    register_tasks(setup);
    setup.add_job(apsched::task("count"), apsched::DateTrigger{apsched::SystemClock{}.now() - 1s},
                  {.id = "due"});
  };
  std::vector<std::string> one{"1", fmt::format("{}", stored)};
  for (int run = 0; run < 3; ++run) {
    add_due();
    std::latch ran{1};
    const SteadyClock::time_point begin = SteadyClock::now();
    DurableBackground scheduler{apsched::SqliteJobStore{file}};
    scheduler.register_task("count", [&] { ran.count_down(); });
    scheduler.start();
    ran.wait();
    one.push_back(fmt::format("{:.1f}", seconds_since(begin) * 1e3));
    scheduler.shutdown();
  }
  table.add(std::move(one));
  std::vector<std::string> four{"4", fmt::format("{}", stored)};
  for (int run = 0; run < 3; ++run) {
    add_due();
    // Each child exits once the due job has left the store (its fire is recorded) and,
    // if it ran the job, once the run is over.
    const double seconds = in_processes(4, [&](std::size_t) {
      DurableBackground scheduler{apsched::SqliteJobStore{file, {.poll_interval = 5ms}}};
      register_tasks(scheduler);
      scheduler.start();
      while (scheduler.get_job("due")) {
        std::this_thread::sleep_for(100us);
      }
      scheduler.shutdown();
    });
    four.push_back(fmt::format("{:.1f}", seconds * 1e3));
  }
  table.add(std::move(four));
  table.print();
}

}  // namespace

int main(int argc, char** argv) {
  Settings settings;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--quick") {
      settings.quick = true;
    } else if (arg.starts_with("--only=")) {
      std::string_view list = arg.substr(7);
      while (!list.empty()) {
        const std::size_t comma = list.find(',');
        settings.only.emplace_back(list.substr(0, comma));
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
      }
    } else {
      fmt::print(stderr,
                 "usage: sqlite_bench [--quick] [--only=SECTION[,SECTION...]]\n"
                 "  --quick   a smoke run with smaller counts\n"
                 "  --only    run only these sections: adds, fires, startup\n");
      return 2;
    }
  }
  fmt::print("# apsched SQLite store benchmark\n\n{} CPUs, SQLite {}\n\n",
             std::thread::hardware_concurrency(), sqlite3_libversion());
  try {
    Scratch scratch;
    if (settings.wants("adds")) {
      run_adds(settings, scratch);
    }
    if (settings.wants("fires")) {
      run_fires(settings, scratch);
    }
    if (settings.wants("startup")) {
      run_startup(settings, scratch);
    }
  } catch (const std::exception& error) {
    fmt::print(stderr, "sqlite_bench: {}\n", error.what());
    return 1;
  }
}
