// SPDX-License-Identifier: MIT
// The POSIX TZ rule at the end of a TZif file (RFC 8536 section 3.3), used to extend a zone's
// offsets past the last transition the file lists: date/tz's system-database mode stops there
// (2037 for most zones with daylight saving).
#pragma once

#include <apsched/detail/cron/calendar.hpp>

#include <cstdint>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace apsched::detail::cron {

/// A daylight-saving rule: standard and daylight offsets (seconds east of UTC) and the two
/// yearly changes.
struct PosixRule {
  struct Change {
    char kind = 'M';  // 'M': month.week.weekday, 'J': day 1-365 without Feb 29, 'N': day 0-365
    int month = 0;
    int week = 0;
    int day = 0;               // weekday (M), or day of the year (J, N)
    std::int64_t time = 7200;  // local seconds after midnight, may be negative or past 24h
  };
  std::int64_t standard = 0;
  std::int64_t daylight = 0;
  Change start;  // to daylight time
  Change end;    // back to standard time

  /// The local date (days since 1970-01-01) of `change` in `year`.
  [[nodiscard]] static std::int64_t date_of(const Change& change, std::int64_t year) noexcept {
    if (change.kind == 'J') {
      const int leap_shift = is_leap_year(year) && change.day >= 60 ? 1 : 0;
      return days_from_civil(year, 1, 1) + change.day - 1 + leap_shift;
    }
    if (change.kind == 'N') {
      return days_from_civil(year, 1, 1) + change.day;
    }
    const auto month = static_cast<unsigned>(change.month);
    const std::int64_t first = days_from_civil(year, month, 1);
    const int first_weekday = static_cast<int>(weekday_from_days(first));
    int day = 1 + (change.day - first_weekday + 7) % 7 + 7 * (change.week - 1);
    while (day > static_cast<int>(days_in_month(year, month))) {
      day -= 7;
    }
    return first + day - 1;
  }

  /// The UTC seconds of the two changes in `year`, each with the offset that follows it,
  /// in time order.
  [[nodiscard]] std::pair<std::pair<std::int64_t, std::int64_t>,
                          std::pair<std::int64_t, std::int64_t>>
  changes(std::int64_t year) const noexcept {
    const std::int64_t to_daylight = date_of(start, year) * seconds_per_day + start.time - standard;
    const std::int64_t to_standard = date_of(end, year) * seconds_per_day + end.time - daylight;
    if (to_daylight < to_standard) {
      return {{to_daylight, daylight}, {to_standard, standard}};
    }
    return {{to_standard, standard}, {to_daylight, daylight}};
  }
};

class PosixRuleParser {
 public:
  explicit PosixRuleParser(std::string_view text) noexcept : text_{text} {}

  /// The rule, or empty when the text has no daylight-saving part or does not parse.
  std::optional<PosixRule> parse() {
    PosixRule rule;
    if (!name() || !offset(rule.standard)) {
      return std::nullopt;
    }
    rule.standard = -rule.standard;  // POSIX counts west of UTC
    if (at_end() || !name()) {
      return std::nullopt;
    }
    rule.daylight = rule.standard + 3600;
    if (!at_end() && text_[0] != ',') {
      std::int64_t west = 0;
      if (!offset(west)) {
        return std::nullopt;
      }
      rule.daylight = -west;
    }
    if (!eat(',') || !change(rule.start) || !eat(',') || !change(rule.end) || !at_end()) {
      return std::nullopt;
    }
    return rule;
  }

 private:
  [[nodiscard]] bool at_end() const noexcept { return text_.empty(); }

  bool eat(char c) noexcept {
    if (!text_.empty() && text_[0] == c) {
      text_.remove_prefix(1);
      return true;
    }
    return false;
  }

  bool name() noexcept {
    if (eat('<')) {
      const std::size_t close = text_.find('>');
      if (close == std::string_view::npos) {
        return false;
      }
      text_.remove_prefix(close + 1);
      return true;
    }
    std::size_t length = 0;
    while (length < text_.size() && ((text_[length] >= 'A' && text_[length] <= 'Z') ||
                                     (text_[length] >= 'a' && text_[length] <= 'z'))) {
      ++length;
    }
    text_.remove_prefix(length);
    return length >= 3;
  }

  bool number(int& value) noexcept {
    std::size_t length = 0;
    value = 0;
    while (length < text_.size() && length < 4 && text_[length] >= '0' && text_[length] <= '9') {
      value = value * 10 + (text_[length] - '0');
      ++length;
    }
    text_.remove_prefix(length);
    return length > 0;
  }

  // [+-]hh[:mm[:ss]] as seconds.
  bool offset(std::int64_t& seconds) noexcept {
    const bool negative = eat('-');
    if (!negative) {
      eat('+');
    }
    int part = 0;
    if (!number(part)) {
      return false;
    }
    seconds = std::int64_t{part} * 3600;
    for (const int scale : {60, 1}) {
      if (!eat(':')) {
        break;
      }
      if (!number(part)) {
        return false;
      }
      seconds += std::int64_t{part} * scale;
    }
    if (negative) {
      seconds = -seconds;
    }
    return true;
  }

  bool change(PosixRule::Change& change) noexcept {
    if (eat('M')) {
      change.kind = 'M';
      if (!number(change.month) || !eat('.') || !number(change.week) || !eat('.') ||
          !number(change.day) || change.month < 1 || change.month > 12 || change.week < 1 ||
          change.week > 5 || change.day > 6) {
        return false;
      }
    } else if (eat('J')) {
      change.kind = 'J';
      if (!number(change.day) || change.day < 1 || change.day > 365) {
        return false;
      }
    } else {
      change.kind = 'N';
      if (!number(change.day) || change.day > 365) {
        return false;
      }
    }
    change.time = 7200;
    if (eat('/')) {
      return offset(change.time);
    }
    return true;
  }

  std::string_view text_;
};

/// The POSIX TZ rule at the end of the TZif file of zone `name` in `directory`, when the file
/// has one with daylight saving.
[[nodiscard]] inline std::optional<PosixRule> read_posix_rule(const std::string& directory,
                                                              const std::string& name) {
  std::ifstream file{directory + "/" + name, std::ios::binary};
  if (!file) {
    return std::nullopt;
  }
  const std::string content{std::istreambuf_iterator<char>{file}, {}};
  if (content.size() < 6 || content.compare(0, 4, "TZif") != 0 || content[4] < '2' ||
      content.back() != '\n') {
    return std::nullopt;
  }
  const std::size_t start = content.rfind('\n', content.size() - 2);
  if (start == std::string::npos) {
    return std::nullopt;
  }
  return PosixRuleParser{std::string_view{content}.substr(start + 1, content.size() - start - 2)}
      .parse();
}

}  // namespace apsched::detail::cron
