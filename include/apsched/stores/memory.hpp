// SPDX-License-Identifier: MIT
// MemoryJobStore: keeps jobs in process memory, in a hash index by id and a heap by due time.
#pragma once

#include <apsched/clock.hpp>
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
  MemoryJobStore(MemoryJobStore&& other) noexcept
      : chunks_{std::move(other.chunks_)},
        free_slots_{std::move(other.free_slots_)},
        used_slots_{std::exchange(other.used_slots_, 0)},
        table_{std::move(other.table_)},
        size_{std::exchange(other.size_, 0)},
        due_keys_{std::move(other.due_keys_)},
        due_slots_{std::move(other.due_slots_)} {}
  MemoryJobStore& operator=(MemoryJobStore&& other) noexcept {
    if (this != &other) {
      MemoryJobStore moved{std::move(other)};
      swap(moved);
    }
    return *this;
  }
  MemoryJobStore(const MemoryJobStore&) = delete;
  MemoryJobStore& operator=(const MemoryJobStore&) = delete;
  ~MemoryJobStore() { clear(); }

  /// See JobStore.
  JobRecord* insert(JobRecord&& record) {
    if ((size_ + 1) * 5 > table_.size() * 4) {
      rehash(table_.size() < 16 ? 16 : table_.size() + table_.size() / 2);
    }
    const std::uint32_t hash = hash_of(record.id);
    std::size_t index = home(hash);
    for (; table_[index].slot != 0; index = next(index)) {
      if (table_[index].hash == hash && record_at(index)->id == record.id) {
        return nullptr;
      }
    }
    const std::uint32_t slot = allocate_slot();
    JobRecord* stored = ::new (static_cast<void*>(storage(slot))) JobRecord(std::move(record));
    table_[index] = Entry{slot + 1, hash};
    ++size_;
    stored->store_position = JobRecord::no_position;
    if (!stored->paused) {
      push_due(slot, *stored);
    }
    return stored;
  }

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
  bool erase(std::string_view id) {
    std::size_t index = locate(id);
    if (index == npos) {
      return false;
    }
    const std::uint32_t slot = table_[index].slot - 1;
    JobRecord* stored = record(slot);
    if (stored->store_position != JobRecord::no_position) {
      remove_due(stored->store_position);
    }
    stored->~JobRecord();
    free_slots_.push_back(slot);
    --size_;
    // Backward-shift deletion keeps linear probing free of tombstones.
    std::size_t hole = index;
    table_[hole] = Entry{};
    for (std::size_t scan = next(hole); table_[scan].slot != 0; scan = next(scan)) {
      const std::size_t ideal = home(table_[scan].hash);
      const bool movable =
          hole <= scan ? (ideal <= hole || ideal > scan) : (ideal <= hole && ideal > scan);
      if (movable) {
        table_[hole] = table_[scan];
        table_[scan] = Entry{};
        hole = scan;
      }
    }
    return true;
  }

  /// See JobStore.
  void clear() noexcept {
    for (Entry& entry : table_) {
      if (entry.slot != 0) {
        record(entry.slot - 1)->~JobRecord();
        entry = Entry{};
      }
    }
    size_ = 0;
    used_slots_ = 0;
    free_slots_.clear();
    due_keys_.clear();
    due_slots_.clear();
  }

  /// See JobStore.
  void update(JobRecord& stored) {
    const std::uint32_t position = stored.store_position;
    if (stored.paused) {
      if (position != JobRecord::no_position) {
        remove_due(position);
      }
      return;
    }
    if (position == JobRecord::no_position) {
      push_due(table_[locate(stored.id)].slot - 1, stored);
      return;
    }
    const Duration::rep key = stored.next_run.time_since_epoch().count();
    const Duration::rep old = due_keys_[position];
    due_keys_[position] = key;
    if (key < old) {
      sift_up(position);
    } else {
      sift_down(position);
    }
  }

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
  void reserve(std::size_t count) {
    if (count * 5 > table_.size() * 4) {
      rehash(count * 5 / 4 + 1);
    }
    due_keys_.reserve(count);
    due_slots_.reserve(count);
    chunks_.reserve((count + chunk_size - 1) / chunk_size);
  }

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

  void swap(MemoryJobStore& other) noexcept {
    std::swap(chunks_, other.chunks_);
    std::swap(free_slots_, other.free_slots_);
    std::swap(used_slots_, other.used_slots_);
    std::swap(table_, other.table_);
    std::swap(size_, other.size_);
    std::swap(due_keys_, other.due_keys_);
    std::swap(due_slots_, other.due_slots_);
  }

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

  [[nodiscard]] std::size_t locate(std::string_view id) const noexcept {
    if (size_ == 0) {
      return npos;
    }
    const std::uint32_t hash = hash_of(id);
    for (std::size_t index = home(hash); table_[index].slot != 0; index = next(index)) {
      if (table_[index].hash == hash &&
          const_cast<MemoryJobStore*>(this)->record(table_[index].slot - 1)->id == id) {
        return index;
      }
    }
    return npos;
  }

  void rehash(std::size_t capacity) {
    std::vector<Entry> old = std::exchange(table_, std::vector<Entry>(capacity));
    for (const Entry& entry : old) {
      if (entry.slot != 0) {
        std::size_t index = home(entry.hash);
        while (table_[index].slot != 0) {
          index = next(index);
        }
        table_[index] = entry;
      }
    }
  }

  Storage* storage(std::uint32_t slot) noexcept {
    return &chunks_[slot >> chunk_bits][slot & (chunk_size - 1)];
  }
  JobRecord* record(std::uint32_t slot) noexcept {
    return std::launder(reinterpret_cast<JobRecord*>(storage(slot)));
  }

  std::uint32_t allocate_slot() {
    if (!free_slots_.empty()) {
      const std::uint32_t slot = free_slots_.back();
      free_slots_.pop_back();
      return slot;
    }
    if (used_slots_ == chunks_.size() * chunk_size) {
      chunks_.push_back(std::make_unique_for_overwrite<Storage[]>(chunk_size));
    }
    return used_slots_++;
  }

  void push_due(std::uint32_t slot, JobRecord& stored) {
    due_keys_.push_back(stored.next_run.time_since_epoch().count());
    due_slots_.push_back(slot);
    stored.store_position = static_cast<std::uint32_t>(due_keys_.size() - 1);
    sift_up(due_keys_.size() - 1);
  }

  void remove_due(std::size_t position) {
    record(due_slots_[position])->store_position = JobRecord::no_position;
    const std::size_t last = due_keys_.size() - 1;
    if (position != last) {
      const Duration::rep removed = due_keys_[position];
      place(position, due_keys_[last], due_slots_[last]);
      due_keys_.pop_back();
      due_slots_.pop_back();
      if (due_keys_[position] < removed) {
        sift_up(position);
      } else {
        sift_down(position);
      }
    } else {
      due_keys_.pop_back();
      due_slots_.pop_back();
    }
  }

  void place(std::size_t position, Duration::rep key, std::uint32_t slot) {
    due_keys_[position] = key;
    due_slots_[position] = slot;
    record(slot)->store_position = static_cast<std::uint32_t>(position);
  }

  void sift_up(std::size_t position) {
    const Duration::rep key = due_keys_[position];
    const std::uint32_t slot = due_slots_[position];
    while (position > 0) {
      const std::size_t parent = (position - 1) / 2;
      if (due_keys_[parent] <= key) {
        break;
      }
      place(position, due_keys_[parent], due_slots_[parent]);
      position = parent;
    }
    place(position, key, slot);
  }

  void sift_down(std::size_t position) {
    const Duration::rep key = due_keys_[position];
    const std::uint32_t slot = due_slots_[position];
    const std::size_t count = due_keys_.size();
    for (;;) {
      std::size_t child = 2 * position + 1;
      if (child >= count) {
        break;
      }
      if (child + 1 < count && due_keys_[child + 1] < due_keys_[child]) {
        ++child;
      }
      if (key <= due_keys_[child]) {
        break;
      }
      place(position, due_keys_[child], due_slots_[child]);
      position = child;
    }
    place(position, key, slot);
  }

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
