//===- SessionStats.h - What a CUDA session really did ----------*- C++ -*-===//
//
// Counters a session keeps from the driver calls it actually made
// (cuGraphLaunch, cuLaunchKernel during capture, cuMemAlloc), not from the
// plan, so "one graph launch per step" is measured rather than assumed. The
// JSON keys are the Vulkan session's where they mean the same thing.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CUDA_SESSIONSTATS_H
#define KILN_RUNTIME_CUDA_SESSIONSTATS_H

#include <cstdint>
#include <optional>
#include <string>

namespace kiln::cuda {

struct SessionStats {
  std::string deviceName;
  std::string deviceType = "GPU";
  std::string computeCapability;  ///< "9.0".
  std::string ptxArchs;           ///< The PTX archs loaded, e.g. "sm_90" or "sm_80, sm_90".
  uint64_t steps = 0;             ///< Steps submitted by step().
  uint64_t stepSubmits = 0;       ///< cuGraphLaunch calls made by step().
  uint64_t otherSubmits = 0;      ///< Stream work outside steps and program runs: initial
                                  ///< upload, variable I/O.
  uint64_t programRuns = 0;       ///< cuGraphLaunch calls made by run() (one per run).
  double submitsPerStep = 0;      ///< stepSubmits / steps: CUDA graph launches per step.
  double dispatchesPerStep = 0;   ///< Kernel nodes in the launched step graphs / steps.
  uint64_t kernels = 0;           ///< CUfunctions loaded.
  uint64_t recordedSteps = 0;     ///< Step graphs captured and instantiated (one per slot: 2).
  uint64_t recordedPrograms = 0;  ///< Other programs' graphs (one each).
  uint64_t graphNodesPerStep = 0; ///< Nodes of a step graph: copies in and out plus commands.
  uint64_t persistentBytes = 0;   ///< Variable and constant buffers.
  uint64_t transientBytes = 0;    ///< Device bytes for transients: the arena plus the
                                  ///< transient buffers outside it.
  uint64_t arenaBytes = 0;        ///< Plan.memory.arena_bytes (0 without a memory plan).
  uint64_t peakLiveBytes = 0;     ///< Plan.memory.peak_live_bytes.
  uint64_t naiveBytes = 0;        ///< Plan.memory.naive_bytes.
  uint32_t fusedKernels = 0;      ///< Kernels computing more than one graph op.
  uint64_t ioBytes = 0;           ///< Device-side input and output buffers.
  uint64_t stagingBytes = 0;      ///< Pinned host staging of every slot (inputs + outputs).
  uint64_t deviceMemoryBytes = 0; ///< Sum of all cuMemAlloc sizes.
  uint64_t timedSteps = 0;        ///< Steps whose completion the host has observed.
  /// Median host wall time from a step's cuGraphLaunch to the host observing its event
  /// complete; exact only when the caller waits for each step.
  double stepSeconds = 0;
  /// Median GPU time of a step between CUDA events recorded around its graph launch.
  std::optional<double> gpuStepSeconds;
};

/// The stats as one JSON object with snake_case keys (submits_per_step, step_seconds, ...);
/// gpu_step_seconds is null before any step was timed.
std::string toJson(const SessionStats &stats);

} // namespace kiln::cuda

#endif // KILN_RUNTIME_CUDA_SESSIONSTATS_H
