# The consumer program every packaging check builds once apsched's targets are in place.
add_executable(package_consumer "${CMAKE_CURRENT_LIST_DIR}/main.cpp")
target_link_libraries(package_consumer PRIVATE apsched::apsched)
if(TARGET apsched::cron)
  target_link_libraries(package_consumer PRIVATE apsched::cron)
endif()
if(NOT MSVC)
  target_compile_options(package_consumer PRIVATE -Wall -Wextra -Wpedantic -Werror)
endif()
