//===- VulkanOpsSupport.h - Graph modules on the Vulkan runtime -*- C++ -*-===//
//
// Compiles graph-dialect modules with KilnCodegen and runs the plans in a
// Vulkan session with validation and synchronization validation on. (The op
// registry's harness runs on every device through the conformance suite.)
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TESTS_UNIT_VULKAN_OPS_VULKANOPSSUPPORT_H
#define KILN_TESTS_UNIT_VULKAN_OPS_VULKANOPSSUPPORT_H

#include "kiln/plan/plan.pb.h"
#include "kiln/runtime/vulkan/Session.h"

#include "absl/status/statusor.h"
#include "mlir/IR/BuiltinOps.h"

#include <memory>
#include <string>
#include <vector>

namespace kiln::vulkan_ops_test {

/// Empty if a Vulkan device exists, else why not. Points XDG_RUNTIME_DIR at a temporary
/// folder first (once) so the loader does not warn.
const std::string &vulkanUnavailableReason();

#define KILN_REQUIRE_VULKAN()                                                                      \
  do {                                                                                             \
    if (const std::string &reason = ::kiln::vulkan_ops_test::vulkanUnavailableReason();            \
        !reason.empty())                                                                           \
      GTEST_SKIP() << "no Vulkan device: " << reason;                                              \
  } while (false)

/// Compiles `module` for Vulkan; InvalidArgument holding the diagnostics on failure.
absl::StatusOr<plan::Plan> compileForVulkan(mlir::ModuleOp module, bool fusion = true);

/// compileForVulkan, then a session with validation and synchronization validation on.
absl::StatusOr<std::unique_ptr<vulkan::Session>> createValidatedSession(mlir::ModuleOp module,
                                                                        bool fusion = true);

} // namespace kiln::vulkan_ops_test

#endif // KILN_TESTS_UNIT_VULKAN_OPS_VULKANOPSSUPPORT_H
