// SPDX-License-Identifier: MIT
// RecordCache: the job records a durable store handed out, at stable addresses, bounded in
// number.
#pragma once

#include <apsched/job_store.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace apsched::detail::durable {

/// A record a store handed out, with the row version it was built from or last written as. A
/// stale one is reloaded from its row before it is handed out again.
///
/// Thread safety: not thread-safe.
struct CachedRecord {
  JobRecord record;
  std::int64_t version = 0;
  bool stale = false;
  /// The record of a job no longer listed, held for the rerun of its last fire (see
  /// AbandonedFire::last_fire): its outcome is not counted on a job of its id.
  bool retired = false;
};

/// The JobRecord::generation of the next record a store loads from its storage, counting
/// `loaded` up, with the high bit set: apart from the generations the scheduler numbers the
/// jobs it adds with (from 1).
[[nodiscard]] inline std::uint32_t loaded_generation(std::uint32_t& loaded) noexcept {
  return 0x8000'0000U | (loaded++ & 0x7FFF'FFFFU);
}

/// The records a durable store handed out, by id, each at a stable address until it is erased.
/// Past `limit` entries it drops idle ones (no run outstanding, no queued run): the scheduler
/// keeps no pointer to those between calls, and the store loads them again when needed.
///
/// Thread safety: not thread-safe.
class RecordCache {
 public:
  explicit RecordCache(std::size_t limit) noexcept : limit_{limit} {}

  /// Whether the scheduler has no run of `record` outstanding or queued.
  [[nodiscard]] static bool idle(const JobRecord& record) noexcept {
    return record.running == 0 && (!record.extras || record.extras->queued_runs.empty());
  }

  /// The entry of job `id`, or nullptr.
  [[nodiscard]] CachedRecord* find(std::string_view id) const {
    const auto it = entries_.find(id);
    return it == entries_.end() ? nullptr : it->second.get();
  }

  /// The entry holding `record` itself, or nullptr when `record` is not one of the cache's.
  [[nodiscard]] CachedRecord* holding(const JobRecord& record) const {
    CachedRecord* entry = find(record.id);
    return entry != nullptr && &entry->record == &record ? entry : nullptr;
  }

  /// Adds `record` as read at `version`, replacing an entry with its id, then drops idle
  /// entries if there are too many (never the new one).
  /// @returns the cached record
  JobRecord* put(JobRecord&& record, std::int64_t version) {
    auto entry = std::make_unique<CachedRecord>(CachedRecord{std::move(record), version, false});
    JobRecord* stored = &entry->record;
    entries_.insert_or_assign(stored->id, std::move(entry));
    if (entries_.size() > limit_) {
      evict(stored);
    }
    return stored;
  }

  /// Keeps `record`, just stored as version 1: cached while fewer than the limit are, else in
  /// `overflow` (valid until the next call). A cached record of an earlier job with its id
  /// (deleted by another process) is replaced when idle; with a run outstanding, it is marked
  /// stale and the new one goes to `overflow`.
  /// @returns the record kept
  JobRecord* add_new(JobRecord&& record, std::optional<JobRecord>& overflow) {
    bool cache = entries_.size() < limit_;
    if (CachedRecord* earlier = find(record.id)) {
      cache = idle(earlier->record);
      earlier->stale = true;
    }
    if (cache) {
      return put(std::move(record), 1);
    }
    overflow = std::move(record);
    return &*overflow;
  }

  /// Forgets the entry of job `id`, if any.
  void erase(std::string_view id) {
    if (const auto it = entries_.find(id); it != entries_.end()) {
      entries_.erase(it);
    }
  }

  /// Forgets the entry of job `id` if it is idle; else marks it stale (a completing run finds
  /// it, and it is reloaded or forgotten at the next hand-out).
  void drop_if_idle(std::string_view id) {
    if (const auto it = entries_.find(id); it != entries_.end()) {
      if (idle(it->second->record)) {
        entries_.erase(it);
      } else {
        it->second->stale = true;
      }
    }
  }

  /// drop_if_idle for every entry: after writes were undone.
  void drop_all_idle() noexcept {
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (idle(it->second->record)) {
        it = entries_.erase(it);
      } else {
        it->second->stale = true;
        ++it;
      }
    }
  }

  /// Forgets every entry.
  void clear() noexcept { entries_.clear(); }

  /// Calls `visit(JobRecord&)` for each cached record.
  template <class F>
  void for_each(F&& visit) {
    for (auto& entry : entries_) {
      std::invoke(visit, entry.second->record);
    }
  }

  /// The number of entries.
  [[nodiscard]] std::size_t size() const noexcept { return entries_.size(); }

 private:
  struct Hash {
    using is_transparent = void;
    // Not noexcept on purpose: libstdc++ then keeps each key's hash in its node, so a lookup
    // compares hashes instead of hashing every key it passes in the bucket chain.
    std::size_t operator()(std::string_view text) const {
      return std::hash<std::string_view>{}(text);
    }
  };

  // Drops idle entries but `keep` down to half the limit, so that the sweep, linear in the
  // entries, runs once per limit/2 additions at most.
  void evict(const JobRecord* keep) {
    const std::size_t target = limit_ / 2;
    for (auto it = entries_.begin(); it != entries_.end() && entries_.size() > target;) {
      if (&it->second->record != keep && idle(it->second->record)) {
        it = entries_.erase(it);
      } else {
        ++it;
      }
    }
  }

  std::size_t limit_;
  std::unordered_map<std::string, std::unique_ptr<CachedRecord>, Hash, std::equal_to<>> entries_;
};

}  // namespace apsched::detail::durable
