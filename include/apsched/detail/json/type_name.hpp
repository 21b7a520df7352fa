// SPDX-License-Identifier: MIT
// Readable C++ type names for error messages: `int`, `std::string`, `std::vector<int>`.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <unordered_map>
#include <utility>
#include <vector>

#if __has_include(<cxxabi.h>)
#include <cxxabi.h>
#endif

namespace apsched::detail::json {

/// The name the compiler gives `info` (demangled where the ABI offers it).
[[nodiscard]] inline std::string demangle(const std::type_info& info) {
#if __has_include(<cxxabi.h>)
  int status = 0;
  const std::unique_ptr<char, void (*)(void*)> name{
      abi::__cxa_demangle(info.name(), nullptr, nullptr, &status), &std::free};
  if (status == 0 && name) {
    return name.get();
  }
#endif
  return info.name();
}

/// The compiler's spelling of `T`, from the signature of this function.
template <class T>
[[nodiscard]] std::string compiler_type_name() {
#if defined(__clang__) || defined(__GNUC__)
  // Clang: "... compiler_type_name() [T = Foo]"; GCC: "... [with T = Foo; ...]".
  const std::string_view signature = __PRETTY_FUNCTION__;
  const std::size_t start = signature.find("T = ");
  if (start != std::string_view::npos) {
    std::size_t end = signature.find(';', start);
    if (end == std::string_view::npos) {
      end = signature.rfind(']');
    }
    if (end != std::string_view::npos && end > start) {
      return std::string{signature.substr(start + 4, end - start - 4)};
    }
  }
#endif
  return demangle(typeid(T));
}

/// The usual spelling of `T` if it is an arithmetic type, std::string or std::nullptr_t, else
/// empty (the compiler's spelling of `long` may be `long int`, and of std::string a page).
template <class T>
[[nodiscard]] constexpr std::string_view plain_name() noexcept {
  using std::is_same_v;
  if constexpr (is_same_v<T, bool>) {
    return "bool";
  } else if constexpr (is_same_v<T, char>) {
    return "char";
  } else if constexpr (is_same_v<T, signed char>) {
    return "signed char";
  } else if constexpr (is_same_v<T, unsigned char>) {
    return "unsigned char";
  } else if constexpr (is_same_v<T, short>) {
    return "short";
  } else if constexpr (is_same_v<T, unsigned short>) {
    return "unsigned short";
  } else if constexpr (is_same_v<T, int>) {
    return "int";
  } else if constexpr (is_same_v<T, unsigned>) {
    return "unsigned";
  } else if constexpr (is_same_v<T, long>) {
    return "long";
  } else if constexpr (is_same_v<T, unsigned long>) {
    return "unsigned long";
  } else if constexpr (is_same_v<T, long long>) {
    return "long long";
  } else if constexpr (is_same_v<T, unsigned long long>) {
    return "unsigned long long";
  } else if constexpr (is_same_v<T, float>) {
    return "float";
  } else if constexpr (is_same_v<T, double>) {
    return "double";
  } else if constexpr (is_same_v<T, long double>) {
    return "long double";
  } else if constexpr (is_same_v<T, std::string>) {
    return "std::string";
  } else if constexpr (is_same_v<T, std::nullptr_t>) {
    return "std::nullptr_t";
  } else {
    return {};
  }
}

/// Names `T`; specialised below for standard templates.
template <class T>
struct TypeName {
  static std::string get() {
    constexpr std::string_view plain = plain_name<T>();
    if constexpr (!plain.empty()) {
      return std::string{plain};
    } else {
      return compiler_type_name<T>();
    }
  }
};

/// A readable name of `T` for messages: the usual spelling of arithmetic types, `std::string`,
/// and standard containers of named types (`std::vector<int>`, `std::optional<std::string>`);
/// the compiler's spelling for anything else.
template <class T>
[[nodiscard]] std::string type_name() {
  return TypeName<T>::get();
}

template <class T>
struct TypeName<std::vector<T>> {
  static std::string get() { return "std::vector<" + type_name<T>() + ">"; }
};
template <class T>
struct TypeName<std::optional<T>> {
  static std::string get() { return "std::optional<" + type_name<T>() + ">"; }
};
template <class T>
struct TypeName<std::set<T>> {
  static std::string get() { return "std::set<" + type_name<T>() + ">"; }
};
template <class T, std::size_t N>
struct TypeName<std::array<T, N>> {
  static std::string get() {
    return "std::array<" + type_name<T>() + ", " + std::to_string(N) + ">";
  }
};
template <class K, class V>
struct TypeName<std::map<K, V>> {
  static std::string get() { return "std::map<" + type_name<K>() + ", " + type_name<V>() + ">"; }
};
template <class K, class V>
struct TypeName<std::unordered_map<K, V>> {
  static std::string get() {
    return "std::unordered_map<" + type_name<K>() + ", " + type_name<V>() + ">";
  }
};
template <class A, class B>
struct TypeName<std::pair<A, B>> {
  static std::string get() { return "std::pair<" + type_name<A>() + ", " + type_name<B>() + ">"; }
};
template <class... Ts>
struct TypeName<std::tuple<Ts...>> {
  static std::string get() {
    std::string text = "std::tuple<";
    bool first = true;
    ((text += (first ? "" : ", ") + type_name<Ts>(), first = false), ...);
    return text + ">";
  }
};

}  // namespace apsched::detail::json
