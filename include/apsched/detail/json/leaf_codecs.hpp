// SPDX-License-Identifier: MIT
// JSON encoders and decoders of the built-in triggers that hold no other trigger, and of
// Exclusions; TriggerCodecs registers them (see apsched/json/trigger_codec.hpp for the shapes).
// Those of the cron part's types are templates over those types, which TriggerCodecs names.
#pragma once

#include <apsched/clock.hpp>
#include <apsched/detail/json/reader.hpp>
#include <apsched/detail/json/time.hpp>
#include <apsched/detail/json/write.hpp>
#include <apsched/triggers/date.hpp>
#include <apsched/triggers/interval.hpp>

#include <nlohmann/json.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace apsched::detail::json {

/// The call name decoders put in their errors.
inline constexpr std::string_view decode_call = "decode";

/// The stored names of the cron part's enums, `E` being GapPolicy, FoldPolicy, DstPolicy,
/// WeekdayNumbering and MissingDayPolicy in turn.
template <class E>
inline constexpr std::array<EnumName<E>, 2> gap_policy_names{
    {{"shift", E::shift}, {"skip", E::skip}}};
template <class E>
inline constexpr std::array<EnumName<E>, 2> fold_policy_names{
    {{"once", E::once}, {"both", E::both}}};
template <class E>
inline constexpr std::array<EnumName<E>, 2> dst_policy_names{
    {{"separate", E::separate}, {"cron", E::cron}}};
template <class E>
inline constexpr std::array<EnumName<E>, 2> weekday_numbering_names{
    {{"cron", E::cron}, {"quartz", E::quartz}}};
template <class E>
inline constexpr std::array<EnumName<E>, 2> missing_day_names{
    {{"skip", E::skip}, {"clamp", E::clamp}}};

/// The time-zone member `"timezone"`: a non-empty name, since an empty one would mean whatever
/// the local zone is where the trigger is decoded.
[[nodiscard]] inline std::string zone_name(ObjectReader& reader) {
  constexpr std::string_view expected = "a non-empty IANA time zone name such as \"Europe/Berlin\"";
  std::string name = reader.string("timezone", expected);
  if (name.empty()) {
    reader.fail("timezone", name, expected);
  }
  return name;
}

/// `d` as the integer nanoseconds of a `..._ns` member.
/// @throws SerializationError when that overflows 64 bits (only with ticks coarser than 1ns).
[[nodiscard]] inline std::int64_t duration_value(Duration d) {
  const std::optional<std::int64_t> nanoseconds = to_nanoseconds(d);
  if (!nanoseconds) {
    throw SerializationError{
        fmt::format("encode: duration {} does not fit 64-bit nanoseconds", format_duration(d))};
  }
  return *nanoseconds;
}

/// Sets member `name` of `object` to `time` when it holds a value.
inline void put_time(nlohmann::json& object, const char* name, std::optional<TimePoint> time) {
  if (time) {
    object[name] = format_rfc3339(*time);
  }
}

[[nodiscard]] inline nlohmann::json encode_date(const DateTrigger& trigger) {
  return {{"run_date", format_rfc3339(trigger.run_date())}};
}

/// encode_date's object with the member `"type": type` added, appended to `out` as compact JSON
/// text exactly as dump() writes it (members in sorted order), without building the object.
inline void write_date_text(const DateTrigger& trigger, std::string_view type, std::string& out) {
  // The instant is digits, '-', ':', 'T', '.' and 'Z': a JSON string without escapes.
  out += R"({"run_date":")";
  append_rfc3339(trigger.run_date(), out);
  out += R"(","type":)";
  write_string(type, out);
  out += '}';
}

[[nodiscard]] inline DateTrigger decode_date(const nlohmann::json& object,
                                             const std::string& path) {
  ObjectReader reader{object, decode_call, "date trigger", path};
  (void)reader.find("type");
  const TimePoint run_date = reader.time("run_date");
  reader.finish();
  return DateTrigger{run_date};
}

[[nodiscard]] inline nlohmann::json encode_interval(const IntervalTrigger& trigger) {
  nlohmann::json object{{"interval_ns", duration_value(trigger.interval())}};
  put_time(object, "start_date", trigger.start_date());
  put_time(object, "end_date", trigger.end_date());
  object["jitter_ns"] = duration_value(trigger.jitter());
  return object;
}

[[nodiscard]] inline IntervalTrigger decode_interval(const nlohmann::json& object,
                                                     const std::string& path) {
  ObjectReader reader{object, decode_call, "interval trigger", path};
  (void)reader.find("type");
  const Duration interval = reader.duration("interval_ns", Duration{1});
  IntervalOptions options;
  options.start_date = reader.optional_time("start_date");
  options.end_date = reader.optional_time("end_date");
  options.jitter = reader.optional_duration("jitter_ns", Duration::zero()).value_or(Duration{});
  reader.finish();
  return IntervalTrigger{interval, options};
}

/// The members of CronFields (`Fields`) with their JSON names (the C++ names).
template <class Fields>
inline constexpr std::array<std::pair<std::string_view, std::string Fields::*>, 8>
    cron_field_members{{{"year", &Fields::year},
                        {"month", &Fields::month},
                        {"day", &Fields::day},
                        {"week", &Fields::week},
                        {"day_of_week", &Fields::day_of_week},
                        {"hour", &Fields::hour},
                        {"minute", &Fields::minute},
                        {"second", &Fields::second}}};

/// The settings of `trigger`, a CronTrigger (`Cron`).
template <class Cron>
[[nodiscard]] nlohmann::json encode_cron(const Cron& trigger) {
  using Fields = typename std::remove_cvref_t<decltype(trigger.fields())>::value_type;
  using Dst = decltype(trigger.dst_policy());
  nlohmann::json object = nlohmann::json::object();
  if (const std::optional<Fields>& fields = trigger.fields()) {
    nlohmann::json given = nlohmann::json::object();
    for (const auto& [name, member] : cron_field_members<Fields>) {
      if (!((*fields).*member).empty()) {
        given[std::string{name}] = (*fields).*member;
      }
    }
    object["fields"] = std::move(given);
  } else {
    object["crontab"] = trigger.expression();
  }
  object["timezone"] = trigger.timezone();
  put_time(object, "start_date", trigger.start_date());
  put_time(object, "end_date", trigger.end_date());
  object["jitter_ns"] = duration_value(trigger.jitter());
  object["gap_policy"] =
      enum_name(gap_policy_names<decltype(trigger.gap_policy())>, trigger.gap_policy());
  object["fold_policy"] =
      enum_name(fold_policy_names<decltype(trigger.fold_policy())>, trigger.fold_policy());
  // Written only when set, so triggers stored before it existed encode as they did.
  if (trigger.dst_policy() != Dst::separate) {
    object["dst_policy"] = enum_name(dst_policy_names<Dst>, trigger.dst_policy());
  }
  object["weekday_numbering"] = enum_name(
      weekday_numbering_names<decltype(trigger.weekday_numbering())>, trigger.weekday_numbering());
  return object;
}

/// The CronTrigger (`Cron`, made with CronOptions `Options`) that `object` describes.
template <class Cron, class Options>
[[nodiscard]] Cron decode_cron(const nlohmann::json& object, const std::string& path) {
  using Fields =
      typename std::remove_cvref_t<decltype(std::declval<const Cron&>().fields())>::value_type;
  using Gap = decltype(Options::gap_policy);
  using Fold = decltype(Options::fold_policy);
  using Dst = decltype(Options::dst_policy);
  using Numbering = decltype(Options::weekday_numbering);
  constexpr std::string_view what = "cron trigger";
  ObjectReader reader{object, decode_call, what, path};
  (void)reader.find("type");
  const std::optional<std::string> crontab = reader.optional_string("crontab");
  const nlohmann::json* fields_json = reader.find("fields");
  if (crontab.has_value() == (fields_json != nullptr)) {
    throw SerializationError{fmt::format(
        "{}: the {}{} has {}; expected either \"{}crontab\" (a crontab string) or \"{}fields\" "
        "(an object of field strings)",
        decode_call, what,
        path.empty() ? "" : fmt::format(" at \"{}\"", path.substr(0, path.size() - 1)),
        crontab ? "both \"crontab\" and \"fields\"" : "neither \"crontab\" nor \"fields\"", path,
        path)};
  }
  Fields fields;
  if (fields_json != nullptr) {
    ObjectReader field_reader{*fields_json, decode_call, what, reader.member_path("fields")};
    for (const auto& [name, member] : cron_field_members<Fields>) {
      fields.*member = field_reader.optional_string(name).value_or(std::string{});
    }
    field_reader.finish();
  }
  Options options;
  options.timezone = zone_name(reader);
  options.start_date = reader.optional_time("start_date");
  options.end_date = reader.optional_time("end_date");
  options.jitter = reader.optional_duration("jitter_ns", Duration::zero()).value_or(Duration{});
  options.gap_policy = reader.enumeration("gap_policy", gap_policy_names<Gap>, Gap::shift);
  options.fold_policy = reader.enumeration("fold_policy", fold_policy_names<Fold>, Fold::once);
  options.dst_policy = reader.enumeration("dst_policy", dst_policy_names<Dst>, Dst::separate);
  options.weekday_numbering =
      reader.enumeration("weekday_numbering", weekday_numbering_names<Numbering>, Numbering::cron);
  reader.finish();
  if (crontab) {
    return Cron::from_crontab(*crontab, std::move(options));
  }
  return Cron{fields, std::move(options)};
}

/// The settings of `trigger`, a CalendarIntervalTrigger (`Calendar`).
template <class Calendar>
[[nodiscard]] nlohmann::json encode_calendar_interval(const Calendar& trigger) {
  const auto& o = trigger.options();
  nlohmann::json object{{"years", o.years},   {"months", o.months},
                        {"weeks", o.weeks},   {"days", o.days},
                        {"hour", o.hour},     {"minute", o.minute},
                        {"second", o.second}, {"start_date", format_date(*o.start_date)}};
  if (o.end_date) {
    object["end_date"] = format_date(*o.end_date);
  }
  object["timezone"] = trigger.timezone();
  object["jitter_ns"] = duration_value(o.jitter);
  object["gap_policy"] = enum_name(gap_policy_names<decltype(o.gap_policy)>, o.gap_policy);
  object["fold_policy"] = enum_name(fold_policy_names<decltype(o.fold_policy)>, o.fold_policy);
  object["missing_day"] = enum_name(missing_day_names<decltype(o.missing_day)>, o.missing_day);
  return object;
}

/// The date member `name` (`YYYY-MM-DD`), or empty when absent.
[[nodiscard]] inline std::optional<std::chrono::year_month_day> optional_date(
    ObjectReader& reader, std::string_view name) {
  const nlohmann::json* value = reader.find(name);
  if (value == nullptr) {
    return std::nullopt;
  }
  const auto date =
      value->is_string() ? parse_date(value->get_ref<const std::string&>()) : std::nullopt;
  if (!date) {
    reader.fail(name, *value, "a date string such as \"2026-12-01\"");
  }
  return date;
}

/// The CalendarIntervalTrigger (`Calendar`) that `object` describes.
template <class Calendar>
[[nodiscard]] Calendar decode_calendar_interval(const nlohmann::json& object,
                                                const std::string& path) {
  using Options = std::remove_cvref_t<decltype(std::declval<const Calendar&>().options())>;
  using Gap = decltype(Options::gap_policy);
  using Fold = decltype(Options::fold_policy);
  using MissingDay = decltype(Options::missing_day);
  ObjectReader reader{object, decode_call, "calendar interval trigger", path};
  (void)reader.find("type");
  constexpr std::int64_t int_min = std::numeric_limits<int>::min();
  constexpr std::int64_t int_max = std::numeric_limits<int>::max();
  const auto int_member = [&](std::string_view name) {
    return static_cast<int>(reader.optional_integer(name, int_min, int_max).value_or(0));
  };
  Options options;
  options.years = int_member("years");
  options.months = int_member("months");
  options.weeks = int_member("weeks");
  options.days = int_member("days");
  options.hour = int_member("hour");
  options.minute = int_member("minute");
  options.second = int_member("second");
  // Required: without it the trigger would start "today", whenever the job is decoded.
  (void)reader.require("start_date", "a date string such as \"2026-12-01\"");
  options.start_date = optional_date(reader, "start_date");
  options.end_date = optional_date(reader, "end_date");
  options.timezone = zone_name(reader);
  options.jitter = reader.optional_duration("jitter_ns", Duration::zero()).value_or(Duration{});
  options.gap_policy = reader.enumeration("gap_policy", gap_policy_names<Gap>, Gap::shift);
  options.fold_policy = reader.enumeration("fold_policy", fold_policy_names<Fold>, Fold::once);
  options.missing_day =
      reader.enumeration("missing_day", missing_day_names<MissingDay>, MissingDay::skip);
  reader.finish();
  return Calendar{std::move(options)};
}

/// Adds the members of `exclusions`, an Exclusions (`E`), to `object` (see TriggerCodecs for the
/// shape); `timezone` is the resolved zone name.
template <class E>
void encode_exclusions(nlohmann::json& object, const E& exclusions, const std::string& timezone) {
  object["timezone"] = timezone;
  const auto put_list = [&](const char* name, const auto& values, const auto& encode) {
    if (!values.empty()) {
      nlohmann::json list = nlohmann::json::array();
      for (const auto& value : values) {
        list.push_back(encode(value));
      }
      object[name] = std::move(list);
    }
  };
  put_list("dates", exclusions.dates, [](std::chrono::year_month_day d) { return format_date(d); });
  put_list("annual_dates", exclusions.annual_dates,
           [](std::chrono::month_day d) { return format_month_day(d); });
  put_list("weekdays", exclusions.weekdays,
           [](std::chrono::weekday d) { return std::string{weekday_names[d.c_encoding() % 7]}; });
  put_list("daily", exclusions.daily, [](const auto& w) {
    return nlohmann::json{{"from", format_time_of_day(w.from)}, {"to", format_time_of_day(w.to)}};
  });
  put_list("ranges", exclusions.ranges, [](const auto& r) {
    return nlohmann::json{{"from", format_rfc3339(r.from)}, {"to", format_rfc3339(r.to)}};
  });
  object["max_iterations"] = exclusions.max_iterations;
}

/// Reads the array member `name` (absent: empty), decoding each element with `decode(element,
/// element_name)`.
template <class Decode>
void read_list(ObjectReader& reader, std::string_view name, std::string_view expected,
               const Decode& decode) {
  const nlohmann::json* list = reader.find(name);
  if (list == nullptr) {
    return;
  }
  if (!list->is_array()) {
    reader.fail(name, *list, fmt::format("an array of {}", expected));
  }
  for (std::size_t i = 0; i < list->size(); ++i) {
    decode((*list)[i], fmt::format("{}[{}]", name, i));
  }
}

/// Reads the members written by encode_exclusions into an Exclusions (`E`).
template <class E>
[[nodiscard]] E decode_exclusions(ObjectReader& reader) {
  using Window = typename decltype(E::daily)::value_type;
  using Range = typename decltype(E::ranges)::value_type;
  E exclusions;
  exclusions.timezone = zone_name(reader);
  // Reads `value` (member `name` of the object `from` reads) with `parse`.
  const auto parsed = [](const ObjectReader& from, std::string_view name,
                         const nlohmann::json& value, auto parse, std::string_view expected) {
    const auto result =
        value.is_string() ? parse(value.get_ref<const std::string&>()) : decltype(parse(""))();
    if (!result) {
      from.fail(name, value, expected);
    }
    return *result;
  };
  constexpr std::string_view date_text = "a date string such as \"2026-12-24\"";
  read_list(reader, "dates", "date strings", [&](const nlohmann::json& v, std::string_view name) {
    exclusions.dates.push_back(parsed(reader, name, v, parse_date, date_text));
  });
  constexpr std::string_view month_day_text = "a date string without year such as \"--12-25\"";
  read_list(
      reader, "annual_dates", "date strings without year",
      [&](const nlohmann::json& v, std::string_view name) {
        exclusions.annual_dates.push_back(parsed(reader, name, v, parse_month_day, month_day_text));
      });
  const auto parse_weekday = [](std::string_view text) -> std::optional<std::chrono::weekday> {
    for (unsigned day = 0; day < weekday_names.size(); ++day) {
      if (text == weekday_names[day]) {
        return std::chrono::weekday{day};
      }
    }
    return std::nullopt;
  };
  read_list(
      reader, "weekdays", "weekday names", [&](const nlohmann::json& v, std::string_view name) {
        exclusions.weekdays.push_back(parsed(reader, name, v, parse_weekday,
                                             "one of \"sun\", \"mon\", \"tue\", \"wed\", \"thu\", "
                                             "\"fri\", \"sat\""));
      });
  constexpr std::string_view time_of_day_text = "a time of day from \"00:00:00\" to \"24:00:00\"";
  read_list(reader, "daily", "{\"from\", \"to\"} objects",
            [&](const nlohmann::json& v, std::string_view name) {
              ObjectReader window{v, decode_call, "daily window", reader.member_path(name)};
              Window result;
              result.from = parsed(window, "from", window.require("from", time_of_day_text),
                                   parse_time_of_day, time_of_day_text);
              result.to = parsed(window, "to", window.require("to", time_of_day_text),
                                 parse_time_of_day, time_of_day_text);
              window.finish();
              exclusions.daily.push_back(result);
            });
  read_list(reader, "ranges", "{\"from\", \"to\"} objects",
            [&](const nlohmann::json& v, std::string_view name) {
              ObjectReader range{v, decode_call, "excluded range", reader.member_path(name)};
              Range result;
              result.from = range.time("from");
              result.to = range.time("to");
              range.finish();
              exclusions.ranges.push_back(result);
            });
  exclusions.max_iterations = static_cast<std::size_t>(reader.count(
      "max_iterations", 1, std::numeric_limits<std::size_t>::max(), E{}.max_iterations));
  return exclusions;
}

}  // namespace apsched::detail::json
