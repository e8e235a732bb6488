# KilnInstall.cmake - What `cmake --install` puts under the prefix.
#
# The kiln and kiln-opt tools, the C++ builder (KilnFrontend) with the Kiln
# libraries it links (KilnGraph, KilnRuntimeCommon), their public headers
# (including the graph dialect's generated .h.inc files), and the CMake package
# lib/cmake/Kiln: KilnConfig.cmake, its version file, the exported targets
# Kiln::Frontend, Kiln::Graph, Kiln::RuntimeCommon, Kiln::kiln and
# Kiln::kiln-opt, and KilnModel.cmake (kiln_add_model). LLVM/MLIR, abseil and
# Vulkan stay the system's; KilnConfig.cmake finds them again. See
# docs/guide/your-own-model.md.

include(CMakePackageConfigHelpers)

set(KILN_VERSION 0.1.0)
set(KILN_INSTALL_CMAKE_DIR lib/cmake/Kiln)

# The libraries a builder program links, under their package names.
set_target_properties(KilnFrontend PROPERTIES EXPORT_NAME Frontend)
set_target_properties(KilnGraph PROPERTIES EXPORT_NAME Graph)
set_target_properties(KilnRuntimeCommon PROPERTIES EXPORT_NAME RuntimeCommon)
target_include_directories(KilnFrontend PUBLIC $<INSTALL_INTERFACE:include>)
target_include_directories(KilnGraph PUBLIC $<INSTALL_INTERFACE:include>)
target_include_directories(KilnRuntimeCommon PUBLIC $<INSTALL_INTERFACE:include>)
target_compile_features(KilnFrontend INTERFACE cxx_std_20)

# The installed tools find libMLIR.so and libLLVM.so where the system keeps them.
set_property(TARGET kiln kiln-opt APPEND PROPERTY INSTALL_RPATH "${LLVM_LIBRARY_DIR}")

install(TARGETS KilnFrontend KilnGraph KilnRuntimeCommon kiln kiln-opt
  EXPORT KilnTargets
  ARCHIVE DESTINATION lib
  LIBRARY DESTINATION lib
  RUNTIME DESTINATION bin)

install(DIRECTORY
  ${KILN_SOURCE_DIR}/frontend/include/kiln
  ${KILN_SOURCE_DIR}/runtime/common/include/kiln
  DESTINATION include
  FILES_MATCHING PATTERN "*.h")
install(DIRECTORY ${KILN_SOURCE_DIR}/dialects/graph/include/kiln
  DESTINATION include
  FILES_MATCHING PATTERN "*.h" PATTERN "*.td")
install(DIRECTORY ${KILN_BINARY_DIR}/dialects/graph/include/kiln
  DESTINATION include
  FILES_MATCHING PATTERN "*.h.inc"
  PATTERN "CMakeFiles" EXCLUDE)

install(EXPORT KilnTargets NAMESPACE Kiln:: DESTINATION ${KILN_INSTALL_CMAKE_DIR})

configure_package_config_file(${KILN_SOURCE_DIR}/cmake/KilnConfig.cmake.in
  ${KILN_BINARY_DIR}/cmake/KilnConfig.cmake
  INSTALL_DESTINATION ${KILN_INSTALL_CMAKE_DIR})
write_basic_package_version_file(${KILN_BINARY_DIR}/cmake/KilnConfigVersion.cmake
  VERSION ${KILN_VERSION}
  COMPATIBILITY SameMinorVersion)
install(FILES
  ${KILN_BINARY_DIR}/cmake/KilnConfig.cmake
  ${KILN_BINARY_DIR}/cmake/KilnConfigVersion.cmake
  ${KILN_SOURCE_DIR}/cmake/KilnModel.cmake
  DESTINATION ${KILN_INSTALL_CMAKE_DIR})
