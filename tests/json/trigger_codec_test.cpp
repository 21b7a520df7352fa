// SPDX-License-Identifier: MIT
#include <apsched/json/trigger_codec.hpp>

#include "support/catch.hpp"
#include "support/cron_time.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <latch>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <typeinfo>
#include <utility>
#include <vector>

namespace json_trigger_codec_test {

using namespace std::chrono_literals;
using apsched::AndOptions;
using apsched::AndTrigger;
using apsched::AnyTrigger;
using apsched::CalendarIntervalOptions;
using apsched::CalendarIntervalTrigger;
using apsched::CronFields;
using apsched::CronOptions;
using apsched::CronTrigger;
using apsched::DailyWindow;
using apsched::DateTrigger;
using apsched::DstPolicy;
using apsched::Duration;
using apsched::Exclusions;
using apsched::ExclusionTrigger;
using apsched::FoldPolicy;
using apsched::GapPolicy;
using apsched::IntervalOptions;
using apsched::IntervalTrigger;
using apsched::MissingDayPolicy;
using apsched::OrOptions;
using apsched::OrTrigger;
using apsched::SerializationError;
using apsched::TimePoint;
using apsched::TimeRange;
using apsched::TriggerCodecs;
using apsched::WeekdayNumbering;
using apsched::test::contains;
using apsched::test::utc;
using nlohmann::json;

namespace {

const TriggerCodecs& codecs() { return TriggerCodecs::builtin(); }

// The first `count` fire times of `trigger` from `now`, chained as the scheduler does.
std::vector<std::optional<TimePoint>> sequence(const AnyTrigger& trigger, TimePoint now,
                                               int count) {
  std::vector<std::optional<TimePoint>> result;
  std::optional<TimePoint> previous;
  for (int i = 0; i < count; ++i) {
    previous = trigger.next_fire_time(previous, previous.value_or(now));
    result.push_back(previous);
    if (!previous) {
      break;
    }
  }
  return result;
}

// Encodes `original`, stores the JSON as text and reads it back, decodes it and encodes the
// result again: both encodings must be identical, and the decoded trigger must fire exactly
// like the original for `count` steps from each of `starts`. Returns the encoding.
json round_trip(const AnyTrigger& original, const std::vector<TimePoint>& starts, int count = 60,
                const TriggerCodecs& registry = TriggerCodecs::builtin()) {
  const json encoded = registry.encode(original);
  const AnyTrigger decoded = registry.decode(json::parse(encoded.dump()));
  CHECK(registry.encode(decoded) == encoded);
  CHECK(registry.encode(decoded).dump() == encoded.dump());
  CHECK(decoded.jitter() == original.jitter());
  for (const TimePoint start : starts) {
    const auto expected = sequence(original, start, count);
    CHECK(sequence(decoded, start, count) == expected);
  }
  return encoded;
}

CronOptions zone(const char* name, GapPolicy gap = GapPolicy::shift,
                 FoldPolicy fold = FoldPolicy::once) {
  CronOptions options;
  options.timezone = name;
  options.gap_policy = gap;
  options.fold_policy = fold;
  return options;
}

const std::vector<TimePoint> dst_starts{utc("2024-03-01"), utc("2024-10-20"),
                                        utc("2025-03-05 12:34:56")};

// A user trigger: fires every n-th minute of the hour (n >= 1), with an offset in seconds.
class EveryNthMinute {
 public:
  EveryNthMinute(int n, int offset) : n_{n}, offset_{offset} {}
  [[nodiscard]] std::optional<TimePoint> next_fire_time(std::optional<TimePoint> previous,
                                                        TimePoint now) const {
    TimePoint t = std::chrono::ceil<std::chrono::minutes>(previous ? *previous + 1s : now);
    while (std::chrono::duration_cast<std::chrono::minutes>(t.time_since_epoch()).count() % n_ !=
           0) {
      t += 1min;
    }
    return t + std::chrono::seconds{offset_};
  }
  [[nodiscard]] int n() const { return n_; }
  [[nodiscard]] int offset() const { return offset_; }

 private:
  int n_;
  int offset_;
};

TriggerCodecs with_user_trigger() {
  TriggerCodecs registry = TriggerCodecs::builtin();
  registry.add<EveryNthMinute>(
      "every_nth_minute",
      [](const EveryNthMinute& t) {
        return json{{"n", t.n()}, {"offset", t.offset()}};
      },
      [](const json& j) {
        return EveryNthMinute{j.at("n").get<int>(), j.at("offset").get<int>()};
      });
  return registry;
}

}  // namespace

TEST_CASE("json: the stored names of trigger settings are their to_string names",
          "[json][trigger_codec]") {
  const auto same = [](const auto& names) {
    for (const auto& [name, value] : names) {
      CHECK(name == apsched::to_string(value));
    }
  };
  same(apsched::detail::json::gap_policy_names<apsched::GapPolicy>);
  same(apsched::detail::json::fold_policy_names<apsched::FoldPolicy>);
  same(apsched::detail::json::dst_policy_names<apsched::DstPolicy>);
  same(apsched::detail::json::weekday_numbering_names<apsched::WeekdayNumbering>);
  same(apsched::detail::json::missing_day_names<apsched::MissingDayPolicy>);
}

TEST_CASE("json: date trigger encodes its instant in RFC 3339 with exact fractions",
          "[json][trigger_codec]") {
  const TimePoint nine = utc("2026-12-01 09:00:00");
  CHECK(round_trip(DateTrigger{nine}, {utc("2026-01-01")}) ==
        json{{"type", "date"}, {"run_date", "2026-12-01T09:00:00Z"}});
  CHECK(round_trip(DateTrigger{nine + 1ns}, {utc("2026-01-01")})["run_date"] ==
        "2026-12-01T09:00:00.000000001Z");
  CHECK(round_trip(DateTrigger{nine + 500ms}, {utc("2026-01-01")})["run_date"] ==
        "2026-12-01T09:00:00.500Z");
  CHECK(round_trip(DateTrigger{nine + 1234us}, {utc("2026-01-01")})["run_date"] ==
        "2026-12-01T09:00:00.001234Z");
  CHECK(round_trip(DateTrigger{utc("1969-12-31 23:59:59") + 1ns},
                   {utc("1960-01-01")})["run_date"] == "1969-12-31T23:59:59.000000001Z");
  // Past the run date the sequence is empty, for the original and the decoded trigger alike.
  round_trip(DateTrigger{nine}, {utc("2027-01-01")});
}

TEST_CASE("json: encode_text writes exactly the dump of encode", "[json][trigger_codec]") {
  const TimePoint nine = utc("2026-12-01 09:00:00");
  const std::vector<AnyTrigger> triggers{
      DateTrigger{nine},
      DateTrigger{nine + 1ns},
      DateTrigger{nine + 500ms},
      DateTrigger{nine + 1234us},
      DateTrigger{utc("1969-12-31 23:59:59") + 1ns},
      DateTrigger{TimePoint{}},
      IntervalTrigger{90s, IntervalOptions{.start_date = nine, .jitter = 2s}},
      CronTrigger::from_crontab("0 9 * * MON-FRI", zone("Europe/Berlin")),
      AndTrigger{IntervalTrigger{1h}, DateTrigger{nine}},
      ExclusionTrigger{DateTrigger{nine}, Exclusions{.timezone = "UTC"}}};
  TriggerCodecs registry = with_user_trigger();
  registry.add_composite<AndTrigger<IntervalTrigger, DateTrigger>>();
  for (const AnyTrigger& trigger : triggers) {
    CHECK(registry.encode_text(trigger) == registry.encode(trigger).dump());
  }
  CHECK(registry.encode_text(AnyTrigger{EveryNthMinute{3, 5}}) ==
        R"({"n":3,"offset":5,"type":"every_nth_minute"})");
  CHECK(registry.encode_text(AnyTrigger{DateTrigger{nine}}) ==
        R"({"run_date":"2026-12-01T09:00:00Z","type":"date"})");
  // A registry whose own codec encodes DateTrigger writes that codec's object.
  TriggerCodecs own;
  own.add<DateTrigger>(
      "at",
      [](const DateTrigger& t) {
        return json{{"ns", t.run_date().time_since_epoch().count()}};
      },
      [](const json& j) {
        return DateTrigger{TimePoint{Duration{j.at("ns").get<std::int64_t>()}}};
      });
  CHECK(own.encode_text(AnyTrigger{DateTrigger{TimePoint{Duration{42}}}}) ==
        R"({"ns":42,"type":"at"})");
  REQUIRE_THROWS_AS(TriggerCodecs{}.encode_text(AnyTrigger{DateTrigger{nine}}), SerializationError);
}

TEST_CASE("json: date trigger decodes any RFC 3339 offset and fraction length",
          "[json][trigger_codec]") {
  const auto run_date = [](const char* text) {
    const AnyTrigger trigger = codecs().decode(json{{"type", "date"}, {"run_date", text}});
    return trigger.target<DateTrigger>()->run_date();
  };
  CHECK(run_date("2026-12-01T10:00:00+01:00") == utc("2026-12-01 09:00:00"));
  CHECK(run_date("2026-12-01t04:30:00.25-04:30") == utc("2026-12-01 09:00:00") + 250ms);
  CHECK(run_date("2026-12-01T09:00:00.1z") == utc("2026-12-01 09:00:00") + 100ms);
  CHECK(run_date("2262-04-11T23:47:16.854775807Z") == TimePoint::max());
  CHECK(run_date("1677-09-21T00:12:43.145224192Z") == TimePoint::min());
  round_trip(DateTrigger{TimePoint::max()}, {utc("2026-01-01")});
  round_trip(DateTrigger{TimePoint::min()}, {TimePoint::min()});
  for (const char* bad :
       {"2026-12-01 09:00:00Z", "2026-12-01T09:00:00", "2026-02-30T09:00:00Z",
        "2026-12-01T23:59:60Z", "2026-12-01T09:00:00.1234567890Z", "2026-12-01T09:00:00.Z",
        "2026-12-01T24:00:00Z", "2262-04-11T23:47:16.854775808Z", "1677-09-21T00:12:43.145224191Z",
        "26-12-01T09:00:00Z", "2026-12-01T09:00:00+0100", "2026-12-01T09:00:00Zjunk"}) {
    CAPTURE(bad);
    REQUIRE_THROWS_AS(codecs().decode(json{{"type", "date"}, {"run_date", bad}}),
                      SerializationError);
    REQUIRE_THROWS_WITH(codecs().decode(json{{"type", "date"}, {"run_date", bad}}),
                        contains("decode: field \"run_date\" of the date trigger is \"" +
                                 std::string{bad} + "\"; expected an RFC 3339 time string"));
  }
}

TEST_CASE("json: interval trigger round-trips with and without start, end and jitter",
          "[json][trigger_codec]") {
  const std::vector<TimePoint> starts{utc("2024-01-01"), utc("2024-06-30 23:59:59") + 7ns};
  CHECK(round_trip(IntervalTrigger{90s}, starts) ==
        json{{"type", "interval"}, {"interval_ns", 90'000'000'000}, {"jitter_ns", 0}});
  IntervalOptions options;
  options.start_date = utc("2024-01-01 00:00:00") + 3ns;
  options.end_date = utc("2024-01-03 12:00:00");
  options.jitter = 1500ms;
  const json encoded = round_trip(IntervalTrigger{std::chrono::hours{1} + 7ns, options}, starts);
  CHECK(encoded == json{{"type", "interval"},
                        {"interval_ns", 3'600'000'000'007},
                        {"start_date", "2024-01-01T00:00:00.000000003Z"},
                        {"end_date", "2024-01-03T12:00:00Z"},
                        {"jitter_ns", 1'500'000'000}});
  options.start_date = utc("2030-01-01");
  options.end_date.reset();
  round_trip(IntervalTrigger{std::chrono::weeks{2}, options}, starts);
  round_trip(IntervalTrigger{1ns, {.start_date = utc("2024-01-01")}}, starts);
}

TEST_CASE("json: cron trigger round-trips crontab strings in several zones and DST policies",
          "[json][trigger_codec][cron]") {
  const std::vector<const char*> expressions{
      "30 2 * * *",      "*/15 * * * *",  "0 9 * * MON-FRI",
      "30 1 * * SUN",    "0 0 12 * * ?",  "0 30 2 ? * 6L 2024-2026",
      "0 0 8 L * ?",     "0 0 8 15W * ?", "0 0 8 LW * ?",
      "0 0 8 ? * FRI#3", "0 0 8 L-3 * ?", "0 0 0 */2 * MON",
      "@daily",          "@hourly",       "0 22-2 * * *",
      "5,10-12 3 * * *"};
  const std::vector<const char*> zones{"UTC", "Europe/Berlin", "America/New_York",
                                       "Australia/Lord_Howe", "Asia/Kolkata"};
  for (const char* expression : expressions) {
    for (const char* zone_name : zones) {
      for (const GapPolicy gap : {GapPolicy::shift, GapPolicy::skip}) {
        for (const FoldPolicy fold : {FoldPolicy::once, FoldPolicy::both}) {
          CAPTURE(expression, zone_name, static_cast<int>(gap), static_cast<int>(fold));
          const json encoded = round_trip(
              CronTrigger::from_crontab(expression, zone(zone_name, gap, fold)), dst_starts, 50);
          CHECK(encoded["crontab"] == expression);
          CHECK(encoded["timezone"] == zone_name);
        }
      }
    }
  }
}

TEST_CASE("json: cron trigger encodes every option and its JSON shape is documented",
          "[json][trigger_codec][cron]") {
  CronOptions options = zone("Europe/Berlin", GapPolicy::skip, FoldPolicy::both);
  options.start_date = utc("2024-03-01 00:00:00") + 5us;
  options.end_date = utc("2025-03-01");
  options.jitter = 30s;
  options.weekday_numbering = WeekdayNumbering::quartz;
  const json encoded =
      round_trip(CronTrigger::from_crontab("0 30 2 * * 1,7", options), dst_starts, 60);
  CHECK(encoded == json{{"type", "cron"},
                        {"crontab", "0 30 2 * * 1,7"},
                        {"timezone", "Europe/Berlin"},
                        {"start_date", "2024-03-01T00:00:00.000005Z"},
                        {"end_date", "2025-03-01T00:00:00Z"},
                        {"jitter_ns", 30'000'000'000},
                        {"gap_policy", "skip"},
                        {"fold_policy", "both"},
                        {"weekday_numbering", "quartz"}});
  // Quartz numbering changes the meaning of the same text, so it must survive the round trip.
  const AnyTrigger decoded = codecs().decode(encoded);
  const AnyTrigger cron_numbering = CronTrigger::from_crontab(
      "0 30 2 * * 1,7", {.timezone = "Europe/Berlin", .start_date = options.start_date});
  CHECK(sequence(decoded, utc("2024-04-01"), 5) != sequence(cron_numbering, utc("2024-04-01"), 5));
}

TEST_CASE("json: cron trigger built from fields round-trips as fields",
          "[json][trigger_codec][cron]") {
  const std::vector<CronFields> all_fields{
      {.day = "3rd fri", .hour = "9"},
      {.day = "last", .hour = "18", .minute = "30"},
      {.day = "last fri", .hour = "2", .minute = "30"},
      {.year = "2024-2030", .month = "jan,jul", .day = "1"},
      {.week = "1-10", .day_of_week = "mon", .hour = "2", .minute = "15"},
      {.day_of_week = "1-5", .hour = "*/3"},
      {.second = "*/20"},
      {},
  };
  for (const CronFields& fields : all_fields) {
    for (const char* zone_name : {"UTC", "Europe/Berlin", "America/New_York"}) {
      for (const WeekdayNumbering numbering : {WeekdayNumbering::cron, WeekdayNumbering::quartz}) {
        CronOptions options = zone(zone_name);
        options.weekday_numbering = numbering;
        CAPTURE(zone_name, CronTrigger{fields, options}.expression());
        const json encoded = round_trip(CronTrigger{fields, options}, dst_starts, 50);
        CHECK_FALSE(encoded.contains("crontab"));
        CHECK(encoded.contains("fields"));
      }
    }
  }
  CHECK(codecs().encode(CronTrigger{{.day = "3rd fri", .hour = "9"}, zone("UTC")})["fields"] ==
        json{{"day", "3rd fri"}, {"hour", "9"}});
  CHECK(codecs().encode(CronTrigger{{}, zone("UTC")})["fields"] == json::object());
}

TEST_CASE("json: cron trigger round-trips DstPolicy::cron and omits the default",
          "[json][trigger_codec][cron]") {
  struct Job {
    const char* expression;
    bool wildcard;  // cron(8)'s wildcard job: skips a gap's times where the default shifts them
  };
  for (const auto& [expression, wildcard] : {Job{"30 2 * * *", false}, Job{"30 1 * * *", false},
                                             Job{"*/30 2 * * *", true}, Job{"30 * * * *", true}}) {
    for (const char* zone_name : {"Europe/Berlin", "America/New_York"}) {
      CAPTURE(expression, zone_name);
      CronOptions options = zone(zone_name);
      options.dst_policy = DstPolicy::cron;
      const json encoded =
          round_trip(CronTrigger::from_crontab(expression, options), dst_starts, 50);
      CHECK(encoded["dst_policy"] == "cron");
      const AnyTrigger decoded = codecs().decode(encoded);
      CHECK(decoded.target<CronTrigger>()->dst_policy() == DstPolicy::cron);
      // Its fires differ from the default's, so the policy must survive the round trip (checked
      // from before each zone's 2024 spring-forward).
      if (wildcard) {
        const TimePoint before = utc(zone_name[0] == 'E' ? "2024-03-30" : "2024-03-09");
        CHECK(sequence(decoded, before, 50) !=
              sequence(CronTrigger::from_crontab(expression, zone(zone_name)), before, 50));
      }
    }
  }
  CronOptions options = zone("Europe/Berlin");
  options.dst_policy = DstPolicy::cron;
  const json encoded =
      round_trip(CronTrigger{{.hour = "2", .minute = "*/30"}, options}, dst_starts, 50);
  CHECK(encoded == json{{"type", "cron"},
                        {"fields", {{"hour", "2"}, {"minute", "*/30"}}},
                        {"timezone", "Europe/Berlin"},
                        {"jitter_ns", 0},
                        {"gap_policy", "shift"},
                        {"fold_policy", "once"},
                        {"dst_policy", "cron"},
                        {"weekday_numbering", "cron"}});
  // Triggers stored before dst_policy existed decode unchanged, and encode without it.
  const json stored{{"type", "cron"},
                    {"crontab", "30 2 * * *"},
                    {"timezone", "UTC"},
                    {"jitter_ns", 0},
                    {"gap_policy", "shift"},
                    {"fold_policy", "once"},
                    {"weekday_numbering", "cron"}};
  const AnyTrigger decoded = codecs().decode(stored);
  CHECK(decoded.target<CronTrigger>()->dst_policy() == DstPolicy::separate);
  CHECK(codecs().encode(decoded) == stored);
  json explicit_default = stored;
  explicit_default["dst_policy"] = "separate";
  CHECK(codecs().encode(codecs().decode(explicit_default)) == stored);

  json unknown = stored;
  unknown["dst_policy"] = "vixie";
  REQUIRE_THROWS_AS(codecs().decode(unknown), SerializationError);
  REQUIRE_THROWS_WITH(codecs().decode(unknown),
                      contains("field \"dst_policy\" of the cron trigger is \"vixie\"; expected "
                               "one of \"separate\", \"cron\""));
  json conflicting = stored;
  conflicting["dst_policy"] = "cron";
  conflicting["fold_policy"] = "both";
  REQUIRE_THROWS_AS(codecs().decode(conflicting), SerializationError);
  REQUIRE_THROWS_WITH(codecs().decode(conflicting),
                      contains("decode: the \"cron\" trigger is invalid: from_crontab: dst_policy "
                               "cron sets the gap and fold rules itself"));
}

TEST_CASE("json: cron trigger for the local zone is encoded with the zone's resolved name",
          "[json][trigger_codec][cron]") {
  const CronTrigger local = CronTrigger::from_crontab("0 9 * * *");
  const json encoded = round_trip(local, {utc("2024-01-01")});
  CHECK(encoded["timezone"] == local.timezone());
  CHECK_FALSE(local.timezone().empty());
}

TEST_CASE("json: calendar interval trigger round-trips every setting", "[json][trigger_codec]") {
  CalendarIntervalOptions options;
  options.months = 1;
  options.hour = 2;
  options.minute = 30;
  options.start_date = std::chrono::year{2024} / 1 / 31;
  options.timezone = "Europe/Berlin";
  for (const MissingDayPolicy missing : {MissingDayPolicy::skip, MissingDayPolicy::clamp}) {
    for (const GapPolicy gap : {GapPolicy::shift, GapPolicy::skip}) {
      for (const FoldPolicy fold : {FoldPolicy::once, FoldPolicy::both}) {
        options.missing_day = missing;
        options.gap_policy = gap;
        options.fold_policy = fold;
        round_trip(CalendarIntervalTrigger{options}, dst_starts, 50);
      }
    }
  }
  CalendarIntervalOptions daily;
  daily.days = 1;
  daily.hour = 1;
  daily.minute = 30;
  daily.start_date = std::chrono::year{2024} / 10 / 1;
  daily.end_date = std::chrono::year{2025} / 4 / 1;
  daily.timezone = "America/New_York";
  daily.fold_policy = FoldPolicy::both;
  daily.jitter = 10min;
  const json encoded = round_trip(CalendarIntervalTrigger{daily}, dst_starts, 60);
  CHECK(encoded == json{{"type", "calendar_interval"},
                        {"years", 0},
                        {"months", 0},
                        {"weeks", 0},
                        {"days", 1},
                        {"hour", 1},
                        {"minute", 30},
                        {"second", 0},
                        {"start_date", "2024-10-01"},
                        {"end_date", "2025-04-01"},
                        {"timezone", "America/New_York"},
                        {"jitter_ns", 600'000'000'000},
                        {"gap_policy", "shift"},
                        {"fold_policy", "both"},
                        {"missing_day", "skip"}});
  round_trip(CalendarIntervalTrigger{{.years = 1,
                                      .weeks = 2,
                                      .second = 59,
                                      .start_date = std::chrono::year{2024} / 2 / 29,
                                      .timezone = "Australia/Lord_Howe"}},
             dst_starts, 50);
}

TEST_CASE("json: and and or triggers round-trip over their children", "[json][trigger_codec]") {
  const CronTrigger weekdays = CronTrigger::from_crontab("0 9 * * MON-FRI", zone("Europe/Berlin"));
  const IntervalTrigger every_two_days{std::chrono::days{2},
                                       {.start_date = utc("2024-01-01 08:00")}};
  const AndTrigger both{AndOptions{.threshold = 2h, .max_iterations = 500, .jitter = 1s}, weekdays,
                        every_two_days};
  const OrTrigger any{OrOptions{.jitter = 5s}, weekdays,
                      CronTrigger::from_crontab("30 12 * * *", zone("America/New_York")),
                      DateTrigger{utc("2024-03-31 01:30")}};

  // The typed encode walks the children at compile time; AnyTriggers need add_composite.
  TriggerCodecs registry = TriggerCodecs::builtin();
  REQUIRE_FALSE(registry.can_encode(AnyTrigger{both}));
  const json typed = registry.encode(both);
  registry.add_composite<decltype(both)>();
  registry.add_composite<decltype(any)>();
  REQUIRE(registry.can_encode(AnyTrigger{both}));
  CHECK(round_trip(both, dst_starts, 50, registry) == typed);
  CHECK(typed == json{{"type", "and"},
                      {"triggers", {registry.encode(weekdays), registry.encode(every_two_days)}},
                      {"threshold_ns", 7'200'000'000'000},
                      {"max_iterations", 500},
                      {"jitter_ns", 1'000'000'000}});
  const json encoded_or = round_trip(any, dst_starts, 60, registry);
  CHECK(encoded_or["type"] == "or");
  CHECK(encoded_or["triggers"].size() == 3);
  CHECK(encoded_or["jitter_ns"] == 5'000'000'000);
  CHECK(encoded_or == registry.encode(any));

  // One child, and the most children a decoded trigger may have.
  registry.add_composite<AndTrigger<IntervalTrigger>>();
  round_trip(AndTrigger{IntervalTrigger{1h, {.start_date = utc("2024-01-01")}}}, dst_starts, 50,
             registry);
  round_trip(codecs().decode(json{{"type", "or"}, {"triggers", {codecs().encode(weekdays)}}}),
             dst_starts);
  const OrTrigger eight{weekdays,
                        every_two_days,
                        DateTrigger{utc("2024-05-01")},
                        IntervalTrigger{7h, {.start_date = utc("2024-01-01")}},
                        CronTrigger::from_crontab("0 0 1 * *", zone("Asia/Kolkata")),
                        CronTrigger::from_crontab("0 0 L * ?", zone("UTC")),
                        DateTrigger{utc("2024-03-10 07:00")},
                        IntervalTrigger{13h, {.start_date = utc("2024-02-01")}}};
  const json encoded_eight = codecs().encode(eight);
  round_trip(codecs().decode(encoded_eight), dst_starts);
  CHECK(sequence(codecs().decode(encoded_eight), utc("2024-01-01"), 60) ==
        sequence(eight, utc("2024-01-01"), 60));
}

TEST_CASE("json: exclusion trigger round-trips every kind of exclusion", "[json][trigger_codec]") {
  Exclusions exclusions;
  exclusions.timezone = "Europe/Berlin";
  exclusions.dates = {std::chrono::year{2024} / 12 / 24, std::chrono::year{2024} / 4 / 1};
  exclusions.annual_dates = {std::chrono::December / 25, std::chrono::February / 29};
  exclusions.weekdays = {std::chrono::Saturday, std::chrono::Sunday};
  exclusions.daily = {{std::chrono::hours{22}, std::chrono::hours{6}},
                      {std::chrono::hours{12}, std::chrono::hours{24}}};
  exclusions.ranges = {{utc("2024-03-11 00:00"), utc("2024-03-13 10:00") + 1ns}};
  exclusions.max_iterations = 5000;
  const ExclusionTrigger working{CronTrigger::from_crontab("0 */30 * * * *", zone("Europe/Berlin")),
                                 exclusions};
  const json encoded = round_trip(working, dst_starts, 80);
  CHECK(encoded ==
        json{{"type", "exclusion"},
             {"trigger", codecs().encode(working.trigger())},
             {"timezone", "Europe/Berlin"},
             {"dates", {"2024-12-24", "2024-04-01"}},
             {"annual_dates", {"--12-25", "--02-29"}},
             {"weekdays", {"sat", "sun"}},
             {"daily",
              {{{"from", "22:00:00"}, {"to", "06:00:00"}},
               {{"from", "12:00:00"}, {"to", "24:00:00"}}}},
             {"ranges",
              {{{"from", "2024-03-11T00:00:00Z"}, {"to", "2024-03-13T10:00:00.000000001Z"}}}},
             {"max_iterations", 5000}});
  // Empty lists are left out; the zone is always written.
  CHECK(round_trip(ExclusionTrigger{IntervalTrigger{1h, {.start_date = utc("2024-01-01")}},
                                    Exclusions{.timezone = "America/New_York"}},
                   dst_starts) ==
        json{{"type", "exclusion"},
             {"trigger", codecs().encode(IntervalTrigger{1h, {.start_date = utc("2024-01-01")}})},
             {"timezone", "America/New_York"},
             {"max_iterations", 100'000}});
  round_trip(
      ExclusionTrigger{CalendarIntervalTrigger{{.days = 1,
                                                .hour = 9,
                                                .start_date = std::chrono::year{2024} / 1 / 1,
                                                .timezone = "UTC"}},
                       Exclusions{.timezone = "UTC", .weekdays = {std::chrono::Monday}}},
      dst_starts);
  round_trip(
      ExclusionTrigger{DateTrigger{utc("2024-12-24 10:00")},
                       Exclusions{.timezone = "UTC", .annual_dates = {std::chrono::December / 25}}},
      dst_starts);
}

TEST_CASE("json: nested combining and exclusion triggers round-trip", "[json][trigger_codec]") {
  const CronTrigger morning = CronTrigger::from_crontab("0 30 8 * * ?", zone("America/New_York"));
  const CronTrigger evening = CronTrigger::from_crontab("0 0 18 ? * MON#2", zone("Europe/Berlin"));
  const ExclusionTrigger not_weekends{
      OrTrigger{morning, evening},
      Exclusions{.timezone = "America/New_York",
                 .weekdays = {std::chrono::Saturday, std::chrono::Sunday}}};
  const AndTrigger nested{
      AndOptions{.threshold = 12h}, not_weekends,
      OrTrigger{IntervalTrigger{6h, {.start_date = utc("2024-01-01")}},
                ExclusionTrigger{CronTrigger{{.hour = "*/2"}, zone("UTC")},
                                 Exclusions{.timezone = "UTC", .daily = {{0s, 3600s}}}}}};
  TriggerCodecs registry = TriggerCodecs::builtin();
  registry.add_composite<decltype(nested)>();
  registry.add_composite<decltype(not_weekends)>();
  const json encoded = round_trip(nested, dst_starts, 60, registry);
  CHECK(encoded["triggers"][0]["type"] == "exclusion");
  CHECK(encoded["triggers"][0]["trigger"]["type"] == "or");
  CHECK(encoded["triggers"][1]["triggers"][1]["trigger"]["fields"] == json{{"hour", "*/2"}});
  round_trip(not_weekends, dst_starts, 60, registry);
  // An exclusion of an exclusion.
  const ExclusionTrigger twice{not_weekends,
                               Exclusions{.timezone = "UTC", .daily = {{0s, 43200s}}}};
  CHECK(registry.encode(twice) == registry.encode(codecs().decode(registry.encode(twice))));
  CHECK(sequence(codecs().decode(registry.encode(twice)), utc("2024-03-01"), 50) ==
        sequence(twice, utc("2024-03-01"), 50));
}

TEST_CASE("json: a user trigger registered with a codec round-trips, alone and nested",
          "[json][trigger_codec]") {
  const TriggerCodecs registry = with_user_trigger();
  CHECK(registry.contains("every_nth_minute"));
  CHECK_FALSE(codecs().contains("every_nth_minute"));
  const json encoded = round_trip(EveryNthMinute{7, 11}, dst_starts, 60, registry);
  CHECK(encoded == json{{"type", "every_nth_minute"}, {"n", 7}, {"offset", 11}});

  TriggerCodecs nested_registry = registry;
  const OrTrigger mixed{EveryNthMinute{45, 0},
                        CronTrigger::from_crontab("0 12 * * *", zone("UTC"))};
  nested_registry.add_composite<decltype(mixed)>();
  nested_registry.add_composite<ExclusionTrigger<EveryNthMinute>>();
  round_trip(mixed, dst_starts, 60, nested_registry);
  round_trip(ExclusionTrigger{EveryNthMinute{5, 0},
                              Exclusions{.timezone = "Europe/Berlin", .daily = {{0s, 7200s}}}},
             dst_starts, 60, nested_registry);
}

TEST_CASE("json: a user codec that fails to read its fields reports a serialization error",
          "[json][trigger_codec][error]") {
  const TriggerCodecs registry = with_user_trigger();
  const json missing{{"type", "every_nth_minute"}, {"n", 7}};
  REQUIRE_THROWS_AS(registry.decode(missing), SerializationError);
  REQUIRE_THROWS_WITH(registry.decode(missing),
                      contains("decode: the \"every_nth_minute\" trigger could not be read: "));
  REQUIRE_THROWS_WITH(registry.decode(missing), contains("offset"));
}

TEST_CASE("json: decode names an unknown trigger type and the known ones",
          "[json][trigger_codec][error]") {
  REQUIRE_THROWS_AS(codecs().decode(json{{"type", "foo"}}), SerializationError);
  REQUIRE_THROWS_WITH(codecs().decode(json{{"type", "foo"}}),
                      contains("decode: unknown trigger type \"foo\"; expected one of \"and\", "
                               "\"calendar_interval\", \"cron\", \"date\", \"exclusion\", "
                               "\"interval\", \"or\""));
  REQUIRE_THROWS_WITH(codecs().decode(json{{"type", "or"}, {"triggers", {json{{"type", "bar"}}}}}),
                      contains("decode: unknown trigger type \"bar\" at \"triggers[0]\""));
  REQUIRE_THROWS_WITH(TriggerCodecs{}.decode(json{{"type", "date"}}),
                      contains("decode: unknown trigger type \"date\"; expected one of "));
}

TEST_CASE("json: decode names a missing, ill-typed or unknown field with its path",
          "[json][trigger_codec][error]") {
  const auto fails = [](const json& j, const std::string& message) {
    CAPTURE(j.dump());
    REQUIRE_THROWS_AS(codecs().decode(j), SerializationError);
    REQUIRE_THROWS_WITH(codecs().decode(j), contains(message));
  };
  fails(json{{"type", "interval"}},
        "decode: field \"interval_ns\" of the interval trigger is missing; expected an integer "
        "number of nanoseconds >= 1");
  fails(json{{"type", "interval"}, {"interval_ns", 1.5}},
        "decode: field \"interval_ns\" of the interval trigger is 1.5; expected an integer number "
        "of nanoseconds >= 1");
  fails(json{{"type", "interval"}, {"interval_ns", 0}},
        "field \"interval_ns\" of the interval trigger is 0; expected");
  fails(json{{"type", "interval"}, {"interval_ns", 10}, {"jitter_ns", -1}},
        "field \"jitter_ns\" of the interval trigger is -1; expected an integer number of "
        "nanoseconds >= 0");
  fails(json{{"type", "interval"}, {"interval_ns", 10}, {"jiter_ns", 5}},
        "decode: the interval trigger has an unknown field \"jiter_ns\"; expected only \"type\", "
        "\"interval_ns\", \"start_date\", \"end_date\", \"jitter_ns\"");
  fails(json{{"type", "cron"}, {"timezone", "UTC"}},
        "decode: the cron trigger has neither \"crontab\" nor \"fields\"; expected either "
        "\"crontab\"");
  fails(json{{"type", "cron"},
             {"crontab", "* * * * *"},
             {"fields", json::object()},
             {"timezone", "UTC"}},
        "has both \"crontab\" and \"fields\"");
  fails(json{{"type", "cron"}, {"crontab", "* * * * *"}},
        "field \"timezone\" of the cron trigger is missing; expected a non-empty IANA time zone "
        "name such as \"Europe/Berlin\"");
  fails(json{{"type", "calendar_interval"},
             {"days", 1},
             {"timezone", ""},
             {"start_date", "2024-01-01"}},
        "field \"timezone\" of the calendar interval trigger is \"\"; expected a non-empty IANA "
        "time zone name");
  fails(
      json{{"type", "cron"}, {"crontab", "* * * * *"}, {"timezone", "UTC"}, {"gap_policy", "jump"}},
      "field \"gap_policy\" of the cron trigger is \"jump\"; expected one of \"shift\", \"skip\"");
  fails(json{{"type", "cron"}, {"fields", {{"hours", "9"}}}, {"timezone", "UTC"}},
        "the cron trigger has an unknown field \"fields.hours\"");
  fails(json{{"type", "cron"}, {"fields", {{"hour", 9}}}, {"timezone", "UTC"}},
        "field \"fields.hour\" of the cron trigger is 9; expected a string");
  fails(json{{"type", "calendar_interval"}, {"days", 1}, {"timezone", "UTC"}},
        "field \"start_date\" of the calendar interval trigger is missing");
  fails(json{{"type", "calendar_interval"},
             {"days", 1},
             {"timezone", "UTC"},
             {"start_date", "2024-02-30"}},
        "field \"start_date\" of the calendar interval trigger is \"2024-02-30\"; expected a date "
        "string");
  fails(json{{"type", "and"}, {"triggers", json::array()}},
        "field \"triggers\" of the and trigger is []; expected an array of 1 to 8 triggers");
  fails(json{{"type", "or"},
             {"triggers",
              {json{{"type", "date"}, {"run_date", "2024-01-01T00:00:00Z"}},
               json{{"type", "interval"}, {"interval_ns", "5"}}}}},
        "decode: field \"triggers[1].interval_ns\" of the interval trigger is \"5\"");
  fails(json{{"type", "exclusion"},
             {"trigger", json{{"type", "date"}, {"run_date", "2024-01-01T00:00:00Z"}}},
             {"timezone", "UTC"},
             {"daily", {{{"from", "25:00:00"}, {"to", "06:00:00"}}}}},
        "field \"daily[0].from\" of the daily window is \"25:00:00\"; expected a time of day");
  fails(json{{"type", "exclusion"},
             {"trigger", json{{"type", "date"}, {"run_date", "2024-01-01T00:00:00Z"}}},
             {"timezone", "UTC"},
             {"weekdays", {"sat", "sunday"}}},
        "field \"weekdays[1]\" of the exclusion trigger is \"sunday\"; expected one of \"sun\"");
  fails(json{{"type", "exclusion"}, {"timezone", "UTC"}},
        "field \"trigger\" of the exclusion trigger is missing; expected a trigger object");
  fails(json{{"type", 5}}, "decode: field \"type\" of the trigger is 5; expected a string naming");
  fails(json::object(), "decode: field \"type\" of the trigger is missing");
  fails(json::array(), "decode: the trigger is []; expected a JSON object with a \"type\" string");
  fails(json{{"type", "and"}, {"triggers", {5}}},
        "decode: the trigger at \"triggers[0]\" is 5; expected a JSON object");
}

TEST_CASE("json: decode reports values a trigger rejects as serialization errors",
          "[json][trigger_codec][error]") {
  const auto fails = [](const json& j, const std::string& message) {
    CAPTURE(j.dump());
    REQUIRE_THROWS_AS(codecs().decode(j), SerializationError);
    REQUIRE_THROWS_WITH(codecs().decode(j), contains(message));
  };
  fails(json{{"type", "cron"}, {"crontab", "61 * * * *"}, {"timezone", "UTC"}},
        "decode: the \"cron\" trigger is invalid: ");
  fails(
      json{{"type", "cron"}, {"crontab", "0 * * * *"}, {"timezone", "Mars/Olympus"}},
      "decode: the \"cron\" trigger is invalid: from_crontab: unknown time zone \"Mars/Olympus\"");
  fails(
      json{{"type", "or"},
           {"triggers",
            {json{{"type", "interval"},
                  {"interval_ns", 5},
                  {"start_date", "2024-01-02T00:00:00Z"},
                  {"end_date", "2024-01-01T00:00:00Z"}}}}},
      "decode: the \"interval\" trigger at \"triggers[0]\" is invalid: IntervalTrigger: end_date");
  fails(json{{"type", "calendar_interval"},
             {"hour", 24},
             {"days", 1},
             {"timezone", "UTC"},
             {"start_date", "2024-01-01"}},
        "decode: the \"calendar_interval\" trigger is invalid: CalendarIntervalTrigger: hour 24 is "
        "out of range 0-23");
}

TEST_CASE("json: encode names a trigger type without a codec", "[json][trigger_codec][error]") {
  const AnyTrigger user = EveryNthMinute{3, 0};
  REQUIRE_FALSE(codecs().can_encode(user));
  REQUIRE_THROWS_AS(codecs().encode(user), SerializationError);
  REQUIRE_THROWS_WITH(codecs().encode(user),
                      contains("encode: no codec is registered for trigger \""));
  REQUIRE_THROWS_WITH(codecs().encode(user), contains("EveryNthMinute"));
  // A composite type nobody registered: the message carries the trigger's description.
  const AnyTrigger both = AndTrigger{IntervalTrigger{1h}, DateTrigger{utc("2024-01-01")}};
  REQUIRE_THROWS_AS(codecs().encode(both), SerializationError);
  REQUIRE_THROWS_WITH(codecs().encode(both),
                      contains("encode: no codec is registered for trigger \"and[threshold=1s; "
                               "interval[1h]; date[2024-01-01T00:00:00.000000Z]]\""));
  REQUIRE_THROWS_WITH(codecs().encode(both), contains("TriggerCodecs::add_composite"));
  // A registered composite whose child has no codec.
  TriggerCodecs registry = TriggerCodecs::builtin();
  registry.add_composite<ExclusionTrigger<EveryNthMinute>>();
  REQUIRE_THROWS_WITH(registry.encode(AnyTrigger{
                          ExclusionTrigger{EveryNthMinute{3, 0}, Exclusions{.timezone = "UTC"}}}),
                      contains("EveryNthMinute"));
}

TEST_CASE("json: add refuses empty and duplicate names and types", "[json][trigger_codec][error]") {
  TriggerCodecs registry = with_user_trigger();
  const auto encode = [](const EveryNthMinute&) { return json::object(); };
  const auto decode = [](const json&) { return EveryNthMinute{1, 0}; };
  REQUIRE_THROWS_AS(registry.add<EveryNthMinute>("other", encode, decode),
                    apsched::InvalidArgumentError);
  REQUIRE_THROWS_WITH(registry.add<EveryNthMinute>("other", encode, decode),
                      contains("TriggerCodecs::add: trigger type "));
  REQUIRE_THROWS_WITH(registry.add<EveryNthMinute>("other", encode, decode),
                      contains("EveryNthMinute already has a codec, named \"every_nth_minute\"; "
                               "cannot add \"other\""));
  REQUIRE_THROWS_AS(registry.add<DateTrigger>(
                        "cron", [](const DateTrigger&) { return json{}; },
                        [](const json&) { return DateTrigger{TimePoint{}}; }),
                    apsched::InvalidArgumentError);
  REQUIRE_THROWS_WITH(registry.add<DateTrigger>(
                          "cron", [](const DateTrigger&) { return json{}; },
                          [](const json&) { return DateTrigger{TimePoint{}}; }),
                      "TriggerCodecs::add: a codec named \"cron\" is already registered");
  TriggerCodecs empty;
  REQUIRE_THROWS_WITH(empty.add<EveryNthMinute>("", encode, decode),
                      "TriggerCodecs::add: the name is empty; expected a non-empty trigger type "
                      "name");
  // add_composite is idempotent.
  empty.add_composite<ExclusionTrigger<EveryNthMinute>>();
  empty.add_composite<ExclusionTrigger<EveryNthMinute>>();
}

TEST_CASE("json: a codec must return an object", "[json][trigger_codec][error]") {
  TriggerCodecs registry;
  registry.add<EveryNthMinute>(
      "bad", [](const EveryNthMinute&) { return json::array(); },
      [](const json&) {
        return EveryNthMinute{1, 0};
      });
  REQUIRE_THROWS_AS(registry.encode(EveryNthMinute{1, 0}), SerializationError);
  REQUIRE_THROWS_WITH(registry.encode(EveryNthMinute{1, 0}),
                      "encode: the codec \"bad\" returned []; expected a JSON object with no "
                      "\"type\" member");
}

TEST_CASE("json: builtin codecs encode and decode concurrently", "[json][trigger_codec][thread]") {
  const AnyTrigger trigger =
      ExclusionTrigger{CronTrigger::from_crontab("*/5 * * * *", zone("Europe/Berlin")),
                       Exclusions{.timezone = "Europe/Berlin", .weekdays = {std::chrono::Sunday}}};
  const json expected = codecs().encode(trigger);
  constexpr int threads = 4;
  std::latch start{threads};
  std::vector<int> matches(threads, 0);
  std::vector<std::thread> workers;
  for (int i = 0; i < threads; ++i) {
    workers.emplace_back([&, i] {
      start.arrive_and_wait();
      for (int k = 0; k < 50; ++k) {
        matches[static_cast<std::size_t>(i)] +=
            codecs().encode(codecs().decode(expected)) == expected ? 1 : 0;
      }
    });
  }
  for (std::thread& worker : workers) {
    worker.join();
  }
  CHECK(matches == std::vector<int>(threads, 50));
}

TEST_CASE("json: triggers expose everything their codecs encode", "[json][trigger_codec]") {
  const AnyTrigger any = IntervalTrigger{1h};
  CHECK(any.type() == typeid(IntervalTrigger));
  CHECK(AnyTrigger{any}.type() == typeid(IntervalTrigger));

  const CronTrigger crontab = CronTrigger::from_crontab(
      "0 9 * * 1", {.timezone = "UTC", .weekday_numbering = WeekdayNumbering::quartz});
  CHECK_FALSE(crontab.fields().has_value());
  CHECK(crontab.weekday_numbering() == WeekdayNumbering::quartz);
  const CronTrigger fields{{.day = "last", .hour = "9"}, zone("UTC")};
  REQUIRE(fields.fields().has_value());
  CHECK(fields.fields()->day == "last");
  CHECK(fields.fields()->hour == "9");
  CHECK(fields.weekday_numbering() == WeekdayNumbering::cron);

  const CalendarIntervalTrigger calendar{
      {.days = 1, .start_date = std::chrono::year{2024} / 1 / 1, .timezone = "Europe/Berlin"}};
  CHECK(calendar.timezone() == "Europe/Berlin");
  const ExclusionTrigger excluded{IntervalTrigger{1h}, Exclusions{.timezone = "Asia/Kolkata"}};
  CHECK(excluded.timezone() == "Asia/Kolkata");

  const AndTrigger both{IntervalTrigger{1h}, DateTrigger{utc("2024-01-01")}};
  CHECK(std::get<0>(both.triggers()).interval() == 1h);
  const OrTrigger either{OrOptions{.jitter = 3s}, IntervalTrigger{2h}, IntervalTrigger{3h}};
  CHECK(either.options().jitter == 3s);
  CHECK(std::get<1>(either.triggers()).interval() == 3h);
}

}  // namespace json_trigger_codec_test
