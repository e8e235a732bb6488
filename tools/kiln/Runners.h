//===- Runners.h - Where kiln train runs a plan -----------------*- C++ -*-===//
//
// One interface over the devices a plan can train on, each a session::Session
// over its session::Device (runtime/session): CUDA (the plan's PTX
// kernels, one CUDA graph launch per step; only in builds with the CUDA
// runtime), Vulkan (the plan's SPIR-V kernels, one submit per step), the CPU
// (the plan's native images, runtime/cpu, a thread team) and the
// reference device (the plan's embedded graph module, interpreted on the
// host: the oracle).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TOOLS_KILN_RUNNERS_H
#define KILN_TOOLS_KILN_RUNNERS_H

#include "kiln/plan/plan.pb.h"
#include "kiln/runtime/HostTensor.h"

#include "absl/status/statusor.h"

#include <map>
#include <memory>
#include <string>

namespace kiln::tool {

using TensorMap = std::map<std::string, HostTensor, std::less<>>;

class StepRunner {
public:
  virtual ~StepRunner() = default;
  /// "Vulkan: llvmpipe (LLVM 15.0.6, 256 bits) (CPU)" and the like.
  virtual std::string description() const = 0;
  /// Submits one training step.
  virtual absl::Status step(const TensorMap &inputs) = 0;
  /// The "loss" output of step `index` (0-based), waiting for it if needed. Only the latest
  /// two steps are guaranteed to be available.
  virtual absl::StatusOr<float> loss(uint64_t index) = 0;
  /// Runs the plan's forward-only "eval" program on a batch and returns its outputs.
  virtual absl::StatusOr<TensorMap> evaluate(const TensorMap &inputs) = 0;
  /// Runs the plan's program `program` (such as "generate") once and returns its outputs.
  virtual absl::StatusOr<TensorMap> run(const std::string &program, const TensorMap &inputs) = 0;
  /// Current value of variable `name`, after every submitted step; NotFound for unknown names.
  virtual absl::StatusOr<HostTensor> variable(const std::string &name) = 0;
  /// Replaces variable `name` (same shape and dtype) before the next step, e.g. from a
  /// checkpoint; InvalidArgument on a mismatch, NotFound for unknown names.
  virtual absl::Status setVariable(const std::string &name, const HostTensor &value) = 0;
  /// The device's own statistics as JSON object members (without braces).
  virtual std::string statsJsonMembers() = 0;
};

struct RunnerOptions {
  std::string device = "auto";  ///< auto | cuda | vulkan | cpu | reference
  std::string vulkanDevice;     ///< name substring or index
  std::string cudaDevice = "0"; ///< CUDA device index
  uint32_t threads = 0;         ///< cpu device threads (0: the cores this process may use)
  bool validation = false;
};

/// Creates the runner `options.device` names. "auto" picks CUDA when the plan targets cuda,
/// every kernel has PTX, and a CUDA driver and device are present (in builds with the CUDA
/// runtime); else a Vulkan GPU (discrete, integrated or virtual; not a Vulkan device of type
/// CPU) when the plan targets vulkan; else the cpu device when the plan carries an image for
/// this host's ISA; else Vulkan on the CPU (lavapipe) when the plan targets vulkan; else the
/// reference device. A Vulkan device named by options.vulkanDevice or KILN_VULKAN_DEVICE
/// takes the Vulkan GPU's place, whatever its type. When it passes a device over, auto says
/// so in one line on stderr: "kiln train: --device auto: <why, per device>; using <device>"
/// (and, when the plan lacks CPU code, how to compile it in).
absl::StatusOr<std::unique_ptr<StepRunner>> createRunner(const plan::Plan &plan,
                                                         const RunnerOptions &options);

/// Empty when `plan` can run on the CUDA runtime of this build and machine, else why not
/// ("this kiln was built without the CUDA runtime", "the plan carries no PTX", the driver's
/// message).
std::string cudaUnavailableReason(const plan::Plan &plan);

} // namespace kiln::tool

#endif // KILN_TOOLS_KILN_RUNNERS_H
