//===- StepRecorder.cpp - Recording a whole program, once -----------------===//
//
// Records a slot's command buffer: the step that every step() resubmits, or
// another program (e.g. "eval") that every run() resubmits (Device.h). The plan orders
// a program's own commands (its Barrier is a full compute+transfer memory
// barrier); this file adds only the synchronization around the program:
//
//   1. start: everything earlier on the queue (previous steps and program
//      runs, initial upload, variable writes) -> everything here. This covers
//      earlier reads of shared input buffers (write-after-read by our input
//      copies), earlier writes of variables the program reads, and earlier
//      readback copies of outputs.
//   2. after the input copies: transfer writes -> the program's reads.
//   3. after the program: every write -> the readback copies' reads.
//   4. after the readback: transfer writes -> host reads (with the fence).
//
// Timestamps (when requested and supported) bracket the whole step for GPU time.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/vulkan/Device.h"

#include "kiln/runtime/PlanValidation.h"
#include "kiln/runtime/vulkan/VulkanCheck.h"

#include "absl/strings/str_cat.h"

namespace kiln::vulkan {

namespace {

constexpr VkPipelineStageFlags kStepStages =
    VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
constexpr VkAccessFlags kStepWrites = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
constexpr VkAccessFlags kStepAccesses = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                                        VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;

/// The plan's Barrier: every compute or transfer access before it happens-before every one
/// after it.
void fullStepBarrier(VkCommandBuffer commands) {
  Device::memoryBarrier(commands, kStepStages, kStepWrites, kStepStages, kStepAccesses);
}

} // namespace

void Device::memoryBarrier(VkCommandBuffer commands, VkPipelineStageFlags srcStages,
                           VkAccessFlags srcAccess, VkPipelineStageFlags dstStages,
                           VkAccessFlags dstAccess) {
  VkMemoryBarrier barrier{};
  barrier.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER;
  barrier.srcAccessMask = srcAccess;
  barrier.dstAccessMask = dstAccess;
  vkCmdPipelineBarrier(commands, srcStages, dstStages, 0, 1, &barrier, 0, nullptr, 0, nullptr);
}

absl::StatusOr<uint64_t> Device::record(const session::ProgramRecording &recording, Slot &slot) {
  VkCommandBuffer commands = slot.commands;
  std::string label = absl::StrCat("the command buffer of program '", recording.program, "'");
  VkCommandBufferBeginInfo begin{};
  begin.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO;
  KILN_VK_CHECK(vkBeginCommandBuffer(commands, &begin), absl::StrCat("beginning ", label));

  VkQueryPool queries = slot.timestamps.get();
  if (queries != VK_NULL_HANDLE) {
    vkCmdResetQueryPool(commands, queries, 0, 2);
    vkCmdWriteTimestamp(commands, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, queries, 0);
  }

  // 1 and 2: order after everything earlier on the queue, then upload this run's inputs.
  fullStepBarrier(commands);
  for (const session::StagedTensor &input : recording.inputs) {
    VkBufferCopy region{input.offset, 0, input.bytes};
    vkCmdCopyBuffer(commands, slot.staging.buffer(), buffers_[input.buffer].buffer(), 1, &region);
  }
  if (!recording.inputs.empty())
    memoryBarrier(commands, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                  kStepStages, kStepAccesses);

  // The program's commands, in order.
  uint64_t dispatches = 0;
  VkPipeline bound = VK_NULL_HANDLE;
  const plan::Step &step = *recording.step;
  const std::vector<VkDescriptorSet> &descriptorSets = descriptorSets_.at(recording.program);
  for (int index = 0; index < step.commands_size(); ++index) {
    const plan::Command &command = step.commands(index);
    switch (command.kind_case()) {
    case plan::Command::kDispatch: {
      const plan::Dispatch &dispatch = command.dispatch();
      const KernelPipeline &kernel = kernels_[dispatch.kernel()];
      if (kernel.pipeline.get() != bound) {
        bound = kernel.pipeline.get();
        vkCmdBindPipeline(commands, VK_PIPELINE_BIND_POINT_COMPUTE, bound);
      }
      vkCmdBindDescriptorSets(commands, VK_PIPELINE_BIND_POINT_COMPUTE, kernel.layout.get(), 0, 1,
                              &descriptorSets[index], 0, nullptr);
      if (!dispatch.push_constants().empty())
        vkCmdPushConstants(commands, kernel.layout.get(), VK_SHADER_STAGE_COMPUTE_BIT, 0,
                           static_cast<uint32_t>(dispatch.push_constants().size()),
                           dispatch.push_constants().data());
      vkCmdDispatch(commands, dispatch.group_count().x(), dispatch.group_count().y(),
                    dispatch.group_count().z());
      ++dispatches;
      break;
    }
    case plan::Command::kBarrier:
      fullStepBarrier(commands);
      break;
    case plan::Command::kCopy: {
      const plan::Copy &copy = command.copy();
      BufferRange source = bufferRange(copy.src_buffer());
      BufferRange destination = bufferRange(copy.dst_buffer());
      VkBufferCopy region{source.offset, destination.offset, copy.size_bytes()};
      vkCmdCopyBuffer(commands, source.buffer, destination.buffer, 1, &region);
      break;
    }
    case plan::Command::KIND_NOT_SET:
      break;
    }
  }

  // 3 and 4: read the program's outputs back for the host.
  if (!recording.outputs.empty()) {
    memoryBarrier(commands, kStepStages, kStepWrites, VK_PIPELINE_STAGE_TRANSFER_BIT,
                  VK_ACCESS_TRANSFER_READ_BIT);
    for (const session::StagedTensor &output : recording.outputs) {
      VkBufferCopy region{0, output.offset, output.bytes};
      vkCmdCopyBuffer(commands, buffers_[output.buffer].buffer(), slot.readback.buffer(), 1,
                      &region);
    }
    memoryBarrier(commands, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                  VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
  }

  if (queries != VK_NULL_HANDLE)
    vkCmdWriteTimestamp(commands, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, queries, 1);
  KILN_VK_CHECK(vkEndCommandBuffer(commands), absl::StrCat("ending ", label));
  return dispatches;
}

} // namespace kiln::vulkan
