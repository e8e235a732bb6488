//===- Runners.cpp - Where kiln train runs a plan -------------------------===//
//
// Every device runs a plan through the same session core (session::Session);
// a runner only chooses the device and describes it. Adding a device adds
// one create function here.
//
//===----------------------------------------------------------------------===//

#include "Runners.h"

#include "kiln/runtime/PlanValidation.h"
#include "kiln/runtime/cpu/Session.h"
#include "kiln/runtime/reference/Device.h"
#include "kiln/runtime/session/Session.h"
#include "kiln/runtime/vulkan/Session.h"
#ifdef KILN_HAVE_CUDA_RUNTIME
#include "kiln/runtime/cuda/CudaDevice.h"
#include "kiln/runtime/cuda/Session.h"
#endif

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

#include <cstdio>
#include <functional>

namespace kiln::tool {
namespace {

absl::StatusOr<float> scalarOf(absl::StatusOr<HostTensor> tensor, const std::string &what) {
  if (!tensor.ok())
    return tensor.status();
  if (tensor->numElements() != 1)
    return absl::FailedPreconditionError(
        absl::StrCat("output '", what, "' is ", tensor->describe(), ", not a scalar"));
  return static_cast<float>(tensor->at(0));
}

/// A runner over a session on any device: the step, output, run, variable and stats calls
/// are the session core's; only how a device is described differs.
class SessionRunner : public StepRunner {
public:
  SessionRunner(std::unique_ptr<session::Session> session, std::string description)
      : session_(std::move(session)), description_(std::move(description)) {}

  std::string description() const override { return description_; }
  absl::Status step(const TensorMap &inputs) override { return session_->step(inputs); }
  absl::StatusOr<float> loss(uint64_t index) override {
    return scalarOf(session_->output("loss", index), "loss");
  }
  absl::StatusOr<TensorMap> evaluate(const TensorMap &inputs) override {
    return session_->run("eval", inputs);
  }
  absl::StatusOr<HostTensor> variable(const std::string &name) override {
    return session_->variable(name);
  }
  absl::Status setVariable(const std::string &name, const HostTensor &value) override {
    return session_->setVariable(name, value);
  }
  std::string statsJsonMembers() override {
    std::string json = session::toJson(session_->stats());
    // toJson gives one object; its members are what lies between the braces.
    size_t open = json.find('{'), close = json.rfind('}');
    std::string members = json.substr(open + 1, close - open - 1);
    members.erase(members.find_last_not_of(" \n") + 1);
    return members;
  }

private:
  std::unique_ptr<session::Session> session_;
  std::string description_;
};

/// Wraps a device's session (or its failure) in a runner.
template <typename DeviceSession>
absl::StatusOr<std::unique_ptr<StepRunner>>
makeRunner(absl::StatusOr<std::unique_ptr<DeviceSession>> session,
           const std::function<std::string(const DeviceSession &)> &describe) {
  if (!session.ok())
    return session.status();
  std::string description = describe(**session);
  return std::unique_ptr<StepRunner>(
      new SessionRunner(std::unique_ptr<session::Session>(*std::move(session)), description));
}

absl::StatusOr<std::unique_ptr<StepRunner>> createCpu(const plan::Plan &plan,
                                                      const RunnerOptions &options) {
  if (!plan::hasTarget(plan, plan::TARGET_CPU))
    return absl::FailedPreconditionError(
        "the plan carries no CPU code (its targets exclude cpu); compile it with kiln compile "
        "--target cpu");
  cpu::SessionOptions sessionOptions;
  sessionOptions.threads = options.threads;
  auto session = cpu::createSession(plan, sessionOptions);
  if (!session.ok())
    return session.status();
  std::string description = "CPU (x86-64-v3)";
  return std::unique_ptr<StepRunner>(new SessionRunner(*std::move(session), description));
}

absl::StatusOr<std::unique_ptr<StepRunner>> createReference(const plan::Plan &plan) {
  return makeRunner<session::Session>(reference::createSession(plan), [](const session::Session &) {
    return std::string("reference device (host, f32)");
  });
}

absl::StatusOr<std::unique_ptr<StepRunner>> createVulkan(const plan::Plan &plan,
                                                         const RunnerOptions &options) {
  vulkan::SessionOptions sessionOptions;
  sessionOptions.device.validation = options.validation;
  if (uint32_t index; absl::SimpleAtoi(options.vulkanDevice, &index))
    sessionOptions.device.deviceIndex = index;
  else
    sessionOptions.device.deviceName = options.vulkanDevice;
  return makeRunner<vulkan::Session>(
      vulkan::Session::create(plan, sessionOptions), [](const vulkan::Session &session) {
        const vulkan::PhysicalDeviceInfo &info = session.device().info();
        return absl::StrCat("Vulkan: ", info.name, " (", vulkan::deviceTypeName(info.type), ")");
      });
}

absl::StatusOr<std::unique_ptr<StepRunner>> createCuda(const plan::Plan &plan,
                                                       const RunnerOptions &options) {
#ifdef KILN_HAVE_CUDA_RUNTIME
  cuda::SessionOptions sessionOptions;
  if (!absl::SimpleAtoi(options.cudaDevice, &sessionOptions.deviceIndex))
    return absl::InvalidArgumentError(
        absl::StrCat("--cuda-device expects a device index, not '", options.cudaDevice, "'"));
  return makeRunner<cuda::Session>(
      cuda::Session::create(plan, sessionOptions), [](const cuda::Session &session) {
        const cuda::CudaDeviceInfo &info = session.device();
        return absl::StrCat("CUDA: ", info.name, " (compute capability ",
                            cuda::computeCapabilityName(info.computeMajor, info.computeMinor), ")");
      });
#else
  return absl::FailedPreconditionError(cudaUnavailableReason(plan));
#endif
}

} // namespace

std::string cudaUnavailableReason(const plan::Plan &plan) {
#ifdef KILN_HAVE_CUDA_RUNTIME
  if (absl::Status status = cuda::checkPlanForCuda(plan); !status.ok())
    return std::string(status.message());
  auto devices = cuda::listCudaDevices();
  if (!devices.ok())
    return std::string(devices.status().message());
  if (devices->empty())
    return "the CUDA driver reports no CUDA device";
  return "";
#else
  return "this kiln was built without the CUDA runtime (cuda.h was not found at configure time)";
#endif
}

absl::StatusOr<std::unique_ptr<StepRunner>> createRunner(const plan::Plan &plan,
                                                         const RunnerOptions &options) {
  if (options.device == "cuda")
    return createCuda(plan, options);
  if (options.device == "vulkan")
    return createVulkan(plan, options);
  if (options.device == "cpu")
    return createCpu(plan, options);
  if (options.device == "reference")
    return createReference(plan);
  if (options.device != "auto")
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown device '", options.device, "'; expected auto, cuda, vulkan, cpu or reference"));
  if (std::string reason = cudaUnavailableReason(plan); reason.empty()) {
    auto cuda = createCuda(plan, options);
    if (cuda.ok())
      return cuda;
    std::fprintf(stderr, "kiln train: the CUDA device failed (%s); trying Vulkan\n",
                 std::string(cuda.status().message()).c_str());
  } else if (plan::hasTarget(plan, plan::TARGET_CUDA)) {
    std::fprintf(stderr, "kiln train: not using CUDA (%s); trying Vulkan\n", reason.c_str());
  }
  bool cpu = plan::hasTarget(plan, plan::TARGET_CPU);
  if (plan::hasTarget(plan, plan::TARGET_VULKAN) || !cpu) {
    auto vulkan = createVulkan(plan, options);
    if (vulkan.ok())
      return vulkan;
    std::fprintf(stderr, "kiln train: no usable Vulkan device (%s); using the %s device\n",
                 std::string(vulkan.status().message()).c_str(), cpu ? "cpu" : "reference");
  }
  if (cpu) {
    auto runner = createCpu(plan, options);
    if (runner.ok())
      return runner;
    std::fprintf(stderr, "kiln train: the cpu device failed (%s); using the reference device\n",
                 std::string(runner.status().message()).c_str());
  }
  return createReference(plan);
}

} // namespace kiln::tool
