//===- VulkanOpsSupport.cpp - Graph modules on the Vulkan runtime ---------===//

#include "VulkanOpsSupport.h"

#include "kiln/Codegen/Codegen.h"
#include "kiln/runtime/vulkan/VulkanDevice.h"

#include "mlir/IR/Diagnostics.h"

#include <cstdlib>
#include <filesystem>

namespace kiln::vulkan_ops_test {
namespace {

class VulkanStep : public ops_test::PreparedStep {
public:
  VulkanStep(std::unique_ptr<vulkan::Session> session, std::vector<std::string> &messages)
      : session_(std::move(session)), messages_(messages) {}
  ~VulkanStep() override {
    absl::Status synchronized = session_->synchronize();
    if (!synchronized.ok())
      messages_.push_back("synchronize failed: " + synchronized.ToString());
    if (!session_->device().validationEnabled())
      messages_.push_back("the validation layers were not enabled");
    for (std::string &message : session_->validationMessages())
      messages_.push_back(std::move(message));
  }
  absl::Status setVariable(std::string_view name, const HostTensor &value) override {
    return session_->setVariable(name, value);
  }
  absl::Status step(const std::map<std::string, HostTensor, std::less<>> &inputs) override {
    return session_->step(inputs);
  }
  absl::StatusOr<HostTensor> output(std::string_view name) override {
    return session_->output(name);
  }
  absl::StatusOr<HostTensor> gradient(std::string_view variable) override {
    return session_->output(codegen::gradientOutputName(variable));
  }

private:
  std::unique_ptr<vulkan::Session> session_;
  std::vector<std::string> &messages_;
};

} // namespace

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

absl::StatusOr<std::unique_ptr<ops_test::PreparedStep>>
VulkanUnderTest::prepare(mlir::ModuleOp module, bool float64) {
  if (float64)
    return absl::UnimplementedError("the Vulkan kernels compute in float32 only");
  absl::StatusOr<std::unique_ptr<vulkan::Session>> session = createValidatedSession(module);
  if (!session.ok())
    return session.status();
  return std::make_unique<VulkanStep>(*std::move(session), messages_);
}

} // namespace kiln::vulkan_ops_test
