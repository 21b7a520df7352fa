// SPDX-License-Identifier: MIT
// The process-wide cache of zone tables, read without a lock once a zone has been loaded.
#pragma once

#include <apsched/detail/cron/zone.hpp>
#include <apsched/error.hpp>

#include <fmt/core.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace apsched::detail::cron {

/// Zone tables by IANA name, built once per name and process and never freed, and the local zone
/// of the system setting, resolved once per process.
///
/// Lookups of a zone already loaded take no lock: each bucket is a singly linked list of
/// immutable entries, published by an atomic store of its head, so a reader sees an entry only
/// complete. Loading a zone (and every call into the tz database, whose lazy initialisation we do
/// not rely on being thread-safe) is serialised by one mutex.
///
/// Thread safety: thread-safe.
class ZoneCache {
 public:
  /// The cache of the process.
  [[nodiscard]] static ZoneCache& instance() noexcept {
    static ZoneCache cache;
    return cache;
  }

  /// The table of zone `name` (an IANA name; empty: the local zone, see below), valid until the
  /// process ends.
  ///
  /// The local zone is the value of the TZ environment variable (a leading `:` removed) when it
  /// is set and not empty, read again on every call, so a change of TZ applies to the triggers
  /// made after it; otherwise the system setting (`/etc/localtime`), read once per process.
  /// @throws UnknownTimeZoneError naming `call` and saying how to set a zone (`option` names the
  ///         option, e.g. "CronOptions::timezone").
  [[nodiscard]] const ZoneTable& load(std::string_view name, std::string_view call,
                                      std::string_view option) {
    bool from_tz = false;
    if (name.empty()) {
      // Not thread-safe against a concurrent setenv, like every reader of TZ.
      const char* tz = std::getenv("TZ");  // NOLINT(concurrency-mt-unsafe)
      if (tz != nullptr && *tz == ':') {
        ++tz;
      }
      if (tz == nullptr || *tz == '\0') {
        const Entry* local = system_.load(std::memory_order_acquire);
        return local != nullptr ? local->table : load_system(call, option);
      }
      name = tz;
      from_tz = true;
    }
    const std::size_t bucket = bucket_of(name);
    if (const Entry* entry = find(buckets_[bucket].load(std::memory_order_acquire), name)) {
      return entry->table;
    }
    const std::lock_guard lock{mutex_};
    return insert(name, call, option, from_tz)->table;
  }

 private:
  struct Entry {
    std::string name;
    ZoneTable table;
    const Entry* next;
  };

  static constexpr std::size_t bucket_count = 64;

  ZoneCache() = default;

  [[nodiscard]] static std::size_t bucket_of(std::string_view name) noexcept {
    std::uint64_t hash = 14'695'981'039'346'656'037ULL;  // FNV-1a
    for (const char c : name) {
      hash = (hash ^ static_cast<unsigned char>(c)) * 1'099'511'628'211ULL;
    }
    return static_cast<std::size_t>(hash % bucket_count);
  }

  [[nodiscard]] static const Entry* find(const Entry* entry, std::string_view name) noexcept {
    for (; entry != nullptr; entry = entry->next) {
      if (entry->name == name) {
        return entry;
      }
    }
    return nullptr;
  }

  // The entry of zone `name`, built and published if it is new. @pre mutex_ is held.
  const Entry* insert(std::string_view name, std::string_view call, std::string_view option,
                      bool from_tz) {
    std::atomic<const Entry*>& head = buckets_[bucket_of(name)];
    const Entry* first = head.load(std::memory_order_relaxed);
    if (const Entry* entry = find(first, name)) {
      return entry;
    }
    ZoneTable table;
    try {
#ifdef APSCHED_CRON_STD_TZDB
      table = build(*std::chrono::locate_zone(name));
#else
      table = build(*date::locate_zone(std::string{name}));
#endif
    } catch (const std::exception&) {
      throw UnknownTimeZoneError{fmt::format(
          "{}: unknown time zone \"{}\"{}; expected an IANA name such as \"Europe/Berlin\" or "
          "\"UTC\" in {}",
          call, name, from_tz ? " (from the TZ environment variable)" : "", option)};
    }
    // Never freed: readers may hold the pointer at any time, and a process loads few zones.
    const auto* entry = new Entry{std::string{name}, std::move(table), first};
    head.store(entry, std::memory_order_release);
    return entry;
  }

  const ZoneTable& load_system(std::string_view call, std::string_view option) {
    const std::lock_guard lock{mutex_};
    if (const Entry* local = system_.load(std::memory_order_relaxed)) {
      return local->table;
    }
    std::string name;
    try {
#ifdef APSCHED_CRON_STD_TZDB
      name = std::string{std::chrono::current_zone()->name()};
#else
      name = std::string{date::current_zone()->name()};
#endif
    } catch (const std::exception& error) {
      throw UnknownTimeZoneError{fmt::format(
          "{}: the local time zone could not be determined ({}); set {} or the TZ environment "
          "variable to an IANA name such as \"Europe/Berlin\"",
          call, error.what(), option)};
    }
    const Entry* local = insert(name, call, option, false);
    system_.store(local, std::memory_order_release);
    return local->table;
  }

  template <class Zone>
  [[nodiscard]] static ZoneTable build(const Zone& zone) {
    ZoneTable table = build_zone_table(zone);
#ifndef APSCHED_CRON_STD_TZDB
    extend_with_posix_rule(table);
#endif
    return table;
  }

  // Serialises the writers of the members below (readers load them without it) and every call
  // into the tz database.
  std::mutex mutex_;
  std::array<std::atomic<const Entry*>, bucket_count> buckets_{};
  // The entry of the system setting's zone, once resolved.
  std::atomic<const Entry*> system_{nullptr};
};

/// The table of zone `name` (an IANA name; empty: the local zone), from ZoneCache; valid until
/// the process ends.
/// @throws UnknownTimeZoneError (see ZoneCache::load).
[[nodiscard]] inline const ZoneTable& load_zone(std::string_view name, std::string_view call,
                                                std::string_view option) {
  return ZoneCache::instance().load(name, call, option);
}

}  // namespace apsched::detail::cron
