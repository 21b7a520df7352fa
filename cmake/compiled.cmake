# The compiled mode (include/apsched/config.hpp): libraries that hold the definitions of the
# named schedulers once, so that the units of a program that links one compile only
# declarations. apsched::compiled for the core; each target sets APSCHED_SEPARATE_COMPILATION=1
# for itself and for every unit that links it.

# Adds apsched_compiled (apsched::compiled) and appends it to APSCHED_INSTALLED_PARTS in the
# caller when APSCHED_COMPILED is ON.
function(apsched_add_compiled)
  if(NOT APSCHED_COMPILED)
    return()
  endif()
  add_library(apsched_compiled "${PROJECT_SOURCE_DIR}/src/compiled.cpp")
  add_library(apsched::compiled ALIAS apsched_compiled)
  set_target_properties(apsched_compiled PROPERTIES EXPORT_NAME compiled
                                                   POSITION_INDEPENDENT_CODE ON)
  target_link_libraries(apsched_compiled PUBLIC apsched)
  target_compile_definitions(apsched_compiled PUBLIC APSCHED_SEPARATE_COMPILATION=1)
  set(APSCHED_INSTALLED_PARTS ${APSCHED_INSTALLED_PARTS} apsched_compiled PARENT_SCOPE)
endfunction()
