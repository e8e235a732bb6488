//===- Device.h - A plan's buffers and programs on Vulkan -------*- C++ -*-===//
//
// The Vulkan implementation of session::Device. load() checks the plan
// against the device's limits and the kernels' SPIR-V, allocates one device
// buffer per plan buffer outside the arena plus the arena, and builds one
// pipeline per kernel and one descriptor set per dispatch of every program.
// recordProgram() records a program into its own command buffer, once, with a
// host-visible staging (inputs) and readback (outputs) buffer and a fence:
//
//   full barrier (orders this run after everything earlier on the queue)
//   copy staging -> the program's input buffers; barrier
//   the plan's dispatches, barriers and copies, in order
//   barrier; copy the program's output buffers -> readback; barrier to host reads
//
// submit() is one vkQueueSubmit of that command buffer. The leading full
// barrier orders a run after in-flight steps, so every program sees every
// earlier step's variable updates without the host copying anything.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_VULKAN_DEVICE_H
#define KILN_RUNTIME_VULKAN_DEVICE_H

#include "kiln/runtime/session/Device.h"
#include "kiln/runtime/vulkan/DeviceBuffer.h"
#include "kiln/runtime/vulkan/Handle.h"
#include "kiln/runtime/vulkan/VulkanDevice.h"

#include "absl/container/flat_hash_map.h"

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace kiln::vulkan {

class Device : public session::Device {
public:
  /// `waitTimeout` bounds the waits of initializeBuffers, readBuffer and writeBuffer.
  Device(std::shared_ptr<VulkanDevice> device, std::chrono::seconds waitTimeout);
  /// Waits until the device is idle, then releases everything.
  ~Device() override;

  /// load() fails with FailedPrecondition if a buffer, workgroup, push-constant block or
  /// binding count exceeds the device's limits (naming the buffer or kernel and the limit), or
  /// if a kernel's SPIR-V disagrees with the plan (entry point, workgroup size);
  /// ResourceExhausted when memory runs out. stats() adds "validation_messages": how many the
  /// layers reported so far.
  KILN_SESSION_DEVICE_OVERRIDES;

  const VulkanDevice &vulkanDevice() const { return *device_; }

  /// Records a global memory barrier: `srcAccess` in `srcStages` before `dstAccess` in
  /// `dstStages`. In StepRecorder.cpp.
  static void memoryBarrier(VkCommandBuffer commands, VkPipelineStageFlags srcStages,
                            VkAccessFlags srcAccess, VkPipelineStageFlags dstStages,
                            VkAccessFlags dstAccess);

private:
  struct KernelPipeline {
    ShaderModuleHandle module;
    DescriptorSetLayoutHandle setLayout;
    PipelineLayoutHandle layout;
    PipelineHandle pipeline;
  };
  /// A recorded command buffer with its host staging and fence.
  struct Slot {
    DeviceBuffer staging;  ///< Inputs, at the recording's offsets.
    DeviceBuffer readback; ///< Outputs, at the recording's offsets.
    VkCommandBuffer commands = VK_NULL_HANDLE;
    FenceHandle fence;
    QueryPoolHandle timestamps; ///< Begin and end of each run; empty when untimed.
  };
  /// Where a plan buffer's bytes are: its own allocation (offset 0, size VK_WHOLE_SIZE) or,
  /// for an in_arena buffer, [offset, offset + size) of the transient arena.
  struct BufferRange {
    VkBuffer buffer = VK_NULL_HANDLE;
    VkDeviceSize offset = 0;
    VkDeviceSize size = VK_WHOLE_SIZE;
  };

  BufferRange bufferRange(uint32_t index) const;

  // Setup, in DeviceSetup.cpp.
  absl::Status checkDeviceLimits() const;
  absl::Status checkKernelCode() const;
  absl::Status allocateBuffers();
  absl::Status createPipelines();
  absl::Status createDescriptorSets();

  /// Records `recording` into `slot`'s command buffer and returns its dispatches; in
  /// StepRecorder.cpp.
  absl::StatusOr<uint64_t> record(const session::ProgramRecording &recording, Slot &slot);

  /// Records with `record` into a one-time command buffer, submits it and waits.
  absl::Status submitAndWait(const std::function<void(VkCommandBuffer)> &record,
                             const std::string &activity);

  std::shared_ptr<VulkanDevice> device_; // first: destroyed last
  std::chrono::seconds waitTimeout_;
  const plan::Plan *plan_ = nullptr;
  std::vector<DeviceBuffer> buffers_; // one per plan buffer; empty for in_arena buffers
  DeviceBuffer arena_;                // Plan.memory.arena_bytes; empty when nothing is in it
  std::vector<KernelPipeline> kernels_;
  DescriptorPoolHandle descriptorPool_;
  /// Per program name: one descriptor set per command (null for non-dispatches).
  absl::flat_hash_map<std::string, std::vector<VkDescriptorSet>> descriptorSets_;
  CommandPoolHandle commandPool_;
  std::vector<std::unique_ptr<Slot>> slots_;
};

} // namespace kiln::vulkan

#endif // KILN_RUNTIME_VULKAN_DEVICE_H
