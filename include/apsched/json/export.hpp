// SPDX-License-Identifier: MIT
// export_jobs and import_jobs: a scheduler's task jobs as JSON, to back them up or move them
// between stores (and schedulers).
#pragma once

#include <apsched/error.hpp>
#include <apsched/job.hpp>
#include <apsched/json/job_options.hpp>
#include <apsched/json/trigger_codec.hpp>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace apsched {

/// How export_jobs treats what it cannot export.
///
/// Thread safety: not thread-safe (a plain value).
struct ExportOptions {
  /// Leave closure jobs out instead of throwing (a closure cannot be written as JSON).
  bool skip_closures = false;
  /// The codecs of the triggers; null: TriggerCodecs::builtin().
  const TriggerCodecs* codecs = nullptr;
};

/// Where import_jobs puts the jobs.
///
/// Thread safety: not thread-safe (a plain value).
struct ImportOptions {
  /// The alias of the store that receives the jobs; empty: the first store.
  std::string store;
  /// What happens to a job whose id is taken (see ConflictPolicy).
  ConflictPolicy on_conflict = ConflictPolicy::error;
  /// The codecs of the triggers; null: TriggerCodecs::builtin().
  const TriggerCodecs* codecs = nullptr;
};

/// The task jobs of `scheduler`'s store with alias `store` (empty: of every store) as
/// `{"format": "apsched-jobs", "version": 1, "jobs": [job, ...]}`, each job
/// `{"id", "task", "arguments": [...], "trigger": {...}, "options": {...}}`: its task call, its
/// trigger as TriggerCodecs encodes it, and its options as encode_options writes them, with
/// `next_run_time` set to its next run (absent and `paused` true for a paused job, which
/// restarts from its trigger's first fire time after the import). The store alias is left out:
/// import_jobs chooses the store.
/// @throws SerializationError for a closure job (unless `options.skip_closures`) or a trigger
///         without a codec; InvalidJobOptionError for an unknown store alias.
///
/// Thread safety: as the scheduler's get_jobs (thread-safe).
template <class Scheduler>
[[nodiscard]] nlohmann::json export_jobs(const Scheduler& scheduler, std::string_view store = {},
                                         const ExportOptions& options = {}) {
  const TriggerCodecs& codecs =
      options.codecs != nullptr ? *options.codecs : TriggerCodecs::builtin();
  nlohmann::json jobs = nlohmann::json::array();
  for (const JobInfo& job : scheduler.get_jobs(store)) {
    if (!job.task) {
      if (options.skip_closures) {
        continue;
      }
      throw SerializationError{fmt::format(
          "export_jobs: job \"{}\" runs a closure, which cannot be exported; expected task jobs "
          "only (or ExportOptions::skip_closures)",
          job.id)};
    }
    JobOptions settings{.id = job.id,
                        .name = job.name == job.id ? std::string{} : job.name,
                        .misfire_grace_time = job.misfire_grace_time,
                        .coalesce = job.coalesce,
                        .max_instances = job.max_instances,
                        .overlap = job.overlap,
                        .next_run_time = job.next_run_time,
                        .paused = !job.next_run_time,
                        .executor = job.executor,
                        .timeout = job.timeout,
                        .abandoned = job.abandoned};
    nlohmann::json encoded_options = encode_options(settings);
    encoded_options.erase("store");
    encoded_options.erase("on_conflict");
    jobs.push_back(nlohmann::json{{"id", job.id},
                                  {"task", job.task->name},
                                  {"arguments", nlohmann::json::parse(job.task->arguments)},
                                  {"trigger", codecs.encode(job.trigger)},
                                  {"options", std::move(encoded_options)}});
  }
  return nlohmann::json{{"format", "apsched-jobs"}, {"version", 1}, {"jobs", std::move(jobs)}};
}

/// Adds the jobs of `exported` (as export_jobs wrote it) to `scheduler`, in the store
/// `options.store`, and returns their ids. Each job keeps its next run time, so a job moved
/// from a stopped scheduler catches up as its misfire and coalesce settings say. The scheduler
/// must have a durable store (whose task registry rebuilds the jobs); the import is one batch,
/// so into a durable store it lands entirely or not at all.
/// @throws SerializationError naming the job and the member for malformed input (or another
///         format or version); UnknownTaskError for a task not registered with
///         `scheduler.register_task`; ConflictingIdError for an existing id with
///         `options.on_conflict` ConflictPolicy::error.
///
/// Thread safety: as the scheduler's add_job (thread-safe), but not inside a batch.
template <class Scheduler>
std::vector<std::string> import_jobs(Scheduler& scheduler, const nlohmann::json& exported,
                                     const ImportOptions& options = {}) {
  static_assert(Scheduler::any_durable,
                "import_jobs: the scheduler needs a durable store: its task registry rebuilds "
                "the jobs");
  const TriggerCodecs& codecs =
      options.codecs != nullptr ? *options.codecs : TriggerCodecs::builtin();
  if (!exported.is_object() || exported.value("format", "") != "apsched-jobs" ||
      exported.value("version", 0) != 1 || !exported.contains("jobs") ||
      !exported["jobs"].is_array()) {
    throw SerializationError{fmt::format(
        "import_jobs: the input is {}; expected an object with \"format\": \"apsched-jobs\", "
        "\"version\": 1 and a \"jobs\" array",
        exported.dump().substr(0, 80))};
  }
  std::vector<std::string> ids;
  const auto add_all = [&] {
    std::size_t index = 0;
    for (const nlohmann::json& job : exported["jobs"]) {
      const auto member = [&](const char* name) -> const nlohmann::json& {
        if (!job.is_object() || !job.contains(name)) {
          throw SerializationError{
              fmt::format("import_jobs: job {} has no member \"{}\"; expected \"id\", \"task\", "
                          "\"arguments\", \"trigger\" and \"options\"",
                          index, name)};
        }
        return job[name];
      };
      const nlohmann::json& task = member("task");
      const nlohmann::json& arguments = member("arguments");
      if (!task.is_string() || !arguments.is_array()) {
        throw SerializationError{fmt::format(
            "import_jobs: job {} has task {} and arguments {}; expected a string and an array",
            index, task.dump(), arguments.dump())};
      }
      JobOptions settings = decode_options(member("options"));
      settings.store = options.store;
      settings.on_conflict = options.on_conflict;
      ids.push_back(scheduler.add_task_job(TaskCall{task.get<std::string>(), arguments.dump()},
                                           codecs.decode(member("trigger")), std::move(settings)));
      ++index;
    }
  };
  scheduler.batch(add_all);
  return ids;
}

}  // namespace apsched
