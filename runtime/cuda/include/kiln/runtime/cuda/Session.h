//===- Session.h - Executing a plan on a CUDA device ------------*- C++ -*-===//
//
// A session loads a plan onto one CUDA device and runs its training step as
// ONE cuGraphLaunch per step. At creation it loads each kernel's PTX (the
// highest arch the device supports), allocates one device allocation per
// plan buffer outside the arena plus one for the arena (Plan.memory), uploads
// variable initial values and constants, zeroes everything else once, and
// captures the step into a CUDA graph twice, once per pinned host staging
// slot. A step's graph does, on the session's one stream:
//
//   H2D copies: the slot's pinned input area -> the step's input buffers
//   the plan's dispatches (cuLaunchKernel) and copies (D2D), in plan order
//   D2H copies: the step's output buffers -> the slot's pinned output area
//
// Barriers need no node: the stream (and so the captured graph, a chain)
// orders every command after the previous one. Steps alternate between the
// two slots, so the host stages step N+1 while step N runs and can still read
// step N's outputs afterwards; an event recorded after each launch says when
// its slot is free and its outputs are ready. Every other program (e.g.
// "eval") is captured once into its own graph with its own pinned staging;
// run() launches it on the same stream and waits, so it sees every earlier
// step's updates.
//
// Not thread-safe: one thread drives a session (the context is made current
// on each call, so that thread may change between calls).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CUDA_SESSION_H
#define KILN_RUNTIME_CUDA_SESSION_H

#include "kiln/plan/plan.pb.h"
#include "kiln/runtime/HostTensor.h"
#include "kiln/runtime/ProgramIO.h"
#include "kiln/runtime/cuda/CudaDevice.h"
#include "kiln/runtime/cuda/CudaDriver.h"
#include "kiln/runtime/cuda/SessionStats.h"

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::cuda {

struct SessionOptions {
  /// The CUdevice ordinal (see listCudaDevices()).
  int deviceIndex = 0;
  /// How long step(), output(), run(), variable() and setVariable() wait for the device
  /// before failing with DeadlineExceeded.
  std::chrono::seconds waitTimeout{600};
};

class Session {
public:
  /// Loads the driver, opens device options.deviceIndex and loads `plan` onto it. Fails with
  /// InvalidArgument if the plan is invalid or plan::checkPlanForLoad refuses it (before
  /// touching the driver); FailedPrecondition, before touching the driver,
  /// if checkPlanForCuda refuses it (not compiled for cuda, a kernel without PTX or with push
  /// constants); FailedPrecondition if the driver is missing ("CUDA driver not found: ..."),
  /// the device does not exist, or no PTX entry fits its compute capability; the driver's
  /// error for anything else (CUDA_ERROR_INVALID_PTX with the JIT log, out of memory as
  /// ResourceExhausted), each message naming the driver call and the kernel or buffer.
  static absl::StatusOr<std::unique_ptr<Session>> create(plan::Plan plan,
                                                         const SessionOptions &options = {});

  /// Waits for submitted work, then releases everything.
  ~Session();
  Session(const Session &) = delete;
  Session &operator=(const Session &) = delete;

  /// Named host tensors, as step() and run() take and run() returns.
  using TensorMap = std::map<std::string, HostTensor, std::less<>>;

  /// Launches one training step (one cuGraphLaunch). `inputs` maps the names of the step's
  /// inputs to tensors of the input's shape and dtype (f32 and f64 are converted to each
  /// other); inputs not given use their default value. Fails with InvalidArgument naming the
  /// input for an unknown name, a shape or dtype mismatch, or a missing input without
  /// default; nothing is launched then. Waits only if this slot's previous step (two steps
  /// back) is still running.
  absl::Status step(const TensorMap &inputs);

  /// Training-step output `name` of the latest step, waiting for that step to finish.
  absl::StatusOr<HostTensor> output(std::string_view name);
  /// Training-step output `name` of step `stepIndex` (0-based), waiting for that step only.
  /// Only the last two steps' outputs exist: OutOfRange for older or not yet submitted steps;
  /// NotFound for names the step does not write.
  absl::StatusOr<HostTensor> output(std::string_view name, uint64_t stepIndex);

  /// Runs program `program` (e.g. "eval") once after every submitted step and waits for it;
  /// returns every output it writes, by name. NotFound listing the programs for an unknown
  /// name, InvalidArgument for "train" or bad inputs (nothing is launched then).
  absl::StatusOr<TensorMap> run(std::string_view program, const TensorMap &inputs);

  /// Current value of variable `name`, after every submitted step (waits for them); NotFound
  /// for unknown names.
  absl::StatusOr<HostTensor> variable(std::string_view name);
  /// Replaces variable `name` (same shape; dtype equal, or f32/f64 converted) after every
  /// submitted step.
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

  const CudaDeviceInfo &device() const { return device_; }
  const plan::Plan &plan() const { return plan_; }

private:
  /// Pinned host memory (cuMemAllocHost), freed with the session.
  struct PinnedBuffer {
    void *data = nullptr;
    uint64_t size = 0;
    std::byte *bytes() const { return static_cast<std::byte *>(data); }
  };
  /// An instantiated graph with its pinned staging: one of the two alternating step slots,
  /// or the single slot of another program.
  struct Slot {
    PinnedBuffer staging;  ///< Inputs, at the program's inputOffsets.
    PinnedBuffer readback; ///< Outputs, at the program's outputOffsets.
    CUgraph graph = nullptr;
    CUgraphExec exec = nullptr;
    CUevent started = nullptr;  ///< Recorded before the launch (for GPU time).
    CUevent finished = nullptr; ///< Recorded after the launch.
    bool inFlight = false;
    bool used = false;
    uint64_t stepIndex = 0;
    std::chrono::steady_clock::time_point submitTime;
  };
  /// One program of the plan (programs_[0] is the training step).
  struct Program : plan::ProgramIO {
    std::vector<uint64_t> inputOffsets;  ///< Staging offset per entry of view.inputs.
    std::vector<uint64_t> outputOffsets; ///< Readback offset per entry of view.outputs.
    uint64_t stagingSize = 0, readbackSize = 0;
    uint64_t dispatches = 0; ///< Kernel launches captured per run.
    uint64_t graphNodes = 0; ///< Nodes of the captured graph.
    Slot slot;               ///< The graph of a program other than the step.
  };

  Session(const CudaDriver &driver, CudaDeviceInfo device, plan::Plan plan,
          const SessionOptions &options);

  // Setup, in SessionSetup.cpp.
  absl::Status openContext(CUdevice device);
  absl::Status loadKernels();
  absl::Status allocateBuffers();
  absl::Status uploadInitialValues();
  absl::Status createSlots();
  absl::Status createSlot(Slot &slot, Program &program, const std::string &label);
  /// Captures `program` reading and writing `slot`'s staging into slot.graph and instantiates
  /// it; sets program.dispatches and graphNodes.
  absl::Status captureProgram(Program &program, Slot &slot, const std::string &label);

  /// Device address of plan buffer `index` (its allocation, or the arena base + offset).
  CUdeviceptr address(uint32_t index) const { return addresses_[index]; }
  /// Makes the session's context current on the calling thread.
  absl::Status makeCurrent(std::string_view activity);

  void stageInputs(const Program &program, Slot &slot, const std::vector<HostTensor> &values);
  HostTensor readOutput(const Program &program, const Slot &slot, int position) const;

  /// Launches slot.exec between its two events.
  absl::Status launchSlot(Slot &slot, const std::string &activity);
  /// Waits for `event` (polling, bounded by waitTimeout_); `activity` names the work.
  absl::Status waitForEvent(CUevent event, const std::string &activity);
  /// Waits for the slot's launch if it is in flight and collects its timings.
  absl::Status waitForSlot(Slot &slot);
  void completeSlot(Slot &slot);
  /// Records scratchEvent_ on the stream and waits for it: everything submitted so far is done.
  absl::Status drainStream(const std::string &activity);
  /// Remembers a lost context (Unavailable) or timeout so later calls fail fast.
  absl::Status noteFailure(absl::Status status);

  const CudaDriver &driver_;
  CudaDeviceInfo device_;
  plan::Plan plan_;
  std::chrono::seconds waitTimeout_;
  std::vector<Program> programs_; // [0] is the training step
  absl::flat_hash_map<std::string, int> programIndex_;
  absl::flat_hash_map<std::string, int> variableIndex_;

  CUdevice cuDevice_ = 0;
  CUcontext context_ = nullptr; // the device's primary context, retained
  CUstream stream_ = nullptr;
  CUevent scratchEvent_ = nullptr;
  std::vector<CUmodule> modules_;        // one per kernel
  std::vector<CUfunction> functions_;    // one per kernel
  std::vector<std::string> ptxArchs_;    // the arch loaded, per kernel
  std::vector<CUdeviceptr> allocations_; // every cuMemAlloc, freed at destruction
  std::vector<CUdeviceptr> addresses_;   // per plan buffer
  uint64_t deviceMemoryBytes_ = 0;
  uint64_t arenaAllocationBytes_ = 0, transientOutsideArenaBytes_ = 0;
  std::array<Slot, 2> slots_;

  absl::Status lost_;
  uint64_t stepsSubmitted_ = 0;
  uint64_t stepSubmits_ = 0;
  uint64_t otherSubmits_ = 0;
  uint64_t recordedSteps_ = 0;
  uint64_t recordedPrograms_ = 0;
  uint64_t programRuns_ = 0;
  uint64_t dispatchesSubmitted_ = 0;
  std::vector<double> hostStepSeconds_, gpuStepSeconds_;
};

} // namespace kiln::cuda

#endif // KILN_RUNTIME_CUDA_SESSION_H
