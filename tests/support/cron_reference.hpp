// SPDX-License-Identifier: MIT
// A brute-force model of cron expressions for the tests: random expressions generated together
// with the sets they mean, and a second-by-second (or minute-by-minute) walk through local time
// that applies the documented daylight-saving rules with date/tz directly.
#pragma once

#include <apsched/clock.hpp>

#include <date/date.h>
#include <date/tz.h>
#include <fmt/format.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace apsched::test {

/// One rule of a day field, as the reference understands it.
struct DayRule {
  enum class Kind {
    day,
    last,
    nearest,
    last_weekday,
    weekday,
    last_of_weekday,
    nth_weekday,
    nth_last_weekday
  };
  Kind kind;
  int a = 0;  // day, offset, or weekday (0 = Sunday)
  int b = 0;  // occurrence for nth_weekday and nth_last_weekday (1 = the last)
};

/// A random cron expression and the meaning the generator gave it.
struct ReferenceCron {
  std::string text;
  std::array<bool, 60> seconds{};
  std::array<bool, 60> minutes{};
  std::array<bool, 24> hours{};
  std::array<bool, 13> months{};
  std::vector<DayRule> day_of_month;
  std::vector<DayRule> day_of_week;
  bool either = false;  // both day fields restricted (neither text starts with * or ?)

  [[nodiscard]] bool hour_restricted() const {
    for (const bool h : hours) {
      if (!h) {
        return true;
      }
    }
    return false;
  }

  [[nodiscard]] static bool day_matches(const std::vector<DayRule>& rules, int day, int length,
                                        int weekday) {
    const auto weekday_of = [&](int d) { return ((weekday - (day - d)) % 7 + 7) % 7; };
    for (const DayRule& rule : rules) {
      switch (rule.kind) {
        case DayRule::Kind::day:
          if (rule.a == day) return true;
          break;
        case DayRule::Kind::last:
          if (day == length - rule.a) return true;
          break;
        case DayRule::Kind::nearest:
        case DayRule::Kind::last_weekday: {
          const int n = rule.kind == DayRule::Kind::nearest ? rule.a : length;
          if (n > length) break;
          int target = n;
          if (weekday_of(n) == 6) target = n == 1 ? 3 : n - 1;
          if (weekday_of(n) == 0) target = n == length ? n - 2 : n + 1;
          if (target == day) return true;
          break;
        }
        case DayRule::Kind::weekday:
          if (weekday == rule.a) return true;
          break;
        case DayRule::Kind::last_of_weekday:
          if (weekday == rule.a && day + 7 > length) return true;
          break;
        case DayRule::Kind::nth_weekday:
          if (weekday == rule.a && (day - 1) / 7 + 1 == rule.b) return true;
          break;
        case DayRule::Kind::nth_last_weekday:
          if (weekday == rule.a && (length - day) / 7 + 1 == rule.b) return true;
          break;
      }
    }
    return false;
  }

  /// Whether local second `local` (seconds since 1970-01-01 on the wall clock) matches.
  [[nodiscard]] bool matches(std::int64_t local) const {
    const date::local_seconds t{std::chrono::seconds{local}};
    const auto days = date::floor<date::days>(t);
    const date::year_month_day ymd{days};
    const date::hh_mm_ss<std::chrono::seconds> time{t - days};
    const auto month = static_cast<int>(unsigned{ymd.month()});
    const auto day = static_cast<int>(unsigned{ymd.day()});
    const auto length = static_cast<int>(
        unsigned{date::year_month_day_last{ymd.year() / ymd.month() / date::last}.day()});
    const auto weekday = static_cast<int>(date::weekday{days}.c_encoding());
    if (!seconds[static_cast<std::size_t>(time.seconds().count())] ||
        !minutes[static_cast<std::size_t>(time.minutes().count())] ||
        !hours[static_cast<std::size_t>(time.hours().count())] ||
        !months[static_cast<std::size_t>(month)]) {
      return false;
    }
    const bool dom = day_matches(day_of_month, day, length, weekday);
    const bool dow = day_matches(day_of_week, day, length, weekday);
    return either ? (dom || dow) : (dom && dow);
  }
};

/// Generates random crontab expressions with their meaning.
class CronGenerator {
 public:
  explicit CronGenerator(std::uint64_t seed) : random_{seed} {}

  /// A random expression; `with_seconds` gives 6 fields, else 5 (second 0). `hours_near`,
  /// when in 0-23, keeps hours within a few of it (to hit daylight-saving changes).
  ReferenceCron next(bool with_seconds, int hours_near = -1) {
    ReferenceCron cron;
    std::string text;
    if (with_seconds) {
      text += numeric(0, 59, cron.seconds.data(), 0) + " ";
    } else {
      cron.seconds[0] = true;
    }
    text += numeric(0, 59, cron.minutes.data(), 0) + " ";
    if (hours_near >= 0 && pick(3) != 0) {
      const int from = std::max(0, hours_near - 2);
      const int to = std::min(23, hours_near + 2);
      const int h = from + pick(to - from + 1);
      const int h2 = from + pick(to - from + 1);
      cron.hours[static_cast<std::size_t>(h)] = true;
      cron.hours[static_cast<std::size_t>(h2)] = true;
      text += h == h2 ? fmt::format("{} ", h) : fmt::format("{},{} ", h, h2);
    } else {
      text += numeric(0, 23, cron.hours.data(), 0) + " ";
    }
    bool dom_star = false;
    text += day_of_month(cron, dom_star) + " ";
    text += numeric(1, 12, cron.months.data(), 1) + " ";
    bool dow_star = false;
    text += day_of_week(cron, dow_star);
    cron.either = !dom_star && !dow_star;
    cron.text = text;
    return cron;
  }

  int pick(int n) { return std::uniform_int_distribution<int>{0, n - 1}(random_); }

  /// A random whole minute (UTC) in the `years` years from the start of `first_year`.
  TimePoint instant(int first_year, int years) {
    const date::sys_days base{date::year{first_year} / 1 / 1};
    return TimePoint{base} + std::chrono::minutes{pick(years * 366 * 24 * 60)};
  }

 private:
  // A list of *, a, a-b, */n, a-b/n, a/n (ranges may wrap) over [min, max]; marks `allowed`.
  std::string numeric(int min, int max, bool* allowed, int names, bool* starts_with_star = nullptr,
                      int allowed_max = -1) {
    static constexpr const char* month_names[] = {"",    "jan", "FEB", "Mar", "apr", "MAY", "jun",
                                                  "JUL", "aug", "Sep", "oct", "NOV", "dec"};
    // 7 is written as a number: SUN is 0, which differs from 7 as a range end.
    static constexpr const char* weekday_names[] = {"sun", "MON", "Tue", "wed",
                                                    "THU", "fri", "Sat"};
    const auto name = [&](int v) -> std::string {
      if (names == 1 && max == 12 && pick(3) == 0) return month_names[v];
      if (names == 2 && v < 7 && pick(3) == 0) return weekday_names[v];
      return std::to_string(v);
    };
    const auto mark = [&](int v) { allowed[v == 7 && allowed_max == 6 ? 0 : v] = true; };
    const int span = max - min + 1;
    const int items = 1 + (pick(3) == 0 ? pick(3) : 0);
    std::string text;
    for (int i = 0; i < items; ++i) {
      if (i > 0) text += ",";
      const int kind = pick(7);
      const int a = min + pick(span);
      const int b = min + pick(span);
      // A step fits in what it steps through: at most max - min for `*`, b - a for `a-b`.
      const int step = 1 + pick(std::min(span - 1, 15));
      if (kind == 0) {
        text += "*";
        for (int v = min; v <= max; ++v) mark(v);
      } else if (kind == 1 || kind == 2) {
        text += name(a);
        mark(a);
      } else if (kind == 3) {
        text += fmt::format("*/{}", step);
        for (int v = min; v <= max; v += step) mark(v);
      } else if (kind == 4 || kind == 5) {
        const int length = a <= b ? b - a : b - a + span;
        const int s = kind == 5 && length > 0 ? 1 + pick(std::min(length, 15)) : 1;
        text += name(a) + "-" + name(b) + (kind == 5 && length > 0 ? fmt::format("/{}", s) : "");
        for (int offset = 0; offset <= length; offset += s) {
          mark(a + offset > max ? a + offset - span : a + offset);
        }
      } else {
        text += fmt::format("{}/{}", a, step);
        for (int v = a; v <= max; v += step) mark(v);
      }
    }
    if (starts_with_star != nullptr) *starts_with_star = text.front() == '*';
    return text;
  }

  std::string day_of_month(ReferenceCron& cron, bool& star) {
    if (pick(4) != 0) {
      std::array<bool, 32> days{};
      std::string text = numeric(1, 31, days.data(), 0, &star);
      if (pick(5) == 0) {
        text = "?";
        star = true;
      }
      for (int d = 1; d <= 31; ++d) {
        if (days[static_cast<std::size_t>(d)] || text == "?") {
          cron.day_of_month.push_back({DayRule::Kind::day, d});
        }
      }
      return text;
    }
    star = false;
    switch (pick(4)) {
      case 0:
        cron.day_of_month.push_back({DayRule::Kind::last, 0});
        return "L";
      case 1: {
        const int offset = pick(31);
        cron.day_of_month.push_back({DayRule::Kind::last, offset});
        return fmt::format("L-{}", offset);
      }
      case 2: {
        const int day = 1 + pick(31);
        cron.day_of_month.push_back({DayRule::Kind::nearest, day});
        return fmt::format("{}W", day);
      }
      default:
        cron.day_of_month.push_back({DayRule::Kind::last_weekday, 0});
        return "LW";
    }
  }

  std::string day_of_week(ReferenceCron& cron, bool& star) {
    static constexpr const char* names[] = {"SUN", "mon", "TUE", "wed", "thu", "FRI", "sat"};
    if (pick(4) != 0) {
      std::array<bool, 8> weekdays{};
      std::string text = numeric(0, 7, weekdays.data(), 2, &star, 6);
      if (pick(5) == 0) {
        text = "?";
        star = true;
        weekdays.fill(true);
      }
      for (int w = 0; w < 7; ++w) {
        if (weekdays[static_cast<std::size_t>(w)]) {
          cron.day_of_week.push_back({DayRule::Kind::weekday, w});
        }
      }
      return text;
    }
    star = false;
    const int w = pick(7);
    const std::string weekday = pick(2) == 0 ? std::string{names[w]} : std::to_string(w);
    const int kind = pick(3);
    if (kind == 0) {
      cron.day_of_week.push_back({DayRule::Kind::last_of_weekday, w});
      return weekday + "L";
    }
    const int nth = 1 + pick(5);
    if (kind == 1) {
      cron.day_of_week.push_back({DayRule::Kind::nth_last_weekday, w, nth});
      return fmt::format("{}#-{}", weekday, nth);
    }
    cron.day_of_week.push_back({DayRule::Kind::nth_weekday, w, nth});
    return fmt::format("{}#{}", weekday, nth);
  }

  std::mt19937_64 random_;
};

/// The fire times of `cron` in zone `zone` within `[from, to]` (UTC), found by checking every
/// `step` (60 s when the second field is 0, else 1 s) and applying the documented rules:
/// a repeated wall time fires only in its first pass when `fold_once` and the hour field is
/// restricted; a transition instant fires when `shift_gaps` and the gap skipped a match.
inline std::vector<TimePoint> reference_fires(const ReferenceCron& cron,
                                              const date::time_zone& zone, TimePoint from,
                                              TimePoint to, std::chrono::seconds step,
                                              bool shift_gaps, bool fold_once) {
  std::vector<TimePoint> result;
  const bool once = fold_once && cron.hour_restricted();
  for (auto t = std::chrono::time_point_cast<std::chrono::seconds>(from); t <= to; t += step) {
    const date::sys_info info = zone.get_info(t);
    const std::int64_t utc = t.time_since_epoch().count();
    const std::int64_t local = utc + info.offset.count();
    bool fire = false;
    if (cron.matches(local)) {
      const date::local_info resolved =
          zone.get_info(date::local_seconds{std::chrono::seconds{local}});
      const bool second_pass = resolved.result == date::local_info::ambiguous &&
                               local - resolved.second.offset.count() == utc;
      fire = !(once && second_pass);
    }
    if (!fire && shift_gaps && info.begin == t) {
      const date::sys_info before = zone.get_info(t - std::chrono::seconds{1});
      for (std::int64_t l = utc + before.offset.count(); l < local && !fire; l += step.count()) {
        fire = cron.matches(l);
      }
    }
    if (fire) {
      result.emplace_back(t);
    }
  }
  return result;
}

/// The hour (0-23) the wall clock of `zone` shows at `t`.
inline int local_hour(const date::time_zone& zone, TimePoint t) {
  const auto seconds = std::chrono::floor<std::chrono::seconds>(t);
  const std::int64_t local =
      seconds.time_since_epoch().count() + zone.get_info(seconds).offset.count();
  return static_cast<int>((local % 86400 + 86400) % 86400 / 3600);
}

/// The UTC instants at which `zone` changes offset in [from, to).
inline std::vector<TimePoint> transitions(const date::time_zone& zone, TimePoint from,
                                          TimePoint to) {
  std::vector<TimePoint> result;
  for (auto t = std::chrono::time_point_cast<std::chrono::seconds>(from); t < to;) {
    t = zone.get_info(t).end;
    if (t < to) {
      result.emplace_back(t);
    }
  }
  return result;
}

}  // namespace apsched::test
