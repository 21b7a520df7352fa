// SPDX-License-Identifier: MIT
// DecodedAndTrigger and DecodedOrTrigger fire, jitter, describe themselves and encode exactly as
// AndTrigger and OrTrigger over the same children.
#include <apsched/detail/json/decoded_composite.hpp>

#include <apsched/cron/cron_trigger.hpp>
#include <apsched/json/trigger_codec.hpp>
#include <apsched/triggers/combining.hpp>
#include <apsched/triggers/date.hpp>
#include <apsched/triggers/interval.hpp>

#include "support/catch.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace detail_json_decoded_composite_test {

using namespace std::chrono_literals;
using apsched::AndOptions;
using apsched::AndTrigger;
using apsched::AnyTrigger;
using apsched::CronOptions;
using apsched::CronTrigger;
using apsched::DateTrigger;
using apsched::Duration;
using apsched::IntervalTrigger;
using apsched::InvalidTriggerError;
using apsched::OrOptions;
using apsched::OrTrigger;
using apsched::SerializationError;
using apsched::TimePoint;
using apsched::TriggerCodecs;
using apsched::detail::json::DecodedAndTrigger;
using apsched::detail::json::DecodedOrTrigger;
using apsched::detail::json::inline_children;
using nlohmann::json;

const TimePoint t0 = TimePoint{} + std::chrono::hours{24 * 20'000};

IntervalTrigger every(Duration step, Duration offset = {}, std::optional<TimePoint> end = {}) {
  return IntervalTrigger{step, {.start_date = t0 + offset, .end_date = end, .jitter = {}}};
}

CronTrigger every_four_seconds() {
  CronOptions options;
  options.timezone = "UTC";
  return CronTrigger::from_crontab("*/4 * * * * *", std::move(options));
}

// A user-written trigger without jitter: fires at t0 + 7s * k.
struct Sevens {
  [[nodiscard]] static std::string describe() { return "sevens"; }
  [[nodiscard]] std::optional<TimePoint> next_fire_time(std::optional<TimePoint> previous,
                                                        TimePoint now) const {
    const TimePoint at = previous && *previous >= now ? *previous + 1ns : now;
    if (at <= t0) {
      return t0;
    }
    return t0 + (at - t0 + 7s - 1ns) / 7s * 7s;
  }
};

// What `trigger.next_fire_time(previous, now)` gives: an offset from t0, "none" or the error.
template <class T>
std::string outcome(const T& trigger, std::optional<TimePoint> previous, TimePoint now) {
  try {
    const std::optional<TimePoint> next = trigger.next_fire_time(previous, now);
    return next ? std::to_string((*next - t0).count()) : "none";
  } catch (const InvalidTriggerError& error) {
    return std::string{"error: "} + error.what();
  }
}

// The outcomes of `trigger` for every `now` in a grid of half seconds around the children's
// fire times, each without a previous fire time, with one a second before `now` and with one at
// `now`; then the first fire times chained from t0 as the scheduler asks for them.
template <class T>
std::vector<std::string> outcomes(const T& trigger) {
  std::vector<std::string> result;
  for (int k = -10; k <= 180; ++k) {
    const TimePoint now = t0 + k * 500ms;
    result.push_back(outcome(trigger, std::nullopt, now));
    result.push_back(outcome(trigger, now - 1s, now));
    result.push_back(outcome(trigger, now, now));
  }
  std::optional<TimePoint> previous;
  for (int i = 0; i < 40; ++i) {
    const std::string next = outcome(trigger, previous, previous.value_or(t0));
    result.push_back(next);
    if (next == "none" || next.starts_with("error")) {
      break;
    }
    previous = trigger.next_fire_time(previous, previous.value_or(t0));
  }
  return result;
}

// Checks that `decoded` behaves as the variadic `typed` over the same `count` children: the
// same fire times (directly and through AnyTrigger), description and jitter; returns the
// outcomes.
template <class Typed, class Decoded>
std::vector<std::string> same_as_typed(const Typed& typed, const Decoded& decoded,
                                       std::size_t count) {
  const std::vector<std::string> expected = outcomes(typed);
  CHECK(outcomes(decoded) == expected);
  CHECK(outcomes(AnyTrigger{decoded}) == expected);
  CHECK(decoded.describe() == typed.describe());
  CHECK(AnyTrigger{decoded}.describe() == typed.describe());
  CHECK(decoded.jitter() == typed.jitter());
  CHECK(AnyTrigger{decoded}.jitter() == typed.jitter());
  CHECK(decoded.triggers().size() == count);
  return expected;
}

// The decoded AND of `children` against the variadic one (same_as_typed).
template <class... Ts>
std::vector<std::string> same_and(AndOptions options, const Ts&... children) {
  return same_as_typed(AndTrigger{options, children...},
                       DecodedAndTrigger{options, {AnyTrigger{children}...}}, sizeof...(Ts));
}

// The decoded OR of `children` against the variadic one (same_as_typed).
template <class... Ts>
std::vector<std::string> same_or(OrOptions options, const Ts&... children) {
  return same_as_typed(OrTrigger{options, children...},
                       DecodedOrTrigger{options, {AnyTrigger{children}...}}, sizeof...(Ts));
}

bool has(const std::vector<std::string>& values, const std::string& prefix) {
  for (const std::string& value : values) {
    if (value.starts_with(prefix)) {
      return true;
    }
  }
  return false;
}

TEST_CASE("decoded and trigger fires as the variadic one at every instant", "[json][composite]") {
  same_and(AndOptions{}, every(3s), every(5s, 1s));
  same_and(AndOptions{.threshold = 0s}, every(2s), every(3s), Sevens{});
  same_and(AndOptions{.threshold = 2s, .max_iterations = 50, .jitter = 3s}, every_four_seconds(),
           every(3s, 1s), Sevens{});
  same_and(AndOptions{.threshold = 0s}, every(1s));
  // The most children a decoded trigger may have, and more (past the inline buffer).
  const auto eight = same_and(AndOptions{.threshold = 0s}, every(1s), every(2s), every(3s),
                              every(4s), every(6s), every(1s), every(2s), every(12s));
  CHECK(has(eight, std::to_string(Duration{12s}.count())));
  STATIC_REQUIRE(inline_children == TriggerCodecs::max_children);
  same_and(AndOptions{.threshold = 0s}, every(1s), every(2s), every(3s), every(4s), every(6s),
           every(1s), every(2s), every(12s), every(3s), every(4s));
}

TEST_CASE("decoded and trigger ends when a child is exhausted", "[json][composite]") {
  const auto date = same_and(AndOptions{}, DateTrigger{t0 + 30s}, every(3s));
  CHECK(has(date, "none"));
  CHECK(has(date, std::to_string(Duration{30s}.count())));
  const auto ended = same_and(AndOptions{.threshold = 0s}, every(2s), every(3s, 0s, t0 + 40s));
  CHECK(has(ended, "none"));
}

TEST_CASE("decoded and trigger gives up after max_iterations as the variadic one",
          "[json][composite][error]") {
  // Even and odd seconds never meet with a zero threshold.
  const auto never = same_and(AndOptions{.threshold = 0s, .max_iterations = 3, .jitter = {}},
                              every(2s), every(2s, 1s));
  CHECK(has(never, "error: AndTrigger: the triggers found no common fire time within 3 "));
  const DecodedAndTrigger decoded{AndOptions{.threshold = 0s, .max_iterations = 3, .jitter = {}},
                                  {AnyTrigger{every(2s)}, AnyTrigger{every(2s, 1s)}}};
  REQUIRE_THROWS_AS(decoded.next_fire_time(std::nullopt, t0), InvalidTriggerError);
  REQUIRE_THROWS_WITH(
      decoded.next_fire_time(std::nullopt, t0),
      "AndTrigger: the triggers found no common fire time within 3 iterations after "
      "2024-10-04T00:00:00.000000Z; expected them to meet within threshold 0ns (raise "
      "max_iterations or threshold)");
}

TEST_CASE("decoded or trigger fires as the variadic one at every instant", "[json][composite]") {
  same_or(OrOptions{}, every(3s), every(5s, 1s));
  same_or(OrOptions{.jitter = 5s}, Sevens{}, every_four_seconds(), every(11s, 2s, t0 + 50s));
  same_or(OrOptions{}, every(9s));
  same_or(OrOptions{}, every(3s), every(5s), every(7s), every(11s), every(13s), every(17s),
          every(19s), every(23s), every(29s), every(31s));
}

TEST_CASE("decoded or trigger ends when every child is exhausted", "[json][composite]") {
  const auto dates =
      same_or(OrOptions{}, DateTrigger{t0 + 2s}, DateTrigger{t0 + 1s}, DateTrigger{t0 + 2s});
  CHECK(has(dates, "none"));
  const auto ended = same_or(OrOptions{}, every(2s, 0s, t0 + 20s), DateTrigger{t0 + 45s});
  CHECK(has(ended, "none"));
  CHECK(has(ended, std::to_string(Duration{45s}.count())));
}

TEST_CASE("decoded composites reject what the variadic ones reject", "[json][composite][error]") {
  const std::vector<AnyTrigger> one{AnyTrigger{every(1s)}};
  REQUIRE_THROWS_AS((DecodedAndTrigger{AndOptions{.threshold = -1s}, one}), InvalidTriggerError);
  REQUIRE_THROWS_WITH((DecodedAndTrigger{AndOptions{.threshold = -1s}, one}),
                      "AndTrigger: threshold -1s is negative; expected a duration >= 0");
  REQUIRE_THROWS_WITH(
      (DecodedAndTrigger{AndOptions{.threshold = 1s, .max_iterations = 0, .jitter = {}}, one}),
      "AndTrigger: max_iterations is 0; expected at least 1");
  REQUIRE_THROWS_WITH(
      (DecodedAndTrigger{AndOptions{.threshold = 1s, .max_iterations = 1, .jitter = -1s}, one}),
      "AndTrigger: jitter -1s is negative; expected a duration >= 0");
  REQUIRE_THROWS_WITH((DecodedOrTrigger{OrOptions{.jitter = -1s}, one}),
                      "OrTrigger: jitter -1s is negative; expected a duration >= 0");
  REQUIRE_THROWS_AS((DecodedAndTrigger{AndOptions{}, {}}), InvalidTriggerError);
  REQUIRE_THROWS_WITH((DecodedAndTrigger{AndOptions{}, {}}),
                      "AndTrigger: the list of triggers is empty; expected at least 1 trigger");
  REQUIRE_THROWS_WITH((DecodedOrTrigger{OrOptions{}, {}}),
                      "OrTrigger: the list of triggers is empty; expected at least 1 trigger");
}

TEST_CASE("decoded composites describe a child as its AnyTrigger does", "[json][composite]") {
  // An AnyTrigger names a trigger without describe() by its C++ type, and a decoded child is
  // an AnyTrigger (as in an AndTrigger or OrTrigger of AnyTriggers).
  struct Plain {
    [[nodiscard]] std::optional<TimePoint> next_fire_time(std::optional<TimePoint>,
                                                          TimePoint now) const {
      return now;
    }
  };
  const AnyTrigger plain{Plain{}};
  CHECK((DecodedOrTrigger{OrOptions{}, {plain, AnyTrigger{Sevens{}}}}.describe()) ==
        "or[" + plain.describe() + "; sevens]");
  CHECK((DecodedAndTrigger{AndOptions{}, {plain}}.describe()) ==
        "and[threshold=1s; " + plain.describe() + "]");
}

TEST_CASE("decoded composites are copyable triggers", "[json][composite]") {
  STATIC_REQUIRE(apsched::JitteredTrigger<DecodedAndTrigger>);
  STATIC_REQUIRE(apsched::DescribedTrigger<DecodedAndTrigger>);
  STATIC_REQUIRE(apsched::JitteredTrigger<DecodedOrTrigger>);
  STATIC_REQUIRE(apsched::DescribedTrigger<DecodedOrTrigger>);
  const DecodedAndTrigger original{AndOptions{.threshold = 0s},
                                   {AnyTrigger{every(2s)}, AnyTrigger{every(3s)}}};
  const DecodedAndTrigger copy = original;  // NOLINT(performance-unnecessary-copy-initialization)
  CHECK(outcomes(copy) == outcomes(original));
  CHECK(copy.options().threshold == 0s);
  // Nested: a decoded OR inside a decoded AND.
  const DecodedAndTrigger nested{
      AndOptions{},
      {AnyTrigger{DecodedOrTrigger{OrOptions{}, {AnyTrigger{every(5s)}}}}, AnyTrigger{every(3s)}}};
  const AndTrigger typed{AndOptions{}, OrTrigger{every(5s)}, every(3s)};
  CHECK(outcomes(nested) == outcomes(typed));
  CHECK(nested.describe() == typed.describe());
}

TEST_CASE("the codecs decode and and or to decoded composites that encode identically",
          "[json][composite]") {
  const TriggerCodecs& codecs = TriggerCodecs::builtin();
  const AndTrigger both{AndOptions{.threshold = 2s, .max_iterations = 40, .jitter = 1s}, every(3s),
                        DateTrigger{t0 + 9s}, every_four_seconds()};
  const json encoded = codecs.encode(both);
  const AnyTrigger decoded = codecs.decode(encoded);
  REQUIRE(decoded.target<DecodedAndTrigger>() != nullptr);
  CHECK(decoded.target<DecodedAndTrigger>()->triggers().size() == 3);
  CHECK(codecs.encode(decoded).dump() == encoded.dump());
  CHECK(codecs.encode(*decoded.target<DecodedAndTrigger>()).dump() == encoded.dump());
  CHECK(outcomes(decoded) == outcomes(both));

  const OrTrigger either{OrOptions{.jitter = 4s}, every(3s), every(5s, 1s)};
  const json encoded_or = codecs.encode(either);
  const AnyTrigger decoded_or = codecs.decode(encoded_or);
  REQUIRE(decoded_or.target<DecodedOrTrigger>() != nullptr);
  CHECK(codecs.encode(decoded_or).dump() == encoded_or.dump());
  CHECK(outcomes(decoded_or) == outcomes(either));

  // 1 to max_children children decode; one more is refused.
  json children = json::array();
  for (std::size_t n = 1; n <= TriggerCodecs::max_children; ++n) {
    children.push_back(
        codecs.encode(every(std::chrono::seconds{static_cast<std::chrono::seconds::rep>(n)})));
    for (const char* type : {"and", "or"}) {
      const json value{{"type", type}, {"triggers", children}};
      const AnyTrigger trigger = codecs.decode(value);
      CHECK(codecs.encode(trigger) == codecs.encode(codecs.decode(codecs.encode(trigger))));
    }
  }
  children.push_back(codecs.encode(every(1s)));
  REQUIRE_THROWS_AS(codecs.decode(json{{"type", "and"}, {"triggers", children}}),
                    SerializationError);
  REQUIRE_THROWS_WITH(codecs.decode(json{{"type", "or"}, {"triggers", children}}),
                      apsched::test::contains("expected an array of 1 to 8 triggers"));
}

}  // namespace detail_json_decoded_composite_test
