//===- Session.cpp - Executing a plan on a CUDA device --------------------===//
//
// Creation order, the per-step path (validate inputs, wait for the slot,
// stage into pinned memory, one cuGraphLaunch), synchronous runs of other
// programs, and host reads of outputs and variables. Setup and graph capture
// are in SessionSetup.cpp.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/cuda/Session.h"

#include "kiln/runtime/PlanLoadCheck.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <thread>

namespace kiln::cuda {

namespace {

/// Debian's abseil has its own string_view, which StrCat and hash lookups take.
absl::string_view toAbsl(std::string_view text) { return {text.data(), text.size()}; }

using plan::listNames;
using plan::matchTensor;

} // namespace

Session::Session(const CudaDriver &driver, CudaDeviceInfo device, plan::Plan plan,
                 const SessionOptions &options)
    : driver_(driver), device_(std::move(device)), plan_(std::move(plan)),
      waitTimeout_(options.waitTimeout) {
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

absl::StatusOr<std::unique_ptr<Session>> Session::create(plan::Plan plan,
                                                         const SessionOptions &options) {
  if (absl::Status status = plan::validatePlan(plan); !status.ok())
    return absl::InvalidArgumentError(absl::StrCat("invalid plan: ", status.message()));
  // Refuse what can never run on CUDA before looking for a driver, so the message is the
  // same on every machine.
  KILN_RETURN_IF_ERROR(checkPlanForCuda(plan));
  if (absl::Status status = plan::checkPlanForLoad(plan); !status.ok())
    return absl::InvalidArgumentError(absl::StrCat("invalid plan: ", status.message()));
  absl::StatusOr<const CudaDriver *> driver = CudaDriver::load();
  if (!driver.ok())
    return driver.status();
  if ((*driver)->initResult != CUDA_SUCCESS)
    return cudaError(**driver, (*driver)->initResult, "cuInit", "initialising the CUDA driver",
                     __FILE__, __LINE__);
  absl::StatusOr<std::vector<CudaDeviceInfo>> devices = listCudaDevices();
  if (!devices.ok())
    return devices.status();
  if (options.deviceIndex < 0 || options.deviceIndex >= static_cast<int>(devices->size()))
    return absl::FailedPreconditionError(absl::StrCat("CUDA device ", options.deviceIndex,
                                                      " does not exist; this machine has ",
                                                      devices->size(), " CUDA device(s)"));
  CudaDeviceInfo info = (*devices)[options.deviceIndex];
  CUdevice device;
  KILN_CU_CHECK(**driver, absl::StrCat("opening CUDA device ", options.deviceIndex), cuDeviceGet,
                &device, options.deviceIndex);

  std::unique_ptr<Session> session(
      new Session(**driver, std::move(info), std::move(plan), options));
  KILN_RETURN_IF_ERROR(session->openContext(device));
  KILN_RETURN_IF_ERROR(session->loadKernels());
  KILN_RETURN_IF_ERROR(session->allocateBuffers());
  KILN_RETURN_IF_ERROR(session->uploadInitialValues());
  KILN_RETURN_IF_ERROR(session->createSlots());
  return session;
}

absl::Status Session::makeCurrent(std::string_view activity) {
  KILN_RETURN_IF_ERROR(lost_);
  KILN_CU_CHECK(driver_, activity, cuCtxSetCurrent, context_);
  return absl::OkStatus();
}

absl::Status Session::noteFailure(absl::Status status) {
  if ((status.code() == absl::StatusCode::kUnavailable ||
       status.code() == absl::StatusCode::kDeadlineExceeded) &&
      lost_.ok())
    lost_ = status;
  return status;
}

absl::Status Session::waitForEvent(CUevent event, const std::string &activity) {
  // cuEventSynchronize has no timeout; poll, sleeping briefly once the wait is not short.
  auto start = std::chrono::steady_clock::now();
  for (int polls = 0;; ++polls) {
    CUresult result = driver_.cuEventQuery(event);
    if (result == CUDA_SUCCESS)
      return absl::OkStatus();
    if (result != CUDA_ERROR_NOT_READY)
      return noteFailure(cudaError(driver_, result, "cuEventQuery", activity, __FILE__, __LINE__));
    if (std::chrono::steady_clock::now() - start > waitTimeout_)
      return noteFailure(absl::DeadlineExceededError(
          absl::StrCat(activity, " did not finish within ", waitTimeout_.count(),
                       " s; raise SessionOptions::waitTimeout for very long steps; this "
                       "session cannot continue")));
    if (polls < 1000)
      std::this_thread::yield();
    else
      std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

void Session::completeSlot(Slot &slot) {
  slot.inFlight = false;
  hostStepSeconds_.push_back(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - slot.submitTime).count());
  float milliseconds = 0;
  if (driver_.cuEventElapsedTime(&milliseconds, slot.started, slot.finished) == CUDA_SUCCESS)
    gpuStepSeconds_.push_back(milliseconds * 1e-3);
}

absl::Status Session::waitForSlot(Slot &slot) {
  if (!slot.inFlight)
    return absl::OkStatus();
  KILN_RETURN_IF_ERROR(waitForEvent(slot.finished, absl::StrCat("step ", slot.stepIndex)));
  completeSlot(slot);
  return absl::OkStatus();
}

absl::Status Session::drainStream(const std::string &activity) {
  KILN_CU_CHECK(driver_, activity, cuEventRecord, scratchEvent_, stream_);
  return waitForEvent(scratchEvent_, activity);
}

absl::Status Session::synchronize() {
  KILN_RETURN_IF_ERROR(makeCurrent("synchronizing"));
  for (Slot &slot : slots_)
    KILN_RETURN_IF_ERROR(waitForSlot(slot));
  return absl::OkStatus();
}

void Session::stageInputs(const Program &program, Slot &slot,
                          const std::vector<HostTensor> &values) {
  for (size_t position = 0; position < values.size(); ++position)
    std::memcpy(slot.staging.bytes() + program.inputOffsets[position],
                values[position].bytes().data(), values[position].sizeInBytes());
}

HostTensor Session::readOutput(const Program &program, const Slot &slot, int position) const {
  const plan::TensorSpec &tensor = plan_.outputs(program.view.outputs[position]).tensor();
  HostTensor value(*plan::hostDType(tensor.dtype()), plan::tensorShape(tensor));
  std::memcpy(value.bytes().data(), slot.readback.bytes() + program.outputOffsets[position],
              value.sizeInBytes());
  return value;
}

absl::Status Session::launchSlot(Slot &slot, const std::string &activity) {
  KILN_CU_CHECK(driver_, activity, cuEventRecord, slot.started, stream_);
  CUresult launched = driver_.cuGraphLaunch(slot.exec, stream_);
  if (launched != CUDA_SUCCESS)
    return noteFailure(cudaError(driver_, launched, "cuGraphLaunch", activity, __FILE__, __LINE__));
  KILN_CU_CHECK(driver_, activity, cuEventRecord, slot.finished, stream_);
  slot.submitTime = std::chrono::steady_clock::now();
  slot.inFlight = true;
  return absl::OkStatus();
}

absl::Status Session::step(const TensorMap &inputs) {
  KILN_RETURN_IF_ERROR(makeCurrent("submitting a step"));
  const Program &train = programs_.front();
  // Resolve every input before touching the staging memory, so a bad call changes nothing.
  absl::StatusOr<std::vector<HostTensor>> values =
      plan::resolveInputs(plan_, train, inputs, "step");
  if (!values.ok())
    return values.status();

  Slot &slot = slots_[stepsSubmitted_ % slots_.size()];
  // The slot's previous launch reads its pinned inputs and writes its pinned outputs.
  KILN_RETURN_IF_ERROR(waitForSlot(slot));
  stageInputs(train, slot, *values);
  KILN_RETURN_IF_ERROR(launchSlot(slot, absl::StrCat("launching step ", stepsSubmitted_)));
  slot.used = true;
  slot.stepIndex = stepsSubmitted_;
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
  std::string activity = absl::StrCat("running program '", name, "'");
  KILN_RETURN_IF_ERROR(makeCurrent(activity));
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
  KILN_RETURN_IF_ERROR(launchSlot(slot, activity));
  ++programRuns_;
  KILN_RETURN_IF_ERROR(waitForEvent(slot.finished, activity));
  slot.inFlight = false;
  TensorMap outputs;
  for (size_t position = 0; position < program.view.outputs.size(); ++position)
    outputs.emplace(plan_.outputs(program.view.outputs[position]).tensor().name(),
                    readOutput(program, slot, static_cast<int>(position)));
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
  KILN_RETURN_IF_ERROR(makeCurrent(absl::StrCat("reading output '", name, "'")));
  const Program &train = programs_.front();
  auto found = train.outputIndex.find(name);
  if (found == train.outputIndex.end())
    return absl::NotFoundError(absl::StrCat(
        "the training step has no output '", name,
        "'; its outputs are: ", listNames(train.outputIndex),
        programs_.size() > 1 ? " (other programs' outputs are returned by run())" : ""));
  if (stepIndex >= stepsSubmitted_)
    return absl::OutOfRangeError(absl::StrCat("output '", name, "' of step ", stepIndex,
                                              " requested but only ", stepsSubmitted_,
                                              " steps were submitted"));
  Slot &slot = slots_[stepIndex % slots_.size()];
  if (!slot.used || slot.stepIndex != stepIndex)
    return absl::OutOfRangeError(absl::StrCat(
        "output '", name, "' of step ", stepIndex, " is gone: step ", slot.stepIndex,
        " reused its staging memory; only the last ", slots_.size(), " steps' outputs are kept"));
  // Waits for this step's event only; a later step in the other slot may still run.
  KILN_RETURN_IF_ERROR(waitForSlot(slot));
  return readOutput(train, slot, found->second);
}

absl::StatusOr<HostTensor> Session::variable(std::string_view requestedName) {
  absl::string_view name = toAbsl(requestedName);
  auto found = variableIndex_.find(name);
  if (found == variableIndex_.end())
    return absl::NotFoundError(absl::StrCat("the plan has no variable '", name,
                                            "'; its variables are: ", listNames(variableIndex_)));
  std::string activity = absl::StrCat("reading variable '", name, "'");
  KILN_RETURN_IF_ERROR(synchronize());
  const plan::TensorSpec &tensor = plan_.variables(found->second).tensor();
  HostTensor value(*plan::hostDType(tensor.dtype()), plan::tensorShape(tensor));
  KILN_CU_CHECK(driver_, activity, cuMemcpyDtoHAsync, value.bytes().data(),
                address(tensor.buffer()), value.sizeInBytes(), stream_);
  ++otherSubmits_;
  KILN_RETURN_IF_ERROR(drainStream(activity));
  return value;
}

absl::Status Session::setVariable(std::string_view requestedName, const HostTensor &value) {
  absl::string_view name = toAbsl(requestedName);
  auto found = variableIndex_.find(name);
  if (found == variableIndex_.end())
    return absl::NotFoundError(absl::StrCat("the plan has no variable '", name,
                                            "'; its variables are: ", listNames(variableIndex_)));
  const plan::TensorSpec &tensor = plan_.variables(found->second).tensor();
  absl::StatusOr<HostTensor> matched =
      matchTensor(value, tensor, absl::StrCat("variable '", name, "'"));
  if (!matched.ok())
    return matched.status();
  std::string activity = absl::StrCat("writing variable '", name, "'");
  KILN_RETURN_IF_ERROR(synchronize());
  // Stream order puts the copy after every submitted step; waiting keeps `matched` alive.
  KILN_CU_CHECK(driver_, activity, cuMemcpyHtoDAsync, address(tensor.buffer()),
                matched->bytes().data(), matched->sizeInBytes(), stream_);
  ++otherSubmits_;
  return drainStream(activity);
}

} // namespace kiln::cuda
