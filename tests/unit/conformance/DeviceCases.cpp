//===- DeviceCases.cpp - The devices the conformance suite runs on --------===//

#include "DeviceCases.h"

#include "VulkanTestSupport.h"

#include "gtest/gtest.h"

#include "kiln/runtime/cpu/Session.h"
#include "kiln/runtime/reference/Device.h"
#include "kiln/runtime/vulkan/Session.h"
#ifdef KILN_HAVE_CUDA_RUNTIME
#include "kiln/runtime/cuda/CudaDevice.h"
#include "kiln/runtime/cuda/Session.h"
#endif

namespace kiln::conformance {

namespace {

DeviceCase referenceCase() {
  DeviceCase device;
  device.name = "reference";
  device.unavailableReason = [] { return std::string(); };
  device.create = [](plan::Plan plan) { return reference::createSession(std::move(plan)); };
  device.validationMessages = [](const session::Session &) { return std::vector<std::string>(); };
  device.runsKernels = false;
  device.targets = {plan::TARGET_VULKAN}; // a plan names a target; the interpreter needs none
  return device;
}

DeviceCase vulkanCase() {
  DeviceCase device;
  device.name = "vulkan";
  device.unavailableReason = [] { return vulkan::testing::vulkanUnavailableReason(); };
  device.create = [](plan::Plan plan) {
    return session::asCoreSession(
        vulkan::Session::create(std::move(plan), vulkan::testing::validatedOptions()));
  };
  device.validationMessages = [](const session::Session &session) {
    return static_cast<const vulkan::Session &>(session).validationMessages();
  };
  device.targets = {plan::TARGET_VULKAN};
  return device;
}

DeviceCase cudaCase() {
  DeviceCase device;
  device.name = "cuda";
#ifdef KILN_HAVE_CUDA_RUNTIME
  device.unavailableReason = [] {
    absl::StatusOr<std::vector<cuda::CudaDeviceInfo>> devices = cuda::listCudaDevices();
    if (!devices.ok())
      return std::string(devices.status().message());
    return devices->empty() ? std::string("the CUDA driver reports no CUDA device") : std::string();
  };
  device.create = [](plan::Plan plan) {
    return session::asCoreSession(cuda::Session::create(std::move(plan)));
  };
#else
  device.unavailableReason = [] {
    return std::string("this build has no CUDA runtime (cuda.h was not found at configure time)");
  };
  device.create = [](plan::Plan) -> absl::StatusOr<std::unique_ptr<session::Session>> {
    return absl::FailedPreconditionError("this build has no CUDA runtime");
  };
#endif
  device.validationMessages = [](const session::Session &) { return std::vector<std::string>(); };
  device.targets = {plan::TARGET_CUDA};
  return device;
}

/// The native CPU device (runtime/cpu, two threads) running the image for `isa` (empty: the
/// best this CPU runs).
DeviceCase cpuDevice(std::string name, std::string isa) {
  DeviceCase device;
  device.name = name;
  device.unavailableReason = [isa] {
#if defined(__x86_64__)
    if (!(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")))
      return std::string("this CPU lacks AVX2 or FMA, which the plans' x86-64-v3 image needs");
    if (isa == "x86-64-v4" && !__builtin_cpu_supports("avx512f"))
      return std::string("this CPU lacks AVX-512, which the x86-64-v4 image needs");
    return std::string();
#else
    return std::string("the plans' cpu images run on x86-64 (v3 or v4) here, and this host is "
                       "not x86-64 (its aarch64 image is compile-only in this suite)");
#endif
  };
  device.create = [isa](plan::Plan plan) {
    cpu::SessionOptions options;
    options.threads = 2;
    options.isa = isa;
    return cpu::createSession(std::move(plan), options);
  };
  device.validationMessages = [](const session::Session &) { return std::vector<std::string>(); };
  device.targets = {plan::TARGET_CPU};
  return device;
}

} // namespace

std::vector<DeviceCase> allDevices() {
  // The cpu device with the best image this CPU runs, and with the x86-64-v3 baseline (8-lane
  // code) where that is not v3 already, so an AVX-512 host tests both.
  return {referenceCase(), vulkanCase(), cudaCase(), cpuDevice("cpu", ""),
          cpuDevice("cpuv3", "x86-64-v3")};
}

void expectNoValidationMessages(const DeviceCase &device, const session::Session &session) {
  std::vector<std::string> messages = device.validationMessages(session);
  EXPECT_TRUE(messages.empty()) << messages.size() << " validation messages, first: "
                                << (messages.empty() ? "" : messages.front());
}

} // namespace kiln::conformance
