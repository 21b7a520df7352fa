// SPDX-License-Identifier: MIT
// core_bench: timer lateness, add cost, loop cost and dispatch throughput of apsched, measured in
// one run against a bare condition_variable loop and Asio steady_timer (and apsched's own
// AsioScheduler on an io_context beside them); prints markdown tables.

#include <apsched/apsched.hpp>
#include <apsched/asio/scheduler.hpp>

#include <fmt/format.h>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/version.hpp>

#include <malloc.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <latch>
#include <mutex>
#include <new>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace {

using SysClock = std::chrono::system_clock;
using SteadyClock = std::chrono::steady_clock;
using Nanos = std::chrono::nanoseconds;
using namespace std::chrono_literals;

// Heap accounting. Every allocation carries a 16-byte header (the requested size and the
// measurement window it was made in), so a free can be matched to its allocation without a side
// table; only allocations of the current window are counted, and only while `enabled` is set.
struct Header {
  std::size_t requested;
  std::uint32_t window;  // 0: not counted
  std::uint32_t offset;  // from the start of the malloc'ed block to the user pointer
};
static_assert(sizeof(Header) == 16);

struct HeapCounters {
  std::atomic<bool> enabled{false};
  std::atomic<std::uint32_t> window{0};
  std::atomic<std::int64_t> live_requested{0};
  std::atomic<std::int64_t> live_usable{0};
  std::atomic<std::int64_t> peak_requested{0};
  std::atomic<std::int64_t> allocations{0};
};

constinit HeapCounters heap;

void* allocate(std::size_t size, std::size_t alignment, bool nothrow) {
  const std::size_t offset = std::max<std::size_t>(sizeof(Header), alignment);
  void* raw =
      alignment <= alignof(std::max_align_t)
          ? std::malloc(size + offset)
          : std::aligned_alloc(alignment, (size + offset + alignment - 1) / alignment * alignment);
  if (raw == nullptr) {
    if (nothrow) {
      return nullptr;
    }
    throw std::bad_alloc{};
  }
  std::byte* user = static_cast<std::byte*>(raw) + offset;
  Header* header = reinterpret_cast<Header*>(user - sizeof(Header));
  header->requested = size;
  header->offset = static_cast<std::uint32_t>(offset);
  header->window = 0;
  if (heap.enabled.load(std::memory_order_relaxed)) {
    header->window = heap.window.load(std::memory_order_relaxed);
    const auto requested = static_cast<std::int64_t>(size);
    const std::int64_t live =
        heap.live_requested.fetch_add(requested, std::memory_order_relaxed) + requested;
    heap.live_usable.fetch_add(static_cast<std::int64_t>(malloc_usable_size(raw) - offset),
                               std::memory_order_relaxed);
    heap.allocations.fetch_add(1, std::memory_order_relaxed);
    std::int64_t peak = heap.peak_requested.load(std::memory_order_relaxed);
    while (live > peak &&
           !heap.peak_requested.compare_exchange_weak(peak, live, std::memory_order_relaxed)) {
    }
  }
  return user;
}

void release(void* pointer) noexcept {
  if (pointer == nullptr) {
    return;
  }
  std::byte* user = static_cast<std::byte*>(pointer);
  const Header* header = reinterpret_cast<const Header*>(user - sizeof(Header));
  void* raw = user - header->offset;
  if (header->window != 0 && header->window == heap.window.load(std::memory_order_relaxed)) {
    heap.live_requested.fetch_sub(static_cast<std::int64_t>(header->requested),
                                  std::memory_order_relaxed);
    heap.live_usable.fetch_sub(static_cast<std::int64_t>(malloc_usable_size(raw) - header->offset),
                               std::memory_order_relaxed);
  }
  std::free(raw);
}

// What a counted window saw.
struct HeapUse {
  std::int64_t requested = 0;
  std::int64_t usable = 0;
  std::int64_t peak = 0;
  std::int64_t allocations = 0;
};

void begin_heap_window() {
  heap.window.fetch_add(1, std::memory_order_relaxed);
  heap.live_requested.store(0, std::memory_order_relaxed);
  heap.live_usable.store(0, std::memory_order_relaxed);
  heap.peak_requested.store(0, std::memory_order_relaxed);
  heap.allocations.store(0, std::memory_order_relaxed);
  heap.enabled.store(true, std::memory_order_seq_cst);
}

HeapUse end_heap_window() {
  heap.enabled.store(false, std::memory_order_seq_cst);
  return HeapUse{heap.live_requested.load(), heap.live_usable.load(), heap.peak_requested.load(),
                 heap.allocations.load()};
}

}  // namespace

void* operator new(std::size_t size) { return allocate(size, 0, false); }
void* operator new[](std::size_t size) { return allocate(size, 0, false); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  return allocate(size, 0, true);
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return allocate(size, 0, true);
}
void* operator new(std::size_t size, std::align_val_t alignment) {
  return allocate(size, static_cast<std::size_t>(alignment), false);
}
void* operator new[](std::size_t size, std::align_val_t alignment) {
  return allocate(size, static_cast<std::size_t>(alignment), false);
}
void* operator new(std::size_t size, std::align_val_t alignment, const std::nothrow_t&) noexcept {
  return allocate(size, static_cast<std::size_t>(alignment), true);
}
void* operator new[](std::size_t size, std::align_val_t alignment, const std::nothrow_t&) noexcept {
  return allocate(size, static_cast<std::size_t>(alignment), true);
}
void operator delete(void* pointer) noexcept { release(pointer); }
void operator delete[](void* pointer) noexcept { release(pointer); }
void operator delete(void* pointer, std::size_t) noexcept { release(pointer); }
void operator delete[](void* pointer, std::size_t) noexcept { release(pointer); }
void operator delete(void* pointer, const std::nothrow_t&) noexcept { release(pointer); }
void operator delete[](void* pointer, const std::nothrow_t&) noexcept { release(pointer); }
void operator delete(void* pointer, std::align_val_t) noexcept { release(pointer); }
void operator delete[](void* pointer, std::align_val_t) noexcept { release(pointer); }
void operator delete(void* pointer, std::size_t, std::align_val_t) noexcept { release(pointer); }
void operator delete[](void* pointer, std::size_t, std::align_val_t) noexcept { release(pointer); }
void operator delete(void* pointer, std::align_val_t, const std::nothrow_t&) noexcept {
  release(pointer);
}
void operator delete[](void* pointer, std::align_val_t, const std::nothrow_t&) noexcept {
  release(pointer);
}

namespace {

struct Settings {
  bool quick = false;
  std::size_t rounds = 1;             // one-shot lateness: interleaved rounds per contender
  std::vector<std::string> sections;  // empty: all

  [[nodiscard]] bool wants(std::string_view section) const {
    return sections.empty() ||
           std::find(sections.begin(), sections.end(), section) != sections.end();
  }
};

// Timer slack of the calling thread, in ns (Linux's default is 50'000).
long timer_slack() { return static_cast<long>(prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0)); }

// How the baselines' waiting thread sets its slack: as inherited, or lowered like apsched's loop.
enum class Slack { inherited, lowered };

void apply(Slack slack) {
  if (slack == Slack::lowered) {
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  }
}

std::string slack_label(Slack slack) {
  return slack == Slack::lowered ? "1 ns" : fmt::format("{} ns", timer_slack());
}

std::int64_t resident_bytes() {
  std::ifstream statm{"/proc/self/statm"};
  std::int64_t size = 0;
  std::int64_t resident = 0;
  statm >> size >> resident;
  return resident * static_cast<std::int64_t>(sysconf(_SC_PAGESIZE));
}

// The machine's CPU time counters from /proc/stat, to show how loaded it was during a run.
struct CpuTimes {
  std::uint64_t idle = 0;
  std::uint64_t total = 0;

  static CpuTimes read() {
    std::ifstream stat{"/proc/stat"};
    std::string label;
    stat >> label;
    CpuTimes times;
    for (int field = 0; field < 8; ++field) {
      std::uint64_t value = 0;
      stat >> value;
      times.total += value;
      if (field == 3 || field == 4) {  // idle, iowait
        times.idle += value;
      }
    }
    return times;
  }
  [[nodiscard]] double busy_since(const CpuTimes& before) const {
    const auto total_delta = static_cast<double>(total - before.total);
    return total_delta <= 0 ? 0
                            : 100.0 * (1.0 - static_cast<double>(idle - before.idle) / total_delta);
  }
};

double seconds_between(SteadyClock::time_point from, SteadyClock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

// A markdown table with right-aligned columns (the first left-aligned).
class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_{std::move(headers)} {}

  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }

  void print() const {
    std::vector<std::size_t> widths(headers_.size());
    for (std::size_t c = 0; c < headers_.size(); ++c) {
      widths[c] = std::max<std::size_t>(headers_[c].size(), 3);
      for (const auto& row : rows_) {
        widths[c] = std::max(widths[c], row[c].size());
      }
    }
    const auto line = [&](const std::vector<std::string>& cells) {
      std::string text = "|";
      for (std::size_t c = 0; c < cells.size(); ++c) {
        text += c == 0 ? fmt::format(" {:<{}} |", cells[c], widths[c])
                       : fmt::format(" {:>{}} |", cells[c], widths[c]);
      }
      fmt::print("{}\n", text);
    };
    line(headers_);
    std::string rule = "|";
    for (std::size_t c = 0; c < widths.size(); ++c) {
      rule += c == 0 ? fmt::format(":{}|", std::string(widths[c] + 1, '-'))
                     : fmt::format("{}:|", std::string(widths[c] + 1, '-'));
    }
    fmt::print("{}\n", rule);
    for (const auto& row : rows_) {
      line(row);
    }
    fmt::print("\n");
    std::fflush(stdout);
  }

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

struct Stats {
  std::size_t count = 0;
  double p50 = 0;  // all in microseconds
  double p99 = 0;
  double max = 0;
  double mean = 0;
};

// Nearest-rank percentiles of lateness samples given in nanoseconds.
Stats stats_of(std::vector<std::int64_t> samples) {
  Stats stats;
  stats.count = samples.size();
  if (samples.empty()) {
    return stats;
  }
  std::sort(samples.begin(), samples.end());
  const auto rank = [&](double p) {
    const auto index = static_cast<std::size_t>(p * static_cast<double>(samples.size()) + 0.999999);
    return static_cast<double>(samples[std::clamp<std::size_t>(index, 1, samples.size()) - 1]) /
           1000.0;
  };
  stats.p50 = rank(0.50);
  stats.p99 = rank(0.99);
  stats.max = static_cast<double>(samples.back()) / 1000.0;
  double sum = 0;
  for (const std::int64_t sample : samples) {
    sum += static_cast<double>(sample);
  }
  stats.mean = sum / static_cast<double>(samples.size()) / 1000.0;
  return stats;
}

std::string us(double value) { return fmt::format("{:.1f}", value); }

// One contender's lateness samples (ns) and, for interval runs, per-job drift (ns).
struct LatenessResult {
  std::string contender;
  std::string slack;
  std::vector<std::int64_t> lateness;
  std::vector<std::int64_t> drift;
  double busy = 0;  // percent of all CPUs busy (any process) during the run
};

// Counts finished callbacks and releases waiters at the last one: only that one notifies, so
// no callback pays for a wake-up (a futex call) that the baselines' callbacks do not make.
class Countdown {
 public:
  explicit Countdown(std::size_t target) : target_{target} {}
  void arrive() {
    if (done_.fetch_add(1, std::memory_order_acq_rel) + 1 == target_) {
      latch_.count_down();
    }
  }
  void wait() { latch_.wait(); }

 private:
  std::size_t target_;
  std::atomic<std::size_t> done_{0};
  std::latch latch_{1};
};

// ---------------------------------------------------------------------------------------------
// One-shot lateness: `due` (sorted) instants; each contender runs one callback per instant and
// records, on entry, the time since its instant.

LatenessResult cv_one_shot(const std::vector<SysClock::time_point>& due, Slack slack) {
  std::vector<std::int64_t> lateness(due.size());
  const std::function<void(std::size_t)> callback = [&](std::size_t i) {
    lateness[i] = (SysClock::now() - due[i]).count();
  };
  std::thread waiter{[&] {
    apply(slack);
    std::mutex mutex;
    std::condition_variable cv;
    std::unique_lock lock{mutex};
    for (std::size_t i = 0; i < due.size(); ++i) {
      while (SysClock::now() < due[i]) {
        cv.wait_until(lock, due[i]);
      }
      callback(i);
    }
  }};
  waiter.join();
  return {"cv::wait_until loop", slack_label(slack), std::move(lateness), {}};
}

// The steady_clock instant matching a system_clock one, from one pair of readings taken at start.
struct ClockBridge {
  SysClock::time_point system = SysClock::now();
  SteadyClock::time_point steady = SteadyClock::now();

  [[nodiscard]] SteadyClock::time_point to_steady(SysClock::time_point t) const {
    return steady + std::chrono::duration_cast<SteadyClock::duration>(t - system);
  }
};

LatenessResult asio_one_shot(const std::vector<SysClock::time_point>& due, Slack slack) {
  std::vector<std::int64_t> lateness(due.size());
  asio::io_context io{1};
  const ClockBridge bridge;
  std::vector<SteadyClock::time_point> deadlines(due.size());
  std::vector<asio::steady_timer> timers;
  timers.reserve(due.size());
  for (std::size_t i = 0; i < due.size(); ++i) {
    deadlines[i] = bridge.to_steady(due[i]);
    timers.emplace_back(io, deadlines[i]);
    // Measured on steady_clock, the clock the timer waits on, so no clock conversion error enters.
    timers.back().async_wait([&lateness, &deadlines, i](const asio::error_code& error) {
      if (!error) {
        lateness[i] = (SteadyClock::now() - deadlines[i]).count();
      }
    });
  }
  std::thread runner{[&] {
    apply(slack);
    io.run();
  }};
  runner.join();
  return {"Asio steady_timer", slack_label(slack), std::move(lateness), {}};
}

template <class E>
LatenessResult apsched_one_shot(const std::vector<SysClock::time_point>& due, E executor,
                                std::string name, bool lower_slack = true) {
  std::vector<std::int64_t> lateness(due.size());
  Countdown done{due.size()};
  apsched::BackgroundScheduler<apsched::MemoryJobStore, E> scheduler{
      apsched::MemoryJobStore{}, std::move(executor), apsched::SystemClock{},
      apsched::SchedulerOptions{.lower_timer_slack = lower_slack}};
  for (std::size_t i = 0; i < due.size(); ++i) {
    scheduler.add_job(
        [&lateness, &done, &due, i](const apsched::JobContext&) {
          lateness[i] = (SysClock::now() - due[i]).count();
          done.arrive();
        },
        apsched::DateTrigger{due[i]});
  }
  scheduler.start();
  done.wait();
  scheduler.shutdown();
  return {std::move(name),
          lower_slack ? "1 ns (loop)" : fmt::format("{} ns (loop)", timer_slack()),
          std::move(lateness),
          {}};
}

// AsioScheduler on an io_context run by one thread, jobs on the io_context (its default
// executor): the bare Asio timer's set-up with apsched's loop on top.
LatenessResult asio_scheduler_one_shot(const std::vector<SysClock::time_point>& due, Slack slack) {
  std::vector<std::int64_t> lateness(due.size());
  asio::io_context io{1};
  apsched::AsioScheduler<> scheduler{io};
  std::size_t remaining = due.size();
  for (std::size_t i = 0; i < due.size(); ++i) {
    scheduler.add_job(
        [&, i] {
          lateness[i] = (SysClock::now() - due[i]).count();
          if (--remaining == 0) {
            scheduler.shutdown();
          }
        },
        apsched::DateTrigger{due[i]});
  }
  scheduler.start();
  std::thread runner{[&] {
    apply(slack);
    io.run();
  }};
  runner.join();
  return {"apsched, AsioScheduler", slack_label(slack), std::move(lateness), {}};
}

// ---------------------------------------------------------------------------------------------
// Interval lateness: job j fires at start[j] + k * period for k < fires; lateness is measured
// against that grid, so a contender that re-arms from "now" shows its drift.

struct IntervalPlan {
  std::vector<SysClock::time_point> start;
  Nanos period;
  std::size_t fires;

  [[nodiscard]] std::size_t jobs() const { return start.size(); }
};

std::vector<std::int64_t> drift_of(const IntervalPlan& plan,
                                   const std::vector<std::int64_t>& lateness) {
  std::vector<std::int64_t> drift(plan.jobs());
  for (std::size_t j = 0; j < plan.jobs(); ++j) {
    drift[j] = lateness[j * plan.fires + plan.fires - 1] - lateness[j * plan.fires];
  }
  return drift;
}

LatenessResult cv_interval(const IntervalPlan& plan, Slack slack) {
  std::vector<std::int64_t> lateness(plan.jobs() * plan.fires);
  struct Entry {
    SysClock::time_point due;
    std::size_t job;
    std::size_t fire;
    bool operator>(const Entry& other) const { return due > other.due; }
  };
  const std::function<void(const Entry&)> callback = [&](const Entry& entry) {
    lateness[entry.job * plan.fires + entry.fire] = (SysClock::now() - entry.due).count();
  };
  std::thread waiter{[&] {
    apply(slack);
    std::priority_queue<Entry, std::vector<Entry>, std::greater<>> queue;
    for (std::size_t j = 0; j < plan.jobs(); ++j) {
      queue.push({plan.start[j], j, 0});
    }
    std::mutex mutex;
    std::condition_variable cv;
    std::unique_lock lock{mutex};
    while (!queue.empty()) {
      const Entry entry = queue.top();
      while (SysClock::now() < entry.due) {
        cv.wait_until(lock, entry.due);
      }
      queue.pop();
      callback(entry);
      if (entry.fire + 1 < plan.fires) {
        queue.push({entry.due + plan.period, entry.job, entry.fire + 1});  // from the previous due
      }
    }
  }};
  waiter.join();
  return {"cv::wait_until loop", slack_label(slack), lateness, drift_of(plan, lateness)};
}

LatenessResult asio_interval(const IntervalPlan& plan, Slack slack, bool rearm_from_now) {
  std::vector<std::int64_t> lateness(plan.jobs() * plan.fires);
  asio::io_context io{1};
  const ClockBridge bridge;
  struct Periodic {
    asio::steady_timer timer;
    SteadyClock::time_point start;
    std::size_t fire = 0;
  };
  std::vector<Periodic> timers;
  timers.reserve(plan.jobs());
  std::function<void(std::size_t)> arm;
  arm = [&](std::size_t j) {
    timers[j].timer.async_wait([&, j](const asio::error_code& error) {
      if (error) {
        return;
      }
      Periodic& p = timers[j];
      const SteadyClock::time_point nominal =
          p.start + static_cast<Nanos::rep>(p.fire) * plan.period;
      lateness[j * plan.fires + p.fire] = (SteadyClock::now() - nominal).count();
      if (++p.fire < plan.fires) {
        if (rearm_from_now) {
          p.timer.expires_after(plan.period);
        } else {
          p.timer.expires_at(p.timer.expiry() + plan.period);
        }
        arm(j);
      }
    });
  };
  for (std::size_t j = 0; j < plan.jobs(); ++j) {
    const SteadyClock::time_point start = bridge.to_steady(plan.start[j]);
    timers.push_back(Periodic{asio::steady_timer{io, start}, start});
    arm(j);
  }
  std::thread runner{[&] {
    apply(slack);
    io.run();
  }};
  runner.join();
  return {rearm_from_now ? "Asio steady_timer, re-armed from now" : "Asio steady_timer",
          slack_label(slack), lateness, drift_of(plan, lateness)};
}

// Records, on entry to job j's run scheduled at `scheduled`, its lateness against its grid.
void record_fire(const IntervalPlan& plan, std::vector<std::int64_t>& lateness, std::size_t j,
                 SysClock::time_point scheduled) {
  const SysClock::time_point now = SysClock::now();
  const auto fire = static_cast<std::size_t>((scheduled - plan.start[j]) / plan.period);
  const SysClock::time_point nominal = plan.start[j] + static_cast<Nanos::rep>(fire) * plan.period;
  lateness[j * plan.fires + fire] = (now - nominal).count();
}

// Job j's trigger: `fires` fires from its start, one period apart.
apsched::IntervalTrigger trigger_of(const IntervalPlan& plan, std::size_t j) {
  const auto last = static_cast<Nanos::rep>(plan.fires - 1);
  return apsched::IntervalTrigger{
      plan.period, {.start_date = plan.start[j], .end_date = plan.start[j] + last * plan.period}};
}

template <class E>
LatenessResult apsched_interval(const IntervalPlan& plan, E executor, std::string name) {
  std::vector<std::int64_t> lateness(plan.jobs() * plan.fires);
  Countdown done{plan.jobs() * plan.fires};
  apsched::BackgroundScheduler<apsched::MemoryJobStore, E> scheduler{apsched::MemoryJobStore{},
                                                                     std::move(executor)};
  for (std::size_t j = 0; j < plan.jobs(); ++j) {
    scheduler.add_job(
        [&lateness, &done, &plan, j](const apsched::JobContext& context) {
          record_fire(plan, lateness, j, context.scheduled_run_time);
          done.arrive();
        },
        trigger_of(plan, j));
  }
  scheduler.start();
  done.wait();
  scheduler.shutdown();
  return {std::move(name), "1 ns (loop)", lateness, drift_of(plan, lateness)};
}

LatenessResult asio_scheduler_interval(const IntervalPlan& plan, Slack slack) {
  std::vector<std::int64_t> lateness(plan.jobs() * plan.fires);
  std::size_t remaining = plan.jobs() * plan.fires;
  asio::io_context io{1};
  apsched::AsioScheduler<> scheduler{io};
  for (std::size_t j = 0; j < plan.jobs(); ++j) {
    scheduler.add_job(
        [&, j](const apsched::JobContext& context) {
          record_fire(plan, lateness, j, context.scheduled_run_time);
          if (--remaining == 0) {
            scheduler.shutdown();
          }
        },
        trigger_of(plan, j));
  }
  scheduler.start();
  std::thread runner{[&] {
    apply(slack);
    io.run();
  }};
  runner.join();
  return {"apsched, AsioScheduler", slack_label(slack), lateness, drift_of(plan, lateness)};
}

void print_lateness(const std::vector<LatenessResult>& results, bool with_drift) {
  std::vector<std::string> headers{"contender", "timer slack", "n",       "p50 µs",
                                   "p99 µs",    "max µs",      "mean µs", "p50 ×Asio",
                                   "p99 ×Asio", "CPUs busy"};
  if (with_drift) {
    headers.insert(headers.end(), {"drift p50 µs", "drift max µs"});
  }
  Table table{headers};
  // The reference for the ratio columns: the first Asio row, re-armed from its previous due time,
  // at the slack the process inherited.
  std::optional<Stats> asio;
  for (const LatenessResult& result : results) {
    if (result.contender == "Asio steady_timer") {
      asio = stats_of(result.lateness);
      break;
    }
  }
  for (const LatenessResult& result : results) {
    const Stats s = stats_of(result.lateness);
    std::vector<std::string> row{result.contender,
                                 result.slack,
                                 fmt::format("{}", s.count),
                                 us(s.p50),
                                 us(s.p99),
                                 us(s.max),
                                 us(s.mean),
                                 asio ? fmt::format("{:.2f}", s.p50 / asio->p50) : "-",
                                 asio ? fmt::format("{:.2f}", s.p99 / asio->p99) : "-",
                                 fmt::format("{:.0f}%", result.busy)};
    if (with_drift) {
      std::vector<std::int64_t> drift = result.drift;
      std::sort(drift.begin(), drift.end());
      row.push_back(drift.empty() ? "-" : us(static_cast<double>(drift[drift.size() / 2]) / 1e3));
      row.push_back(drift.empty() ? "-" : us(static_cast<double>(drift.back()) / 1e3));
    }
    table.add(std::move(row));
  }
  table.print();
}

// Runs `run` and records in its result how busy the machine's CPUs were meanwhile.
template <class F>
LatenessResult with_busy(F&& run) {
  const CpuTimes before = CpuTimes::read();
  LatenessResult result = run();
  result.busy = CpuTimes::read().busy_since(before);
  return result;
}

void run_one_shot(const Settings& settings) {
  const std::size_t count = settings.quick ? 200 : 1000;
  const Nanos span = settings.quick ? Nanos{1s} : Nanos{5s};
  const std::size_t rounds = std::clamp<std::size_t>(settings.rounds, 1, count);
  const Nanos gap = span / static_cast<Nanos::rep>(count);
  fmt::print("## One-shot lateness: {} date jobs due over {} s, {} µs apart\n\n", count,
             std::chrono::duration<double>(span).count(),
             std::chrono::duration<double, std::micro>(gap).count());
  if (rounds > 1) {
    fmt::print(
        "Interleaved: each contender runs {} rounds of {} jobs, the contenders taking "
        "turns in rotating order, so changes in machine load hit all of them alike.\n\n",
        rounds, count / rounds);
  }
  const auto plan = [&] {
    // Lead time so each contender's thread has started and settled before the first instant.
    const SysClock::time_point first = SysClock::now() + 300ms;
    std::vector<SysClock::time_point> due(count / rounds);
    for (std::size_t i = 0; i < due.size(); ++i) {
      due[i] = first + static_cast<Nanos::rep>(i) * gap;
    }
    return due;
  };
  const std::vector<std::function<LatenessResult()>> contenders{
      [&] { return asio_one_shot(plan(), Slack::inherited); },
      [&] { return asio_one_shot(plan(), Slack::lowered); },
      [&] { return cv_one_shot(plan(), Slack::inherited); },
      [&] { return cv_one_shot(plan(), Slack::lowered); },
      [&] {
        return apsched_one_shot(plan(), apsched::InlineExecutor{}, "apsched, InlineExecutor");
      },
      [&] {
        return apsched_one_shot(plan(), apsched::InlineExecutor{},
                                "apsched, InlineExecutor, lower_timer_slack=false", false);
      },
      [&] {
        return apsched_one_shot(plan(), apsched::ThreadPoolExecutor{},
                                "apsched, ThreadPoolExecutor (10 workers)");
      },
      [&] { return asio_scheduler_one_shot(plan(), Slack::inherited); },
      [&] { return asio_scheduler_one_shot(plan(), Slack::lowered); },
  };
  std::vector<LatenessResult> results(contenders.size());
  std::vector<double> busy(contenders.size());
  for (std::size_t round = 0; round < rounds; ++round) {
    for (std::size_t turn = 0; turn < contenders.size(); ++turn) {
      const std::size_t c = (turn + round) % contenders.size();
      LatenessResult part = with_busy(contenders[c]);
      busy[c] += part.busy / static_cast<double>(rounds);
      if (results[c].contender.empty()) {
        results[c] = std::move(part);
      } else {
        results[c].lateness.insert(results[c].lateness.end(), part.lateness.begin(),
                                   part.lateness.end());
      }
    }
  }
  for (std::size_t c = 0; c < contenders.size(); ++c) {
    results[c].busy = busy[c];
  }
  print_lateness(results, false);
}

void run_interval(const Settings& settings) {
  const std::size_t jobs = settings.quick ? 20 : 100;
  const std::size_t fires = settings.quick ? 10 : 49;
  const Nanos period = 100ms;
  for (const bool staggered : {true, false}) {
    fmt::print("## Interval lateness: {} jobs every {} ms, {} fires each, {}\n\n", jobs,
               period.count() / 1'000'000, fires,
               staggered ? fmt::format("start times staggered {} µs apart",
                                       (period / static_cast<Nanos::rep>(jobs)).count() / 1000)
                         : std::string{"all on one grid (every job due at the same instants)"});
    const auto plan = [&] {
      IntervalPlan p{{}, period, fires};
      const SysClock::time_point t0 = SysClock::now() + 300ms;
      for (std::size_t j = 0; j < jobs; ++j) {
        const Nanos step = period / static_cast<Nanos::rep>(jobs);
        p.start.push_back(staggered ? t0 + static_cast<Nanos::rep>(j) * step : t0);
      }
      return p;
    };
    std::vector<LatenessResult> results;
    results.push_back(with_busy([&] { return asio_interval(plan(), Slack::inherited, false); }));
    results.push_back(with_busy([&] { return asio_interval(plan(), Slack::lowered, false); }));
    if (staggered) {
      results.push_back(with_busy([&] { return asio_interval(plan(), Slack::inherited, true); }));
    }
    results.push_back(with_busy([&] { return cv_interval(plan(), Slack::inherited); }));
    results.push_back(with_busy([&] { return cv_interval(plan(), Slack::lowered); }));
    results.push_back(with_busy([&] {
      return apsched_interval(plan(), apsched::InlineExecutor{}, "apsched, InlineExecutor");
    }));
    results.push_back(with_busy([&] {
      return apsched_interval(plan(), apsched::ThreadPoolExecutor{},
                              "apsched, ThreadPoolExecutor (10 workers)");
    }));
    results.push_back(with_busy([&] { return asio_scheduler_interval(plan(), Slack::inherited); }));
    results.push_back(with_busy([&] { return asio_scheduler_interval(plan(), Slack::lowered); }));
    print_lateness(results, true);
  }
}

// ---------------------------------------------------------------------------------------------
// Add cost and heap bytes per job.

using InlineCallback = apsched::CallbackScheduler<apsched::MemoryJobStore, apsched::InlineExecutor>;
using InlineBackground =
    apsched::BackgroundScheduler<apsched::MemoryJobStore, apsched::InlineExecutor>;

struct Cost {
  double wall_ns = 0;  // per add
  double cpu_ns = 0;   // per add: this thread's user + system time, page faults included
  double faults_per_1k = 0;
  HeapUse heap;
  std::int64_t rss = 0;
};

// A start point for a measurement on the calling thread.
struct Probe {
  SteadyClock::time_point wall = SteadyClock::now();
  Nanos cpu = thread_cpu();
  long faults = thread_faults();

  static Nanos thread_cpu() {
    timespec now{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return std::chrono::seconds{now.tv_sec} + Nanos{now.tv_nsec};
  }
  static long thread_faults() {
    rusage usage{};
    getrusage(RUSAGE_THREAD, &usage);
    return usage.ru_minflt + usage.ru_majflt;
  }
  // Fills the per-operation times and faults of `count` operations since this probe.
  void finish(std::size_t count, Cost& result) const {
    const auto n = static_cast<double>(count);
    result.wall_ns = static_cast<double>((SteadyClock::now() - wall).count()) / n;
    result.cpu_ns = static_cast<double>((thread_cpu() - cpu).count()) / n;
    result.faults_per_1k = static_cast<double>(thread_faults() - faults) * 1000.0 / n;
  }
};

// Adds `count` interval jobs (a captureless lambda, every hour) and measures time and memory.
// `reserve`: the store is reserved before the scheduler takes it; `started`: a
// BackgroundScheduler whose loop is running (asleep until the first job is due); `cold`: freed
// heap memory is returned to the kernel first, so the adds touch fresh pages.
Cost measure_adds(std::size_t count, bool reserve, bool started, bool cold) {
  if (cold) {
    malloc_trim(0);
  }
  const std::int64_t rss_before = resident_bytes();
  begin_heap_window();
  apsched::MemoryJobStore store;
  if (reserve) {
    store.reserve(count);
  }
  std::optional<InlineCallback> stopped_scheduler;
  std::optional<InlineBackground> running_scheduler;
  Cost result;
  const auto add_all = [&](auto& scheduler) {
    const Probe probe;
    for (std::size_t i = 0; i < count; ++i) {
      scheduler.add_job([] {}, apsched::IntervalTrigger{1h});
    }
    probe.finish(count, result);
  };
  if (started) {
    running_scheduler.emplace(std::move(store), apsched::InlineExecutor{});
    running_scheduler->start();
    add_all(*running_scheduler);
  } else {
    stopped_scheduler.emplace(std::move(store), apsched::InlineExecutor{});
    add_all(*stopped_scheduler);
  }
  result.heap = end_heap_window();
  result.rss = resident_bytes() - rss_before;
  if (running_scheduler) {
    running_scheduler->shutdown();
  }
  return result;
}

// For reference: an Asio steady_timer per entry, each with a pending async_wait (no id, no
// trigger, no index by id: less than a job, but the usual "one timer per task" design).
Cost measure_asio_timers(std::size_t count, bool cold) {
  if (cold) {
    malloc_trim(0);
  }
  const std::int64_t rss_before = resident_bytes();
  begin_heap_window();
  Cost result;
  {
    asio::io_context io{1};
    std::vector<asio::steady_timer> timers;
    timers.reserve(count);
    const Probe probe;
    for (std::size_t i = 0; i < count; ++i) {
      timers.emplace_back(io, std::chrono::hours{1});
      timers.back().async_wait([](const asio::error_code&) {});
    }
    probe.finish(count, result);
    result.heap = end_heap_window();
    result.rss = resident_bytes() - rss_before;
  }
  return result;
}

void run_add(const Settings& settings) {
  const std::vector<std::size_t> counts = settings.quick
                                              ? std::vector<std::size_t>{10'000, 100'000}
                                              : std::vector<std::size_t>{100'000, 1'000'000};
  fmt::print("## Add cost: interval jobs (captureless lambda, IntervalTrigger{{1h}})\n\n");
  fmt::print(
      "sizeof(JobRecord) = {} B. Memory \"cold\": freed heap returned to the kernel "
      "first (malloc_trim), so the adds fault in fresh pages; \"warm\": the same run "
      "repeated at once, reusing the heap the cold run freed. Bytes are heap bytes still "
      "live after the adds, per job.\n\n",
      sizeof(apsched::JobRecord));
  Table table{{"contender", "jobs", "memory", "wall ns/add", "CPU ns/add", "faults/1k jobs",
               "B/job requested", "B/job usable", "B/job RSS delta", "peak B/job", "allocs/job"}};
  const auto add_row = [&](const std::string& name, std::size_t count, bool cold, const Cost& r) {
    const auto per_job = [count](std::int64_t bytes) {
      return fmt::format("{:.1f}", static_cast<double>(bytes) / static_cast<double>(count));
    };
    table.add({name, fmt::format("{}", count), cold ? "cold" : "warm",
               fmt::format("{:.0f}", r.wall_ns), fmt::format("{:.0f}", r.cpu_ns),
               fmt::format("{:.1f}", r.faults_per_1k), per_job(r.heap.requested),
               per_job(r.heap.usable), per_job(r.rss), per_job(r.heap.peak),
               fmt::format("{:.4f}",
                           static_cast<double>(r.heap.allocations) / static_cast<double>(count))});
  };
  for (const std::size_t count : counts) {
    for (const bool cold : {true, false}) {
      add_row("apsched, stopped scheduler, default store", count, cold,
              measure_adds(count, false, false, cold));
    }
    for (const bool cold : {true, false}) {
      add_row("apsched, stopped scheduler, reserved store", count, cold,
              measure_adds(count, true, false, cold));
    }
    for (const bool cold : {true, false}) {
      add_row("apsched, started BackgroundScheduler, default store", count, cold,
              measure_adds(count, false, true, cold));
    }
    for (const bool cold : {true, false}) {
      add_row("reference: Asio steady_timer + async_wait", count, cold,
              measure_asio_timers(count, cold));
    }
  }
  table.print();
}

// ---------------------------------------------------------------------------------------------
// Loop cost against the number of idle jobs.

// Calls `call(k)` `calls` times; the result holds wall and CPU ns per call.
template <class F>
Cost per_call(std::size_t calls, F&& call) {
  Cost result;
  const Probe probe;
  for (std::size_t k = 0; k < calls; ++k) {
    call(k);
  }
  probe.finish(calls, result);
  return result;
}

std::string wall_cpu(const Cost& r) { return fmt::format("{:.0f} / {:.0f}", r.wall_ns, r.cpu_ns); }

void run_loop_cost(const Settings& settings) {
  const std::vector<std::size_t> counts =
      settings.quick ? std::vector<std::size_t>{1, 1'000, 100'000}
                     : std::vector<std::size_t>{1, 1'000, 100'000, 1'000'000};
  const std::size_t calls = settings.quick ? 50'000 : 200'000;
  fmt::print(
      "## Loop cost: CallbackScheduler<MemoryJobStore, InlineExecutor>::process_due_jobs "
      "with N idle jobs\n\n");
  fmt::print(
      "Each cell: wall ns / CPU ns per call. \"1 due, stays first\": one extra job due "
      "every µs, still the earliest after its run; \"1 due of N rotating\": the N jobs "
      "fall due one per µs in turn and each sinks to the bottom of the heap after its "
      "run.\n\n");
  Table table{{"jobs N", "nothing due", "1 due, stays first", "1 due of N rotating"}};
  for (const std::size_t count : counts) {
    Cost idle;
    Cost one_due;
    {
      InlineCallback scheduler;
      for (std::size_t i = 0; i < count; ++i) {
        scheduler.add_job([] {}, apsched::IntervalTrigger{1h});
      }
      scheduler.start();
      idle = per_call(calls, [&](std::size_t) { (void)scheduler.process_due_jobs(); });
      // One more job, due every microsecond: each call at the next microsecond runs it once;
      // after its run it is still the earliest job, so the heap barely moves.
      const SysClock::time_point t0 = SysClock::now() + 1s;
      scheduler.add_job([] {}, apsched::IntervalTrigger{1us, {.start_date = t0}});
      one_due = per_call(calls, [&](std::size_t k) {
        (void)scheduler.process_due_jobs(t0 + std::chrono::microseconds{k});
      });
    }
    Cost rotating;
    {
      // N jobs due one per microsecond in turn, each every N µs: every call runs one job, which
      // then becomes the latest and sinks to the bottom of the heap (a full O(log N) sift).
      InlineCallback scheduler;
      const SysClock::time_point t0 = SysClock::now() + 1s;
      const Nanos period = std::chrono::microseconds{count};
      for (std::size_t i = 0; i < count; ++i) {
        scheduler.add_job([] {}, apsched::IntervalTrigger{
                                     period, {.start_date = t0 + std::chrono::microseconds{i}}});
      }
      scheduler.start();
      rotating = per_call(calls, [&](std::size_t k) {
        (void)scheduler.process_due_jobs(t0 + std::chrono::microseconds{k});
      });
    }
    table.add({fmt::format("{}", count), wall_cpu(idle), wall_cpu(one_due), wall_cpu(rotating)});
  }
  table.print();
}

// ---------------------------------------------------------------------------------------------
// Dispatch: every job due at one instant.

std::atomic<std::size_t> dispatched{0};
std::size_t dispatch_target = 0;
std::latch* dispatch_done = nullptr;

void count_run() {
  if (dispatched.fetch_add(1, std::memory_order_relaxed) + 1 == dispatch_target) {
    dispatch_done->count_down();
  }
}

template <class Scheduler>
void add_due_jobs(Scheduler& scheduler, std::size_t count) {
  const SysClock::time_point past = SysClock::now() - 1s;
  for (std::size_t i = 0; i < count; ++i) {
    scheduler.add_job([] { count_run(); }, apsched::DateTrigger{past});
  }
}

struct DispatchResult {
  double seconds = 0;      // from the start of processing to the last job's end
  double submitted = 0;    // from the start of processing until every run was handed over
  double cpu_seconds = 0;  // user + system time of the whole process meanwhile
};

double process_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// `drive(scheduler)` starts the processing and returns once every run has been handed over.
template <class Scheduler, class Drive>
DispatchResult measure_dispatch(Scheduler& scheduler, std::size_t count, Drive&& drive) {
  add_due_jobs(scheduler, count);
  dispatched = 0;
  dispatch_target = count;
  std::latch done{1};
  dispatch_done = &done;
  const double cpu_before = process_cpu_seconds();
  const SteadyClock::time_point begin = SteadyClock::now();
  drive(scheduler);
  const SteadyClock::time_point handed_over = SteadyClock::now();
  done.wait();
  const SteadyClock::time_point end = SteadyClock::now();
  dispatch_done = nullptr;
  return {seconds_between(begin, end), seconds_between(begin, handed_over),
          process_cpu_seconds() - cpu_before};
}

void run_dispatch(const Settings& settings) {
  const std::size_t count = settings.quick ? 100'000 : 1'000'000;
  fmt::print("## Dispatch: {} date jobs due at one instant (in the past)\n\n", count);
  fmt::print(
      "\"all run after\": from the start of processing until the last job has run; "
      "\"handed over after\": until the loop had submitted every run; \"CPU s\": user + "
      "system time of the process meanwhile (all threads).\n\n");
  Table table{{"contender", "jobs", "all run after s", "jobs/s", "handed over after s", "CPU s",
               "jobs per CPU s"}};
  const auto add_row = [&](std::string name, const DispatchResult& r) {
    table.add({std::move(name), fmt::format("{}", count), fmt::format("{:.3f}", r.seconds),
               fmt::format("{:.0f}", static_cast<double>(count) / r.seconds),
               fmt::format("{:.3f}", r.submitted), fmt::format("{:.3f}", r.cpu_seconds),
               fmt::format("{:.0f}", static_cast<double>(count) / r.cpu_seconds)});
  };
  {
    InlineCallback scheduler;
    scheduler.start();
    add_row("apsched, CallbackScheduler + InlineExecutor",
            measure_dispatch(scheduler, count, [](auto& s) { (void)s.process_due_jobs(); }));
  }
  {
    InlineBackground scheduler;
    add_row("apsched, BackgroundScheduler + InlineExecutor",
            measure_dispatch(scheduler, count, [](auto& s) { s.start(); }));
    scheduler.shutdown();
  }
  for (const std::size_t workers : {std::size_t{2}, apsched::ThreadPoolExecutor::default_workers}) {
    apsched::CallbackScheduler<apsched::MemoryJobStore, apsched::ThreadPoolExecutor> scheduler{
        apsched::MemoryJobStore{}, apsched::ThreadPoolExecutor{workers}};
    scheduler.start();
    add_row(fmt::format("apsched, CallbackScheduler + ThreadPoolExecutor ({} workers)", workers),
            measure_dispatch(scheduler, count, [](auto& s) { (void)s.process_due_jobs(); }));
    scheduler.shutdown();
  }
  {
    asio::io_context io{1};
    std::vector<asio::steady_timer> timers;
    timers.reserve(count);
    dispatched = 0;
    dispatch_target = count;
    std::latch done{1};
    dispatch_done = &done;
    const SteadyClock::time_point past = SteadyClock::now() - 1s;
    for (std::size_t i = 0; i < count; ++i) {
      timers.emplace_back(io, past);
      timers.back().async_wait([](const asio::error_code&) { count_run(); });
    }
    const double cpu_before = process_cpu_seconds();
    const SteadyClock::time_point begin = SteadyClock::now();
    io.run();
    const SteadyClock::time_point end = SteadyClock::now();
    done.wait();
    dispatch_done = nullptr;
    add_row("reference: Asio steady_timer, io_context::run on one thread",
            {seconds_between(begin, end), seconds_between(begin, end),
             process_cpu_seconds() - cpu_before});
  }
  table.print();

  // Heap traffic per run, counted on a smaller separate pass (counting perturbs timing).
  const std::size_t sample = std::min<std::size_t>(count, 100'000);
  InlineCallback scheduler;
  scheduler.start();
  add_due_jobs(scheduler, sample);
  dispatched = 0;
  dispatch_target = sample;
  std::latch done{1};
  dispatch_done = &done;
  begin_heap_window();
  (void)scheduler.process_due_jobs();
  const HeapUse use = end_heap_window();
  dispatch_done = nullptr;
  fmt::print(
      "Heap allocations per dispatched run (CallbackScheduler + InlineExecutor, {} runs): "
      "{:.2f}\n\n",
      sample, static_cast<double>(use.allocations) / static_cast<double>(sample));
}

void print_usage() {
  fmt::print(
      "usage: core_bench [--quick] [--rounds=R] [--only=SECTION[,SECTION...]]\n"
      "  --quick   a smoke run of a few seconds with smaller counts\n"
      "  --rounds  split the one-shot lateness run into R interleaved rounds per contender\n"
      "  --only    run only these sections: oneshot, interval, add, loop, dispatch\n");
}

}  // namespace

int main(int argc, char** argv) {
  Settings settings;
  for (int i = 1; i < argc; ++i) {
    const std::string_view argument{argv[i]};
    if (argument == "--quick") {
      settings.quick = true;
    } else if (argument.starts_with("--rounds=")) {
      settings.rounds = static_cast<std::size_t>(std::strtoul(argv[i] + 9, nullptr, 10));
    } else if (argument.starts_with("--only=")) {
      std::string_view list = argument.substr(7);
      while (!list.empty()) {
        const std::size_t comma = list.find(',');
        settings.sections.emplace_back(list.substr(0, comma));
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
      }
    } else {
      print_usage();
      return argument == "--help" || argument == "-h" ? 0 : 2;
    }
  }
  // Keep freed memory in the heap (no automatic trimming, no mmap for blocks up to 32 MiB), so
  // "warm" add runs reuse it; "cold" runs return it explicitly with malloc_trim.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  fmt::print("# apsched core benchmark{}\n\n", settings.quick ? " (--quick)" : "");
  std::string load;
  std::getline(std::ifstream{"/proc/loadavg"}, load);
  fmt::print("{} CPUs, {}, Asio {}.{}.{}, default timer slack {} ns, load average at start: {}\n\n",
             std::thread::hardware_concurrency(), "g++ " __VERSION__, ASIO_VERSION / 100'000,
             ASIO_VERSION / 100 % 1000, ASIO_VERSION % 100, timer_slack(), load);
  const SteadyClock::time_point begin = SteadyClock::now();
  if (settings.wants("oneshot")) {
    run_one_shot(settings);
  }
  if (settings.wants("interval")) {
    run_interval(settings);
  }
  if (settings.wants("add")) {
    run_add(settings);
  }
  if (settings.wants("loop")) {
    run_loop_cost(settings);
  }
  if (settings.wants("dispatch")) {
    run_dispatch(settings);
  }
  fmt::print("Total run time: {:.1f} s\n", seconds_between(begin, SteadyClock::now()));
  return 0;
}
