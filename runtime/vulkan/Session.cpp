//===- Session.cpp - Executing a plan on a Vulkan device ------------------===//
//
// What a plan must pass before a Vulkan driver sees it, then the session core
// over vulkan::Device.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/vulkan/Session.h"

#include "kiln/runtime/PlanLoadCheck.h"
#include "kiln/runtime/PlanValidation.h"
#include "kiln/runtime/vulkan/Device.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace kiln::vulkan {

absl::StatusOr<std::unique_ptr<Session>> Session::create(plan::Plan plan,
                                                         const SessionOptions &options) {
  if (absl::Status status = plan::validatePlan(plan); !status.ok())
    return absl::InvalidArgumentError(absl::StrCat("invalid plan: ", status.message()));
  if (!plan::hasTarget(plan, plan::TARGET_VULKAN)) {
    return absl::FailedPreconditionError(
        absl::StrCat("plan '", plan.metadata().model_name(), "' was compiled for ",
                     plan::targetNames(plan), ", not vulkan; recompile with --target=vulkan"));
  }
  // Before any driver sees the plan: a damaged module or binding can crash it.
  plan::LoadCheckOptions loadChecks;
  loadChecks.checkMemoryPlan = !options.skipMemoryPlanCheckForValidationTests;
  if (absl::Status status = plan::checkPlanForLoad(plan, loadChecks); !status.ok())
    return absl::InvalidArgumentError(absl::StrCat("invalid plan: ", status.message()));
  DeviceOptions deviceOptions = options.device;
  for (int feature : plan.required_features())
    deviceOptions.requiredFeatures.push_back(static_cast<plan::DeviceFeature>(feature));
  absl::StatusOr<std::shared_ptr<VulkanDevice>> vulkanDevice = VulkanDevice::create(deviceOptions);
  if (!vulkanDevice.ok())
    return vulkanDevice.status();

  session::SessionConfig config;
  config.waitTimeout = options.waitTimeout;
  std::unique_ptr<Session> session(
      new Session(std::move(plan),
                  std::make_unique<Device>(*std::move(vulkanDevice), options.waitTimeout), config));
  KILN_RETURN_IF_ERROR(session->start());
  return session;
}

const VulkanDevice &Session::device() const {
  return static_cast<const Device &>(sessionDevice()).vulkanDevice();
}

} // namespace kiln::vulkan
