// SPDX-License-Identifier: MIT
// RecordVisitor: calls the callable it refers to, without copying it, and passes its exceptions.
#include <apsched/detail/durable/record_visitor.hpp>

#include "support/catch.hpp"
#include "support/due_record.hpp"

#include <stdexcept>
#include <string>
#include <vector>

namespace detail_durable_record_visitor_test {

using apsched::JobRecord;
using apsched::TimePoint;
using apsched::detail::durable::RecordVisitor;
using apsched::test::due_record;

namespace {

// Visits with `visit` through a RecordVisitor, as a store's for_each hands it to its core.
void visit_each(const std::vector<JobRecord>& records, RecordVisitor visit) {
  for (const JobRecord& record : records) {
    visit(record);
  }
}

}  // namespace

TEST_CASE("record visitor calls the callable it refers to", "[durable][record_visitor]") {
  std::vector<JobRecord> records;
  records.push_back(due_record("a", TimePoint{}));
  records.push_back(due_record("b", TimePoint{}));
  std::vector<std::string> seen;
  auto collect = [&seen](const JobRecord& record) { seen.push_back(record.id); };
  visit_each(records, RecordVisitor{collect});
  REQUIRE(seen == std::vector<std::string>{"a", "b"});
}

TEST_CASE("record visitor refers to its callable instead of copying it",
          "[durable][record_visitor]") {
  std::vector<JobRecord> records;
  records.push_back(due_record("a", TimePoint{}));
  struct Counter {
    int calls = 0;
    void operator()(const JobRecord& /*record*/) { ++calls; }
  } counter;
  visit_each(records, RecordVisitor{counter});
  visit_each(records, RecordVisitor{counter});
  REQUIRE(counter.calls == 2);
}

TEST_CASE("record visitor passes the callable's exception", "[durable][record_visitor]") {
  std::vector<JobRecord> records;
  records.push_back(due_record("a", TimePoint{}));
  auto fail = [](const JobRecord& record) { throw std::runtime_error{"visit " + record.id}; };
  REQUIRE_THROWS_WITH(visit_each(records, RecordVisitor{fail}), "visit a");
}

}  // namespace detail_durable_record_visitor_test
