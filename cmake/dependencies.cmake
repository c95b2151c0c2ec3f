# Every third-party library comes from Debian's archive (scripts/setup-deps), except libcurl,
# which scripts/build-curl builds from Debian's source package into the cache below.
set(Boost_USE_STATIC_LIBS ON)
find_package(Boost 1.81.0 EXACT CONFIG REQUIRED COMPONENTS json filesystem)

# Boost.Process v2 is compiled once (base/subprocess.cpp) and needs Boost.Filesystem (its
# std::filesystem mode does not compile in 1.81).
add_library(kvmrun_boost INTERFACE)
target_link_libraries(kvmrun_boost INTERFACE Boost::headers)
target_compile_definitions(kvmrun_boost INTERFACE
  BOOST_PROCESS_V2_SEPARATE_COMPILATION BOOST_JSON_NO_LIB
  BOOST_ASIO_NO_DEPRECATED)

set(OPENSSL_USE_STATIC_LIBS ON)
find_package(OpenSSL 3 REQUIRED)
set(ZLIB_USE_STATIC_LIBS ON)
find_package(ZLIB REQUIRED)
find_package(Threads REQUIRED)

find_path(TOMLPLUSPLUS_INCLUDE_DIR toml++/toml.h REQUIRED)
add_library(kvmrun_tomlplusplus INTERFACE)
target_include_directories(kvmrun_tomlplusplus SYSTEM INTERFACE ${TOMLPLUSPLUS_INCLUDE_DIR})
target_compile_definitions(kvmrun_tomlplusplus INTERFACE TOML_HEADER_ONLY=1 TOML_EXCEPTIONS=1)

execute_process(COMMAND "${CMAKE_CURRENT_LIST_DIR}/../scripts/cache-dir"
                OUTPUT_VARIABLE _kvmrun_cache OUTPUT_STRIP_TRAILING_WHITESPACE COMMAND_ERROR_IS_FATAL ANY)
set(KVMRUN_CURL_DIR "${_kvmrun_cache}/curl/current" CACHE PATH
    "Prefix of the static libcurl built by scripts/build-curl")
if(NOT EXISTS "${KVMRUN_CURL_DIR}/lib/libcurl.a")
  message(FATAL_ERROR "kvmrun: no static libcurl in ${KVMRUN_CURL_DIR}; run scripts/setup-deps")
endif()
add_library(kvmrun_curl STATIC IMPORTED)
set_target_properties(kvmrun_curl PROPERTIES
  IMPORTED_LOCATION "${KVMRUN_CURL_DIR}/lib/libcurl.a"
  INTERFACE_INCLUDE_DIRECTORIES "${KVMRUN_CURL_DIR}/include"
  INTERFACE_COMPILE_DEFINITIONS CURL_STATICLIB
  INTERFACE_LINK_LIBRARIES "OpenSSL::SSL;OpenSSL::Crypto;ZLIB::ZLIB;Threads::Threads")
