//===- Session.h - Executing a plan on a Vulkan device ----------*- C++ -*-===//
//
// A session loads a plan onto one device and runs its step as ONE
// vkQueueSubmit per step. At creation it allocates a device buffer per plan
// buffer, uploads variable initial values and constants, builds one pipeline
// per kernel and one descriptor set per dispatch, and records the whole step
// into two command buffers, once. Each command buffer has its own host-visible
// staging (inputs) and readback (outputs) buffer; steps alternate between the
// two slots, so the host stages step N+1 while step N runs and can still read
// step N's outputs afterwards. A step's command buffer does:
//
//   full barrier (orders this step after everything earlier on the queue)
//   copy staging -> the step's input buffers; barrier
//   the plan's dispatches, barriers and copies, in order
//   barrier; copy the step's output buffers -> readback; barrier to host reads
//
// Every other program of the plan (e.g. "eval") is recorded the same way, once,
// into one command buffer with its own staging and readback; run() submits it
// and waits. Its leading full barrier orders it after in-flight steps, and the
// next step's orders that step after it, so programs see every earlier step's
// variable updates without the host copying anything.
//
// Not thread-safe: one thread drives a session.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_VULKAN_SESSION_H
#define KILN_RUNTIME_VULKAN_SESSION_H

#include "kiln/plan/plan.pb.h"
#include "kiln/runtime/HostTensor.h"
#include "kiln/runtime/ProgramIO.h"
#include "kiln/runtime/vulkan/DeviceBuffer.h"
#include "kiln/runtime/vulkan/Handle.h"
#include "kiln/runtime/vulkan/SessionStats.h"
#include "kiln/runtime/vulkan/VulkanDevice.h"

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::vulkan {

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

class Session {
public:
  /// Creates a device and loads `plan` onto it. Fails with InvalidArgument if the plan is
  /// invalid or, before any device is created, if plan::checkPlanForLoad refuses it (SPIR-V
  /// that fails SPIRV-Tools' validator, a binding outside set 0 or binding_count, a buffer
  /// smaller than the block its kernel declares, an unsafe memory plan); FailedPrecondition if it
  /// was not compiled for vulkan ("plan was compiled for cuda, not vulkan; recompile with
  /// --target=vulkan"), if a buffer, workgroup, push-constant block or binding count exceeds the
  /// device's limits (naming the buffer or kernel and the limit), or if a kernel's SPIR-V disagrees
  /// with the plan (entry point, workgroup size); ResourceExhausted when memory runs out; and with
  /// any VulkanDevice::create failure.
  static absl::StatusOr<std::unique_ptr<Session>> create(plan::Plan plan,
                                                         const SessionOptions &options = {});

  /// Waits for submitted steps, then releases everything.
  ~Session();
  Session(const Session &) = delete;
  Session &operator=(const Session &) = delete;

  /// Named host tensors, as step() and run() take and run() returns.
  using TensorMap = std::map<std::string, HostTensor, std::less<>>;

  /// Submits one training step. `inputs` maps the names of the step's inputs to tensors of
  /// the input's shape and dtype (f32 and f64 are converted to each other); inputs not given
  /// use their default value. Only the step's inputs are staged. Fails with InvalidArgument
  /// naming the input for an unknown name (including an input only another program reads), a
  /// shape or dtype mismatch, or a missing input without default; nothing is submitted then.
  /// Waits only if this slot's previous step (two steps back) is still running.
  absl::Status step(const TensorMap &inputs);

  /// Training-step output `name` of the latest step, waiting for that step to finish.
  absl::StatusOr<HostTensor> output(std::string_view name);
  /// Training-step output `name` of step `stepIndex` (0-based). Only the last two steps'
  /// outputs exist: OutOfRange for older or not yet submitted steps; NotFound for names the
  /// step does not write (another program's outputs are returned by run()).
  absl::StatusOr<HostTensor> output(std::string_view name, uint64_t stepIndex);

  /// Runs program `program` (a name from Plan.programs, e.g. "eval") once and waits for it;
  /// returns every output the program writes, by name, as new host tensors. The program runs
  /// after every step submitted before the call (so it sees their variable updates) and
  /// before every later one. `inputs` is checked like step()'s against the program's inputs.
  /// Fails with NotFound listing the plan's programs for an unknown name, InvalidArgument for
  /// "train" (use step()) or bad inputs (nothing is submitted then), DeadlineExceeded if the
  /// run does not finish within SessionOptions::waitTimeout (the session is then unusable),
  /// and Unavailable if the device is lost.
  absl::StatusOr<TensorMap> run(std::string_view program, const TensorMap &inputs);

  /// Current value of variable `name`, after every submitted step (waits for them); NotFound
  /// for unknown names. For checkpoints and tests, not for the training loop.
  absl::StatusOr<HostTensor> variable(std::string_view name);
  /// Replaces variable `name` (same shape; dtype equal, or f32/f64 converted) after every
  /// submitted step finishes.
  absl::Status setVariable(std::string_view name, const HostTensor &value);

  /// Waits until every submitted step has finished.
  absl::Status synchronize();

  /// Names of the programs run() accepts, in plan order.
  std::vector<std::string> programNames() const;

  /// Number of steps submitted so far; the index of the next step.
  uint64_t stepsSubmitted() const { return stepsSubmitted_; }
  /// Counters so far; collects timings of finished steps without waiting for running ones.
  SessionStats stats();
  /// Writes toJson(stats()) to `path`; Unavailable if the file cannot be written.
  absl::Status writeStatsJson(const std::string &path);

  const VulkanDevice &device() const { return *device_; }
  /// Validation messages recorded so far (empty when validation is off).
  std::vector<std::string> validationMessages() const { return device_->validationMessages(); }
  const plan::Plan &plan() const { return plan_; }

private:
  struct KernelPipeline {
    ShaderModuleHandle module;
    DescriptorSetLayoutHandle setLayout;
    PipelineLayoutHandle layout;
    PipelineHandle pipeline;
  };
  /// A recorded command buffer with its host staging: one of the two alternating step slots,
  /// or the single slot of another program.
  struct Slot {
    DeviceBuffer staging;  ///< Inputs, at the program's inputOffsets.
    DeviceBuffer readback; ///< Outputs, at the program's outputOffsets.
    VkCommandBuffer commands = VK_NULL_HANDLE;
    FenceHandle fence;
    bool inFlight = false;
    bool used = false;
    uint64_t stepIndex = 0;
    std::chrono::steady_clock::time_point submitTime;
  };
  /// One program of the plan (programs_[0] is the training step) and what running it needs.
  struct Program : plan::ProgramIO {
    std::vector<uint64_t> inputOffsets;  ///< Staging offset per entry of view.inputs.
    std::vector<uint64_t> outputOffsets; ///< Readback offset per entry of view.outputs.
    uint64_t stagingSize = 0, readbackSize = 0;
    std::vector<VkDescriptorSet> descriptorSets; ///< Per command; null for non-dispatches.
    uint64_t dispatches = 0;                     ///< vkCmdDispatch calls per run.
    Slot slot; ///< The command buffer of a program other than the step (steps use slots_).
  };

  /// Where a plan buffer's bytes are: its own allocation (offset 0, size VK_WHOLE_SIZE) or,
  /// for an in_arena buffer, [offset, offset + size) of the transient arena.
  struct BufferRange {
    VkBuffer buffer = VK_NULL_HANDLE;
    VkDeviceSize offset = 0;
    VkDeviceSize size = VK_WHOLE_SIZE;
  };

  Session(std::shared_ptr<VulkanDevice> device, plan::Plan plan, const SessionOptions &options);

  BufferRange bufferRange(uint32_t index) const;

  // Setup, in SessionSetup.cpp.
  absl::Status checkDeviceLimits() const;
  absl::Status checkKernelCode() const;
  absl::Status allocateBuffers();
  absl::Status createPipelines();
  absl::Status createDescriptorSets();
  absl::Status createSlots();
  absl::Status uploadInitialValues();

  /// Allocates the slot's staging, readback, fence and command buffer for `program`.
  absl::Status createSlot(Slot &slot, const Program &program, const std::string &label);

  // Recording, in StepRecorder.cpp.
  /// Records `program` into `slot`'s command buffer and sets program.dispatches; timestamps
  /// at queries `timestampBase` and +1 when given and the device has timestamps.
  absl::Status recordProgram(Program &program, Slot &slot, std::optional<uint32_t> timestampBase);

  /// Checks `inputs` against the program's inputs and returns one tensor per entry of
  /// view.inputs (given, converted, or the default value); InvalidArgument as step() says.
  /// Copies resolved inputs into the slot's staging buffer and flushes it.
  absl::Status stageInputs(const Program &program, Slot &slot,
                           const std::vector<HostTensor> &values);
  /// Output at `position` of program.view.outputs from the slot's readback (already waited).
  HostTensor readOutput(const Program &program, const Slot &slot, int position) const;

  /// Records with `record` into a one-time command buffer, submits it and waits.
  absl::Status submitAndWait(const std::function<void(VkCommandBuffer)> &record,
                             std::string_view activity);
  /// Waits for the slot's step if it is in flight and collects its timings.
  absl::Status waitForSlot(Slot &slot);
  /// Resets the slot's fence and submits its command buffer once; `activity` names the work
  /// in error messages. A failed submit marks the device lost (noteFailure).
  absl::Status submitSlot(Slot &slot, const std::string &activity);
  /// Collects timings of the slot's step; the fence must be signalled.
  void completeSlot(Slot &slot);
  /// Remembers a device loss (Unavailable) so later calls fail fast; returns `status`.
  absl::Status noteFailure(absl::Status status);

  std::shared_ptr<VulkanDevice> device_; // first: destroyed last
  plan::Plan plan_;
  std::chrono::seconds waitTimeout_;
  std::vector<Program> programs_;                      // [0] is the training step
  absl::flat_hash_map<std::string, int> programIndex_; // other programs' names -> index
  absl::flat_hash_map<std::string, int> variableIndex_;

  std::vector<DeviceBuffer> buffers_; // one per plan buffer; empty for in_arena buffers
  DeviceBuffer arena_;                // Plan.memory.arena_bytes; empty when nothing is in it
  std::vector<KernelPipeline> kernels_;
  DescriptorPoolHandle descriptorPool_;
  CommandPoolHandle commandPool_;
  QueryPoolHandle timestampQueries_; // two per step slot (begin, end); empty without timestamps
  std::array<Slot, 2> slots_;

  absl::Status lost_; // not OK once the device is lost or a submission timed out
  uint64_t stepsSubmitted_ = 0;
  uint64_t stepSubmits_ = 0;
  uint64_t otherSubmits_ = 0;
  uint64_t recordedSteps_ = 0;
  uint64_t recordedPrograms_ = 0;
  uint64_t programRuns_ = 0;
  uint64_t dispatchesSubmitted_ = 0;
  std::vector<double> hostStepSeconds_, gpuStepSeconds_;
};

} // namespace kiln::vulkan

#endif // KILN_RUNTIME_VULKAN_SESSION_H
