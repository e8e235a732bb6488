//===- StepRecorder.cpp - Recording a whole program, once -----------------===//
//
// Records a slot's command buffer: the step that every step() resubmits, or
// another program (e.g. "eval") that every run() resubmits. The plan orders
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

#include "kiln/runtime/vulkan/Session.h"

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

void memoryBarrier(VkCommandBuffer commands, VkPipelineStageFlags srcStages,
                   VkAccessFlags srcAccess, VkPipelineStageFlags dstStages,
                   VkAccessFlags dstAccess) {
  VkMemoryBarrier barrier{};
  barrier.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER;
  barrier.srcAccessMask = srcAccess;
  barrier.dstAccessMask = dstAccess;
  vkCmdPipelineBarrier(commands, srcStages, dstStages, 0, 1, &barrier, 0, nullptr, 0, nullptr);
}

/// The plan's Barrier: every compute or transfer access before it happens-before every one
/// after it.
void fullStepBarrier(VkCommandBuffer commands) {
  memoryBarrier(commands, kStepStages, kStepWrites, kStepStages, kStepAccesses);
}

} // namespace

absl::Status Session::recordProgram(Program &program, Slot &slot,
                                    std::optional<uint32_t> timestampBase) {
  VkCommandBuffer commands = slot.commands;
  std::string label = absl::StrCat("the command buffer of program '", program.view.name, "'");
  VkCommandBufferBeginInfo begin{};
  begin.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO;
  KILN_VK_CHECK(vkBeginCommandBuffer(commands, &begin), absl::StrCat("beginning ", label));

  VkQueryPool queries = timestampBase ? timestampQueries_.get() : VK_NULL_HANDLE;
  if (queries != VK_NULL_HANDLE) {
    vkCmdResetQueryPool(commands, queries, *timestampBase, 2);
    vkCmdWriteTimestamp(commands, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, queries, *timestampBase);
  }

  // 1 and 2: order after everything earlier on the queue, then upload this run's inputs.
  fullStepBarrier(commands);
  for (size_t position = 0; position < program.view.inputs.size(); ++position) {
    const plan::TensorSpec &tensor = plan_.inputs(program.view.inputs[position]).tensor();
    VkBufferCopy region{program.inputOffsets[position], 0, plan::tensorByteSize(tensor)};
    vkCmdCopyBuffer(commands, slot.staging.buffer(), buffers_[tensor.buffer()].buffer(), 1,
                    &region);
  }
  if (!program.view.inputs.empty())
    memoryBarrier(commands, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                  kStepStages, kStepAccesses);

  // The program's commands, in order.
  uint64_t dispatches = 0;
  VkPipeline bound = VK_NULL_HANDLE;
  const plan::Step &step = *program.view.step;
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
                              &program.descriptorSets[index], 0, nullptr);
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
  if (!program.view.outputs.empty()) {
    memoryBarrier(commands, kStepStages, kStepWrites, VK_PIPELINE_STAGE_TRANSFER_BIT,
                  VK_ACCESS_TRANSFER_READ_BIT);
    for (size_t position = 0; position < program.view.outputs.size(); ++position) {
      const plan::TensorSpec &tensor = plan_.outputs(program.view.outputs[position]).tensor();
      VkBufferCopy region{0, program.outputOffsets[position], plan::tensorByteSize(tensor)};
      vkCmdCopyBuffer(commands, buffers_[tensor.buffer()].buffer(), slot.readback.buffer(), 1,
                      &region);
    }
    memoryBarrier(commands, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                  VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
  }

  if (queries != VK_NULL_HANDLE)
    vkCmdWriteTimestamp(commands, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, queries,
                        *timestampBase + 1);
  KILN_VK_CHECK(vkEndCommandBuffer(commands), absl::StrCat("ending ", label));
  program.dispatches = dispatches; // the same for every slot of the program
  return absl::OkStatus();
}

} // namespace kiln::vulkan
