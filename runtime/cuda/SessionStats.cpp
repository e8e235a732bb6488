//===- SessionStats.cpp - What a CUDA session really did ------------------===//
//
// Session::stats() gathers the counters the session kept while it worked;
// toJson() prints them with the Vulkan session's keys where they apply.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/cuda/SessionStats.h"

#include "kiln/runtime/cuda/Session.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

#include "kiln/runtime/StatsJson.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>

namespace kiln::cuda {

std::string toJson(const SessionStats &stats) {
  std::string json = "{\n";
  auto field = [&](const char *key, const std::string &value, bool last = false) {
    absl::StrAppend(&json, "  \"", key, "\": ", value, last ? "\n" : ",\n");
  };
  field("device_name", jsonString(stats.deviceName));
  field("device_type", jsonString(stats.deviceType));
  field("compute_capability", jsonString(stats.computeCapability));
  field("ptx_archs", jsonString(stats.ptxArchs));
  field("steps", absl::StrCat(stats.steps));
  field("step_submits", absl::StrCat(stats.stepSubmits));
  field("other_submits", absl::StrCat(stats.otherSubmits));
  field("program_runs", absl::StrCat(stats.programRuns));
  field("submits_per_step", jsonNumber(stats.submitsPerStep));
  field("dispatches_per_step", jsonNumber(stats.dispatchesPerStep));
  field("kernels", absl::StrCat(stats.kernels));
  field("recorded_steps", absl::StrCat(stats.recordedSteps));
  field("recorded_programs", absl::StrCat(stats.recordedPrograms));
  field("graph_nodes_per_step", absl::StrCat(stats.graphNodesPerStep));
  field("persistent_bytes", absl::StrCat(stats.persistentBytes));
  field("transient_bytes", absl::StrCat(stats.transientBytes));
  field("arena_bytes", absl::StrCat(stats.arenaBytes));
  field("peak_live_bytes", absl::StrCat(stats.peakLiveBytes));
  field("naive_bytes", absl::StrCat(stats.naiveBytes));
  field("fused_kernels", absl::StrCat(stats.fusedKernels));
  field("io_bytes", absl::StrCat(stats.ioBytes));
  field("staging_bytes", absl::StrCat(stats.stagingBytes));
  field("device_memory_bytes", absl::StrCat(stats.deviceMemoryBytes));
  field("timed_steps", absl::StrCat(stats.timedSteps));
  field("step_seconds", jsonNumber(stats.stepSeconds));
  field("gpu_step_seconds",
        stats.gpuStepSeconds ? jsonNumber(*stats.gpuStepSeconds) : std::string("null"), true);
  return json + "}\n";
}

SessionStats Session::stats() {
  if (makeCurrent("collecting stats").ok())
    for (Slot &slot : slots_)
      if (slot.inFlight && driver_.cuEventQuery(slot.finished) == CUDA_SUCCESS)
        completeSlot(slot);
  SessionStats stats;
  stats.deviceName = device_.name;
  stats.computeCapability = computeCapabilityName(device_.computeMajor, device_.computeMinor);
  std::set<std::string> archs(ptxArchs_.begin(), ptxArchs_.end());
  stats.ptxArchs = absl::StrJoin(archs, ", ");
  stats.steps = stepsSubmitted_;
  stats.stepSubmits = stepSubmits_;
  stats.otherSubmits = otherSubmits_;
  stats.programRuns = programRuns_;
  if (stepsSubmitted_ > 0) {
    stats.submitsPerStep = double(stepSubmits_) / stepsSubmitted_;
    stats.dispatchesPerStep = double(dispatchesSubmitted_) / stepsSubmitted_;
  }
  stats.kernels = functions_.size();
  stats.recordedSteps = recordedSteps_;
  stats.recordedPrograms = recordedPrograms_;
  stats.graphNodesPerStep = programs_.front().graphNodes;
  for (const plan::Buffer &buffer : plan_.buffers()) {
    switch (buffer.role()) {
    case plan::BUFFER_ROLE_VARIABLE:
    case plan::BUFFER_ROLE_CONSTANT:
      stats.persistentBytes += buffer.size_bytes();
      break;
    case plan::BUFFER_ROLE_TRANSIENT:
      break;
    default:
      stats.ioBytes += buffer.size_bytes();
      break;
    }
  }
  stats.transientBytes = arenaAllocationBytes_ + transientOutsideArenaBytes_;
  stats.arenaBytes = plan_.memory().arena_bytes();
  stats.peakLiveBytes = plan_.memory().peak_live_bytes();
  stats.naiveBytes = plan_.memory().naive_bytes();
  for (const plan::Kernel &kernel : plan_.kernels())
    stats.fusedKernels += kernel.compute_ops() > 1;
  for (const Slot &slot : slots_)
    stats.stagingBytes += slot.staging.size + slot.readback.size;
  for (size_t index = 1; index < programs_.size(); ++index)
    stats.stagingBytes += programs_[index].slot.staging.size + programs_[index].slot.readback.size;
  stats.deviceMemoryBytes = deviceMemoryBytes_;
  stats.timedSteps = hostStepSeconds_.size();
  stats.stepSeconds = median(hostStepSeconds_);
  if (!gpuStepSeconds_.empty())
    stats.gpuStepSeconds = median(gpuStepSeconds_);
  return stats;
}

absl::Status Session::writeStatsJson(const std::string &path) {
  return writeTextFile(path, toJson(stats()));
}

} // namespace kiln::cuda
