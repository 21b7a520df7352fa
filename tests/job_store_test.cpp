// SPDX-License-Identifier: MIT
// FireOwner: the owner text of a durable store's fires, parsed into host, pid and token, and
// written back exactly as stored, whatever the text.
#include <apsched/job_store.hpp>

#include "support/catch.hpp"

#include <string>

namespace job_store_test {

using apsched::FireOwner;

TEST_CASE("fire owner: host:pid:token is parsed into its parts and written back",
          "[job_store][owner]") {
  const FireOwner owner = FireOwner::parse("node-1:4242:9f86d081884c7d65");
  CHECK(owner.host == "node-1");
  CHECK(owner.pid == 4242);
  CHECK(owner.token == "9f86d081884c7d65");
  CHECK(owner.structured());
  CHECK(owner.text() == "node-1:4242:9f86d081884c7d65");
  CHECK(owner == FireOwner{.host = "node-1", .pid = 4242, .token = "9f86d081884c7d65"});
  CHECK(owner != FireOwner::parse("node-1:4243:9f86d081884c7d65"));
}

TEST_CASE("fire owner: a host with colons, or none, still parses", "[job_store][owner]") {
  const FireOwner colons = FireOwner::parse("fe80::1:77:abc");
  CHECK(colons.host == "fe80::1");
  CHECK(colons.pid == 77);
  CHECK(colons.token == "abc");
  CHECK(colons.text() == "fe80::1:77:abc");
  // A store that could not read its host name or pid (no POSIX) writes ":0:token".
  const FireOwner bare = FireOwner::parse(":0:abc");
  CHECK(bare.structured());
  CHECK(bare.host.empty());
  CHECK(bare.pid == 0);
  CHECK(bare.text() == ":0:abc");
}

TEST_CASE("fire owner: other text is kept whole in the token, never an error",
          "[job_store][owner]") {
  for (const std::string text :
       {"", "legacy-token", "a:b", "host:pid:token", "host:-1:x", "host:+1:x", "host:01:x",
        "host::x", ":", "::", "host:99999999999999999999:x", "héllo:1"}) {
    INFO(text);
    const FireOwner owner = FireOwner::parse(text);
    CHECK_FALSE(owner.structured());
    CHECK(owner.host.empty());
    CHECK(owner.pid == -1);
    CHECK(owner.token == text);
    CHECK(owner.text() == text);
  }
  CHECK(FireOwner::parse("") == FireOwner{});
  CHECK(FireOwner{}.text().empty());
}

}  // namespace job_store_test
