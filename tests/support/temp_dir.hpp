// SPDX-License-Identifier: MIT
// TempDir: a fresh directory under the system's temporary directory, removed with its contents.
#pragma once

#include <fmt/format.h>

#include <filesystem>
#include <random>
#include <string_view>
#include <system_error>

namespace apsched::test {

/// A new, empty directory named apsched-<random>, removed with everything in it on destruction.
/// Not thread-safe.
class TempDir {
 public:
  TempDir() {
    std::random_device random;
    for (;;) {
      path_ = std::filesystem::temp_directory_path() /
              fmt::format("apsched-{:08x}{:08x}", random(), random());
      if (std::filesystem::create_directory(path_)) {
        return;
      }
    }
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }

  /// The directory.
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

  /// The path of `name` inside the directory.
  [[nodiscard]] std::filesystem::path file(std::string_view name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace apsched::test
