//===- VulkanOpsSupport.cpp - Graph modules on the Vulkan runtime ---------===//

#include "VulkanOpsSupport.h"

#include "kiln/Codegen/Codegen.h"
#include "kiln/runtime/vulkan/VulkanDevice.h"

#include "mlir/IR/Diagnostics.h"

#include <cstdlib>
#include <filesystem>

namespace kiln::vulkan_ops_test {
const std::string &vulkanUnavailableReason() {
  static const std::string reason = [] {
    std::filesystem::path runtimeDir =
        std::filesystem::temp_directory_path() / "kiln-vulkan-ops-test-xdg";
    std::filesystem::create_directories(runtimeDir);
    std::filesystem::permissions(runtimeDir, std::filesystem::perms::owner_all);
    setenv("XDG_RUNTIME_DIR", runtimeDir.c_str(), 1);
    absl::StatusOr<std::vector<vulkan::PhysicalDeviceInfo>> devices =
        vulkan::VulkanDevice::enumerate();
    return devices.ok() ? std::string() : std::string(devices.status().message());
  }();
  return reason;
}

absl::StatusOr<plan::Plan> compileForVulkan(mlir::ModuleOp module, bool fusion) {
  std::string diagnostics;
  mlir::ScopedDiagnosticHandler handler(module.getContext(), [&](mlir::Diagnostic &d) {
    diagnostics += d.str() + "\n";
    return mlir::success();
  });
  codegen::CodegenOptions options;
  options.fusion = fusion;
  options.targets = {plan::TARGET_VULKAN}; // PtxasTest checks the PTX of the same kernels
  mlir::FailureOr<plan::Plan> plan = codegen::compileToPlan(module, options);
  if (mlir::failed(plan))
    return absl::InvalidArgumentError("codegen failed:\n" + diagnostics);
  return *std::move(plan);
}

absl::StatusOr<std::unique_ptr<vulkan::Session>> createValidatedSession(mlir::ModuleOp module,
                                                                        bool fusion) {
  absl::StatusOr<plan::Plan> plan = compileForVulkan(module, fusion);
  if (!plan.ok())
    return plan.status();
  vulkan::SessionOptions options;
  options.device.validation = true;
  return vulkan::Session::create(*std::move(plan), options);
}

} // namespace kiln::vulkan_ops_test
