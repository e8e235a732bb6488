//===- VulkanOpsSupport.h - Graph modules on the Vulkan runtime -*- C++ -*-===//
//
// Compiles graph-dialect modules with KilnCodegen and runs the plans in a
// Vulkan session with validation and synchronization validation on. Plugs
// the Vulkan target into the op registry's harness (tests/unit/ops) as a
// DeviceUnderTest, and keeps every validation message any session reported
// so a test can require that there were none.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TESTS_UNIT_VULKAN_OPS_VULKANOPSSUPPORT_H
#define KILN_TESTS_UNIT_VULKAN_OPS_VULKANOPSSUPPORT_H

#include "OpHarness.h"

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

/// The Vulkan target as the op registry's device under test (float32 only: float64 requests
/// return Unimplemented). Each prepared step appends its session's validation messages to
/// validationMessages() when it is destroyed.
class VulkanUnderTest : public ops_test::DeviceUnderTest {
public:
  absl::StatusOr<std::unique_ptr<ops_test::PreparedStep>> prepare(mlir::ModuleOp module,
                                                                  bool float64) override;
  const std::vector<std::string> &validationMessages() const { return messages_; }

private:
  std::vector<std::string> messages_;
};

} // namespace kiln::vulkan_ops_test

#endif // KILN_TESTS_UNIT_VULKAN_OPS_VULKANOPSSUPPORT_H
