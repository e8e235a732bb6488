# KilnModel.cmake - kiln_add_model(): a model written with the C++ builder, built into a
# graph-dialect module (.mlir) and, on request, compiled into a training plan (.kplan).
#
#   kiln_add_model(NAME SOURCES src... [OUTPUT_MLIR file] [PLAN file] [COMPILE_ARGS arg...])
#
# Builds the executable NAME from SOURCES, linked to Kiln::Frontend. The executable follows
# one convention: it receives the output path as argv[1] and writes the module there (a
# non-zero exit status fails the build). A custom command runs it to write OUTPUT_MLIR
# (default NAME.mlir in the current binary folder); with PLAN, `kiln compile` turns the
# module into that plan, passing COMPILE_ARGS on (e.g. --optimizer adam --lr 0.001). Relative
# OUTPUT_MLIR and PLAN paths are in the current binary folder. The target NAME_model builds
# them and is part of `all`.

function(kiln_add_model name)
  cmake_parse_arguments(ARG "" "OUTPUT_MLIR;PLAN" "SOURCES;COMPILE_ARGS" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "kiln_add_model(${name}): SOURCES is required")
  endif()
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "kiln_add_model(${name}): unknown arguments ${ARG_UNPARSED_ARGUMENTS}; "
      "it takes SOURCES, OUTPUT_MLIR, PLAN and COMPILE_ARGS")
  endif()
  if(NOT ARG_OUTPUT_MLIR)
    set(ARG_OUTPUT_MLIR ${name}.mlir)
  endif()
  cmake_path(ABSOLUTE_PATH ARG_OUTPUT_MLIR BASE_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})

  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE Kiln::Frontend)

  add_custom_command(OUTPUT ${ARG_OUTPUT_MLIR}
    COMMAND ${name} ${ARG_OUTPUT_MLIR}
    DEPENDS ${name}
    COMMENT "Writing the Kiln model ${name} to ${ARG_OUTPUT_MLIR}"
    VERBATIM)
  set(outputs ${ARG_OUTPUT_MLIR})

  if(ARG_PLAN)
    cmake_path(ABSOLUTE_PATH ARG_PLAN BASE_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
    add_custom_command(OUTPUT ${ARG_PLAN}
      COMMAND ${KILN_EXECUTABLE} compile ${ARG_OUTPUT_MLIR} -o ${ARG_PLAN} ${ARG_COMPILE_ARGS}
      DEPENDS ${ARG_OUTPUT_MLIR} ${KILN_EXECUTABLE}
      COMMENT "Compiling the Kiln model ${name} into ${ARG_PLAN}"
      VERBATIM)
    list(APPEND outputs ${ARG_PLAN})
  elseif(ARG_COMPILE_ARGS)
    message(FATAL_ERROR "kiln_add_model(${name}): COMPILE_ARGS needs PLAN")
  endif()

  add_custom_target(${name}_model ALL DEPENDS ${outputs})
endfunction()
