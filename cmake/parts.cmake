# Optional parts of apsched: each lives behind its own headers and its own target, so the core
# target needs only fmt and threads. A part is built when its dependency is found.
#
# apsched::cron: the cron, calendar-interval and exclusion triggers, which read IANA time zones
#   through Howard Hinnant's date/tz (the system tzdata).
# apsched::asio: AsioScheduler, the io_context executor and coroutine jobs (standalone Asio, or
#   Boost.Asio with APSCHED_USE_BOOST_ASIO).
# apsched::json: JSON codecs of triggers, job options and task arguments, and the task registry
#   (nlohmann/json; needs apsched::cron, since cron triggers have codecs).
# apsched::sqlite: the durable SQLite job store (SQLite3; needs apsched::json).
# apsched::postgres: the PostgreSQL job store for clustered scheduling (libpq; needs
#   apsched::json).
#
# Each part's headers (its umbrella apsched/<part>.hpp, its folder, its internals under detail/,
# its definitions for the compiled mode under impl/<part>/, and the paths its headers had before
# they moved to the folder, kept as forwarding headers) are matched by APSCHED_PART_REGEX_<part>
# against paths below include/;
# tests, examples and benchmarks link a part when the header they mirror belongs to it or when
# their path starts with the part's name.
set(APSCHED_PARTS cron asio json sqlite postgres)
set(APSCHED_PART_REGEX_cron
    "^apsched/(cron\\.hpp|cron/|triggers/(cron|cron_policies|calendar_interval|exclusion)\\.hpp|detail/cron/)")
set(APSCHED_PART_REGEX_asio "^apsched/(asio\\.hpp|asio/|asio_scheduler\\.hpp|detail/asio/)")
set(APSCHED_PART_REGEX_json "^apsched/(json\\.hpp|json/|detail/json/|detail/durable/|impl/json/)")
set(APSCHED_PART_REGEX_sqlite
    "^apsched/(sqlite\\.hpp|sqlite/|stores/sqlite(_view)?\\.hpp|detail/sqlite/|impl/sqlite/)")
set(APSCHED_PART_REGEX_postgres
    "^apsched/(postgres\\.hpp|postgres/|stores/postgres(_view)?\\.hpp|detail/postgres/|impl/postgres/)")
# Removes the headers of the optional parts from the list named `headers` (one filter per part:
# CMake's regular expressions allow only nine groups each).
function(apsched_remove_part_headers headers)
  set(kept ${${headers}})
  foreach(part IN LISTS APSCHED_PARTS)
    list(FILTER kept EXCLUDE REGEX "${APSCHED_PART_REGEX_${part}}")
  endforeach()
  set(${headers} ${kept} PARENT_SCOPE)
endfunction()

option(APSCHED_USE_BOOST_ASIO "Build apsched::asio over Boost.Asio instead of standalone Asio" OFF)

# Finds the dependency of `part` and sets <part>_deps in the caller to the libraries to link, or
# leaves it empty when the dependency is missing.
function(apsched_find_part_dependency part)
  set(deps "")
  if(part STREQUAL "cron")
    find_package(date CONFIG QUIET)
    if(TARGET date::date-tz)
      set(deps date::date-tz)
    endif()
  elseif(part STREQUAL "asio")
    if(APSCHED_USE_BOOST_ASIO)
      find_package(Boost QUIET)
      if(TARGET Boost::headers)
        set(deps Boost::headers)
      endif()
    else()
      find_package(asio CONFIG QUIET)
      if(TARGET asio::asio)
        set(deps asio::asio)
      else()
        # Debian's libasio-dev installs asio.hpp on the default include path and no CMake package.
        find_path(APSCHED_ASIO_INCLUDE_DIR asio.hpp)
        if(APSCHED_ASIO_INCLUDE_DIR)
          set(deps Threads::Threads)
        endif()
      endif()
    endif()
  elseif(part STREQUAL "json")
    find_package(nlohmann_json 3 CONFIG QUIET)
    if(TARGET nlohmann_json::nlohmann_json AND TARGET apsched_cron)
      set(deps nlohmann_json::nlohmann_json apsched_cron)
    endif()
  elseif(part STREQUAL "sqlite")
    find_package(SQLite3 QUIET)
    if(TARGET SQLite::SQLite3 AND TARGET apsched_json)
      set(deps SQLite::SQLite3 apsched_json)
    endif()
  elseif(part STREQUAL "postgres")
    find_package(PostgreSQL QUIET)
    if(TARGET PostgreSQL::PostgreSQL AND TARGET apsched_json)
      set(deps PostgreSQL::PostgreSQL apsched_json)
    endif()
  endif()
  set(${part}_deps ${deps} PARENT_SCOPE)
endfunction()

function(apsched_add_optional_parts)
  set(installed "")
  foreach(part IN LISTS APSCHED_PARTS)
    apsched_find_part_dependency(${part})
    if(NOT ${part}_deps)
      message(STATUS "apsched: the dependency of apsched::${part} was not found; not built")
      continue()
    endif()
    set(headers ${apsched_all_headers})
    list(FILTER headers INCLUDE REGEX "${APSCHED_PART_REGEX_${part}}")
    list(TRANSFORM headers PREPEND "include/")
    if(NOT headers)
      continue()
    endif()
    add_library(apsched_${part} INTERFACE)
    add_library(apsched::${part} ALIAS apsched_${part})
    set_target_properties(apsched_${part} PROPERTIES EXPORT_NAME ${part})
    target_sources(apsched_${part} INTERFACE FILE_SET HEADERS BASE_DIRS include FILES ${headers})
    target_link_libraries(apsched_${part} INTERFACE apsched ${${part}_deps})
    if(part STREQUAL "asio")
      if(APSCHED_USE_BOOST_ASIO)
        target_compile_definitions(apsched_${part} INTERFACE APSCHED_USE_BOOST_ASIO)
      endif()
      # See include/apsched/detail/asio/net.hpp: Asio 1.22 misses Clang's standard coroutines.
      target_compile_definitions(apsched_${part} INTERFACE
        $<$<CXX_COMPILER_ID:Clang>:ASIO_HAS_CO_AWAIT=1;ASIO_HAS_STD_COROUTINE=1;BOOST_ASIO_HAS_CO_AWAIT=1;BOOST_ASIO_HAS_STD_COROUTINE=1>)
    endif()
    if(APSCHED_VERIFY_HEADERS)
      set_target_properties(apsched_${part} PROPERTIES VERIFY_INTERFACE_HEADER_SETS ON)
    endif()
    if(part STREQUAL "asio" AND APSCHED_ASIO_INCLUDE_DIR
       AND NOT APSCHED_ASIO_INCLUDE_DIR IN_LIST CMAKE_CXX_IMPLICIT_INCLUDE_DIRECTORIES)
      target_include_directories(apsched_asio SYSTEM INTERFACE
                                 "$<BUILD_INTERFACE:${APSCHED_ASIO_INCLUDE_DIR}>")
    endif()
    list(APPEND installed apsched_${part})
  endforeach()
  set(APSCHED_INSTALLED_PARTS ${installed} PARENT_SCOPE)
endfunction()

# Sets `out` in the caller to the targets of the parts a test, example or benchmark needs, and
# `available` to whether they all exist: `header` is the header it mirrors (below include/, may
# not exist) and `path` its own path relative to its folder. A part's dependencies among the
# parts come with it through target_link_libraries.
function(apsched_parts_for header path out available)
  set(parts "")
  set(found TRUE)
  foreach(part IN LISTS APSCHED_PARTS)
    if(header MATCHES "${APSCHED_PART_REGEX_${part}}" OR path MATCHES "^${part}")
      list(APPEND parts apsched::${part})
      if(NOT TARGET apsched::${part})
        set(found FALSE)
      endif()
    endif()
  endforeach()
  set(${out} ${parts} PARENT_SCOPE)
  set(${available} ${found} PARENT_SCOPE)
endfunction()
