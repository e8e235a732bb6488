//===- Session.h - Executing a plan on a Vulkan device ----------*- C++ -*-===//
//
// A session (session::Session) over the Vulkan device (Device.h): ONE
// vkQueueSubmit per step of a command buffer recorded once per step slot.
// This file adds only what is Vulkan's: the checks a plan must pass before
// any driver sees it, device choice and validation, and access to the
// VulkanDevice and its validation messages.
//
// Not thread-safe: one thread drives a session.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_VULKAN_SESSION_H
#define KILN_RUNTIME_VULKAN_SESSION_H

#include "kiln/plan/plan.pb.h"
#include "kiln/runtime/session/Session.h"
#include "kiln/runtime/vulkan/VulkanDevice.h"

#include "absl/status/statusor.h"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace kiln::vulkan {

using SessionStats = session::SessionStats;
using session::toJson;

struct SessionOptions {
  /// Device choice and validation. The plan's required_features are added to
  /// device.requiredFeatures.
  DeviceOptions device;
  /// How long step(), output(), variable() and setVariable() wait for a submitted step before
  /// failing with DeadlineExceeded.
  std::chrono::seconds waitTimeout{600};
  /// Loads a plan even if the plan checker refuses its memory plan (a removed barrier,
  /// overlapping arena ranges). Only for tests that prove the validation layers catch such
  /// hazards; SPIR-V and binding checks run regardless.
  bool skipMemoryPlanCheckForValidationTests = false;
};

class Session : public session::Session {
public:
  /// Creates a device and loads `plan` onto it. Fails with InvalidArgument if the plan is
  /// invalid or, before any device is created, if plan::checkPlanForLoad refuses it (SPIR-V
  /// that fails SPIRV-Tools' validator, a binding outside set 0 or binding_count, a buffer
  /// smaller than the block its kernel declares, an unsafe memory plan); FailedPrecondition if it
  /// was not compiled for vulkan ("plan was compiled for cuda, not vulkan; recompile with
  /// --target=vulkan"); with Device::load's errors (device limits, SPIR-V disagreeing with the
  /// plan, memory); and with any VulkanDevice::create failure.
  static absl::StatusOr<std::unique_ptr<Session>> create(plan::Plan plan,
                                                         const SessionOptions &options = {});

  const VulkanDevice &device() const;
  /// Validation messages recorded so far (empty when validation is off).
  std::vector<std::string> validationMessages() const { return device().validationMessages(); }

private:
  using session::Session::Session;
};

} // namespace kiln::vulkan

#endif // KILN_RUNTIME_VULKAN_SESSION_H
