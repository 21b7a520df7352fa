// SPDX-License-Identifier: MIT
// RecordCache: the job records a durable store handed out, at stable addresses, bounded in
// number.
#pragma once

#include <apsched/durable_job_store.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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
/// Past `limit` entries it drops idle ones (no run outstanding, no queued run), oldest first:
/// the scheduler keeps no pointer to those between calls, and the store loads them again when
/// needed.
///
/// The records are listed in a vector in the order they were added (an erased one leaves a hole
/// until holes are half the vector), and found through an open addressing index (linear
/// probing, at most half full) of 8-byte slots: a lookup, hit or miss, reads a few neighbouring
/// slots and, where 32 bits of the hash match, that one record, rather than scattered nodes.
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
    const std::size_t slot = slot_of(id, hash(id));
    return slot == npos ? nullptr : entries_[slots_[slot].entry - 1].cached.get();
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
    const std::size_t code = hash(stored->id);
    if (const std::size_t slot = slot_of(stored->id, code); slot != npos) {
      entries_[slots_[slot].entry - 1].cached = std::move(entry);
    } else {
      if (entries_.size() >= max_entries) {
        throw std::length_error{"RecordCache: more than 2^32 - 2 records"};
      }
      if ((size() + 1) * 2 > slots_.size()) {
        // A power of two, at least twice the entries.
        slots_.resize(std::max<std::size_t>(16, slots_.size() * 2));
        reindex();
      }
      entries_.push_back(Entry{std::move(entry), code});
      place(code, entries_.size());
    }
    if (size() > limit_) {
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
    bool cache = size() < limit_;
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
    if (const std::size_t slot = slot_of(id, hash(id)); slot != npos) {
      erase_slot(slot);
    }
  }

  /// Forgets the entry of job `id` if it is idle; else marks it stale (a completing run finds
  /// it, and it is reloaded or forgotten at the next hand-out).
  void drop_if_idle(std::string_view id) {
    if (const std::size_t slot = slot_of(id, hash(id)); slot != npos) {
      CachedRecord& entry = *entries_[slots_[slot].entry - 1].cached;
      if (idle(entry.record)) {
        erase_slot(slot);
      } else {
        entry.stale = true;
      }
    }
  }

  /// drop_if_idle for every entry: after writes were undone.
  void drop_all_idle() noexcept {
    keep_only([](CachedRecord& entry) {
      const bool busy = !idle(entry.record);
      entry.stale = entry.stale || busy;
      return busy;
    });
  }

  /// Forgets every entry.
  void clear() noexcept {
    entries_.clear();
    slots_.clear();
    holes_ = 0;
  }

  /// Calls `visit(JobRecord&)` for each cached record, oldest first. `visit` must not change
  /// the cache.
  template <class F>
  void for_each(F&& visit) {
    for (Entry& entry : entries_) {
      if (entry.cached) {
        std::invoke(visit, entry.cached->record);
      }
    }
  }

  /// The number of entries.
  [[nodiscard]] std::size_t size() const noexcept { return entries_.size() - holes_; }

 private:
  struct Entry {
    std::unique_ptr<CachedRecord> cached;  // null: a hole left by an erased entry
    std::size_t hash = 0;
  };
  // One place of the index: the entry's position in entries_ plus one (0: empty), and the high
  // 32 bits of its hash, compared before the id.
  struct Slot {
    std::uint32_t entry = 0;
    std::uint32_t tag = 0;
  };

  static constexpr std::size_t npos = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_entries = 0xFFFF'FFFEU;

  [[nodiscard]] static std::size_t hash(std::string_view id) noexcept {
    return std::hash<std::string_view>{}(id);
  }
  [[nodiscard]] static std::uint32_t tag_of(std::size_t code) noexcept {
    return static_cast<std::uint32_t>(static_cast<std::uint64_t>(code) >> 32U);
  }
  [[nodiscard]] std::size_t home(std::size_t code) const noexcept {
    return code & (slots_.size() - 1);
  }

  // The slot of the entry with `id` (whose hash is `code`), or npos.
  [[nodiscard]] std::size_t slot_of(std::string_view id, std::size_t code) const noexcept {
    if (slots_.empty()) {
      return npos;
    }
    const std::uint32_t tag = tag_of(code);
    for (std::size_t slot = home(code);; slot = (slot + 1) & (slots_.size() - 1)) {
      const Slot& at = slots_[slot];
      if (at.entry == 0) {
        return npos;
      }
      if (at.tag == tag && entries_[at.entry - 1].cached->record.id == id) {
        return slot;
      }
    }
  }

  // Indexes entries_[entry - 1], whose hash is `code`, in the first free slot of its probe.
  void place(std::size_t code, std::size_t entry) noexcept {
    std::size_t slot = home(code);
    while (slots_[slot].entry != 0) {
      slot = (slot + 1) & (slots_.size() - 1);
    }
    slots_[slot] = Slot{static_cast<std::uint32_t>(entry), tag_of(code)};
  }

  // Indexes every entry (not the holes) anew in the slots there are.
  void reindex() noexcept {
    std::fill(slots_.begin(), slots_.end(), Slot{});
    for (std::size_t i = 0; i < entries_.size(); ++i) {
      if (entries_[i].cached) {
        place(entries_[i].hash, i + 1);
      }
    }
  }

  // Removes the entry indexed at `slot`, leaving a hole in entries_; the slots after it in its
  // probe run shift back, so that no lookup stops early at an empty slot.
  void erase_slot(std::size_t slot) {
    const std::size_t position = slots_[slot].entry - 1;
    const std::size_t mask = slots_.size() - 1;
    std::size_t hole = slot;
    for (std::size_t next = (hole + 1) & mask; slots_[next].entry != 0; next = (next + 1) & mask) {
      const std::size_t wanted = home(entries_[slots_[next].entry - 1].hash);
      // The slot at `next` may move into the hole when its home is not in (hole, next]
      // cyclically: a lookup from its home passes the hole before reaching `next`.
      const bool between =
          hole <= next ? hole < wanted && wanted <= next : hole < wanted || wanted <= next;
      if (!between) {
        slots_[hole] = slots_[next];
        hole = next;
      }
    }
    slots_[hole] = Slot{};
    entries_[position].cached.reset();
    ++holes_;
    while (!entries_.empty() && !entries_.back().cached) {
      entries_.pop_back();
      --holes_;
    }
    if (holes_ > 16 && holes_ * 2 > entries_.size()) {
      keep_only([](const CachedRecord&) { return true; });
    }
  }

  // Keeps the entries for which `keep(CachedRecord&)` holds, in their order, and closes the
  // holes; `keep` is called once per entry, in that order.
  template <class Keep>
  void keep_only(Keep keep) noexcept {
    std::size_t kept = 0;
    for (std::size_t i = 0; i < entries_.size(); ++i) {
      if (entries_[i].cached && keep(*entries_[i].cached)) {
        if (kept != i) {
          entries_[kept] = std::move(entries_[i]);
        }
        ++kept;
      }
    }
    holes_ = 0;
    if (kept == entries_.size()) {
      return;
    }
    entries_.erase(entries_.begin() + static_cast<std::ptrdiff_t>(kept), entries_.end());
    reindex();
  }

  // Drops idle entries but `keep`, oldest first, down to half the limit, so that the sweep,
  // linear in the entries, runs once per limit/2 additions at most.
  void evict(const JobRecord* keep) {
    std::size_t excess = size() - std::min(size(), limit_ / 2);
    keep_only([&](const CachedRecord& entry) {
      if (excess > 0 && &entry.record != keep && idle(entry.record)) {
        --excess;
        return false;
      }
      return true;
    });
  }

  std::size_t limit_;
  std::vector<Entry> entries_;
  std::vector<Slot> slots_;
  std::size_t holes_ = 0;  // null entries in entries_
};

}  // namespace apsched::detail::durable
