// SPDX-License-Identifier: MIT
// MemoryJobStore: keeps jobs in process memory, in a hash index by id and a heap by due time.
#pragma once

#include <apsched/clock.hpp>
#include <apsched/config.hpp>
#include <apsched/detail/hash.hpp>
#include <apsched/job_store.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <new>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace apsched {

/// Keeps jobs in memory; they are gone when the process ends. Adding, finding and removing a job
/// and taking the next due one are O(1) or O(log n), and a job costs under 180 bytes in all (see
/// bench/), so millions of jobs are fine.
///
/// Thread safety: not thread-safe (the scheduler serialises every call; see JobStore).
class MemoryJobStore {
 public:
  MemoryJobStore() = default;
  APSCHED_INLINE MemoryJobStore(MemoryJobStore&& other) noexcept;
  APSCHED_INLINE MemoryJobStore& operator=(MemoryJobStore&& other) noexcept;
  MemoryJobStore(const MemoryJobStore&) = delete;
  MemoryJobStore& operator=(const MemoryJobStore&) = delete;
  APSCHED_INLINE ~MemoryJobStore();

  /// See JobStore.
  APSCHED_INLINE JobRecord* insert(JobRecord&& record);

  /// See JobStore.
  [[nodiscard]] JobRecord* find(std::string_view id) noexcept {
    const std::size_t index = locate(id);
    return index == npos ? nullptr : record(table_[index].slot - 1);
  }
  /// See JobStore.
  [[nodiscard]] const JobRecord* find(std::string_view id) const noexcept {
    return const_cast<MemoryJobStore*>(this)->find(id);
  }

  /// See JobStore.
  APSCHED_INLINE bool erase(std::string_view id);

  /// See JobStore.
  APSCHED_INLINE void clear() noexcept;

  /// See JobStore.
  APSCHED_INLINE void update(JobRecord& stored);

  /// See JobStore.
  [[nodiscard]] std::optional<TimePoint> next_run_time() const noexcept {
    if (due_keys_.empty()) {
      return std::nullopt;
    }
    return TimePoint{Duration{due_keys_.front()}};
  }

  /// See JobStore.
  [[nodiscard]] JobRecord* first_due(TimePoint now) noexcept {
    if (due_keys_.empty() || due_keys_.front() > now.time_since_epoch().count()) {
      return nullptr;
    }
    return record(due_slots_.front());
  }

  /// See JobStore.
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

  /// See JobStore.
  template <class F>
  void for_each(F&& visit) const {
    for (const Entry& entry : table_) {
      if (entry.slot != 0) {
        std::invoke(visit,
                    std::as_const(*const_cast<MemoryJobStore*>(this)->record(entry.slot - 1)));
      }
    }
  }

  /// Makes room for `count` jobs in all, so adding them allocates only their own records.
  APSCHED_INLINE void reserve(std::size_t count);

 private:
  static constexpr std::size_t chunk_bits = 10;
  static constexpr std::size_t chunk_size = std::size_t{1} << chunk_bits;
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  struct alignas(JobRecord) Storage {
    std::byte bytes[sizeof(JobRecord)];
  };
  // slot is the record's slot + 1, so 0 marks an empty entry; hash selects the home index and
  // filters comparisons without touching the record.
  struct Entry {
    std::uint32_t slot = 0;
    std::uint32_t hash = 0;
  };

  APSCHED_INLINE void swap(MemoryJobStore& other) noexcept;

  static std::uint32_t hash_of(std::string_view id) noexcept {
    return static_cast<std::uint32_t>(detail::hash_id(id) >> 32);
  }
  JobRecord* record_at(std::size_t index) noexcept { return record(table_[index].slot - 1); }
  // Maps the hash onto [0, table size) without a division (multiply-shift range reduction).
  [[nodiscard]] std::size_t home(std::uint32_t hash) const noexcept {
    return static_cast<std::size_t>((std::uint64_t{hash} * table_.size()) >> 32);
  }
  [[nodiscard]] std::size_t next(std::size_t index) const noexcept {
    return index + 1 == table_.size() ? 0 : index + 1;
  }

  [[nodiscard]] APSCHED_INLINE std::size_t locate(std::string_view id) const noexcept;

  APSCHED_INLINE void rehash(std::size_t capacity);

  Storage* storage(std::uint32_t slot) noexcept {
    return &chunks_[slot >> chunk_bits][slot & (chunk_size - 1)];
  }
  JobRecord* record(std::uint32_t slot) noexcept {
    return std::launder(reinterpret_cast<JobRecord*>(storage(slot)));
  }

  APSCHED_INLINE std::uint32_t allocate_slot();

  APSCHED_INLINE void push_due(std::uint32_t slot, JobRecord& stored);

  APSCHED_INLINE void remove_due(std::size_t position);

  void place(std::size_t position, Duration::rep key, std::uint32_t slot) {
    due_keys_[position] = key;
    due_slots_[position] = slot;
    record(slot)->store_position = static_cast<std::uint32_t>(position);
  }

  APSCHED_INLINE void sift_up(std::size_t position);

  APSCHED_INLINE void sift_down(std::size_t position);

  std::vector<std::unique_ptr<Storage[]>> chunks_;
  std::vector<std::uint32_t> free_slots_;
  std::uint32_t used_slots_ = 0;
  std::vector<Entry> table_;
  std::size_t size_ = 0;
  // The due order: a binary min-heap of not-paused records by next_run, as parallel arrays of
  // keys (next_run ticks) and slots, so sifting never touches the records' memory except to
  // store their new position.
  std::vector<Duration::rep> due_keys_;
  std::vector<std::uint32_t> due_slots_;
};

static_assert(JobStore<MemoryJobStore>);

}  // namespace apsched

#if !APSCHED_SEPARATE_COMPILATION
#include <apsched/impl/stores/memory.hpp>
#endif
