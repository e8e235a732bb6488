//===- SessionStats.cpp - What a Vulkan session really did ----------------===//
//
// Session::stats() gathers the counters the session kept while it worked;
// toJson() prints them for benchmarks and reviews.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/vulkan/SessionStats.h"

#include "kiln/runtime/vulkan/Session.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

#include "kiln/runtime/StatsJson.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

namespace kiln::vulkan {

std::string toJson(const SessionStats &stats) {
  std::string json = "{\n";
  auto field = [&](const char *key, const std::string &value, bool last = false) {
    absl::StrAppend(&json, "  \"", key, "\": ", value, last ? "\n" : ",\n");
  };
  field("device_name", jsonString(stats.deviceName));
  field("device_type", jsonString(stats.deviceType));
  field("steps", absl::StrCat(stats.steps));
  field("step_submits", absl::StrCat(stats.stepSubmits));
  field("other_submits", absl::StrCat(stats.otherSubmits));
  field("program_runs", absl::StrCat(stats.programRuns));
  field("submits_per_step", jsonNumber(stats.submitsPerStep));
  field("dispatches_per_step", jsonNumber(stats.dispatchesPerStep));
  field("kernels", absl::StrCat(stats.kernels));
  field("recorded_steps", absl::StrCat(stats.recordedSteps));
  field("recorded_programs", absl::StrCat(stats.recordedPrograms));
  field("persistent_bytes", absl::StrCat(stats.persistentBytes));
  field("transient_bytes", absl::StrCat(stats.transientBytes));
  field("io_bytes", absl::StrCat(stats.ioBytes));
  field("arena_bytes", absl::StrCat(stats.arenaBytes));
  field("peak_live_bytes", absl::StrCat(stats.peakLiveBytes));
  field("naive_bytes", absl::StrCat(stats.naiveBytes));
  field("fused_kernels", absl::StrCat(stats.fusedKernels));
  field("staging_bytes", absl::StrCat(stats.stagingBytes));
  field("device_memory_bytes", absl::StrCat(stats.deviceMemoryBytes));
  field("timed_steps", absl::StrCat(stats.timedSteps));
  field("step_seconds", jsonNumber(stats.stepSeconds));
  field("gpu_step_seconds",
        stats.gpuStepSeconds ? jsonNumber(*stats.gpuStepSeconds) : std::string("null"));
  field("validation_messages", absl::StrCat(stats.validationMessages), true);
  return json + "}\n";
}

SessionStats Session::stats() {
  for (Slot &slot : slots_)
    if (slot.inFlight && vkGetFenceStatus(device_->device(), slot.fence.get()) == VK_SUCCESS)
      completeSlot(slot);
  SessionStats stats;
  stats.deviceName = device_->info().name;
  stats.deviceType = deviceTypeName(device_->info().type);
  stats.steps = stepsSubmitted_;
  stats.stepSubmits = stepSubmits_;
  stats.otherSubmits = otherSubmits_;
  stats.programRuns = programRuns_;
  if (stepsSubmitted_ > 0) {
    stats.submitsPerStep = double(stepSubmits_) / stepsSubmitted_;
    stats.dispatchesPerStep = double(dispatchesSubmitted_) / stepsSubmitted_;
  }
  stats.kernels = kernels_.size();
  stats.recordedSteps = recordedSteps_;
  stats.recordedPrograms = recordedPrograms_;
  for (int index = 0; index < plan_.buffers_size(); ++index) {
    uint64_t size = plan_.buffers(index).size_bytes();
    switch (plan_.buffers(index).role()) {
    case plan::BUFFER_ROLE_VARIABLE:
    case plan::BUFFER_ROLE_CONSTANT:
      stats.persistentBytes += size;
      break;
    case plan::BUFFER_ROLE_TRANSIENT:
      stats.transientBytes += plan_.buffers(index).in_arena() ? 0 : size;
      break;
    default:
      stats.ioBytes += size;
      break;
    }
    stats.deviceMemoryBytes += buffers_[index].allocationSize();
  }
  stats.transientBytes += arena_.size();
  stats.deviceMemoryBytes += arena_.allocationSize();
  stats.arenaBytes = plan_.memory().arena_bytes();
  stats.peakLiveBytes = plan_.memory().peak_live_bytes();
  stats.naiveBytes = plan_.memory().naive_bytes();
  for (const plan::Kernel &kernel : plan_.kernels())
    stats.fusedKernels += kernel.compute_ops() > 1;
  auto addHostBuffers = [&](const Slot &slot) {
    stats.stagingBytes += slot.staging.size() + slot.readback.size();
    stats.deviceMemoryBytes += slot.staging.allocationSize() + slot.readback.allocationSize();
  };
  for (const Slot &slot : slots_)
    addHostBuffers(slot);
  for (size_t index = 1; index < programs_.size(); ++index)
    addHostBuffers(programs_[index].slot);
  stats.timedSteps = hostStepSeconds_.size();
  stats.stepSeconds = median(hostStepSeconds_);
  if (!gpuStepSeconds_.empty())
    stats.gpuStepSeconds = median(gpuStepSeconds_);
  stats.validationMessages = device_->validationMessages().size();
  return stats;
}

absl::Status Session::writeStatsJson(const std::string &path) {
  return writeTextFile(path, toJson(stats()));
}

} // namespace kiln::vulkan
