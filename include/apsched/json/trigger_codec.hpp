// SPDX-License-Identifier: MIT
// TriggerCodecs: JSON encoders and decoders of triggers, registered under stable type names.
#pragma once

#include <apsched/any_trigger.hpp>
#include <apsched/clock.hpp>
#include <apsched/cron/calendar_interval.hpp>
#include <apsched/cron/cron_trigger.hpp>
#include <apsched/cron/exclusion.hpp>
#include <apsched/detail/durable/coding.hpp>
#include <apsched/detail/json/decoded_composite.hpp>
#include <apsched/detail/json/leaf_codecs.hpp>
#include <apsched/detail/json/reader.hpp>
#include <apsched/detail/json/type_name.hpp>
#include <apsched/detail/json/write.hpp>
#include <apsched/error.hpp>
#include <apsched/trigger.hpp>
#include <apsched/triggers/combining.hpp>
#include <apsched/triggers/date.hpp>
#include <apsched/triggers/interval.hpp>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <concepts>
#include <cstddef>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <typeindex>
#include <unordered_map>
#include <utility>
#include <vector>

namespace apsched {

namespace detail::json {
/// The type name under which TriggerCodecs encodes `T` from its parts if `T` is an AndTrigger,
/// OrTrigger or ExclusionTrigger instantiation or a decoded composite, else empty.
template <class T>
inline constexpr std::string_view composite_name{};
template <class... Ts>
inline constexpr std::string_view composite_name<AndTrigger<Ts...>>{"and"};
template <class... Ts>
inline constexpr std::string_view composite_name<OrTrigger<Ts...>>{"or"};
template <class T>
inline constexpr std::string_view composite_name<ExclusionTrigger<T>>{"exclusion"};
template <>
inline constexpr std::string_view composite_name<DecodedAndTrigger>{"and"};
template <>
inline constexpr std::string_view composite_name<DecodedOrTrigger>{"or"};

}  // namespace detail::json

/// A Trigger that TriggerCodecs::add_composite accepts: an AndTrigger, OrTrigger or
/// ExclusionTrigger of any triggers.
template <class T>
concept CompositeTrigger = Trigger<T> && !detail::json::composite_name<T>.empty();

/// An encoder of trigger type `T` for TriggerCodecs::add: `encode(t)` returns the JSON object of
/// `t`'s settings.
template <class E, class T>
concept TriggerEncoder = std::is_invocable_r_v<nlohmann::json, const E&, const T&>;

/// A decoder of trigger type `T` for TriggerCodecs::add: `decode(object)` rebuilds a `T` from
/// what the matching TriggerEncoder returned.
template <class D, class T>
concept TriggerDecoder = std::is_invocable_r_v<T, const D&, const nlohmann::json&>;

/// Encodes triggers as JSON objects and decodes them back, exactly: the decoded trigger has
/// the same fire times as the original, and encoding it again gives identical JSON. Each
/// trigger type is registered under a stable name, written as the object's `"type"` member.
///
/// **Shapes** of the built-in types (builtin()). Instants are RFC 3339 UTC strings with 0, 3,
/// 6 or 9 fraction digits, the fewest that are exact (`"2026-12-01T09:00:00Z"`,
/// `"2026-12-01T09:00:00.000000001Z"`; decoding also takes other offsets and 1-9 digits);
/// durations are integers of nanoseconds in members ending `_ns`; dates are `"YYYY-MM-DD"`;
/// time zones are IANA names, always the resolved one (a trigger built for the local zone is
/// encoded with that zone's name, so it decodes the same on another machine). Members shown
/// with `?` are omitted when empty; every other member is always written. Decoding takes the
/// same shapes, rejects unknown members, and fills absent optional ones with the C++ default.
/// - `date`: `{"type": "date", "run_date": instant}`
/// - `interval`: `{"type": "interval", "interval_ns": n, "start_date"?: instant,
///   "end_date"?: instant, "jitter_ns": n}`
/// - `cron`: `{"type": "cron", "crontab": "0 9 * * MON-FRI"}` for a trigger made by
///   from_crontab, or `"fields": {"day": "3rd fri", "hour": "9"}` (the non-empty CronFields,
///   named as in C++) for one made from CronFields; plus `"timezone": name, "start_date"?,
///   "end_date"?, "jitter_ns", "gap_policy": "shift"|"skip", "fold_policy": "once"|"both",
///   "dst_policy"?: "separate"|"cron", "weekday_numbering": "cron"|"quartz"`; `dst_policy` is
///   written only when it is not the default `"separate"`, so triggers stored before it existed
///   decode, and encode again, unchanged. The expression is kept as written, so decoding parses
///   it again with the same rules.
/// - `calendar_interval`: `{"type": "calendar_interval", "years", "months", "weeks", "days",
///   "hour", "minute", "second"` (integers), `"start_date": date` (required: the one filled in
///   at construction), `"end_date"?: date, "timezone", "jitter_ns", "gap_policy",
///   "fold_policy", "missing_day": "skip"|"clamp"}`
/// - `and`: `{"type": "and", "triggers": [trigger, ...], "threshold_ns", "max_iterations",
///   "jitter_ns"}`; `or`: `{"type": "or", "triggers": [...], "jitter_ns"}`. Children are
///   encoded recursively; 1 to max_children of them.
/// - `exclusion`: `{"type": "exclusion", "trigger": trigger, "timezone", "dates"?: [date],
///   "annual_dates"?: ["--12-25"], "weekdays"?: ["sat", "sun"] (sun mon tue wed thu fri sat),
///   "daily"?: [{"from": "22:00:00", "to": "06:00:00"}] (24:00:00 ends a day),
///   "ranges"?: [{"from": instant, "to": instant}], "max_iterations"}`
///
/// **Which types encode:** encode(const AnyTrigger&) looks the held type up in a hash map, so
/// it finds the types registered with add(), the built-in leaf types, and the composite types
/// registered with add_composite(). builtin() registers what decode builds (for `and` and `or`,
/// one internal type each that holds its 1 to max_children children as AnyTriggers, whatever
/// their number; for `exclusion`, ExclusionTrigger of AnyTrigger) and ExclusionTrigger of each
/// built-in leaf type. Any other composite, such as `AndTrigger<CronTrigger, IntervalTrigger>`,
/// must be registered with add_composite() before an AnyTrigger holding it can be encoded. The
/// typed overload encode(const T&) needs no registration for composites: it walks their
/// children at compile time. A decoded composite has a different C++ type than the original
/// (the decoded `and` and `or` are neither AndTrigger nor OrTrigger) but fires identically and
/// encodes identically.
///
/// @code
/// apsched::TriggerCodecs codecs = apsched::TriggerCodecs::builtin();
/// codecs.add<EveryNth>(
///     "every_nth", [](const EveryNth& t) { return nlohmann::json{{"n", t.n()}}; },
///     [](const nlohmann::json& j) { return EveryNth{j.at("n").get<int>()}; });
/// nlohmann::json stored = codecs.encode(job.trigger);
/// apsched::AnyTrigger trigger = codecs.decode(stored);
/// @endcode
///
/// Thread safety: const-thread-safe: encode and decode may run concurrently; add and
/// add_composite need external locking against every other call.
class TriggerCodecs {
 public:
  /// The most children a decoded `and` or `or` trigger may have.
  static constexpr std::size_t max_children = 8;

  /// An empty registry; see builtin() for one with the built-in types.
  TriggerCodecs() = default;

  /// The registry of every built-in trigger type (see the class documentation). Copy it to add
  /// your own types.
  [[nodiscard]] static const TriggerCodecs& builtin() {
    static const TriggerCodecs codecs = make_builtin();
    return codecs;
  }

  /// Registers trigger type `T` under `name`: `encode(t)` returns a JSON object of `t`'s
  /// settings without a `"type"` member (the registry adds it), and `decode(object)` rebuilds
  /// an equal `T` from that object (given without `"type"`). Exceptions of nlohmann/json and
  /// InvalidArgumentErrors thrown by `decode` are reported as SerializationError.
  /// @throws InvalidArgumentError if `name` is empty or taken, or `T` already has a codec.
  template <Trigger T, TriggerEncoder<T> Encode, TriggerDecoder<T> Decode>
  void add(std::string name, Encode encode, Decode decode) {
    static_assert(!std::same_as<T, AnyTrigger>,
                  "TriggerCodecs::add: register the type an AnyTrigger holds, not AnyTrigger");
    insert<T>(
        std::move(name),
        [encode = std::move(encode)](const void* trigger, const TriggerCodecs&) {
          return nlohmann::json(std::invoke(encode, *static_cast<const T*>(trigger)));
        },
        [decode = std::move(decode)](const nlohmann::json& object, const TriggerCodecs&,
                                     const std::string&) {
          nlohmann::json settings = object;
          settings.erase("type");
          return AnyTrigger{T(std::invoke(decode, std::as_const(settings)))};
        });
  }

  /// Makes AnyTriggers holding a `T` (an AndTrigger, OrTrigger or ExclusionTrigger of any
  /// triggers) encodable, as `and`, `or` or `exclusion`; their children must be encodable in
  /// turn. Does nothing if `T` already has a codec.
  template <class T>
  requires CompositeTrigger<std::remove_cv_t<T>>
  void add_composite() {
    using U = std::remove_cv_t<T>;
    if (encoders_.contains(typeid(U))) {
      return;
    }
    const EncodePointer encoder = [](const void* trigger, const TriggerCodecs& codecs) {
      return codecs.encode_composite(*static_cast<const U*>(trigger));
    };
    encoders_.emplace(
        typeid(U), Encoder{std::string{detail::json::composite_name<U>}, &target_of<U>, encoder});
  }

  /// Whether a decoder is registered under `name`.
  [[nodiscard]] bool contains(std::string_view name) const { return decoders_.contains(name); }

  /// Whether encode(trigger) finds a codec for the type `trigger` holds (its children may
  /// still lack one).
  [[nodiscard]] bool can_encode(const AnyTrigger& trigger) const {
    return encoders_.contains(trigger.type());
  }

  /// `trigger` as `{"type": name, ...}`.
  /// @throws SerializationError if the type `trigger` holds (or a child's) has no codec,
  ///         naming its description, or if a codec returns something other than an object.
  [[nodiscard]] nlohmann::json encode(const AnyTrigger& trigger) const {
    const auto it = encoders_.find(trigger.type());
    if (it == encoders_.end()) {
      throw SerializationError{fmt::format(
          "encode: no codec is registered for trigger \"{}\" of C++ type {}; expected a type "
          "registered with TriggerCodecs::add (or TriggerCodecs::add_composite for an "
          "AndTrigger, OrTrigger or ExclusionTrigger)",
          trigger.describe(), detail::json::demangle(trigger.type()))};
    }
    return finish_encoding(it->second, it->second.target(trigger));
  }

  /// `encode(trigger)` as compact JSON text, exactly as its dump() writes it: what durable stores
  /// keep. The built-in date trigger is written without building the JSON value.
  /// @throws SerializationError as encode(const AnyTrigger&).
  [[nodiscard]] std::string encode_text(const AnyTrigger& trigger) const {
    if (const auto it = encoders_.find(trigger.type());
        it != encoders_.end() && it->second.write_text != nullptr) {
      std::string text;
      text.reserve(64);  // the text of a date trigger, written in one allocation
      it->second.write_text(it->second.target(trigger), it->second.name, text);
      return text;
    }
    return detail::json::dump_compact(encode(trigger));
  }

  /// `trigger` as `{"type": name, ...}`, where `T` is known at compile time: a registered
  /// type, or an AndTrigger, OrTrigger or ExclusionTrigger (registered or not) whose children
  /// are encodable.
  /// @throws SerializationError as encode(const AnyTrigger&).
  template <Trigger T>
  requires(!std::same_as<T, AnyTrigger>) [[nodiscard]] nlohmann::json
      encode(const T& trigger) const {
    if (const auto it = encoders_.find(typeid(T)); it != encoders_.end()) {
      return finish_encoding(it->second, &trigger);
    }
    if constexpr (CompositeTrigger<T>) {
      return encode_composite(trigger);
    } else {
      return encode(AnyTrigger{trigger});
    }
  }

  /// The trigger that `json` (as encode wrote it) describes.
  /// @throws SerializationError for something other than an object, a missing or unknown
  ///         `"type"`, or missing, ill-typed, unknown or invalid members (naming the member,
  ///         with its path inside nested triggers: `"triggers[1].interval_ns"`).
  [[nodiscard]] AnyTrigger decode(const nlohmann::json& value) const {
    return decode_at(value, "");
  }

 private:
  using EncodePointer = nlohmann::json (*)(const void*, const TriggerCodecs&);
  using DecodePointer = AnyTrigger (*)(const nlohmann::json&, const TriggerCodecs&,
                                       const std::string&);
  // The built-in codecs are EncodePointers and DecodePointers, so that all these std::functions
  // hold one type and instantiate one handler between them, not one per lambda: every program
  // that includes this header compiles them.
  using EncodeFunction = std::function<nlohmann::json(const void*, const TriggerCodecs&)>;
  using DecodeFunction =
      std::function<AnyTrigger(const nlohmann::json&, const TriggerCodecs&, const std::string&)>;

  struct Encoder {
    std::string name;
    const void* (*target)(const AnyTrigger&) noexcept;
    EncodeFunction encode;
    // Appends what `encode` returns, with `"type": name`, as compact JSON text (for
    // encode_text); null to dump `encode`'s result instead.
    void (*write_text)(const void* trigger, std::string_view name, std::string& out) = nullptr;
  };

  // Registers the encoder and decoder of `T`, after the checks add() documents.
  template <class T>
  void insert(std::string name, EncodeFunction encode, DecodeFunction decode) {
    insert(typeid(T), &detail::json::type_name<T>, &target_of<T>, std::move(name),
           std::move(encode), std::move(decode));
  }

  // insert<T> for the type `type`, named `type_name()` in errors and found in an AnyTrigger by
  // `target`: one function for every type.
  void insert(std::type_index type, std::string (*type_name)(),
              const void* (*target)(const AnyTrigger&) noexcept, std::string name,
              EncodeFunction encode, DecodeFunction decode) {
    constexpr std::string_view call = "TriggerCodecs::add";
    if (name.empty()) {
      throw InvalidArgumentError{
          fmt::format("{}: the name is empty; expected a non-empty trigger type name", call)};
    }
    if (decoders_.contains(name)) {
      throw InvalidArgumentError{
          fmt::format("{}: a codec named \"{}\" is already registered", call, name)};
    }
    if (const auto it = encoders_.find(type); it != encoders_.end()) {
      throw InvalidArgumentError{
          fmt::format("{}: trigger type {} already has a codec, named \"{}\"; cannot add \"{}\"",
                      call, type_name(), it->second.name, name)};
    }
    encoders_.emplace(type, Encoder{name, target, std::move(encode)});
    decoders_.emplace(std::move(name), std::move(decode));
  }

  template <class T>
  static const void* target_of(const AnyTrigger& trigger) noexcept {
    return trigger.target<T>();
  }

  nlohmann::json finish_encoding(const Encoder& encoder, const void* trigger) const {
    nlohmann::json value;
    try {
      value = encoder.encode(trigger, *this);
    } catch (const nlohmann::json::exception& error) {
      throw SerializationError{
          fmt::format("encode: the codec \"{}\" failed: {}", encoder.name, error.what())};
    }
    if (!value.is_object() || (value.contains("type") && !names(value["type"], encoder.name))) {
      throw SerializationError{fmt::format(
          "encode: the codec \"{}\" returned {}; expected a JSON object with no \"type\" member",
          encoder.name, detail::json::show(value))};
    }
    value["type"] = encoder.name;
    return value;
  }

  // `!(type != name)` for the `"type"` member a codec returned, without instantiating
  // nlohmann/json's conversions from std::string: a discarded value is unordered, so it never
  // differs.
  static bool names(const nlohmann::json& type, const std::string& name) {
    return type.is_discarded() || (type.is_string() && type.get_ref<const std::string&>() == name);
  }

  template <class T>
  nlohmann::json encode_child(const T& child) const {
    if constexpr (std::same_as<T, AnyTrigger>) {
      return encode(child);
    } else {
      return encode<T>(child);
    }
  }

  template <class T>
  nlohmann::json encode_composite(const T& trigger) const {
    using detail::json::duration_value;
    nlohmann::json value{{"type", detail::json::composite_name<T>}};
    if constexpr (detail::json::composite_name<T> == "exclusion") {
      value["trigger"] = encode_child(trigger.trigger());
      detail::json::encode_exclusions(value, trigger.exclusions(), trigger.timezone());
    } else {
      nlohmann::json children = nlohmann::json::array();
      if constexpr (std::same_as<T, detail::json::DecodedAndTrigger> ||
                    std::same_as<T, detail::json::DecodedOrTrigger>) {
        for (const AnyTrigger& child : trigger.triggers()) {
          children.push_back(encode(child));
        }
      } else {
        std::apply([&](const auto&... child) { (children.push_back(encode_child(child)), ...); },
                   trigger.triggers());
      }
      value["triggers"] = std::move(children);
      if constexpr (detail::json::composite_name<T> == "and") {
        value["threshold_ns"] = duration_value(trigger.options().threshold);
        value["max_iterations"] = trigger.options().max_iterations;
      }
      value["jitter_ns"] = duration_value(trigger.options().jitter);
    }
    return value;
  }

  AnyTrigger decode_at(const nlohmann::json& value, const std::string& path) const {
    const std::string at =
        path.empty() ? std::string{} : fmt::format(" at \"{}\"", path.substr(0, path.size() - 1));
    if (!value.is_object()) {
      throw SerializationError{
          fmt::format("decode: the trigger{} is {}; expected a JSON object with a \"type\" string",
                      at, detail::json::show(value))};
    }
    const auto type = value.find("type");
    if (type == value.end() || !type->is_string()) {
      throw SerializationError{fmt::format(
          "decode: field \"{}type\" of the trigger is {}; expected a string naming a trigger type "
          "such as \"cron\"",
          path, type == value.end() ? "missing" : detail::json::show(*type))};
    }
    const auto& name = type->get_ref<const std::string&>();
    const auto decoder = decoders_.find(name);
    if (decoder == decoders_.end()) {
      std::vector<std::string_view> known;
      for (const auto& entry : decoders_) {
        known.push_back(entry.first);
      }
      throw SerializationError{
          fmt::format("decode: unknown trigger type \"{}\"{}; expected one of {}", name, at,
                      detail::json::quoted_list(known))};
    }
    try {
      return decoder->second(value, *this, path);
    } catch (const SerializationError&) {
      throw;
    } catch (const InvalidArgumentError& error) {
      throw SerializationError{
          fmt::format("decode: the \"{}\" trigger{} is invalid: {}", name, at, error.what())};
    } catch (const nlohmann::json::exception& error) {
      throw SerializationError{fmt::format("decode: the \"{}\" trigger{} could not be read: {}",
                                           name, at, error.what())};
    }
  }

  // The children of an `and` or `or` object, decoded.
  std::vector<AnyTrigger> decode_children(detail::json::ObjectReader& reader) const {
    const nlohmann::json& list = reader.require("triggers", "an array of triggers");
    if (!list.is_array() || list.empty() || list.size() > max_children) {
      reader.fail("triggers", list, fmt::format("an array of 1 to {} triggers", max_children));
    }
    std::vector<AnyTrigger> children;
    children.reserve(list.size());
    for (std::size_t i = 0; i < list.size(); ++i) {
      children.push_back(decode_at(list[i], reader.member_path("triggers", i)));
    }
    return children;
  }

  static TriggerCodecs make_builtin() {
    namespace dj = detail::json;
    TriggerCodecs codecs;
    codecs.insert<DateTrigger>("date", leaf_encoder<DateTrigger, &dj::encode_date>(),
                               leaf_decoder<&dj::decode_date>());
    codecs.encoders_.at(typeid(DateTrigger)).write_text =
        [](const void* trigger, std::string_view name, std::string& out) {
          dj::write_date_text(*static_cast<const DateTrigger*>(trigger), name, out);
        };
    codecs.insert<IntervalTrigger>("interval",
                                   leaf_encoder<IntervalTrigger, &dj::encode_interval>(),
                                   leaf_decoder<&dj::decode_interval>());
    codecs.insert<CronTrigger>("cron", leaf_encoder<CronTrigger, &dj::encode_cron<CronTrigger>>(),
                               leaf_decoder<&dj::decode_cron<CronTrigger, CronOptions>>());
    codecs.insert<CalendarIntervalTrigger>(
        "calendar_interval",
        leaf_encoder<CalendarIntervalTrigger,
                     &dj::encode_calendar_interval<CalendarIntervalTrigger>>(),
        leaf_decoder<&dj::decode_calendar_interval<CalendarIntervalTrigger>>());
    codecs.add_composite<dj::DecodedAndTrigger>();
    codecs.add_composite<dj::DecodedOrTrigger>();
    codecs.add_composite<ExclusionTrigger<AnyTrigger>>();
    codecs.add_composite<ExclusionTrigger<DateTrigger>>();
    codecs.add_composite<ExclusionTrigger<IntervalTrigger>>();
    codecs.add_composite<ExclusionTrigger<CronTrigger>>();
    codecs.add_composite<ExclusionTrigger<CalendarIntervalTrigger>>();

    codecs.decoders_.emplace("and", DecodePointer{&decode_and});
    codecs.decoders_.emplace("or", DecodePointer{&decode_or});
    codecs.decoders_.emplace("exclusion", DecodePointer{&decode_exclusion});
    return codecs;
  }

  // The decoders of the built-in composites (see the class documentation for their shapes).
  static AnyTrigger decode_and(const nlohmann::json& value, const TriggerCodecs& self,
                               const std::string& path) {
    namespace dj = detail::json;
    dj::ObjectReader reader{value, dj::decode_call, "and trigger", path};
    (void)reader.find("type");
    std::vector<AnyTrigger> children = self.decode_children(reader);
    AndOptions options;
    options.threshold =
        reader.optional_duration("threshold_ns", Duration::zero()).value_or(options.threshold);
    options.max_iterations = static_cast<std::size_t>(reader.count(
        "max_iterations", 1, std::numeric_limits<std::size_t>::max(), options.max_iterations));
    options.jitter = reader.optional_duration("jitter_ns", Duration::zero()).value_or(Duration{});
    reader.finish();
    return AnyTrigger{dj::DecodedAndTrigger{options, std::move(children)}};
  }

  static AnyTrigger decode_or(const nlohmann::json& value, const TriggerCodecs& self,
                              const std::string& path) {
    namespace dj = detail::json;
    dj::ObjectReader reader{value, dj::decode_call, "or trigger", path};
    (void)reader.find("type");
    std::vector<AnyTrigger> children = self.decode_children(reader);
    OrOptions options;
    options.jitter = reader.optional_duration("jitter_ns", Duration::zero()).value_or(Duration{});
    reader.finish();
    return AnyTrigger{dj::DecodedOrTrigger{options, std::move(children)}};
  }

  static AnyTrigger decode_exclusion(const nlohmann::json& value, const TriggerCodecs& self,
                                     const std::string& path) {
    namespace dj = detail::json;
    dj::ObjectReader reader{value, dj::decode_call, "exclusion trigger", path};
    (void)reader.find("type");
    AnyTrigger inner = self.decode_at(reader.require("trigger", "a trigger object"),
                                      reader.member_path("trigger"));
    Exclusions exclusions = dj::decode_exclusions<Exclusions>(reader);
    reader.finish();
    return AnyTrigger{ExclusionTrigger<AnyTrigger>{std::move(inner), std::move(exclusions)}};
  }

  template <class T, auto Encode>
  static EncodePointer leaf_encoder() {
    return [](const void* trigger, const TriggerCodecs&) {
      return Encode(*static_cast<const T*>(trigger));
    };
  }

  template <auto Decode>
  static DecodePointer leaf_decoder() {
    return [](const nlohmann::json& value, const TriggerCodecs&, const std::string& path) {
      return AnyTrigger{Decode(value, path)};
    };
  }

  std::unordered_map<std::type_index, Encoder> encoders_;
  std::map<std::string, DecodeFunction, std::less<>> decoders_;
};

static_assert(detail::durable::TriggerCoding<TriggerCodecs>);

}  // namespace apsched
