// SPDX-License-Identifier: MIT
// Job settings: the aliases of a scheduler's stores and executors, the checks of job options
// and changes, job ids, and the snapshot of a job callers see.
#pragma once

#include <apsched/clock.hpp>
#include <apsched/error.hpp>
#include <apsched/job.hpp>
#include <apsched/job_store.hpp>

#include <apsched/detail/format_time.hpp>
#include <apsched/detail/hash.hpp>

#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace apsched::detail {

/// What a scheduler knows of job settings beyond one job: the aliases of its stores and
/// executors. Checks options and changes against them, copies options into records, and makes
/// the snapshots (JobInfo) callers see. Its checks throw InvalidJobOptionError naming the call,
/// the option, the value and what was expected.
///
/// Thread safety: const-thread-safe (set at construction).
class JobSettings {
 public:
  /// The aliases `stores` and `executors` given in SchedulerOptions, completed for
  /// `store_count` stores and `executor_count` executors: an empty or missing alias becomes
  /// "default" for the first and "store1", "executor2", ... for the others.
  JobSettings(std::vector<std::string> stores, std::size_t store_count,
              std::vector<std::string> executors, std::size_t executor_count)
      : stores_{complete(std::move(stores), store_count, "store")},
        executors_{complete(std::move(executors), executor_count, "executor")} {}

  /// The alias of store `index`.
  [[nodiscard]] const std::string& store_alias(std::size_t index) const noexcept {
    return stores_[index];
  }
  /// The aliases of the stores, by index.
  [[nodiscard]] const std::vector<std::string>& store_aliases() const noexcept { return stores_; }
  /// The alias of executor `index`.
  [[nodiscard]] const std::string& executor_alias(std::size_t index) const noexcept {
    return executors_[index];
  }

  /// The index of the store with alias `alias` (the first for an empty one).
  /// @throws InvalidJobOptionError naming `call` for an unknown alias
  [[nodiscard]] std::size_t store_index(std::string_view alias, std::string_view call) const {
    return index_of(stores_, alias, call, "store");
  }
  /// The index of the executor with alias `alias` (the first for an empty one).
  /// @throws InvalidJobOptionError naming `call` for an unknown alias
  [[nodiscard]] std::size_t executor_index(std::string_view alias, std::string_view call) const {
    return index_of(executors_, alias, call, "executor");
  }

  /// Checks `options` and copies them into `record`.
  /// @throws InvalidJobOptionError naming `call` for an invalid option
  void configure(JobRecord& record, const JobOptions& options, std::string_view call) const {
    check_max_instances(options.max_instances, call);
    if (options.misfire_grace_time) {
      check_positive(*options.misfire_grace_time, call, "misfire_grace_time");
    }
    if (options.timeout) {
      check_positive(*options.timeout, call, "timeout");
    }
    record.store = static_cast<std::uint8_t>(store_index(options.store, call));
    record.executor = static_cast<std::uint8_t>(executor_index(options.executor, call));
    record.max_instances = static_cast<std::uint16_t>(options.max_instances);
    record.coalesce = options.coalesce;
    record.overlap = options.overlap;
    record.abandoned = options.abandoned;
    record.paused = options.paused;
    if (!options.name.empty()) {
      record.extra().name = options.name;
    }
    if (options.misfire_grace_time) {
      record.extra().misfire_grace_time = options.misfire_grace_time;
    }
    if (options.timeout) {
      record.extra().timeout = options.timeout;
    }
  }

  /// Checks the settings `changes` changes (modify_job) and returns the index of the executor
  /// it names, if it names one.
  /// @throws InvalidJobOptionError naming modify_job for an invalid change
  [[nodiscard]] std::optional<std::size_t> check(const JobChanges& changes) const {
    if (changes.max_instances) {
      check_max_instances(*changes.max_instances, "modify_job");
    }
    if (changes.misfire_grace_time && *changes.misfire_grace_time) {
      check_positive(**changes.misfire_grace_time, "modify_job", "misfire_grace_time");
    }
    if (changes.timeout && *changes.timeout) {
      check_positive(**changes.timeout, "modify_job", "timeout");
    }
    if (!changes.executor) {
      return std::nullopt;
    }
    return executor_index(*changes.executor, "modify_job");
  }

  /// The snapshot of `job` callers see.
  [[nodiscard]] JobInfo info(const JobRecord& job) const {
    const JobExtras* extras = job.extras.get();
    return JobInfo{
        .id = job.id,
        .name = extras != nullptr && !extras->name.empty() ? extras->name : job.id,
        .trigger = job.trigger,
        .next_run_time = job.paused ? std::nullopt : std::optional{job.next_run},
        .misfire_grace_time = extras != nullptr ? extras->misfire_grace_time : std::nullopt,
        .coalesce = job.coalesce,
        .max_instances = job.max_instances,
        .overlap = job.overlap,
        .executor = executors_[job.executor],
        .store = stores_[job.store],
        .timeout = extras != nullptr ? extras->timeout : std::nullopt,
        .abandoned = job.abandoned,
        .last_run_time =
            job.last_run == TimePoint::min() ? std::nullopt : std::optional{job.last_run},
        .last_outcome = job.last_outcome,
        .run_count = job.run_count,
        .failure_count = job.failure_count,
        .running_instances = job.running,
        .queued_runs = extras != nullptr ? static_cast<unsigned>(extras->queued_runs.size()) : 0U,
        .task = extras != nullptr ? extras->task : nullptr,
    };
  }

  /// Applies `changes` (checked by `check`, which found their `executor`) to `job`.
  static void apply(JobRecord& job, const JobChanges& changes,
                    std::optional<std::size_t> executor) {
    if (changes.name) {
      job.extra().name = *changes.name;
    }
    if (changes.misfire_grace_time) {
      job.extra().misfire_grace_time = *changes.misfire_grace_time;
    }
    if (changes.coalesce) {
      job.coalesce = *changes.coalesce;
    }
    if (changes.max_instances) {
      job.max_instances = static_cast<std::uint16_t>(*changes.max_instances);
    }
    if (changes.overlap) {
      job.overlap = *changes.overlap;
    }
    if (executor) {
      job.executor = static_cast<std::uint8_t>(*executor);
    }
    if (changes.timeout) {
      job.extra().timeout = *changes.timeout;
    }
    if (changes.abandoned) {
      job.abandoned = *changes.abandoned;
    }
    if (changes.next_run_time) {
      job.next_fire = *changes.next_run_time;
      job.next_run = *changes.next_run_time;
    }
  }

  /// Refuses a closure job for store `store`, which keeps jobs durably.
  /// @throws InvalidJobOptionError always
  [[noreturn]] void refuse_closure(std::size_t store) const {
    throw InvalidJobOptionError{fmt::format(
        "add_job: store \"{}\" keeps jobs durably and cannot hold a closure; expected a task "
        "registered with register_task and named with apsched::task(\"name\")",
        store_alias(store))};
  }

  /// Checks `value` as the max_instances of `call`.
  /// @throws InvalidJobOptionError unless it is 1 to 65535
  static void check_max_instances(unsigned value, std::string_view call) {
    if (value == 0 || value > std::numeric_limits<std::uint16_t>::max()) {
      throw InvalidJobOptionError{
          fmt::format("{}: max_instances {} is out of range; expected 1 to 65535", call, value)};
    }
  }

  /// Checks `value` as the duration option `option` of `call`.
  /// @throws InvalidJobOptionError unless it is positive
  static void check_positive(Duration value, std::string_view call, std::string_view option) {
    if (value <= Duration::zero()) {
      throw InvalidJobOptionError{
          fmt::format("{}: {} {} is not positive; expected a duration > 0, or none for no limit",
                      call, option, format_duration(value))};
    }
  }

  /// Answers an add of an id that is stored already by `policy`: returns for keep and replace.
  /// @throws ConflictingIdError for ConflictPolicy::error
  static void refuse_conflict(std::string_view id, ConflictPolicy policy) {
    if (policy == ConflictPolicy::error) {
      throw ConflictingIdError{fmt::format(
          "add_job: a job with id \"{}\" already exists; expected a new id, or on_conflict "
          "ConflictPolicy::keep or ConflictPolicy::replace",
          id)};
    }
  }

  /// A random 15-character id (short enough for std::string's inline buffer) drawn from
  /// `random`; add_job retries on the rare collision.
  [[nodiscard]] static std::string random_id(SplitMix64& random) {
    static constexpr auto digit_pairs = [] {
      std::array<std::array<char, 2>, 256> pairs{};
      for (std::size_t byte = 0; byte < 256; ++byte) {
        pairs[byte] = {"0123456789abcdef"[byte >> 4], "0123456789abcdef"[byte & 15]};
      }
      return pairs;
    }();
    const std::uint64_t value = random();
    std::array<char, 16> digits{};
    for (std::size_t i = 0; i < 8; ++i) {
      const auto& pair = digit_pairs[(value >> (8 * i)) & 0xFFU];
      digits[2 * i] = pair[0];
      digits[2 * i + 1] = pair[1];
    }
    return std::string{digits.data(), 15};
  }

 private:
  static std::vector<std::string> complete(std::vector<std::string> given, std::size_t count,
                                           std::string_view kind) {
    given.resize(std::max(given.size(), count));
    for (std::size_t i = 0; i < count; ++i) {
      if (given[i].empty()) {
        given[i] = i == 0 ? std::string{"default"} : fmt::format("{}{}", kind, i);
      }
    }
    given.resize(count);
    return given;
  }

  static std::size_t index_of(const std::vector<std::string>& aliases, std::string_view alias,
                              std::string_view call, std::string_view kind) {
    if (alias.empty()) {
      return 0;
    }
    const auto found = std::find(aliases.begin(), aliases.end(), alias);
    if (found == aliases.end()) {
      std::string known;
      for (const std::string& name : aliases) {
        known += (known.empty() ? "\"" : ", \"") + name + "\"";
      }
      throw InvalidJobOptionError{
          fmt::format("{}: no {} has alias \"{}\"; expected one of {}", call, kind, alias, known)};
    }
    return static_cast<std::size_t>(found - aliases.begin());
  }

  std::vector<std::string> stores_;
  std::vector<std::string> executors_;
};

}  // namespace apsched::detail
