# Optional parts of apsched: each lives behind its own headers and its own target, so the core
# target needs only fmt and threads.
#
# apsched::cron: the cron, calendar-interval and exclusion triggers, which read IANA time zones
# through Howard Hinnant's date/tz (the system tzdata).
set(APSCHED_OPTIONAL_HEADER_REGEX
    "^apsched/(triggers/(cron|calendar_interval|exclusion)\\.hpp|detail/cron/)")

function(apsched_add_optional_parts)
  set(installed "")
  find_package(date CONFIG QUIET)
  if(TARGET date::date-tz)
    set(cron_headers ${apsched_all_headers})
    list(FILTER cron_headers INCLUDE REGEX "${APSCHED_OPTIONAL_HEADER_REGEX}")
    list(TRANSFORM cron_headers PREPEND "include/")
    add_library(apsched_cron INTERFACE)
    add_library(apsched::cron ALIAS apsched_cron)
    set_target_properties(apsched_cron PROPERTIES EXPORT_NAME cron)
    target_sources(apsched_cron INTERFACE FILE_SET HEADERS BASE_DIRS include FILES ${cron_headers})
    target_link_libraries(apsched_cron INTERFACE apsched date::date-tz)
    if(APSCHED_VERIFY_HEADERS)
      set_target_properties(apsched_cron PROPERTIES VERIFY_INTERFACE_HEADER_SETS ON)
    endif()
    list(APPEND installed apsched_cron)
  else()
    message(STATUS "apsched: date/tz not found; the apsched::cron target is not built")
  endif()
  set(APSCHED_INSTALLED_PARTS ${installed} PARENT_SCOPE)
endfunction()
