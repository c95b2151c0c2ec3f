# Warnings and sanitizers live on INTERFACE targets that every kvmrun target links privately, so
# they never leak into third-party code and -Werror stays a developer/CI choice.
add_library(kvmrun_warnings INTERFACE)
target_compile_options(kvmrun_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Wnon-virtual-dtor
  -Wold-style-cast -Wcast-align -Woverloaded-virtual -Wimplicit-fallthrough
  -Wformat=2)
if(KVMRUN_WERROR)
  target_compile_options(kvmrun_warnings INTERFACE -Werror)
endif()

add_library(kvmrun_sanitizers INTERFACE)
if(KVMRUN_SANITIZE)
  list(JOIN KVMRUN_SANITIZE "," _kvmrun_sanitizers)
  target_compile_options(kvmrun_sanitizers INTERFACE
    -fsanitize=${_kvmrun_sanitizers} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(kvmrun_sanitizers INTERFACE -fsanitize=${_kvmrun_sanitizers})
endif()

# kvmrun_library(NAME SOURCES... [DEPS ...]): one folder, one static library, one namespace.
function(kvmrun_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS}
    PRIVATE ${ARG_PRIVATE_DEPS} kvmrun_warnings kvmrun_sanitizers)
endfunction()
