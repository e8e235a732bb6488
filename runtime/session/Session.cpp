//===- Session.cpp - Running a plan on any device -------------------------===//
//
// Creation (load, initial values, recording every program), the per-step
// path (resolve inputs, wait for the slot, stage, one submission),
// synchronous runs of other programs and reads of step outputs. Variables and
// stats are in SessionState.cpp.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/session/Session.h"

#include "kiln/runtime/PlanValidation.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

#include <algorithm>
#include <cstring>

namespace kiln::session {

namespace {

/// Host staging regions start at multiples of this, so copies stay aligned.
constexpr uint64_t kStagingAlignment = 16;

uint64_t alignUp(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

/// Debian's abseil has its own string_view, which StrCat and hash lookups take.
absl::string_view toAbsl(std::string_view text) { return {text.data(), text.size()}; }

} // namespace

Session::Session(plan::Plan plan, std::unique_ptr<Device> device, const SessionConfig &config)
    : plan_(std::move(plan)), device_(std::move(device)), waitTimeout_(config.waitTimeout) {
  std::vector<plan::ProgramView> views = plan::planPrograms(plan_);
  programs_.resize(views.size());
  for (size_t index = 0; index < views.size(); ++index) {
    Program &program = programs_[index];
    static_cast<plan::ProgramIO &>(program) = plan::indexProgram(plan_, std::move(views[index]));
    if (index > 0)
      programIndex_[program.view.name] = index;
  }
  for (int i = 0; i < plan_.variables_size(); ++i)
    variableIndex_[plan_.variables(i).tensor().name()] = i;
}

Session::~Session() = default;

absl::StatusOr<std::unique_ptr<Session>>
Session::create(plan::Plan plan, std::unique_ptr<Device> device, const SessionConfig &config) {
  std::unique_ptr<Session> session(new Session(std::move(plan), std::move(device), config));
  KILN_RETURN_IF_ERROR(session->start());
  return session;
}

absl::Status Session::start() {
  KILN_RETURN_IF_ERROR(device_->load(plan_));
  KILN_RETURN_IF_ERROR(uploadInitialValues());
  return recordPrograms();
}

absl::Status Session::uploadInitialValues() {
  std::vector<HostTensor> values; // alive until the device has copied them
  values.reserve(plan_.variables_size());
  std::vector<BufferWrite> writes;
  for (const plan::Variable &variable : plan_.variables()) {
    values.push_back(plan::initialValue(variable));
    writes.push_back({variable.tensor().buffer(), std::as_bytes(values.back().bytes())});
  }
  for (int index = 0; index < plan_.buffers_size(); ++index)
    if (plan_.buffers(index).role() == plan::BUFFER_ROLE_CONSTANT) {
      const std::string &data = plan_.buffers(index).constant_data();
      writes.push_back({static_cast<uint32_t>(index),
                        std::as_bytes(std::span<const char>(data.data(), data.size()))});
    }
  ++otherSubmits_;
  return noteFailure(device_->initializeBuffers(writes));
}

ProgramRecording Session::layOut(const Program &program) const {
  ProgramRecording recording;
  recording.program = program.view.name;
  recording.step = program.view.step;
  for (uint32_t input : program.view.inputs) {
    const plan::TensorSpec &tensor = plan_.inputs(input).tensor();
    uint64_t bytes = plan::tensorByteSize(tensor);
    recording.inputs.push_back({tensor.name(), tensor.buffer(), recording.stagingBytes, bytes});
    recording.stagingBytes = alignUp(recording.stagingBytes + bytes, kStagingAlignment);
  }
  for (uint32_t output : program.view.outputs) {
    const plan::TensorSpec &tensor = plan_.outputs(output).tensor();
    uint64_t bytes = plan::tensorByteSize(tensor);
    recording.outputs.push_back({tensor.name(), tensor.buffer(), recording.readbackBytes, bytes});
    recording.readbackBytes = alignUp(recording.readbackBytes + bytes, kStagingAlignment);
  }
  recording.stagingBytes = std::max(recording.stagingBytes, kStagingAlignment);
  recording.readbackBytes = std::max(recording.readbackBytes, kStagingAlignment);
  return recording;
}

absl::Status Session::recordPrograms() {
  for (Program &program : programs_)
    program.recording = layOut(program);
  Program &train = programs_.front();
  for (uint32_t index = 0; index < slots_.size(); ++index) {
    ProgramRecording recording = train.recording;
    recording.timed = true;
    recording.label = absl::StrCat("step slot ", index);
    absl::StatusOr<RecordedProgram> recorded = device_->recordProgram(recording);
    if (!recorded.ok())
      return recorded.status();
    slots_[index].handle = recorded->slot;
    train.dispatches = recorded->dispatches; // the same for every slot of the program
    ++recordedSteps_;
  }
  for (size_t index = 1; index < programs_.size(); ++index) {
    Program &program = programs_[index];
    program.recording.label = absl::StrCat("program '", program.view.name, "'");
    absl::StatusOr<RecordedProgram> recorded = device_->recordProgram(program.recording);
    if (!recorded.ok())
      return recorded.status();
    program.slot.handle = recorded->slot;
    program.dispatches = recorded->dispatches;
    ++recordedPrograms_;
  }
  return absl::OkStatus();
}

absl::Status Session::noteFailure(absl::Status status) {
  // A device call that timed out may leave work pending that the session cannot track.
  if ((status.code() == absl::StatusCode::kUnavailable ||
       status.code() == absl::StatusCode::kDeadlineExceeded) &&
      lost_.ok())
    lost_ = status;
  return status;
}

void Session::completeSlot(Slot &slot) {
  slot.inFlight = false;
  hostStepSeconds_.push_back(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - slot.submitTime).count());
  if (std::optional<double> seconds = device_->deviceSeconds(slot.handle))
    gpuStepSeconds_.push_back(*seconds);
}

absl::Status Session::waitForSlot(Slot &slot) {
  if (!slot.inFlight)
    return absl::OkStatus();
  absl::StatusOr<bool> finished =
      device_->wait(slot.handle, waitTimeout_, absl::StrCat("waiting for step ", slot.stepIndex));
  if (!finished.ok())
    return noteFailure(finished.status());
  if (!*finished)
    return absl::DeadlineExceededError(
        absl::StrCat("step ", slot.stepIndex, " did not finish within ", waitTimeout_.count(),
                     " s; raise SessionOptions::waitTimeout for very long steps"));
  completeSlot(slot);
  return absl::OkStatus();
}

absl::Status Session::synchronize() {
  KILN_RETURN_IF_ERROR(lost_);
  for (Slot &slot : slots_)
    KILN_RETURN_IF_ERROR(waitForSlot(slot));
  return absl::OkStatus();
}

void Session::stageInputs(const Program &program, const Slot &slot,
                          const std::vector<HostTensor> &values) {
  std::span<std::byte> staging = device_->inputStaging(slot.handle);
  for (size_t position = 0; position < values.size(); ++position)
    std::memcpy(staging.data() + program.recording.inputs[position].offset,
                values[position].bytes().data(), values[position].sizeInBytes());
}

absl::StatusOr<HostTensor> Session::readOutput(const Program &program, const Slot &slot,
                                               int position) {
  absl::StatusOr<std::span<const std::byte>> readback = device_->outputReadback(slot.handle);
  if (!readback.ok())
    return noteFailure(readback.status());
  const plan::TensorSpec &tensor = plan_.outputs(program.view.outputs[position]).tensor();
  HostTensor value(*plan::hostDType(tensor.dtype()), plan::tensorShape(tensor));
  std::memcpy(value.bytes().data(), readback->data() + program.recording.outputs[position].offset,
              value.sizeInBytes());
  return value;
}

absl::Status Session::step(const TensorMap &inputs) {
  KILN_RETURN_IF_ERROR(lost_);
  const Program &train = programs_.front();
  // Resolve every input before touching the staging memory, so a bad call changes nothing.
  absl::StatusOr<std::vector<HostTensor>> values =
      plan::resolveInputs(plan_, train, inputs, "step");
  if (!values.ok())
    return values.status();

  Slot &slot = slots_[stepsSubmitted_ % slots_.size()];
  // The slot's previous run reads its staged inputs and writes its readback.
  KILN_RETURN_IF_ERROR(waitForSlot(slot));
  stageInputs(train, slot, *values);
  // Taken before the call: a device may do the whole step inside submit().
  auto submitTime = std::chrono::steady_clock::now();
  KILN_RETURN_IF_ERROR(
      noteFailure(device_->submit(slot.handle, absl::StrCat("submitting step ", stepsSubmitted_))));
  slot.submitTime = submitTime;
  slot.inFlight = true;
  slot.used = true;
  slot.stepIndex = stepsSubmitted_;
  // A device that runs the step inside submit() (cpu, reference) has finished now: its host
  // step time ends here, not when the next step's staging waits for the slot.
  if (device_->finished(slot.handle))
    completeSlot(slot);
  ++stepsSubmitted_;
  ++stepSubmits_;
  dispatchesSubmitted_ += train.dispatches;
  return absl::OkStatus();
}

std::vector<std::string> Session::programNames() const {
  std::vector<std::string> names;
  for (size_t index = 1; index < programs_.size(); ++index)
    names.push_back(programs_[index].view.name);
  return names;
}

absl::StatusOr<Session::TensorMap> Session::run(std::string_view requestedProgram,
                                                const TensorMap &inputs) {
  absl::string_view name = toAbsl(requestedProgram);
  KILN_RETURN_IF_ERROR(lost_);
  if (name == plan::kTrainProgram)
    return absl::InvalidArgumentError(
        "program 'train' is the training step; submit it with step() and read its outputs "
        "with output()");
  auto found = programIndex_.find(name);
  if (found == programIndex_.end()) {
    std::vector<std::string> names = programNames();
    return absl::NotFoundError(
        absl::StrCat("the plan has no program '", name, "'; its programs are: ",
                     names.empty() ? std::string("(none besides the training step)")
                                   : absl::StrJoin(names, ", ")));
  }
  Program &program = programs_[found->second];
  absl::StatusOr<std::vector<HostTensor>> values =
      plan::resolveInputs(plan_, program, inputs, absl::StrCat("program '", name, "'"));
  if (!values.ok())
    return values.status();

  // run() always waits, so the program's previous run has finished with its staging.
  Slot &slot = program.slot;
  stageInputs(program, slot, *values);
  std::string activity = absl::StrCat("running program '", name, "'");
  KILN_RETURN_IF_ERROR(noteFailure(device_->submit(slot.handle, activity)));
  ++programRuns_;
  absl::StatusOr<bool> finished = device_->wait(slot.handle, waitTimeout_, activity);
  if (!finished.ok())
    return noteFailure(finished.status());
  if (!*finished) {
    // The recording may still run, so it must not be submitted again.
    slot.inFlight = true;
    lost_ = absl::DeadlineExceededError(absl::StrCat(activity, " did not finish within ",
                                                     waitTimeout_.count(),
                                                     " s; this session cannot continue"));
    return lost_;
  }
  TensorMap outputs;
  for (size_t position = 0; position < program.view.outputs.size(); ++position) {
    absl::StatusOr<HostTensor> value = readOutput(program, slot, static_cast<int>(position));
    if (!value.ok())
      return value.status();
    outputs.emplace(program.recording.outputs[position].name, *std::move(value));
  }
  return outputs;
}

absl::StatusOr<HostTensor> Session::output(std::string_view requestedName) {
  absl::string_view name = toAbsl(requestedName);
  if (stepsSubmitted_ == 0)
    return absl::FailedPreconditionError(
        absl::StrCat("output '", name, "' requested before any step ran"));
  return output(requestedName, stepsSubmitted_ - 1);
}

absl::StatusOr<HostTensor> Session::output(std::string_view requestedName, uint64_t stepIndex) {
  absl::string_view name = toAbsl(requestedName);
  KILN_RETURN_IF_ERROR(lost_);
  const Program &train = programs_.front();
  auto found = train.outputIndex.find(name);
  if (found == train.outputIndex.end())
    return absl::NotFoundError(absl::StrCat(
        "the training step has no output '", name,
        "'; its outputs are: ", plan::listNames(train.outputIndex),
        programs_.size() > 1 ? " (other programs' outputs are returned by run())" : ""));
  if (stepIndex >= stepsSubmitted_)
    return absl::OutOfRangeError(absl::StrCat("output '", name, "' of step ", stepIndex,
                                              " requested but only ", stepsSubmitted_,
                                              " steps were submitted"));
  Slot &slot = slots_[stepIndex % slots_.size()];
  if (!slot.used || slot.stepIndex != stepIndex)
    return absl::OutOfRangeError(absl::StrCat(
        "output '", name, "' of step ", stepIndex, " is gone: step ", slot.stepIndex,
        " reused its readback buffer; only the last ", slots_.size(), " steps' outputs are kept"));
  // Waits for this step only; a later step in the other slot may still run.
  KILN_RETURN_IF_ERROR(waitForSlot(slot));
  return readOutput(train, slot, found->second);
}

} // namespace kiln::session
