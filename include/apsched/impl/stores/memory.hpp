// SPDX-License-Identifier: MIT
// The definitions of MemoryJobStore's members. stores/memory.hpp includes this in header-only
// mode; in the compiled mode the apsched::compiled library holds them.
#pragma once

#include <apsched/config.hpp>
#include <apsched/stores/memory.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <string_view>
#include <utility>
#include <vector>

namespace apsched {

APSCHED_INLINE MemoryJobStore::MemoryJobStore(MemoryJobStore&& other) noexcept
    : chunks_{std::move(other.chunks_)},
      free_slots_{std::move(other.free_slots_)},
      used_slots_{std::exchange(other.used_slots_, 0)},
      table_{std::move(other.table_)},
      size_{std::exchange(other.size_, 0)},
      due_keys_{std::move(other.due_keys_)},
      due_slots_{std::move(other.due_slots_)} {}

APSCHED_INLINE MemoryJobStore::~MemoryJobStore() { clear(); }

APSCHED_INLINE MemoryJobStore& MemoryJobStore::operator=(MemoryJobStore&& other) noexcept {
  if (this != &other) {
    MemoryJobStore moved{std::move(other)};
    swap(moved);
  }
  return *this;
}

APSCHED_INLINE JobRecord* MemoryJobStore::insert(JobRecord&& record) {
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

APSCHED_INLINE bool MemoryJobStore::erase(std::string_view id) {
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

APSCHED_INLINE void MemoryJobStore::clear() noexcept {
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

APSCHED_INLINE void MemoryJobStore::update(JobRecord& stored) {
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

APSCHED_INLINE void MemoryJobStore::reserve(std::size_t count) {
  if (count * 5 > table_.size() * 4) {
    rehash(count * 5 / 4 + 1);
  }
  due_keys_.reserve(count);
  due_slots_.reserve(count);
  chunks_.reserve((count + chunk_size - 1) / chunk_size);
}

APSCHED_INLINE void MemoryJobStore::swap(MemoryJobStore& other) noexcept {
  std::swap(chunks_, other.chunks_);
  std::swap(free_slots_, other.free_slots_);
  std::swap(used_slots_, other.used_slots_);
  std::swap(table_, other.table_);
  std::swap(size_, other.size_);
  std::swap(due_keys_, other.due_keys_);
  std::swap(due_slots_, other.due_slots_);
}

APSCHED_INLINE std::size_t MemoryJobStore::locate(std::string_view id) const noexcept {
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

APSCHED_INLINE void MemoryJobStore::rehash(std::size_t capacity) {
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

APSCHED_INLINE std::uint32_t MemoryJobStore::allocate_slot() {
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

APSCHED_INLINE void MemoryJobStore::push_due(std::uint32_t slot, JobRecord& stored) {
  due_keys_.push_back(stored.next_run.time_since_epoch().count());
  due_slots_.push_back(slot);
  stored.store_position = static_cast<std::uint32_t>(due_keys_.size() - 1);
  sift_up(due_keys_.size() - 1);
}

APSCHED_INLINE void MemoryJobStore::remove_due(std::size_t position) {
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

APSCHED_INLINE void MemoryJobStore::sift_up(std::size_t position) {
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

APSCHED_INLINE void MemoryJobStore::sift_down(std::size_t position) {
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

}  // namespace apsched
