# KILN_RUNTIME_ONLY: only the runtime libraries that need no MLIR (common, plan, checkpoint,
# data, and cpu's image loader KilnCpuCode: cpu::Device needs the session core), their unit tests and, with KILN_FUZZ, their fuzz targets. scripts/test.sh builds this in
# build-asan/ with KILN_SANITIZE (ASan + UBSan) in about two minutes.
find_package(GTest REQUIRED)
find_package(absl REQUIRED CONFIG)
find_package(ZLIB REQUIRED)
enable_testing()
include(${KILN_SOURCE_DIR}/cmake/KilnTesting.cmake)

foreach(area common plan checkpoint data cpu)
  add_subdirectory(runtime/${area})
endforeach()
foreach(area runtime plan checkpoint data)
  add_subdirectory(tests/unit/${area})
endforeach()
if(KILN_FUZZ)
  add_subdirectory(tests/fuzz)
endif()
