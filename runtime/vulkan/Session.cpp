//===- Session.cpp - Executing a plan on a Vulkan device ------------------===//
//
// Creation order, the per-step path (validate inputs, wait for the slot,
// stage, one vkQueueSubmit), synchronous runs of other programs, and host
// reads of outputs and variables.
// Setup details are in SessionSetup.cpp, recording in StepRecorder.cpp.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/vulkan/Session.h"

#include "kiln/runtime/PlanLoadCheck.h"
#include "kiln/runtime/PlanValidation.h"
#include "kiln/runtime/ProgramIO.h"
#include "kiln/runtime/vulkan/VulkanCheck.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

#include <algorithm>
#include <cstring>
#include <optional>

namespace kiln::vulkan {

namespace {

/// Debian's abseil has its own string_view, which StrCat and hash lookups take.
absl::string_view toAbsl(std::string_view text) { return {text.data(), text.size()}; }

using plan::listNames;
using plan::matchTensor;

} // namespace

Session::Session(std::shared_ptr<VulkanDevice> device, plan::Plan plan,
                 const SessionOptions &options)
    : device_(std::move(device)), plan_(std::move(plan)), waitTimeout_(options.waitTimeout) {
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
  if (!plan::hasTarget(plan, plan::TARGET_VULKAN)) {
    std::vector<std::string> targets;
    for (int target : plan.metadata().targets())
      targets.push_back(plan::targetName(static_cast<plan::Target>(target)));
    return absl::FailedPreconditionError(
        absl::StrCat("plan '", plan.metadata().model_name(), "' was compiled for ",
                     absl::StrJoin(targets, ", "), ", not vulkan; recompile with --target=vulkan"));
  }
  // Before any driver sees the plan: a damaged module or binding can crash it.
  plan::LoadCheckOptions loadChecks;
  loadChecks.checkMemoryPlan = !options.skipMemoryPlanCheckForValidationTests;
  if (absl::Status status = plan::checkPlanForLoad(plan, loadChecks); !status.ok())
    return absl::InvalidArgumentError(absl::StrCat("invalid plan: ", status.message()));
  DeviceOptions deviceOptions = options.device;
  for (int feature : plan.required_features())
    deviceOptions.requiredFeatures.push_back(static_cast<plan::DeviceFeature>(feature));
  absl::StatusOr<std::shared_ptr<VulkanDevice>> device = VulkanDevice::create(deviceOptions);
  if (!device.ok())
    return device.status();

  std::unique_ptr<Session> session(new Session(*std::move(device), std::move(plan), options));
  KILN_RETURN_IF_ERROR(session->checkDeviceLimits());
  KILN_RETURN_IF_ERROR(session->checkKernelCode());
  KILN_RETURN_IF_ERROR(session->allocateBuffers());
  KILN_RETURN_IF_ERROR(session->createPipelines());
  KILN_RETURN_IF_ERROR(session->createDescriptorSets());
  KILN_RETURN_IF_ERROR(session->createSlots());
  KILN_RETURN_IF_ERROR(session->uploadInitialValues());
  return session;
}

Session::~Session() {
  if (device_)
    vkDeviceWaitIdle(device_->device());
}

absl::Status Session::noteFailure(absl::Status status) {
  if (status.code() == absl::StatusCode::kUnavailable && lost_.ok())
    lost_ = status;
  return status;
}

absl::Status Session::submitAndWait(const std::function<void(VkCommandBuffer)> &record,
                                    std::string_view activityName) {
  std::string activity(activityName);
  VkDevice device = device_->device();
  VkCommandBufferAllocateInfo allocateInfo{};
  allocateInfo.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO;
  allocateInfo.commandPool = commandPool_.get();
  allocateInfo.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  allocateInfo.commandBufferCount = 1;
  VkCommandBuffer commands;
  KILN_VK_CHECK(vkAllocateCommandBuffers(device, &allocateInfo, &commands), activity);
  struct FreeOnExit {
    VkDevice device;
    VkCommandPool pool;
    VkCommandBuffer commands;
    bool stillPending = false;
    ~FreeOnExit() {
      if (!stillPending)
        vkFreeCommandBuffers(device, pool, 1, &commands);
    }
  } freeOnExit{device, commandPool_.get(), commands};

  VkCommandBufferBeginInfo begin{};
  begin.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO;
  begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  KILN_VK_CHECK(vkBeginCommandBuffer(commands, &begin), activity);
  record(commands);
  KILN_VK_CHECK(vkEndCommandBuffer(commands), activity);

  VkFenceCreateInfo fenceInfo{};
  fenceInfo.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO;
  VkFence fenceHandle;
  KILN_VK_CHECK(vkCreateFence(device, &fenceInfo, nullptr, &fenceHandle), activity);
  FenceHandle fence(device, fenceHandle);
  VkSubmitInfo submit{};
  submit.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO;
  submit.commandBufferCount = 1;
  submit.pCommandBuffers = &commands;
  KILN_VK_CHECK(vkQueueSubmit(device_->queue(), 1, &submit, fenceHandle), activity);
  ++otherSubmits_;
  VkResult waited = vkWaitForFences(device, 1, &fenceHandle, VK_TRUE,
                                    std::chrono::nanoseconds(waitTimeout_).count());
  if (waited == VK_TIMEOUT) {
    // The work may still run: keep its command buffer and fence alive (the pool frees the
    // buffer at destruction) and refuse further use of the session.
    freeOnExit.stillPending = true;
    fence.release();
    lost_ = absl::DeadlineExceededError(absl::StrCat(activity, " did not finish within ",
                                                     waitTimeout_.count(),
                                                     " s; this session cannot continue"));
    return lost_;
  }
  if (waited != VK_SUCCESS)
    return noteFailure(vulkanError(waited, "vkWaitForFences", activity, __FILE__, __LINE__));
  return absl::OkStatus();
}

void Session::completeSlot(Slot &slot) {
  slot.inFlight = false;
  hostStepSeconds_.push_back(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - slot.submitTime).count());
  if (!timestampQueries_)
    return;
  uint32_t first = static_cast<uint32_t>(&slot - slots_.data()) * 2;
  uint64_t ticks[2] = {0, 0};
  if (vkGetQueryPoolResults(device_->device(), timestampQueries_.get(), first, 2, sizeof(ticks),
                            ticks, sizeof(uint64_t),
                            VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT) != VK_SUCCESS)
    return;
  uint32_t bits = device_->timestampValidBits();
  uint64_t mask = bits >= 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
  uint64_t elapsed = ((ticks[1] & mask) - (ticks[0] & mask)) & mask;
  gpuStepSeconds_.push_back(elapsed * double(device_->limits().timestampPeriod) * 1e-9);
}

absl::Status Session::waitForSlot(Slot &slot) {
  if (!slot.inFlight)
    return absl::OkStatus();
  VkFence fence = slot.fence.get();
  VkResult result = vkWaitForFences(device_->device(), 1, &fence, VK_TRUE,
                                    std::chrono::nanoseconds(waitTimeout_).count());
  if (result == VK_TIMEOUT)
    return absl::DeadlineExceededError(
        absl::StrCat("step ", slot.stepIndex, " did not finish within ", waitTimeout_.count(),
                     " s; raise SessionOptions::waitTimeout for very long steps"));
  if (result != VK_SUCCESS)
    return noteFailure(vulkanError(result, "vkWaitForFences",
                                   absl::StrCat("waiting for step ", slot.stepIndex), __FILE__,
                                   __LINE__));
  completeSlot(slot);
  return absl::OkStatus();
}

absl::Status Session::synchronize() {
  KILN_RETURN_IF_ERROR(lost_);
  for (Slot &slot : slots_)
    KILN_RETURN_IF_ERROR(waitForSlot(slot));
  return absl::OkStatus();
}

absl::Status Session::stageInputs(const Program &program, Slot &slot,
                                  const std::vector<HostTensor> &values) {
  for (size_t position = 0; position < values.size(); ++position)
    std::memcpy(slot.staging.mapped() + program.inputOffsets[position],
                values[position].bytes().data(), values[position].sizeInBytes());
  return slot.staging.flushHostWrites();
}

HostTensor Session::readOutput(const Program &program, const Slot &slot, int position) const {
  const plan::TensorSpec &tensor = plan_.outputs(program.view.outputs[position]).tensor();
  HostTensor value(*plan::hostDType(tensor.dtype()), plan::tensorShape(tensor));
  std::memcpy(value.bytes().data(), slot.readback.mapped() + program.outputOffsets[position],
              value.sizeInBytes());
  return value;
}

absl::Status Session::step(const TensorMap &inputs) {
  KILN_RETURN_IF_ERROR(lost_);
  const Program &train = programs_.front();
  // Resolve every input before touching the staging buffer, so a bad call changes nothing.
  absl::StatusOr<std::vector<HostTensor>> values =
      plan::resolveInputs(plan_, train, inputs, "step");
  if (!values.ok())
    return values.status();

  Slot &slot = slots_[stepsSubmitted_ % slots_.size()];
  KILN_RETURN_IF_ERROR(waitForSlot(slot));
  KILN_RETURN_IF_ERROR(stageInputs(train, slot, *values));

  KILN_RETURN_IF_ERROR(submitSlot(slot, absl::StrCat("submitting step ", stepsSubmitted_)));
  slot.submitTime = std::chrono::steady_clock::now();
  slot.inFlight = true;
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
  KILN_RETURN_IF_ERROR(stageInputs(program, slot, *values));
  std::string activity = absl::StrCat("running program '", name, "'");
  KILN_RETURN_IF_ERROR(submitSlot(slot, activity));
  ++programRuns_;
  VkFence fence = slot.fence.get();
  VkResult result = vkWaitForFences(device_->device(), 1, &fence, VK_TRUE,
                                    std::chrono::nanoseconds(waitTimeout_).count());
  if (result == VK_TIMEOUT) {
    // The command buffer may still be pending, so it must not be submitted again.
    slot.inFlight = true;
    lost_ = absl::DeadlineExceededError(absl::StrCat(activity, " did not finish within ",
                                                     waitTimeout_.count(),
                                                     " s; this session cannot continue"));
    return lost_;
  }
  if (result != VK_SUCCESS)
    return noteFailure(vulkanError(result, "vkWaitForFences", activity, __FILE__, __LINE__));
  KILN_RETURN_IF_ERROR(slot.readback.invalidateForHostReads());
  TensorMap outputs;
  for (size_t position = 0; position < program.view.outputs.size(); ++position)
    outputs.emplace(plan_.outputs(program.view.outputs[position]).tensor().name(),
                    readOutput(program, slot, static_cast<int>(position)));
  return outputs;
}

absl::Status Session::submitSlot(Slot &slot, const std::string &activity) {
  VkFence fence = slot.fence.get();
  KILN_VK_CHECK(vkResetFences(device_->device(), 1, &fence), activity);
  VkSubmitInfo submit{};
  submit.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO;
  submit.commandBufferCount = 1;
  submit.pCommandBuffers = &slot.commands;
  VkResult result = vkQueueSubmit(device_->queue(), 1, &submit, fence);
  if (result != VK_SUCCESS)
    return noteFailure(vulkanError(result, "vkQueueSubmit", activity, __FILE__, __LINE__));
  return absl::OkStatus();
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
        " reused its readback buffer; only the last ", slots_.size(), " steps' outputs are kept"));
  KILN_RETURN_IF_ERROR(waitForSlot(slot));
  KILN_RETURN_IF_ERROR(slot.readback.invalidateForHostReads());
  return readOutput(train, slot, found->second);
}

absl::StatusOr<HostTensor> Session::variable(std::string_view requestedName) {
  absl::string_view name = toAbsl(requestedName);
  auto found = variableIndex_.find(name);
  if (found == variableIndex_.end())
    return absl::NotFoundError(absl::StrCat("the plan has no variable '", name,
                                            "'; its variables are: ", listNames(variableIndex_)));
  KILN_RETURN_IF_ERROR(synchronize());
  const plan::TensorSpec &tensor = plan_.variables(found->second).tensor();
  HostTensor value(*plan::hostDType(tensor.dtype()), plan::tensorShape(tensor));
  absl::StatusOr<DeviceBuffer> readback =
      DeviceBuffer::create(*device_, buffers_[tensor.buffer()].size(), MemoryKind::kReadback,
                           absl::StrCat("readback of variable '", name, "'"));
  if (!readback.ok())
    return readback.status();
  VkBuffer source = buffers_[tensor.buffer()].buffer(), destination = readback->buffer();
  uint64_t bytes = value.sizeInBytes();
  KILN_RETURN_IF_ERROR(noteFailure(submitAndWait(
      [&](VkCommandBuffer commands) {
        VkMemoryBarrier before{VK_STRUCTURE_TYPE_MEMORY_BARRIER, nullptr,
                               VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
                               VK_ACCESS_TRANSFER_READ_BIT};
        vkCmdPipelineBarrier(commands,
                             VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                             VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &before, 0, nullptr, 0, nullptr);
        VkBufferCopy region{0, 0, bytes};
        vkCmdCopyBuffer(commands, source, destination, 1, &region);
        VkMemoryBarrier after{VK_STRUCTURE_TYPE_MEMORY_BARRIER, nullptr,
                              VK_ACCESS_TRANSFER_WRITE_BIT, VK_ACCESS_HOST_READ_BIT};
        vkCmdPipelineBarrier(commands, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT,
                             0, 1, &after, 0, nullptr, 0, nullptr);
      },
      absl::StrCat("reading variable '", name, "'"))));
  KILN_RETURN_IF_ERROR(readback->invalidateForHostReads());
  std::memcpy(value.bytes().data(), readback->mapped(), bytes);
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
  KILN_RETURN_IF_ERROR(synchronize());
  absl::StatusOr<DeviceBuffer> staging =
      DeviceBuffer::create(*device_, buffers_[tensor.buffer()].size(), MemoryKind::kUpload,
                           absl::StrCat("upload of variable '", name, "'"));
  if (!staging.ok())
    return staging.status();
  std::memcpy(staging->mapped(), matched->bytes().data(), matched->sizeInBytes());
  KILN_RETURN_IF_ERROR(staging->flushHostWrites());
  VkBuffer source = staging->buffer(), destination = buffers_[tensor.buffer()].buffer();
  uint64_t bytes = matched->sizeInBytes();
  return noteFailure(submitAndWait(
      [&](VkCommandBuffer commands) {
        // The last step may still be reading or writing the variable on the device.
        VkMemoryBarrier before{VK_STRUCTURE_TYPE_MEMORY_BARRIER, nullptr,
                               VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
                               VK_ACCESS_TRANSFER_WRITE_BIT};
        vkCmdPipelineBarrier(commands,
                             VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                             VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &before, 0, nullptr, 0, nullptr);
        VkBufferCopy region{0, 0, bytes};
        vkCmdCopyBuffer(commands, source, destination, 1, &region);
      },
      absl::StrCat("writing variable '", name, "'")));
}

} // namespace kiln::vulkan
