# The compiled mode (include/apsched/config.hpp): libraries that hold the definitions of the
# named schedulers once, so that the units of a program that links one compile only
# declarations. apsched::compiled for the core, apsched::json_compiled for the json part,
# apsched::sqlite_compiled and apsched::postgres_compiled for the durable stores; each
# target sets APSCHED_SEPARATE_COMPILATION=1 for itself and for every unit that links it.

# Adds the library apsched_<name> (apsched::<name>) of the definitions in src/<name>.cpp,
# linking `links` publicly, and appends it to APSCHED_INSTALLED_PARTS in the caller.
function(apsched_add_compiled_library name links)
  add_library(apsched_${name} "${PROJECT_SOURCE_DIR}/src/${name}.cpp")
  add_library(apsched::${name} ALIAS apsched_${name})
  set_target_properties(apsched_${name} PROPERTIES EXPORT_NAME ${name} POSITION_INDEPENDENT_CODE ON)
  target_link_libraries(apsched_${name} PUBLIC ${links})
  set(APSCHED_INSTALLED_PARTS ${APSCHED_INSTALLED_PARTS} apsched_${name} PARENT_SCOPE)
endfunction()

# Adds apsched_compiled (apsched::compiled) and appends it to APSCHED_INSTALLED_PARTS in the
# caller when APSCHED_COMPILED is ON.
function(apsched_add_compiled)
  if(NOT APSCHED_COMPILED)
    return()
  endif()
  apsched_add_compiled_library(compiled apsched)
  target_compile_definitions(apsched_compiled PUBLIC APSCHED_SEPARATE_COMPILATION=1)
  set(APSCHED_INSTALLED_PARTS ${APSCHED_INSTALLED_PARTS} PARENT_SCOPE)
endfunction()

# Adds apsched_json_compiled (apsched::json_compiled: the json part's task registry and task
# arguments, over apsched::compiled) and appends it to APSCHED_INSTALLED_PARTS in the caller when
# APSCHED_COMPILED is ON and the json part is built.
function(apsched_add_json_compiled)
  if(NOT APSCHED_COMPILED OR NOT TARGET apsched_json)
    return()
  endif()
  apsched_add_compiled_library(json_compiled "apsched_compiled;apsched_json")
  set(APSCHED_INSTALLED_PARTS ${APSCHED_INSTALLED_PARTS} PARENT_SCOPE)
endfunction()

# Adds apsched_<part>_compiled (apsched::<part>_compiled: the definitions of the durable store
# part `part`, sqlite or postgres, its store and view, and of the named schedulers over its store,
# over apsched::json_compiled) and appends it to APSCHED_INSTALLED_PARTS in the caller when
# APSCHED_COMPILED is ON and the part is built.
function(apsched_add_store_compiled part)
  if(NOT APSCHED_COMPILED OR NOT TARGET apsched_json_compiled OR NOT TARGET apsched_${part})
    return()
  endif()
  apsched_add_compiled_library(${part}_compiled "apsched_json_compiled;apsched_${part}")
  set(APSCHED_INSTALLED_PARTS ${APSCHED_INSTALLED_PARTS} PARENT_SCOPE)
endfunction()
