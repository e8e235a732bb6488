# kiln_add_unit_test(NAME SOURCES ... LIBS ...): a GoogleTest executable registered with ctest.
# Used by tests/unit/<area>/ in the main build and in the runtime-only build (KilnRuntimeOnly).
function(kiln_add_unit_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} GTest::gtest GTest::gtest_main)
  add_test(NAME ${name} COMMAND ${name} --gtest_brief=1)
  set_tests_properties(${name} PROPERTIES ENVIRONMENT "KILN_SOURCE_DIR=${KILN_SOURCE_DIR};KILN_BINARY_DIR=${KILN_BINARY_DIR}")
endfunction()
