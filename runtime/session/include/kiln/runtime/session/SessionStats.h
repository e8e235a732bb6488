//===- SessionStats.h - What a session really did ---------------*- C++ -*-===//
//
// Counters a session keeps from the calls it actually made (submissions,
// dispatches recorded, allocations), not from the plan, so "one submission per
// step" is measured rather than assumed. Benchmarks and reviews read the JSON.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_SESSION_SESSIONSTATS_H
#define KILN_RUNTIME_SESSION_SESSIONSTATS_H

#include "kiln/runtime/session/Device.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::session {

struct SessionStats {
  std::string deviceName;
  std::string deviceType;         ///< "discrete GPU", ..., "CPU", "GPU", "host".
  uint64_t steps = 0;             ///< Steps submitted by step().
  uint64_t stepSubmits = 0;       ///< Device submissions made by step().
  uint64_t otherSubmits = 0;      ///< Submissions outside steps and program runs: initial
                                  ///< upload, variable I/O.
  uint64_t programRuns = 0;       ///< Submissions made by run() (one per run).
  double submitsPerStep = 0;      ///< stepSubmits / steps.
  double dispatchesPerStep = 0;   ///< Dispatches in the submitted step recordings / steps.
  uint64_t kernels = 0;           ///< Kernels the device made ready (pipelines, functions).
  uint64_t recordedSteps = 0;     ///< Step recordings (once per slot: 2).
  uint64_t recordedPrograms = 0;  ///< Other programs' recordings (one each).
  uint64_t persistentBytes = 0;   ///< Variable and constant buffers.
  uint64_t transientBytes = 0;    ///< Transient buffers with their own allocation + the arena.
  uint64_t arenaBytes = 0;        ///< Plan.memory: the transient arena (0 = not planned).
  uint64_t peakLiveBytes = 0;     ///< Plan.memory: most transient bytes live at one command.
  uint64_t naiveBytes = 0;        ///< Plan.memory: every transient its own allocation.
  uint64_t fusedKernels = 0;      ///< Kernels implementing more than one graph op.
  uint64_t ioBytes = 0;           ///< Device-side input and output buffers.
  uint64_t stagingBytes = 0;      ///< Host staging and readback of every slot.
  uint64_t deviceMemoryBytes = 0; ///< Sum of the device's allocations.
  uint64_t timedSteps = 0;        ///< Steps whose completion the host has observed.
  /// Median host wall time from a step's submission to the host observing it finished.
  /// Includes any delay before the host next looks (output(), step() reusing the slot,
  /// stats()), so it is exact only when the caller waits for each step.
  double stepSeconds = 0;
  /// Median device time of a step (timestamp queries, CUDA events); empty when the device
  /// cannot measure it.
  std::optional<double> gpuStepSeconds;
  /// The device's own counters (validation_messages, ptx_archs, ...), as JSON members.
  std::vector<StatsMember> deviceMembers;

  /// The JSON text of device member `key`; empty if the device has no such member.
  std::optional<std::string> deviceMember(std::string_view key) const;
};

/// The stats as one JSON object with snake_case keys (submits_per_step, step_seconds, ...);
/// gpu_step_seconds is null when the device cannot time steps. The device's members follow
/// the common ones.
std::string toJson(const SessionStats &stats);

} // namespace kiln::session

#endif // KILN_RUNTIME_SESSION_SESSIONSTATS_H
