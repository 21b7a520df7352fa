// SPDX-License-Identifier: MIT
// JournalStore: a memory store with the DurableJobStore hooks, keeping a journal of what they
// were told and answering commits as a test asks (refuse, throw).
#pragma once

#include <apsched/json/task_registry.hpp>
#include <apsched/stores/memory.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace apsched::test {

// What the durable hooks were told, and how the next commits answer.
struct Journal {
  struct Commit {
    std::string job_id;
    std::vector<FireDecision> fires;
    bool remove = false;
  };
  struct Outcome {
    std::string job_id;
    bool with_record = false;
    TimePoint scheduled;
    FireState state{};
    std::string error;
  };
  enum class Refusal { none, unchanged, advanced_elsewhere, throws };
  struct Start {
    std::string job_id;
    TimePoint scheduled;
    std::uint16_t max_instances = 1;
  };

  std::vector<Commit> commits;
  std::vector<Outcome> outcomes;
  std::vector<std::string> registered;
  std::vector<StoreReport> pending_reports;
  std::vector<AbandonedFire> pending_abandoned;
  // The claims start_claimed was asked, and the verdicts it gives the next ones, in order
  // (started once these run out).
  std::vector<Start> starts;
  std::vector<ClaimVerdict> next_verdicts;
  // The runs other schedulers have of each job, as first_due hands it out.
  std::unordered_map<std::string, std::uint16_t> running_elsewhere;
  std::vector<std::string> batch;
  Refusal next_refusal = Refusal::none;
  // How many of the next finds throw StoreError, as a database that is unreachable.
  int failing_finds = 0;
  std::shared_ptr<const TaskRegistry> tasks;
  std::uint8_t index = 0;
};

// A memory store with the DurableJobStore hooks. A refused commit puts the job back as it was
// handed out (as a database store reloads its row), or moves it on by an hour as another
// scheduler that ran it would have.
class JournalStore : public MemoryJobStore {
 public:
  static constexpr bool durable = true;
  using Tasks = TaskRegistry;

  explicit JournalStore(std::shared_ptr<Journal> journal) : journal_{std::move(journal)} {}

  JobRecord* find(std::string_view id) {
    if (journal_->failing_finds > 0) {
      --journal_->failing_finds;
      throw StoreError{"find: the server is unreachable"};
    }
    return MemoryJobStore::find(id);
  }

  JobRecord* first_due(TimePoint now) {
    JobRecord* job = MemoryJobStore::first_due(now);
    if (job != nullptr) {
      handed_out_[job->id] = {job->next_fire, job->next_run};
      const auto elsewhere = journal_->running_elsewhere.find(job->id);
      job->running_elsewhere =
          elsewhere != journal_->running_elsewhere.end() ? elsewhere->second : 0;
    }
    return job;
  }

  bool commit_due(JobRecord& job, std::span<const FireDecision> fires, bool remove) {
    const Journal::Refusal refusal = std::exchange(journal_->next_refusal, Journal::Refusal::none);
    if (refusal != Journal::Refusal::none) {
      const auto [fire, run] = handed_out_.at(job.id);
      const Duration shift = refusal == Journal::Refusal::advanced_elsewhere
                                 ? Duration{std::chrono::hours{1}}
                                 : Duration::zero();
      job.next_fire = fire + shift;
      job.next_run = run + shift;
      update(job);
      if (refusal == Journal::Refusal::throws) {
        throw StoreError{"commit_due: the database is locked"};
      }
      return false;
    }
    journal_->commits.push_back({job.id, {fires.begin(), fires.end()}, remove});
    if (remove) {
      erase(std::string{job.id});
    } else {
      update(job);
    }
    return true;
  }

  // Keeps what the stored job did (counters, runs in flight) and takes the rest from `record`.
  JobRecord* replace(JobRecord&& record, bool /*keep_schedule*/) {
    if (const JobRecord* held = MemoryJobStore::find(record.id)) {
      record.run_count = held->run_count;
      record.failure_count = held->failure_count;
      record.last_run = held->last_run;
      record.last_outcome = held->last_outcome;
      record.running = held->running;
      record.generation = held->generation;
      erase(std::string{record.id});
    }
    return insert(std::move(record));
  }

  void record_outcome(std::string_view id, const JobRecord* record, TimePoint scheduled,
                      FireState state, std::string_view error) {
    journal_->outcomes.push_back(
        {std::string{id}, record != nullptr, scheduled, state, std::string{error}});
  }

  std::vector<ClaimVerdict> start_claimed(std::span<const ClaimedFire> claims) {
    std::vector<ClaimVerdict> verdicts;
    for (const ClaimedFire& claim : claims) {
      journal_->starts.push_back({std::string{claim.job_id}, claim.scheduled, claim.max_instances});
      if (journal_->next_verdicts.empty()) {
        verdicts.push_back(ClaimVerdict::started);
      } else {
        verdicts.push_back(journal_->next_verdicts.front());
        journal_->next_verdicts.erase(journal_->next_verdicts.begin());
      }
    }
    return verdicts;
  }

  std::vector<StoreReport> take_reports() { return std::exchange(journal_->pending_reports, {}); }

  std::vector<AbandonedFire> take_abandoned() {
    return std::exchange(journal_->pending_abandoned, {});
  }

  void task_registered(std::string_view task) { journal_->registered.emplace_back(task); }

  [[nodiscard]] Duration poll_interval() const { return std::chrono::seconds{2}; }

  void begin_batch() { journal_->batch.emplace_back("begin"); }
  void commit_batch() { journal_->batch.emplace_back("commit"); }
  void rollback_batch() noexcept { journal_->batch.emplace_back("rollback"); }

  void attach(std::shared_ptr<const Tasks> tasks, std::uint8_t index) {
    journal_->tasks = std::move(tasks);
    journal_->index = index;
  }

 private:
  std::shared_ptr<Journal> journal_;
  std::unordered_map<std::string, std::pair<TimePoint, TimePoint>> handed_out_;
};

static_assert(DurableJobStore<JournalStore>);
static_assert(AbandonedFireSource<JournalStore>);

}  // namespace apsched::test
