//===- Runners.cpp - Where kiln train runs a plan -------------------------===//
//
// Every device runs a plan through the same session core (session::Session);
// a runner only chooses the device and describes it. Adding a device adds
// one create function here.
//
//===----------------------------------------------------------------------===//

#include "Runners.h"

#include "kiln/Codegen/Codegen.h"
#include "kiln/runtime/PlanValidation.h"
#include "kiln/runtime/cpu/Device.h"
#include "kiln/runtime/cpu/Session.h"
#include "kiln/runtime/cpu/ThreadTeam.h"
#include "kiln/runtime/reference/Device.h"
#include "kiln/runtime/session/Session.h"
#include "kiln/runtime/vulkan/Session.h"
#ifdef KILN_HAVE_CUDA_RUNTIME
#include "kiln/runtime/cuda/CudaDevice.h"
#include "kiln/runtime/cuda/Session.h"
#endif

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <optional>
#include <vector>

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
  absl::StatusOr<TensorMap> run(const std::string &program, const TensorMap &inputs) override {
    return session_->run(program, inputs);
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
  uint32_t threads = options.threads == 0 ? cpu::defaultThreadCount() : options.threads;
  const plan::CpuImage *image = cpu::chooseImage(plan, sessionOptions.isa);
  std::string description = absl::StrCat("CPU (", image ? image->isa() : std::string("?"), ", ",
                                         threads, threads == 1 ? " thread)" : " threads)");
  return std::unique_ptr<StepRunner>(new SessionRunner(*std::move(session), description));
}

absl::StatusOr<std::unique_ptr<StepRunner>> createReference(const plan::Plan &plan) {
  return makeRunner<session::Session>(reference::createSession(plan), [](const session::Session &) {
    return std::string("reference device (host, f32)");
  });
}

/// A Vulkan runner on the device `options.vulkanDevice` names (the default choice when it is
/// empty), or on the device with index `index` when given.
absl::StatusOr<std::unique_ptr<StepRunner>>
createVulkan(const plan::Plan &plan, const RunnerOptions &options,
             std::optional<uint32_t> index = std::nullopt) {
  vulkan::SessionOptions sessionOptions;
  sessionOptions.device.validation = options.validation;
  if (index)
    sessionOptions.device.deviceIndex = *index;
  else if (uint32_t parsed; absl::SimpleAtoi(options.vulkanDevice, &parsed))
    sessionOptions.device.deviceIndex = parsed;
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

/// The Vulkan devices this machine exposes, split into GPUs (discrete, integrated or virtual:
/// the best first) and CPU devices (lavapipe), those older than Vulkan 1.1 left out.
struct VulkanDevices {
  std::vector<vulkan::PhysicalDeviceInfo> gpus, cpus;
  std::string error; ///< why none could be listed
};

VulkanDevices listVulkanDevices() {
  VulkanDevices devices;
  auto all = vulkan::VulkanDevice::enumerate();
  if (!all.ok()) {
    devices.error = std::string(all.status().message());
    return devices;
  }
  for (const vulkan::PhysicalDeviceInfo &info : *all) {
    if (info.apiVersion < VK_API_VERSION_1_1)
      continue;
    if (info.type == VK_PHYSICAL_DEVICE_TYPE_CPU)
      devices.cpus.push_back(info);
    else if (vulkan::deviceTypeRank(info.type) <
             vulkan::deviceTypeRank(VK_PHYSICAL_DEVICE_TYPE_CPU))
      devices.gpus.push_back(info);
  }
  std::sort(devices.gpus.begin(), devices.gpus.end(), [](const auto &a, const auto &b) {
    int rankA = vulkan::deviceTypeRank(a.type), rankB = vulkan::deviceTypeRank(b.type);
    return rankA != rankB ? rankA < rankB : a.index < b.index;
  });
  return devices;
}

/// "lavapipe" for Mesa's llvmpipe, else the device's name in quotes.
std::string vulkanCpuName(const vulkan::PhysicalDeviceInfo &info) {
  return absl::StrContains(absl::AsciiStrToLower(info.name), "llvmpipe")
             ? std::string("lavapipe")
             : absl::StrCat("'", info.name, "'");
}

/// --device auto: CUDA (the plan carries PTX and a driver and device are present), else a
/// Vulkan GPU (the plan carries SPIR-V; a Vulkan device of type CPU is no GPU), else the cpu
/// device (the plan carries an image for this host's ISA), else Vulkan on the CPU (lavapipe),
/// else the reference device. --vulkan-device (or KILN_VULKAN_DEVICE) names the Vulkan device
/// to use, of any type, in the GPU's place. When it passes a device over, it says so and why
/// in one line on stderr.
absl::StatusOr<std::unique_ptr<StepRunner>> createAuto(const plan::Plan &plan,
                                                       const RunnerOptions &options) {
  std::vector<std::string> passed; // why each device before the chosen one was passed over
  auto report = [&](const std::string &chosen) {
    if (passed.empty())
      return;
    std::fprintf(stderr, "kiln train: --device auto: %s; using %s\n",
                 absl::StrJoin(passed, "; ").c_str(), chosen.c_str());
  };
  auto message = [](const absl::Status &status) { return std::string(status.message()); };

  if (plan::hasTarget(plan, plan::TARGET_CUDA)) {
    if (std::string reason = cudaUnavailableReason(plan); !reason.empty()) {
      passed.push_back(absl::StrCat("not CUDA (", reason, ")"));
    } else {
      auto cuda = createCuda(plan, options);
      if (cuda.ok())
        return cuda;
      passed.push_back(absl::StrCat("the CUDA device failed (", message(cuda.status()), ")"));
    }
  }

  bool vulkan = plan::hasTarget(plan, plan::TARGET_VULKAN);
  VulkanDevices devices;
  if (vulkan) {
    const char *fromEnvironment = std::getenv("KILN_VULKAN_DEVICE");
    if (!options.vulkanDevice.empty() || (fromEnvironment && *fromEnvironment)) {
      // A Vulkan device asked for by name or index is the user's choice, of any type.
      auto runner = createVulkan(plan, options);
      if (runner.ok()) {
        report((*runner)->description());
        return runner;
      }
      passed.push_back(
          absl::StrCat("the Vulkan device asked for failed (", message(runner.status()), ")"));
      vulkan = false;
    } else {
      devices = listVulkanDevices();
      if (!devices.error.empty())
        passed.push_back(absl::StrCat("no Vulkan device (", devices.error, ")"));
      else if (devices.gpus.empty())
        passed.push_back(devices.cpus.empty() ? std::string("no Vulkan GPU")
                                              : absl::StrCat("no Vulkan GPU (only ",
                                                             devices.cpus.front().name, ")"));
      for (const vulkan::PhysicalDeviceInfo &gpu : devices.gpus) {
        auto runner = createVulkan(plan, options, gpu.index);
        if (runner.ok()) {
          report((*runner)->description());
          return runner;
        }
        passed.push_back(absl::StrCat("the Vulkan GPU '", gpu.name, "' failed (",
                                      message(runner.status()), ")"));
      }
    }
  }

  // Where the plan's CPU code cannot run, the hint says how to get code that can.
  std::string hint;
  if (!plan::hasTarget(plan, plan::TARGET_CPU)) {
    passed.push_back("no CPU code in the plan");
    const std::vector<plan::Target> &all = codegen::CodegenOptions{}.targets;
    hint = std::find(all.begin(), all.end(), plan::TARGET_CPU) != all.end()
               ? "compile with --target cpu|all"
               : "compile with --target cpu";
  } else if (cpu::chooseImage(plan) == nullptr) {
    std::vector<std::string> carried;
    for (const plan::CpuImage &image : plan.cpu_images())
      carried.push_back(image.isa());
    std::vector<std::string> host = cpu::hostIsas();
    passed.push_back(
        absl::StrCat("the plan's CPU code is for ", absl::StrJoin(carried, ", "),
                     ", which this CPU does not run (it runs ",
                     host.empty() ? std::string("none of them") : absl::StrJoin(host, ", "), ")"));
  } else {
    auto runner = createCpu(plan, options);
    if (runner.ok()) {
      report((*runner)->description());
      return runner;
    }
    passed.push_back(absl::StrCat("the cpu device failed (", message(runner.status()), ")"));
  }
  auto withHint = [&](std::string chosen) {
    return hint.empty() ? chosen : absl::StrCat(chosen, "; ", hint);
  };

  if (vulkan)
    for (const vulkan::PhysicalDeviceInfo &device : devices.cpus) {
      auto runner = createVulkan(plan, options, device.index);
      if (runner.ok()) {
        report(withHint(vulkanCpuName(device)));
        return runner;
      }
      passed.push_back(absl::StrCat("Vulkan on the CPU (", device.name, ") failed (",
                                    message(runner.status()), ")"));
    }
  if (!plan::hasTarget(plan, plan::TARGET_VULKAN))
    passed.push_back("no SPIR-V in the plan");
  report(withHint("the reference device"));
  return createReference(plan);
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
  return createAuto(plan, options);
}

} // namespace kiln::tool
