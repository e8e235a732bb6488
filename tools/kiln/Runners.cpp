//===- Runners.cpp - Where kiln train runs a plan -------------------------===//

#include "Runners.h"

#include "kiln/Dialect/Graph/GraphDialect.h"
#include "kiln/runtime/PlanValidation.h"
#include "kiln/runtime/ReferenceDevice.h"
#include "kiln/runtime/vulkan/Session.h"
#ifdef KILN_HAVE_CUDA_RUNTIME
#include "kiln/runtime/cuda/CudaDevice.h"
#include "kiln/runtime/cuda/Session.h"
#endif

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
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

/// A runner over a device session (Vulkan or CUDA): both have the same step, output, run,
/// variable and stats calls; only how they describe their device differs.
template <typename Session> class SessionRunner : public StepRunner {
public:
  explicit SessionRunner(std::unique_ptr<Session> session) : session_(std::move(session)) {}

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
    std::string json = toJson(session_->stats());
    // toJson gives one object; its members are what lies between the braces.
    size_t open = json.find('{'), close = json.rfind('}');
    std::string members = json.substr(open + 1, close - open - 1);
    members.erase(members.find_last_not_of(" \n") + 1);
    return members;
  }

protected:
  std::unique_ptr<Session> session_;
};

class VulkanRunner : public SessionRunner<vulkan::Session> {
public:
  using SessionRunner::SessionRunner;
  std::string description() const override {
    const auto &info = session_->device().info();
    return absl::StrCat("Vulkan: ", info.name, " (", vulkan::deviceTypeName(info.type), ")");
  }
};

#ifdef KILN_HAVE_CUDA_RUNTIME
class CudaRunner : public SessionRunner<cuda::Session> {
public:
  using SessionRunner::SessionRunner;
  std::string description() const override {
    const cuda::CudaDeviceInfo &info = session_->device();
    return absl::StrCat("CUDA: ", info.name, " (compute capability ",
                        cuda::computeCapabilityName(info.computeMajor, info.computeMinor), ")");
  }
};
#endif

/// Runs the plan's graph module on the host. The eval program runs on a second
/// reference device built from @eval, whose variables are refreshed from the
/// training device when it has advanced (both live in host memory).
class ReferenceRunner : public StepRunner {
public:
  static absl::StatusOr<std::unique_ptr<ReferenceRunner>> create(const plan::Plan &plan) {
    if (plan.graph_module().empty())
      return absl::FailedPreconditionError(
          "the plan carries no graph module, so the reference device cannot run it; "
          "recompile it with this version of kiln compile");
    auto runner = std::unique_ptr<ReferenceRunner>(new ReferenceRunner());
    runner->context_.loadDialect<graph::GraphDialect, mlir::func::FuncDialect>();
    runner->trainModule_ =
        mlir::parseSourceString<mlir::ModuleOp>(plan.graph_module(), &runner->context_);
    if (!runner->trainModule_)
      return absl::DataLossError("the plan's graph module does not parse (errors above)");
    auto device = reference::ReferenceDevice::create(*runner->trainModule_);
    if (!device.ok())
      return device.status();
    runner->train_ = std::move(*device);

    runner->evalModule_ = runner->trainModule_->clone();
    auto evalFunction = runner->evalModule_->lookupSymbol<mlir::func::FuncOp>("eval");
    if (evalFunction) {
      runner->evalModule_->lookupSymbol<mlir::func::FuncOp>("step").erase();
      evalFunction.setName("step");
      auto evalDevice = reference::ReferenceDevice::create(*runner->evalModule_);
      if (!evalDevice.ok())
        return evalDevice.status();
      runner->eval_ = std::move(*evalDevice);
    }
    return runner;
  }

  std::string description() const override { return "reference device (host, f32)"; }

  absl::Status step(const TensorMap &inputs) override {
    auto start = std::chrono::steady_clock::now();
    if (absl::Status status = train_->step(inputs); !status.ok())
      return status;
    stepSeconds_.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    auto loss = scalarOf(train_->output("loss"), "loss");
    if (!loss.ok())
      return loss.status();
    losses_.push_back(*loss);
    return absl::OkStatus();
  }

  absl::StatusOr<float> loss(uint64_t index) override {
    if (index >= losses_.size())
      return absl::OutOfRangeError(absl::StrCat("step ", index, " has not run"));
    return losses_[index];
  }

  absl::StatusOr<TensorMap> evaluate(const TensorMap &inputs) override {
    if (!eval_)
      return absl::NotFoundError("the plan has no eval program; recompile without --no-eval");
    if (evalSyncedAt_ != train_->stepsRun()) {
      for (const std::string &name : eval_->variableNames()) {
        auto value = train_->variable(name);
        if (!value.ok())
          return value.status();
        if (absl::Status status = eval_->setVariable(name, *value); !status.ok())
          return status;
      }
      evalSyncedAt_ = train_->stepsRun();
    }
    if (absl::Status status = eval_->step(inputs); !status.ok())
      return status;
    TensorMap outputs;
    for (const char *name : {"loss", "logits"})
      if (auto value = eval_->output(name); value.ok())
        outputs.emplace(name, *value);
    return outputs;
  }

  absl::StatusOr<HostTensor> variable(const std::string &name) override {
    return train_->variable(name);
  }
  absl::Status setVariable(const std::string &name, const HostTensor &value) override {
    // The eval device copies the training device's variables again before its next run.
    evalSyncedAt_ = -1;
    return train_->setVariable(name, value);
  }

  std::string statsJsonMembers() override {
    std::vector<double> sorted = stepSeconds_;
    std::sort(sorted.begin(), sorted.end());
    double median = sorted.empty() ? 0 : sorted[sorted.size() / 2];
    return absl::StrCat("\"device_name\": \"reference\", \"steps\": ", stepSeconds_.size(),
                        ", \"step_seconds\": ", median);
  }

private:
  ReferenceRunner() = default;

  mlir::MLIRContext context_;
  mlir::OwningOpRef<mlir::ModuleOp> trainModule_, evalModule_;
  std::unique_ptr<reference::ReferenceDevice> train_, eval_;
  int64_t evalSyncedAt_ = -1;
  std::vector<float> losses_;
  std::vector<double> stepSeconds_;
};

absl::StatusOr<std::unique_ptr<StepRunner>> createVulkan(const plan::Plan &plan,
                                                         const RunnerOptions &options) {
  vulkan::SessionOptions sessionOptions;
  sessionOptions.device.validation = options.validation;
  if (uint32_t index; absl::SimpleAtoi(options.vulkanDevice, &index))
    sessionOptions.device.deviceIndex = index;
  else
    sessionOptions.device.deviceName = options.vulkanDevice;
  auto session = vulkan::Session::create(plan, sessionOptions);
  if (!session.ok())
    return session.status();
  return std::unique_ptr<StepRunner>(new VulkanRunner(std::move(*session)));
}

absl::StatusOr<std::unique_ptr<StepRunner>> createCuda(const plan::Plan &plan,
                                                       const RunnerOptions &options) {
#ifdef KILN_HAVE_CUDA_RUNTIME
  cuda::SessionOptions sessionOptions;
  if (!absl::SimpleAtoi(options.cudaDevice, &sessionOptions.deviceIndex))
    return absl::InvalidArgumentError(
        absl::StrCat("--cuda-device expects a device index, not '", options.cudaDevice, "'"));
  auto session = cuda::Session::create(plan, sessionOptions);
  if (!session.ok())
    return session.status();
  return std::unique_ptr<StepRunner>(new CudaRunner(std::move(*session)));
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
  if (options.device == "reference") {
    auto runner = ReferenceRunner::create(plan);
    if (!runner.ok())
      return runner.status();
    return std::unique_ptr<StepRunner>(std::move(*runner));
  }
  if (options.device != "auto")
    return absl::InvalidArgumentError(absl::StrCat("unknown device '", options.device,
                                                   "'; expected auto, cuda, vulkan or reference"));
  if (std::string reason = cudaUnavailableReason(plan); reason.empty()) {
    auto cuda = createCuda(plan, options);
    if (cuda.ok())
      return cuda;
    std::fprintf(stderr, "kiln train: the CUDA device failed (%s); trying Vulkan\n",
                 std::string(cuda.status().message()).c_str());
  } else if (plan::hasTarget(plan, plan::TARGET_CUDA)) {
    std::fprintf(stderr, "kiln train: not using CUDA (%s); trying Vulkan\n", reason.c_str());
  }
  auto vulkan = createVulkan(plan, options);
  if (vulkan.ok())
    return vulkan;
  std::fprintf(stderr, "kiln train: no usable Vulkan device (%s); using the reference device\n",
               std::string(vulkan.status().message()).c_str());
  auto runner = ReferenceRunner::create(plan);
  if (!runner.ok())
    return runner.status();
  return std::unique_ptr<StepRunner>(std::move(*runner));
}

} // namespace kiln::tool
