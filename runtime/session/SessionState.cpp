//===- SessionState.cpp - Variables and stats of a session ----------------===//
//
// Host access to the plan's variables (for checkpoints and tests, never the
// training loop) and the counters a session kept while it worked, with the
// JSON benchmarks and reviews read.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/session/Session.h"

#include "kiln/runtime/PlanValidation.h"
#include "kiln/runtime/StatsJson.h"

#include "absl/strings/str_cat.h"

namespace kiln::session {

namespace {

absl::string_view toAbsl(std::string_view text) { return {text.data(), text.size()}; }

} // namespace

absl::StatusOr<const plan::TensorSpec *> Session::findVariable(std::string_view name) const {
  auto found = variableIndex_.find(toAbsl(name));
  if (found == variableIndex_.end())
    return absl::NotFoundError(
        absl::StrCat("the plan has no variable '", toAbsl(name),
                     "'; its variables are: ", plan::listNames(variableIndex_)));
  return &plan_.variables(found->second).tensor();
}

absl::StatusOr<HostTensor> Session::variable(std::string_view name) {
  absl::StatusOr<const plan::TensorSpec *> tensor = findVariable(name);
  if (!tensor.ok())
    return tensor.status();
  KILN_RETURN_IF_ERROR(synchronize());
  HostTensor value(*plan::hostDType((*tensor)->dtype()), plan::tensorShape(**tensor));
  ++otherSubmits_;
  KILN_RETURN_IF_ERROR(
      noteFailure(device_->readBuffer((*tensor)->buffer(), std::as_writable_bytes(value.bytes()),
                                      absl::StrCat("reading variable '", toAbsl(name), "'"))));
  return value;
}

absl::Status Session::setVariable(std::string_view name, const HostTensor &value) {
  absl::StatusOr<const plan::TensorSpec *> tensor = findVariable(name);
  if (!tensor.ok())
    return tensor.status();
  absl::StatusOr<HostTensor> matched =
      plan::matchTensor(value, **tensor, absl::StrCat("variable '", toAbsl(name), "'"));
  if (!matched.ok())
    return matched.status();
  KILN_RETURN_IF_ERROR(synchronize());
  ++otherSubmits_;
  return noteFailure(device_->writeBuffer((*tensor)->buffer(), std::as_bytes(matched->bytes()),
                                          absl::StrCat("writing variable '", toAbsl(name), "'")));
}

SessionStats Session::stats() {
  if (lost_.ok())
    for (Slot &slot : slots_)
      if (slot.inFlight && device_->finished(slot.handle))
        completeSlot(slot);
  DeviceStats device = device_->stats();
  SessionStats stats;
  stats.deviceName = device.name;
  stats.deviceType = device.type;
  stats.steps = stepsSubmitted_;
  stats.stepSubmits = stepSubmits_;
  stats.otherSubmits = otherSubmits_;
  stats.programRuns = programRuns_;
  if (stepsSubmitted_ > 0) {
    stats.submitsPerStep = double(stepSubmits_) / stepsSubmitted_;
    stats.dispatchesPerStep = double(dispatchesSubmitted_) / stepsSubmitted_;
  }
  stats.kernels = device.kernels;
  stats.recordedSteps = recordedSteps_;
  stats.recordedPrograms = recordedPrograms_;
  bool anyInArena = false;
  for (const plan::Buffer &buffer : plan_.buffers()) {
    switch (buffer.role()) {
    case plan::BUFFER_ROLE_VARIABLE:
    case plan::BUFFER_ROLE_CONSTANT:
      stats.persistentBytes += buffer.size_bytes();
      break;
    case plan::BUFFER_ROLE_TRANSIENT:
      stats.transientBytes += buffer.in_arena() ? 0 : buffer.size_bytes();
      break;
    default:
      stats.ioBytes += buffer.size_bytes();
      break;
    }
    anyInArena |= buffer.in_arena();
  }
  stats.arenaBytes = plan_.memory().arena_bytes();
  stats.transientBytes += anyInArena ? stats.arenaBytes : 0;
  stats.peakLiveBytes = plan_.memory().peak_live_bytes();
  stats.naiveBytes = plan_.memory().naive_bytes();
  for (const plan::Kernel &kernel : plan_.kernels())
    stats.fusedKernels += kernel.compute_ops() > 1;
  const ProgramRecording &step = programs_.front().recording;
  stats.stagingBytes = slots_.size() * (step.stagingBytes + step.readbackBytes);
  for (size_t index = 1; index < programs_.size(); ++index)
    stats.stagingBytes +=
        programs_[index].recording.stagingBytes + programs_[index].recording.readbackBytes;
  stats.deviceMemoryBytes = device.deviceMemoryBytes;
  stats.timedSteps = hostStepSeconds_.size();
  stats.stepSeconds = median(hostStepSeconds_);
  if (!gpuStepSeconds_.empty())
    stats.gpuStepSeconds = median(gpuStepSeconds_);
  stats.deviceMembers = std::move(device.members);
  return stats;
}

absl::Status Session::writeStatsJson(const std::string &path) {
  return writeTextFile(path, toJson(stats()));
}

std::optional<std::string> SessionStats::deviceMember(std::string_view key) const {
  for (const StatsMember &member : deviceMembers)
    if (member.key == key)
      return member.value;
  return std::nullopt;
}

std::string toJson(const SessionStats &stats) {
  std::vector<StatsMember> members = {
      {"device_name", jsonString(stats.deviceName)},
      {"device_type", jsonString(stats.deviceType)},
      {"steps", absl::StrCat(stats.steps)},
      {"step_submits", absl::StrCat(stats.stepSubmits)},
      {"other_submits", absl::StrCat(stats.otherSubmits)},
      {"program_runs", absl::StrCat(stats.programRuns)},
      {"submits_per_step", jsonNumber(stats.submitsPerStep)},
      {"dispatches_per_step", jsonNumber(stats.dispatchesPerStep)},
      {"kernels", absl::StrCat(stats.kernels)},
      {"recorded_steps", absl::StrCat(stats.recordedSteps)},
      {"recorded_programs", absl::StrCat(stats.recordedPrograms)},
      {"persistent_bytes", absl::StrCat(stats.persistentBytes)},
      {"transient_bytes", absl::StrCat(stats.transientBytes)},
      {"io_bytes", absl::StrCat(stats.ioBytes)},
      {"arena_bytes", absl::StrCat(stats.arenaBytes)},
      {"peak_live_bytes", absl::StrCat(stats.peakLiveBytes)},
      {"naive_bytes", absl::StrCat(stats.naiveBytes)},
      {"fused_kernels", absl::StrCat(stats.fusedKernels)},
      {"staging_bytes", absl::StrCat(stats.stagingBytes)},
      {"device_memory_bytes", absl::StrCat(stats.deviceMemoryBytes)},
      {"timed_steps", absl::StrCat(stats.timedSteps)},
      {"step_seconds", jsonNumber(stats.stepSeconds)},
      {"gpu_step_seconds",
       stats.gpuStepSeconds ? jsonNumber(*stats.gpuStepSeconds) : std::string("null")},
  };
  members.insert(members.end(), stats.deviceMembers.begin(), stats.deviceMembers.end());
  std::string json = "{\n";
  for (size_t index = 0; index < members.size(); ++index)
    absl::StrAppend(&json, "  \"", members[index].key, "\": ", members[index].value,
                    index + 1 < members.size() ? ",\n" : "\n");
  return json + "}\n";
}

} // namespace kiln::session
