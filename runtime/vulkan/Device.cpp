//===- Device.cpp - A plan's buffers and programs on Vulkan ---------------===//
//
// The per-run path of the Vulkan device (one vkQueueSubmit of a recorded
// command buffer, waiting on its fence, timestamps), initial values and
// variable I/O through one-time command buffers, and the device's stats.
// Setup is in DeviceSetup.cpp, recording in StepRecorder.cpp.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/vulkan/Device.h"

#include "kiln/runtime/vulkan/VulkanCheck.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"

#include <algorithm>
#include <cstring>

namespace kiln::vulkan {

namespace {

/// Where and how the plan's commands touch buffers, for barriers around host copies.
constexpr VkPipelineStageFlags kDeviceStages =
    VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
constexpr VkAccessFlags kDeviceWrites = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;

} // namespace

Device::Device(std::shared_ptr<VulkanDevice> device, std::chrono::seconds waitTimeout)
    : device_(std::move(device)), waitTimeout_(waitTimeout) {}

Device::~Device() {
  if (device_)
    vkDeviceWaitIdle(device_->device());
}

absl::Status Device::load(const plan::Plan &plan) {
  plan_ = &plan;
  KILN_RETURN_IF_ERROR(checkDeviceLimits());
  KILN_RETURN_IF_ERROR(checkKernelCode());
  KILN_RETURN_IF_ERROR(allocateBuffers());
  KILN_RETURN_IF_ERROR(createPipelines());
  KILN_RETURN_IF_ERROR(createDescriptorSets());
  VkCommandPoolCreateInfo poolInfo{};
  poolInfo.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO;
  poolInfo.queueFamilyIndex = device_->queueFamily();
  VkCommandPool pool;
  KILN_VK_CHECK(vkCreateCommandPool(device_->device(), &poolInfo, nullptr, &pool),
                "creating the command pool");
  commandPool_ = CommandPoolHandle(device_->device(), pool);
  return absl::OkStatus();
}

absl::Status Device::submitAndWait(const std::function<void(VkCommandBuffer)> &record,
                                   const std::string &activity) {
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
  VkResult waited = vkWaitForFences(device, 1, &fenceHandle, VK_TRUE,
                                    std::chrono::nanoseconds(waitTimeout_).count());
  if (waited == VK_TIMEOUT) {
    // The work may still run: keep its command buffer and fence alive (the pool frees the
    // buffer at destruction); the session refuses further use.
    freeOnExit.stillPending = true;
    fence.release();
    return absl::DeadlineExceededError(absl::StrCat(activity, " did not finish within ",
                                                    waitTimeout_.count(),
                                                    " s; this session cannot continue"));
  }
  if (waited != VK_SUCCESS)
    return vulkanError(waited, "vkWaitForFences", activity, __FILE__, __LINE__);
  return absl::OkStatus();
}

absl::Status Device::initializeBuffers(std::span<const session::BufferWrite> writes) {
  struct Upload {
    uint32_t buffer;
    uint64_t offset;
    uint64_t size;
  };
  std::vector<Upload> uploads;
  absl::flat_hash_set<uint32_t> written;
  uint64_t uploadSize = 0;
  for (const session::BufferWrite &write : writes) {
    uploads.push_back({write.buffer, uploadSize, write.bytes.size()});
    written.insert(write.buffer);
    uploadSize = (uploadSize + write.bytes.size() + 15) / 16 * 16;
  }
  DeviceBuffer staging;
  if (uploadSize > 0) {
    absl::StatusOr<DeviceBuffer> created =
        DeviceBuffer::create(*device_, uploadSize, MemoryKind::kUpload, "initial values");
    if (!created.ok())
      return created.status();
    staging = *std::move(created);
    for (size_t index = 0; index < uploads.size(); ++index)
      std::memcpy(staging.mapped() + uploads[index].offset, writes[index].bytes.data(),
                  uploads[index].size);
    KILN_RETURN_IF_ERROR(staging.flushHostWrites());
  }
  // Zero everything else once so that runs are deterministic even if a kernel reads a
  // transient before writing it.
  return submitAndWait(
      [&](VkCommandBuffer commands) {
        for (int index = 0; index < plan_->buffers_size(); ++index)
          if (!plan_->buffers(index).in_arena() && !written.contains(index))
            vkCmdFillBuffer(commands, buffers_[index].buffer(), 0, VK_WHOLE_SIZE, 0);
        if (arena_.buffer() != VK_NULL_HANDLE)
          vkCmdFillBuffer(commands, arena_.buffer(), 0, VK_WHOLE_SIZE, 0);
        for (const Upload &upload : uploads) {
          VkBufferCopy region{upload.offset, 0, upload.size};
          vkCmdCopyBuffer(commands, staging.buffer(), buffers_[upload.buffer].buffer(), 1, &region);
        }
      },
      "uploading initial values");
}

absl::StatusOr<session::RecordedProgram>
Device::recordProgram(const session::ProgramRecording &recording) {
  VkDevice device = device_->device();
  auto slot = std::make_unique<Slot>();
  absl::StatusOr<DeviceBuffer> staging =
      DeviceBuffer::create(*device_, recording.stagingBytes, MemoryKind::kUpload,
                           absl::StrCat("input staging of ", recording.label));
  if (!staging.ok())
    return staging.status();
  slot->staging = *std::move(staging);
  absl::StatusOr<DeviceBuffer> readback =
      DeviceBuffer::create(*device_, recording.readbackBytes, MemoryKind::kReadback,
                           absl::StrCat("output readback of ", recording.label));
  if (!readback.ok())
    return readback.status();
  slot->readback = *std::move(readback);

  VkFenceCreateInfo fenceInfo{};
  fenceInfo.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO;
  VkFence fence;
  KILN_VK_CHECK(vkCreateFence(device, &fenceInfo, nullptr, &fence),
                absl::StrCat("creating the fence of ", recording.label));
  slot->fence = FenceHandle(device, fence);
  if (recording.timed && device_->supportsTimestamps()) {
    VkQueryPoolCreateInfo queryInfo{};
    queryInfo.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO;
    queryInfo.queryType = VK_QUERY_TYPE_TIMESTAMP;
    queryInfo.queryCount = 2;
    VkQueryPool queries;
    KILN_VK_CHECK(vkCreateQueryPool(device, &queryInfo, nullptr, &queries),
                  absl::StrCat("creating the timestamp queries of ", recording.label));
    slot->timestamps = QueryPoolHandle(device, queries);
  }

  VkCommandBufferAllocateInfo allocateInfo{};
  allocateInfo.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO;
  allocateInfo.commandPool = commandPool_.get();
  allocateInfo.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  allocateInfo.commandBufferCount = 1;
  KILN_VK_CHECK(vkAllocateCommandBuffers(device, &allocateInfo, &slot->commands),
                absl::StrCat("allocating the command buffer of ", recording.label));
  absl::StatusOr<uint64_t> dispatches = record(recording, *slot);
  if (!dispatches.ok())
    return dispatches.status();
  slots_.push_back(std::move(slot));
  return session::RecordedProgram{static_cast<uint32_t>(slots_.size() - 1), *dispatches};
}

std::span<std::byte> Device::inputStaging(uint32_t slot) {
  const DeviceBuffer &staging = slots_[slot]->staging;
  return {reinterpret_cast<std::byte *>(staging.mapped()), staging.size()};
}

absl::Status Device::submit(uint32_t index, const std::string &activity) {
  Slot &slot = *slots_[index];
  KILN_RETURN_IF_ERROR(slot.staging.flushHostWrites());
  VkFence fence = slot.fence.get();
  KILN_VK_CHECK(vkResetFences(device_->device(), 1, &fence), activity);
  VkSubmitInfo submit{};
  submit.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO;
  submit.commandBufferCount = 1;
  submit.pCommandBuffers = &slot.commands;
  KILN_VK_CHECK(vkQueueSubmit(device_->queue(), 1, &submit, fence), activity);
  return absl::OkStatus();
}

absl::StatusOr<bool> Device::wait(uint32_t slot, std::chrono::nanoseconds timeout,
                                  const std::string &activity) {
  VkFence fence = slots_[slot]->fence.get();
  VkResult result = vkWaitForFences(device_->device(), 1, &fence, VK_TRUE, timeout.count());
  if (result == VK_TIMEOUT)
    return false;
  if (result != VK_SUCCESS)
    return vulkanError(result, "vkWaitForFences", activity, __FILE__, __LINE__);
  return true;
}

bool Device::finished(uint32_t slot) {
  return vkGetFenceStatus(device_->device(), slots_[slot]->fence.get()) == VK_SUCCESS;
}

absl::StatusOr<std::span<const std::byte>> Device::outputReadback(uint32_t slot) {
  const DeviceBuffer &readback = slots_[slot]->readback;
  KILN_RETURN_IF_ERROR(readback.invalidateForHostReads());
  return std::span<const std::byte>(reinterpret_cast<const std::byte *>(readback.mapped()),
                                    readback.size());
}

std::optional<double> Device::deviceSeconds(uint32_t slot) {
  VkQueryPool queries = slots_[slot]->timestamps.get();
  if (queries == VK_NULL_HANDLE)
    return std::nullopt;
  uint64_t ticks[2] = {0, 0};
  if (vkGetQueryPoolResults(device_->device(), queries, 0, 2, sizeof(ticks), ticks,
                            sizeof(uint64_t),
                            VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT) != VK_SUCCESS)
    return std::nullopt;
  uint32_t bits = device_->timestampValidBits();
  uint64_t mask = bits >= 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
  uint64_t elapsed = ((ticks[1] & mask) - (ticks[0] & mask)) & mask;
  return elapsed * double(device_->limits().timestampPeriod) * 1e-9;
}

absl::Status Device::readBuffer(uint32_t buffer, std::span<std::byte> bytes,
                                const std::string &activity) {
  absl::StatusOr<DeviceBuffer> readback =
      DeviceBuffer::create(*device_, buffers_[buffer].size(), MemoryKind::kReadback,
                           absl::StrCat("host copy for ", activity));
  if (!readback.ok())
    return readback.status();
  VkBuffer source = buffers_[buffer].buffer(), destination = readback->buffer();
  KILN_RETURN_IF_ERROR(submitAndWait(
      [&](VkCommandBuffer commands) {
        memoryBarrier(commands, kDeviceStages, kDeviceWrites, VK_PIPELINE_STAGE_TRANSFER_BIT,
                      VK_ACCESS_TRANSFER_READ_BIT);
        VkBufferCopy region{0, 0, bytes.size()};
        vkCmdCopyBuffer(commands, source, destination, 1, &region);
        memoryBarrier(commands, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                      VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
      },
      activity));
  KILN_RETURN_IF_ERROR(readback->invalidateForHostReads());
  std::memcpy(bytes.data(), readback->mapped(), bytes.size());
  return absl::OkStatus();
}

absl::Status Device::writeBuffer(uint32_t buffer, std::span<const std::byte> bytes,
                                 const std::string &activity) {
  absl::StatusOr<DeviceBuffer> staging =
      DeviceBuffer::create(*device_, buffers_[buffer].size(), MemoryKind::kUpload,
                           absl::StrCat("host copy for ", activity));
  if (!staging.ok())
    return staging.status();
  std::memcpy(staging->mapped(), bytes.data(), bytes.size());
  KILN_RETURN_IF_ERROR(staging->flushHostWrites());
  VkBuffer source = staging->buffer(), destination = buffers_[buffer].buffer();
  return submitAndWait(
      [&](VkCommandBuffer commands) {
        // The last step may still be reading or writing the buffer on the device.
        memoryBarrier(commands, kDeviceStages, kDeviceWrites, VK_PIPELINE_STAGE_TRANSFER_BIT,
                      VK_ACCESS_TRANSFER_WRITE_BIT);
        VkBufferCopy region{0, 0, bytes.size()};
        vkCmdCopyBuffer(commands, source, destination, 1, &region);
      },
      activity);
}

session::DeviceStats Device::stats() const {
  session::DeviceStats stats;
  stats.name = device_->info().name;
  stats.type = deviceTypeName(device_->info().type);
  stats.kernels = kernels_.size();
  for (const DeviceBuffer &buffer : buffers_)
    stats.deviceMemoryBytes += buffer.allocationSize();
  stats.deviceMemoryBytes += arena_.allocationSize();
  for (const std::unique_ptr<Slot> &slot : slots_)
    stats.deviceMemoryBytes += slot->staging.allocationSize() + slot->readback.allocationSize();
  stats.members.push_back(
      {"validation_messages", absl::StrCat(device_->validationMessages().size())});
  return stats;
}

} // namespace kiln::vulkan
