// SPDX-License-Identifier: MIT
// libFuzzer target for the cron parser and CronTrigger::next_fire_time: any input either is
// rejected with InvalidTriggerError or gives a trigger whose fire times are whole seconds,
// strictly increasing, not before `now`, and found in bounded time.
#include <apsched/cron/cron_trigger.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace {

void check(bool condition) {
  if (!condition) {
    __builtin_trap();
  }
}

void exercise(const apsched::CronTrigger& trigger, std::int64_t seconds) {
  // Keep `now` inside 1900-2250 so most inputs reach real searches.
  const std::int64_t span = std::int64_t{350} * 366 * 86'400;
  const std::int64_t offset = ((seconds % span) + span) % span;
  const apsched::TimePoint now{std::chrono::seconds{-2'208'988'800 + offset}};
  std::optional<apsched::TimePoint> previous;
  for (int i = 0; i < 4; ++i) {
    const std::optional<apsched::TimePoint> next =
        trigger.next_fire_time(previous, previous.value_or(now));
    if (!next) {
      return;
    }
    check(*next >= now);
    check(!previous || *next > *previous);
    check(next->time_since_epoch() % std::chrono::seconds{1} == apsched::Duration::zero());
    previous = next;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 10) {
    return 0;
  }
  static const char* const zones[] = {
      "UTC",          "Europe/Berlin", "Australia/Lord_Howe", "America/New_York",
      "Pacific/Apia", "Asia/Kolkata"};
  const std::uint8_t flags = data[0];
  std::int64_t seconds = 0;
  std::memcpy(&seconds, data + 1, sizeof seconds);
  const std::string_view text{reinterpret_cast<const char*>(data + 9), size - 9};
  apsched::CronOptions options;
  options.timezone = zones[(flags & 0x7U) % 6];
  options.gap_policy = (flags & 0x8U) != 0 ? apsched::GapPolicy::skip : apsched::GapPolicy::shift;
  options.fold_policy =
      (flags & 0x10U) != 0 ? apsched::FoldPolicy::both : apsched::FoldPolicy::once;
  options.weekday_numbering =
      (flags & 0x20U) != 0 ? apsched::WeekdayNumbering::quartz : apsched::WeekdayNumbering::cron;
  try {
    if ((flags & 0x40U) == 0) {
      exercise(apsched::CronTrigger::from_crontab(text, options), seconds);
    } else {
      // APScheduler fields, separated by '|' in the order year|month|day|week|dow|h|m|s.
      apsched::CronFields fields;
      std::string* slots[] = {&fields.year,        &fields.month, &fields.day,    &fields.week,
                              &fields.day_of_week, &fields.hour,  &fields.minute, &fields.second};
      std::size_t slot = 0;
      for (const char c : text) {
        if (c == '|') {
          slot = (slot + 1) % 8;
        } else {
          *slots[slot] += c;
        }
      }
      exercise(apsched::CronTrigger{fields, options}, seconds);
    }
  } catch (const apsched::InvalidTriggerError&) {
    // Rejected input is fine; anything else (a crash, a hang, another exception) is a bug.
  }
  return 0;
}
