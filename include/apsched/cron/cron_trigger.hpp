// SPDX-License-Identifier: MIT
// CronTrigger: fires on the wall-clock times a cron expression names, in an IANA time zone.
#pragma once

#include <apsched/clock.hpp>
#include <apsched/cron/policies.hpp>
#include <apsched/detail/cron/parse.hpp>
#include <apsched/detail/cron/search.hpp>
#include <apsched/detail/cron/zone_cache.hpp>
#include <apsched/detail/format_time.hpp>
#include <apsched/error.hpp>
#include <apsched/trigger.hpp>

#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace apsched {

/// Optional settings of a CronTrigger.
///
/// Thread safety: not thread-safe (a plain value).
struct CronOptions {
  /// The IANA zone the fields are read in (`"Europe/Berlin"`, `"UTC"`). Empty: the local zone,
  /// resolved at construction: the TZ environment variable when it is set and not empty (an IANA
  /// name, a leading `:` ignored), read again by every construction, so a change of TZ applies to
  /// the triggers made after it; else the system setting (`/etc/localtime`), read once per
  /// process.
  std::string timezone{};
  /// No fire time is before this instant (inclusive). Empty: no start.
  std::optional<TimePoint> start_date{};
  /// No fire time is after this instant (inclusive). Empty: no end.
  std::optional<TimePoint> end_date{};
  /// Each run starts up to this much later than its fire time (applied by the scheduler).
  Duration jitter{};
  /// Wall times skipped by a daylight-saving change (with DstPolicy::separate).
  GapPolicy gap_policy = GapPolicy::shift;
  /// Wall times repeated by a daylight-saving change (with DstPolicy::separate).
  FoldPolicy fold_policy = FoldPolicy::once;
  /// Daylight-saving changes as a whole: DstPolicy::cron sets the gap and the fold rule at once,
  /// so gap_policy and fold_policy must then keep their defaults.
  DstPolicy dst_policy = DstPolicy::separate;
  /// How numbers in the day-of-week field are read.
  WeekdayNumbering weekday_numbering = WeekdayNumbering::cron;
};

/// The fields of an APScheduler-style cron trigger. Each is an expression in that field's
/// syntax; an empty string means "not given".
///
/// Every field takes `*`, `*/n`, `a`, `a-b`, `a-b/n`, `a/n` and comma-separated lists; `month`
/// takes `jan`-`dec`, `day_of_week` takes `sun`-`sat` (numbers: see WeekdayNumbering), `day`
/// also takes `last`, `last fri` and `1st`-`5th` + a weekday (`3rd fri`), `week` is the ISO
/// week (1-53). All fields must match (unlike a crontab's either-day rule). Fields more
/// significant than the least significant one given default to `*`; less significant ones to
/// their minimum (`week` and `day_of_week` to `*`); with no field given the trigger fires every
/// second, as in APScheduler.
///
/// Thread safety: not thread-safe (a plain value).
struct CronFields {
  std::string year{};
  std::string month{};
  std::string day{};
  std::string week{};
  std::string day_of_week{};
  std::string hour{};
  std::string minute{};
  std::string second{};
};

/// Fires at the wall-clock times a cron expression names, in an IANA time zone.
///
/// **Crontab strings** (from_crontab) are read by their number of fields:
/// - 5: `minute hour day-of-month month day-of-week`, as cron(5) (Vixie cron, cronie); fires at
///   second 0;
/// - 6: `second minute hour day-of-month month day-of-week` (Quartz, Spring order);
/// - 7: as 6 plus `year` (1970-2262) last;
/// - macros `@yearly @annually @monthly @weekly @daily @midnight @hourly` (any case), and
///   `@minutely` (`* * * * *`, second 0 of every minute) and `@secondly` (`* * * * * *`, every
///   second: 6-field crontab strings always have a seconds field here).
///
/// Each field is a comma-separated list of `*`, `a`, `a-b`, `*/n`, `a-b/n` and `a/n` (= `a-max/n`).
/// A range whose first value is larger wraps around (`22-2` = 22,23,0,1,2; `FRI-MON`), as in
/// Quartz, in crontab strings and CronFields alike; cronie rejects those. The step of `*/n` or
/// `a-b/n` must fit in what it steps through (at most max - min, or b - a counted around a
/// wrap): `*/60` minutes or `4-6/3` days would match their first value only, and are rejected
/// (as APScheduler does); `a/n` keeps Quartz's meaning whatever n is. Month and weekday names
/// are accepted in any case. Quartz extensions: `?` (day fields only) means the same as `*`;
/// day-of-month `L` (last day), `L-n` (n days before it), `nW` (the weekday nearest day n,
/// never leaving the month), `LW` (the last weekday), `L-nW` (the weekday nearest n days before
/// the last); day-of-week `nL` / `FRIL` (last Friday of the month), `n#k` / `FRI#2` (the k-th,
/// 1-5), `n#-k` / `FRI#-1` (the k-th from the month's end, -1 to -5: `FRI#-1` = `FRIL`, `FRI#-2`
/// the one before it), and `L` alone (every Saturday, as in Quartz). Numeric weekdays are cron's (0
/// or 7 = Sunday) unless CronOptions::weekday_numbering is WeekdayNumbering::quartz (1 = Sunday).
///
/// When both day fields are restricted a day matches if **either** matches (cron(5)); a day
/// field whose text starts with `*` or `?` counts as unrestricted, exactly as cronie reads it, so
/// `0 0 */2 * MON` fires on odd days that are Mondays. This holds in the 6- and 7-field forms
/// too (Quartz rejects two restricted day fields; apsched gives them cron's meaning).
///
/// **Time zones**: fields are wall-clock time in CronOptions::timezone (empty: the local zone, from
/// TZ, read at each construction, or the system setting, read once per process). Daylight-saving
/// gaps and folds follow GapPolicy and FoldPolicy, or cron(8)'s split rule (DstPolicy::cron). Zones
/// come from the system tz database, read once per zone and process into a table of offsets up to
/// 2262; past the last transition a TZif file lists (2037 for most zones), which date/tz's
/// system-database mode stops at, apsched follows the zone's POSIX rule from the end of that
/// file, as zic intends.
///
/// **Where cron(5), Quartz and APScheduler disagree**, apsched chooses:
/// - two restricted day fields: either matches (cron) in crontab strings of any length; Quartz
///   rejects them; CronFields requires both (APScheduler);
/// - numeric weekdays: cron's 0/7 = Sunday unless WeekdayNumbering::quartz; APScheduler 3's
///   0 = Monday is not offered (CronFields follows APScheduler 4);
/// - 6 fields mean seconds first (Quartz, Spring), never a trailing year;
/// - reversed ranges wrap (Quartz) instead of being rejected (cronie);
/// - a gap shifts fixed times (cron(8)) instead of skipping them (APScheduler 4), and a fold
///   fires restricted hours once (cron(8), systemd) instead of twice (APScheduler); both can
///   be switched, separately or together to cron(8)'s split rule (DstPolicy::cron);
/// - `@reboot` is rejected: a scheduler has no boot to fire at;
/// - `n#-k` counts from the month's end (k = 1-5), an extension neither cron(5) nor Quartz has;
///   `@minutely` and `@secondly` exist in some cron libraries, not in cron(5).
///
/// Besides the next fire time, previous_fire_time gives the latest one at or before an instant,
/// under the same fields, zone and daylight-saving rules. Fire times are whole seconds. Every
/// search is bounded: an expression that can never fire (`0 0 30 2 *`) is rejected at
/// construction, and searches end at year 2262 (the end of TimePoint).
///
/// @code
/// auto weekdays = apsched::CronTrigger::from_crontab("0 0 12 * * MON-FRI",
///                                                    {.timezone = "Europe/Berlin"});
/// apsched::CronTrigger third_friday{{.day = "3rd fri", .hour = "9"}};
/// @endcode
///
/// Thread safety: const-thread-safe (immutable after construction; copies share compiled state).
class CronTrigger {
 public:
  /// A trigger from a crontab line (see the class documentation for the syntax).
  /// @throws InvalidTriggerError naming the expression, the field, the token and the allowed
  ///         values, or the options in conflict (DstPolicy::cron with a gap_policy or
  ///         fold_policy other than the default), or UnknownTimeZoneError for a zone the database
  ///         does not know.
  [[nodiscard]] static CronTrigger from_crontab(std::string_view expression,
                                                CronOptions options = {}) {
    const bool quartz = options.weekday_numbering == WeekdayNumbering::quartz;
    return CronTrigger{detail::cron::parse_crontab(expression, quartz), std::string{expression},
                       std::move(options), "from_crontab"};
  }

  /// from_crontab for input that may be invalid: empty instead of an InvalidTriggerError
  /// (UnknownTimeZoneError included).
  [[nodiscard]] static std::optional<CronTrigger> try_from_crontab(std::string_view expression,
                                                                   CronOptions options = {}) {
    try {
      return from_crontab(expression, std::move(options));
    } catch (const InvalidTriggerError&) {
      return std::nullopt;
    }
  }

  /// A trigger from APScheduler-style fields (see CronFields).
  /// @throws InvalidTriggerError naming the field, the token and the allowed values, or the
  ///         options in conflict (as from_crontab), or UnknownTimeZoneError.
  explicit CronTrigger(const CronFields& fields, CronOptions options = {})
      : CronTrigger{parse(fields, options), describe_fields(fields), std::move(options),
                    "CronTrigger", fields} {}

  /// See Trigger: the first fire time at or after `now` and `start_date`, strictly after
  /// `previous`, and not after `end_date`.
  [[nodiscard]] std::optional<TimePoint> next_fire_time(std::optional<TimePoint> previous,
                                                        TimePoint now) const noexcept {
    const State& state = *state_;
    const std::optional<TimePoint> at_least =
        detail::cron::earliest_allowed(previous, now, state.start);
    if (!at_least) {
      return std::nullopt;
    }
    const std::optional<std::int64_t> fire = detail::cron::next_fire_second(
        state.spec, *state.zone, state.rules, detail::cron::ceil_seconds(*at_least));
    if (!fire) {
      return std::nullopt;
    }
    const std::optional<TimePoint> result = detail::cron::second_to_time_point(*fire);
    if (!result || *result > state.end) {
      return std::nullopt;
    }
    return result;
  }

  /// The latest fire time at or before `t`: the largest instant at or before `t` that
  /// next_fire_time gives when chained from far enough back, so under every daylight-saving
  /// policy (a gap's shifted fire, a fold's second pass) exactly the instants the forward search
  /// produces. Empty when there is none: before start_date or the first year a year field allows.
  /// Instants after end_date are never returned (`t` past it answers the last one up to it).
  /// Costs about as much as next_fire_time; may be called concurrently (a const member).
  ///
  /// @code
  /// auto friday = apsched::CronTrigger::from_crontab("0 18 * * FRI#-1", {.timezone = "UTC"});
  /// // 18:00 UTC on the last Friday of this month, or of the last month if that is still ahead:
  /// auto last = friday.previous_fire_time(std::chrono::system_clock::now());
  /// @endcode
  [[nodiscard]] std::optional<TimePoint> previous_fire_time(TimePoint t) const noexcept {
    const State& state = *state_;
    const TimePoint at_most = std::min(t, state.end);
    if (at_most < state.start) {
      return std::nullopt;
    }
    const std::optional<std::int64_t> fire = detail::cron::previous_fire_second(
        state.spec, *state.zone, state.rules, detail::cron::floor_seconds(at_most));
    if (!fire) {
      return std::nullopt;
    }
    const std::optional<TimePoint> result = detail::cron::second_to_time_point(*fire);
    if (!result || *result < state.start) {
      return std::nullopt;
    }
    return result;
  }

  /// The expression as given (crontab text, or the fields as `name="value"` pairs).
  [[nodiscard]] const std::string& expression() const noexcept { return state_->expression; }
  /// The IANA name of the zone the fields are read in (the local zone's name if none was given).
  [[nodiscard]] const std::string& timezone() const noexcept { return state_->zone->name; }
  /// The start date, if one was given.
  [[nodiscard]] std::optional<TimePoint> start_date() const noexcept {
    return state_->options.start_date;
  }
  /// The end date, if one was given.
  [[nodiscard]] std::optional<TimePoint> end_date() const noexcept {
    return state_->options.end_date;
  }
  /// The jitter (see Trigger).
  [[nodiscard]] Duration jitter() const noexcept { return state_->options.jitter; }
  /// The daylight-saving policies (gap_policy and fold_policy apply with DstPolicy::separate).
  [[nodiscard]] GapPolicy gap_policy() const noexcept { return state_->options.gap_policy; }
  [[nodiscard]] FoldPolicy fold_policy() const noexcept { return state_->options.fold_policy; }
  /// Whether gap_policy and fold_policy apply or cron(8)'s split rule (see DstPolicy).
  [[nodiscard]] DstPolicy dst_policy() const noexcept { return state_->options.dst_policy; }
  /// How numbers in the day-of-week field are read.
  [[nodiscard]] WeekdayNumbering weekday_numbering() const noexcept {
    return state_->options.weekday_numbering;
  }
  /// The fields the trigger was built from, or empty when it was built by from_crontab (then
  /// expression() is the crontab text).
  [[nodiscard]] const std::optional<CronFields>& fields() const noexcept { return state_->fields; }

  /// For listings: `cron[0 0 12 * * MON-FRI, tz=Europe/Berlin]`, with start, end and jitter
  /// when set.
  [[nodiscard]] std::string describe() const {
    const State& state = *state_;
    std::string text = fmt::format("cron[{}, tz={}", state.expression, state.zone->name);
    if (state.options.start_date) {
      text += fmt::format(", start={}", detail::format_time(*state.options.start_date));
    }
    if (state.options.end_date) {
      text += fmt::format(", end={}", detail::format_time(*state.options.end_date));
    }
    if (state.options.jitter != Duration::zero()) {
      text += fmt::format(", jitter={}", detail::format_duration(state.options.jitter));
    }
    return text + "]";
  }

 private:
  struct State {
    State(const detail::cron::CronSpec& compiled, const detail::cron::ZoneTable& table,
          detail::cron::DstRules dst_rules, CronOptions&& given, std::string&& text,
          std::optional<CronFields>&& given_fields)
        : spec{compiled},
          zone{&table},
          rules{dst_rules},
          start{given.start_date.value_or(TimePoint::min())},
          end{given.end_date.value_or(TimePoint::max())},
          options{std::move(given)},
          expression{std::move(text)},
          fields{std::move(given_fields)} {}

    detail::cron::CronSpec spec;
    // From the zone cache, which keeps every table until the process ends.
    const detail::cron::ZoneTable* zone;
    detail::cron::DstRules rules;
    TimePoint start;
    TimePoint end;
    CronOptions options;
    std::string expression;
    std::optional<CronFields> fields;  // as given to the CronFields constructor
  };

  CronTrigger(const detail::cron::CronSpec& spec, std::string expression, CronOptions options,
              std::string_view call, std::optional<CronFields> fields = std::nullopt) {
    if (options.start_date && options.end_date && *options.end_date < *options.start_date) {
      throw InvalidTriggerError{fmt::format(
          "{}: end_date {} is before start_date {}; expected end_date >= start_date", call,
          detail::format_time(*options.end_date), detail::format_time(*options.start_date))};
    }
    if (options.jitter < Duration::zero()) {
      throw InvalidTriggerError{fmt::format("{}: jitter {} is negative; expected a duration >= 0",
                                            call, detail::format_duration(options.jitter))};
    }
    const bool cron_dst = options.dst_policy == DstPolicy::cron;
    if (cron_dst &&
        (options.gap_policy != GapPolicy::shift || options.fold_policy != FoldPolicy::once)) {
      throw InvalidTriggerError{fmt::format(
          "{}: dst_policy cron sets the gap and fold rules itself, but gap_policy is {} and "
          "fold_policy is {}; expected gap_policy shift and fold_policy once (the defaults) with "
          "dst_policy cron",
          call, options.gap_policy == GapPolicy::shift ? "shift" : "skip",
          options.fold_policy == FoldPolicy::once ? "once" : "both")};
    }
    const detail::cron::ZoneTable& zone =
        detail::cron::load_zone(options.timezone, call, "CronOptions::timezone");
    detail::cron::DstRules rules;
    if (cron_dst) {
      // cron(8) runs a fixed-time job's skipped times after a gap and not again in a fold, and a
      // wildcard job only at the times the wall clock shows.
      rules.shift_gaps = !spec.minute_or_hour_wildcard;
      rules.fold_once = !spec.minute_or_hour_wildcard;
    } else {
      rules.shift_gaps = options.gap_policy == GapPolicy::shift;
      rules.fold_once = options.fold_policy == FoldPolicy::once && spec.hour_restricted();
    }
    state_ = std::make_shared<const State>(spec, zone, rules, std::move(options),
                                           std::move(expression), std::move(fields));
  }

  static detail::cron::CronSpec parse(const CronFields& fields, const CronOptions& options) {
    return detail::cron::parse_fields(
        {fields.year, fields.month, fields.day, fields.week, fields.day_of_week, fields.hour,
         fields.minute, fields.second},
        options.weekday_numbering == WeekdayNumbering::quartz);
  }

  static std::string describe_fields(const CronFields& fields) {
    const std::array<std::pair<std::string_view, const std::string*>, 8> named{{
        {"year", &fields.year},
        {"month", &fields.month},
        {"day", &fields.day},
        {"week", &fields.week},
        {"day_of_week", &fields.day_of_week},
        {"hour", &fields.hour},
        {"minute", &fields.minute},
        {"second", &fields.second},
    }};
    std::string text;
    for (const auto& [name, value] : named) {
      if (!value->empty()) {
        text += fmt::format("{}{}=\"{}\"", text.empty() ? "" : " ", name, *value);
      }
    }
    return text.empty() ? std::string{"(every second)"} : text;
  }

  std::shared_ptr<const State> state_;
};

static_assert(Trigger<CronTrigger>);
static_assert(JitteredTrigger<CronTrigger>);
static_assert(DescribedTrigger<CronTrigger>);

}  // namespace apsched
