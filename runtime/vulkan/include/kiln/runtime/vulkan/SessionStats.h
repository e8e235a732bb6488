//===- SessionStats.h - What a Vulkan session really did --------*- C++ -*-===//
//
// Counters a session keeps from the calls it actually made (vkQueueSubmit,
// vkCmdDispatch, vkAllocateMemory), not from the plan, so "one submission per
// step" is measured rather than assumed. Benchmarks and reviews read the JSON.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_VULKAN_SESSIONSTATS_H
#define KILN_RUNTIME_VULKAN_SESSIONSTATS_H

#include <cstdint>
#include <optional>
#include <string>

namespace kiln::vulkan {

struct SessionStats {
  std::string deviceName;
  std::string deviceType;         ///< "discrete GPU", ..., "CPU".
  uint64_t steps = 0;             ///< Steps submitted by step().
  uint64_t stepSubmits = 0;       ///< vkQueueSubmit calls made by step().
  uint64_t otherSubmits = 0;      ///< Submits outside steps and program runs: initial
                                  ///< upload, variable I/O.
  uint64_t programRuns = 0;       ///< vkQueueSubmit calls made by run() (one per run).
  double submitsPerStep = 0;      ///< stepSubmits / steps.
  double dispatchesPerStep = 0;   ///< vkCmdDispatch calls in the submitted step command
                                  ///< buffers / steps.
  uint64_t kernels = 0;           ///< Compute pipelines created.
  uint64_t recordedSteps = 0;     ///< Step command buffers recorded (once per slot: 2).
  uint64_t recordedPrograms = 0;  ///< Other programs' command buffers recorded (one each).
  uint64_t persistentBytes = 0;   ///< Variable and constant buffers.
  uint64_t transientBytes = 0;    ///< Transient buffers with their own allocation + the arena.
  uint64_t arenaBytes = 0;        ///< Plan.memory: the transient arena (0 = not planned).
  uint64_t peakLiveBytes = 0;     ///< Plan.memory: most transient bytes live at one command.
  uint64_t naiveBytes = 0;        ///< Plan.memory: every transient its own allocation.
  uint64_t fusedKernels = 0;      ///< Kernels implementing more than one graph op.
  uint64_t ioBytes = 0;           ///< Device-side input and output buffers.
  uint64_t stagingBytes = 0;      ///< Host-visible staging and readback of every slot.
  uint64_t deviceMemoryBytes = 0; ///< Sum of all vkAllocateMemory sizes.
  uint64_t timedSteps = 0;        ///< Steps whose completion the host has observed.
  /// Median host wall time from a step's vkQueueSubmit to the host observing its fence
  /// signalled. Includes any delay before the host next looks (output(), step() reusing the
  /// slot, stats()), so it is exact only when the caller waits for each step.
  double stepSeconds = 0;
  /// Median GPU time of a step from timestamp queries; empty when the queue has none.
  std::optional<double> gpuStepSeconds;
  uint64_t validationMessages = 0;
};

/// The stats as one JSON object with snake_case keys (submits_per_step, step_seconds, ...);
/// gpu_step_seconds is null when timestamps are unavailable.
std::string toJson(const SessionStats &stats);

} // namespace kiln::vulkan

#endif // KILN_RUNTIME_VULKAN_SESSIONSTATS_H
