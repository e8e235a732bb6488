//===- DeviceSetup.cpp - Turning a plan into Vulkan objects ---------------===//
//
// What Device::load does once: check the plan against the device's limits
// and the kernels' SPIR-V, allocate buffers and the arena, and build
// pipelines and one descriptor set per dispatch of every program.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/vulkan/Device.h"

#include "kiln/runtime/PlanValidation.h"
#include "kiln/runtime/ProgramIO.h"
#include "kiln/runtime/vulkan/SpirvInfo.h"
#include "kiln/runtime/vulkan/VulkanCheck.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

#include <algorithm>
#include <cstring>

namespace kiln::vulkan {

namespace {

constexpr uint32_t kGLCompute = 5;

std::string describeBytes(uint64_t bytes) {
  return absl::StrCat(bytes, " bytes (", absl::StrFormat("%.1f", bytes / 1048576.0), " MiB)");
}

std::string kernelLabel(const plan::Kernel &kernel) {
  return absl::StrCat("kernel '", kernel.name(), "'");
}

} // namespace

absl::Status Device::checkDeviceLimits() const {
  const VkPhysicalDeviceLimits &limits = device_->limits();
  std::string deviceName = absl::StrCat("'", device_->info().name, "'");
  for (int index = 0; index < plan_->buffers_size(); ++index) {
    const plan::Buffer &buffer = plan_->buffers(index);
    if (buffer.size_bytes() > limits.maxStorageBufferRange)
      return absl::FailedPreconditionError(absl::StrCat(
          "buffer ", index, " ('", buffer.name(), "') is ", describeBytes(buffer.size_bytes()),
          " but ", deviceName, " allows at most ", describeBytes(limits.maxStorageBufferRange),
          " per storage buffer (maxStorageBufferRange); recompile so that no tensor exceeds it"));
  }
  bool anyInArena = std::any_of(plan_->buffers().begin(), plan_->buffers().end(),
                                [](const plan::Buffer &buffer) { return buffer.in_arena(); });
  uint32_t alignment = plan_->memory().alignment();
  if (anyInArena && (limits.minStorageBufferOffsetAlignment == 0 ||
                     alignment % limits.minStorageBufferOffsetAlignment != 0))
    return absl::FailedPreconditionError(absl::StrCat(
        "the plan's transient arena aligns buffers to ", alignment, " bytes but ", deviceName,
        " needs storage-buffer offsets aligned to ", limits.minStorageBufferOffsetAlignment,
        " (minStorageBufferOffsetAlignment); plan memory again with an alignment that is a "
        "multiple of it (the default, 256, suits every Vulkan device)"));
  for (const plan::Kernel &kernel : plan_->kernels()) {
    const plan::Dim3 &size = kernel.workgroup_size();
    const uint32_t extents[3] = {size.x(), size.y(), size.z()};
    for (int axis = 0; axis < 3; ++axis)
      if (extents[axis] > limits.maxComputeWorkGroupSize[axis])
        return absl::FailedPreconditionError(
            absl::StrCat(kernelLabel(kernel), " has workgroup size ", extents[axis], " along ",
                         std::string(1, "xyz"[axis]), " but ", deviceName, " allows ",
                         limits.maxComputeWorkGroupSize[axis]));
    uint64_t invocations = uint64_t{size.x()} * size.y() * size.z();
    if (invocations > limits.maxComputeWorkGroupInvocations)
      return absl::FailedPreconditionError(
          absl::StrCat(kernelLabel(kernel), " has ", invocations, " invocations per workgroup but ",
                       deviceName, " allows ", limits.maxComputeWorkGroupInvocations));
    if (kernel.push_constant_size() > limits.maxPushConstantsSize)
      return absl::FailedPreconditionError(absl::StrCat(
          kernelLabel(kernel), " declares ", kernel.push_constant_size(),
          " bytes of push constants but ", deviceName, " allows ", limits.maxPushConstantsSize));
    if (kernel.binding_count() > limits.maxPerStageDescriptorStorageBuffers)
      return absl::FailedPreconditionError(absl::StrCat(
          kernelLabel(kernel), " has ", kernel.binding_count(), " storage-buffer bindings but ",
          deviceName, " allows ", limits.maxPerStageDescriptorStorageBuffers));
  }
  std::vector<plan::ProgramView> programs = plan::planPrograms(*plan_);
  for (const plan::ProgramView &program : programs) {
    std::string prefix = &program == &programs.front()
                             ? std::string("step command ")
                             : absl::StrCat("program '", program.name, "' command ");
    for (int index = 0; index < program.step->commands_size(); ++index) {
      const plan::Command &command = program.step->commands(index);
      if (!command.has_dispatch())
        continue;
      const plan::Dim3 &groups = command.dispatch().group_count();
      const uint32_t counts[3] = {groups.x(), groups.y(), groups.z()};
      for (int axis = 0; axis < 3; ++axis)
        if (counts[axis] > limits.maxComputeWorkGroupCount[axis])
          return absl::FailedPreconditionError(
              absl::StrCat(prefix, index, " dispatches ", counts[axis], " workgroups along ",
                           std::string(1, "xyz"[axis]), " but ", deviceName, " allows ",
                           limits.maxComputeWorkGroupCount[axis]));
    }
  }
  return absl::OkStatus();
}

absl::Status Device::checkKernelCode() const {
  for (const plan::Kernel &kernel : plan_->kernels()) {
    absl::StatusOr<std::vector<SpirvEntryPoint>> entries = inspectSpirv(kernel.spirv());
    if (!entries.ok())
      return absl::InvalidArgumentError(
          absl::StrCat(kernelLabel(kernel), ": ", entries.status().message()));
    auto entry = std::find_if(entries->begin(), entries->end(), [&](const SpirvEntryPoint &e) {
      return e.name == kernel.entry_point() && e.executionModel == kGLCompute;
    });
    if (entry == entries->end()) {
      std::vector<std::string> names;
      for (const SpirvEntryPoint &e : *entries)
        names.push_back(e.name);
      return absl::FailedPreconditionError(
          absl::StrCat(kernelLabel(kernel), ": its SPIR-V has no compute entry point '",
                       kernel.entry_point(), "' (it has: ", absl::StrJoin(names, ", "), ")"));
    }
    const plan::Dim3 &size = kernel.workgroup_size();
    if (entry->localSize &&
        ((*entry->localSize)[0] != size.x() || (*entry->localSize)[1] != size.y() ||
         (*entry->localSize)[2] != size.z()))
      return absl::FailedPreconditionError(
          absl::StrCat(kernelLabel(kernel), " declares workgroup size ", size.x(), "x", size.y(),
                       "x", size.z(), " in the plan but its SPIR-V says ", (*entry->localSize)[0],
                       "x", (*entry->localSize)[1], "x", (*entry->localSize)[2]));
  }
  return absl::OkStatus();
}

absl::Status Device::allocateBuffers() {
  buffers_.reserve(plan_->buffers_size());
  bool anyInArena = false;
  for (const plan::Buffer &buffer : plan_->buffers()) {
    if (buffer.in_arena()) {
      anyInArena = true;
      buffers_.emplace_back();
      continue;
    }
    absl::StatusOr<DeviceBuffer> created = DeviceBuffer::create(
        *device_, buffer.size_bytes(), MemoryKind::kDeviceLocal, buffer.name());
    if (!created.ok())
      return created.status();
    buffers_.push_back(*std::move(created));
  }
  if (anyInArena) {
    absl::StatusOr<DeviceBuffer> created = DeviceBuffer::create(
        *device_, plan_->memory().arena_bytes(), MemoryKind::kDeviceLocal, "transient arena");
    if (!created.ok())
      return created.status();
    arena_ = *std::move(created);
  }
  return absl::OkStatus();
}

Device::BufferRange Device::bufferRange(uint32_t index) const {
  const plan::Buffer &buffer = plan_->buffers(index);
  if (buffer.in_arena())
    return {arena_.buffer(), buffer.arena_offset(), buffer.size_bytes()};
  return {buffers_[index].buffer(), 0, VK_WHOLE_SIZE};
}

absl::Status Device::createPipelines() {
  VkDevice device = device_->device();
  for (const plan::Kernel &kernel : plan_->kernels()) {
    std::string label = kernelLabel(kernel);
    KernelPipeline pipeline;
    std::vector<uint32_t> words(kernel.spirv().size() / 4);
    std::memcpy(words.data(), kernel.spirv().data(), words.size() * 4);
    VkShaderModuleCreateInfo moduleInfo{};
    moduleInfo.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO;
    moduleInfo.codeSize = words.size() * 4;
    moduleInfo.pCode = words.data();
    VkShaderModule module;
    KILN_VK_CHECK(vkCreateShaderModule(device, &moduleInfo, nullptr, &module),
                  absl::StrCat("creating the shader module of ", label));
    pipeline.module = ShaderModuleHandle(device, module);

    std::vector<VkDescriptorSetLayoutBinding> bindings(kernel.binding_count());
    for (uint32_t binding = 0; binding < kernel.binding_count(); ++binding) {
      bindings[binding].binding = binding;
      bindings[binding].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
      bindings[binding].descriptorCount = 1;
      bindings[binding].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
    }
    VkDescriptorSetLayoutCreateInfo setInfo{};
    setInfo.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO;
    setInfo.bindingCount = kernel.binding_count();
    setInfo.pBindings = bindings.data();
    VkDescriptorSetLayout setLayout;
    KILN_VK_CHECK(vkCreateDescriptorSetLayout(device, &setInfo, nullptr, &setLayout),
                  absl::StrCat("creating the descriptor set layout of ", label));
    pipeline.setLayout = DescriptorSetLayoutHandle(device, setLayout);

    VkPushConstantRange pushRange{VK_SHADER_STAGE_COMPUTE_BIT, 0, kernel.push_constant_size()};
    VkPipelineLayoutCreateInfo layoutInfo{};
    layoutInfo.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO;
    layoutInfo.setLayoutCount = 1;
    layoutInfo.pSetLayouts = &setLayout;
    layoutInfo.pushConstantRangeCount = kernel.push_constant_size() > 0 ? 1 : 0;
    layoutInfo.pPushConstantRanges = &pushRange;
    VkPipelineLayout layout;
    KILN_VK_CHECK(vkCreatePipelineLayout(device, &layoutInfo, nullptr, &layout),
                  absl::StrCat("creating the pipeline layout of ", label));
    pipeline.layout = PipelineLayoutHandle(device, layout);

    VkComputePipelineCreateInfo pipelineInfo{};
    pipelineInfo.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO;
    pipelineInfo.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
    pipelineInfo.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
    pipelineInfo.stage.module = module;
    pipelineInfo.stage.pName = kernel.entry_point().c_str();
    pipelineInfo.layout = layout;
    VkPipeline handle;
    KILN_VK_CHECK(
        vkCreateComputePipelines(device, VK_NULL_HANDLE, 1, &pipelineInfo, nullptr, &handle),
        absl::StrCat("creating the compute pipeline of ", label));
    pipeline.pipeline = PipelineHandle(device, handle);
    kernels_.push_back(std::move(pipeline));
  }
  return absl::OkStatus();
}

absl::Status Device::createDescriptorSets() {
  VkDevice device = device_->device();
  uint32_t sets = 0, descriptors = 0;
  std::vector<plan::ProgramView> programs = plan::planPrograms(*plan_);
  for (const plan::ProgramView &program : programs) {
    descriptorSets_[program.name].assign(program.step->commands_size(), VK_NULL_HANDLE);
    for (const plan::Command &command : program.step->commands())
      if (command.has_dispatch()) {
        ++sets;
        descriptors += command.dispatch().buffers_size();
      }
  }
  if (sets == 0)
    return absl::OkStatus();
  VkDescriptorPoolSize poolSize{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, descriptors};
  VkDescriptorPoolCreateInfo poolInfo{};
  poolInfo.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO;
  poolInfo.maxSets = sets;
  poolInfo.poolSizeCount = descriptors > 0 ? 1 : 0;
  poolInfo.pPoolSizes = &poolSize;
  VkDescriptorPool pool;
  KILN_VK_CHECK(vkCreateDescriptorPool(device, &poolInfo, nullptr, &pool),
                absl::StrCat("creating a descriptor pool for ", sets, " dispatches"));
  descriptorPool_ = DescriptorPoolHandle(device, pool);

  for (const plan::ProgramView &program : programs) {
    for (int index = 0; index < program.step->commands_size(); ++index) {
      const plan::Command &command = program.step->commands(index);
      if (!command.has_dispatch())
        continue;
      const plan::Dispatch &dispatch = command.dispatch();
      VkDescriptorSetLayout layout = kernels_[dispatch.kernel()].setLayout.get();
      VkDescriptorSetAllocateInfo allocateInfo{};
      allocateInfo.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO;
      allocateInfo.descriptorPool = pool;
      allocateInfo.descriptorSetCount = 1;
      allocateInfo.pSetLayouts = &layout;
      VkDescriptorSet &set = descriptorSets_[program.name][index];
      KILN_VK_CHECK(vkAllocateDescriptorSets(device, &allocateInfo, &set),
                    absl::StrCat("allocating the descriptor set of command ", index,
                                 " of program '", program.name, "'"));
      std::vector<VkDescriptorBufferInfo> infos(dispatch.buffers_size());
      std::vector<VkWriteDescriptorSet> writes(dispatch.buffers_size());
      for (int binding = 0; binding < dispatch.buffers_size(); ++binding) {
        BufferRange range = bufferRange(dispatch.buffers(binding));
        infos[binding] = {range.buffer, range.offset, range.size};
        writes[binding].sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET;
        writes[binding].dstSet = set;
        writes[binding].dstBinding = binding;
        writes[binding].descriptorCount = 1;
        writes[binding].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
        writes[binding].pBufferInfo = &infos[binding];
      }
      vkUpdateDescriptorSets(device, static_cast<uint32_t>(writes.size()), writes.data(), 0,
                             nullptr);
    }
  }
  return absl::OkStatus();
}

} // namespace kiln::vulkan
