//===- KernelTemplateTest.cpp - The embedded SPIR-V kernel templates ------===//
//
// Every template passes spirv-val for Vulkan 1.1 (SPIRV-Tools, in process),
// and what VulkanKernels.cpp says about it (workgroup size, bindings, push
// constant bytes) matches what its SPIR-V declares, read back with a small
// reflection pass over the module's instructions.
//
//===----------------------------------------------------------------------===//

#include "kiln/kernels/KernelAbi.h"
#include "kiln/kernels/VulkanKernels.h"

#include "spirv-tools/libspirv.hpp"
#include "gtest/gtest.h"

#include <map>
#include <set>
#include <string>
#include <vector>

namespace kiln::kernels {
namespace {

// SPIR-V opcodes, decorations and storage classes this reflection reads.
constexpr uint32_t kOpTypeInt = 21, kOpTypeArray = 28, kOpTypeStruct = 30, kOpTypePointer = 32,
                   kOpConstant = 43, kOpVariable = 59, kOpDecorate = 71, kOpMemberDecorate = 72,
                   kOpExecutionMode = 16, kOpTypeFloat = 22;
constexpr uint32_t kDecorationBinding = 33, kDecorationDescriptorSet = 34, kDecorationOffset = 35;
constexpr uint32_t kExecutionModeLocalSize = 17;
constexpr uint32_t kStorageClassPushConstant = 9;

/// What a compute module declares about its interface.
struct Reflection {
  std::vector<uint32_t> localSize;
  std::set<uint32_t> bindings;
  std::set<uint32_t> descriptorSets;
  uint32_t pushConstantBytes = 0;
};

Reflection reflect(std::span<const uint32_t> words) {
  Reflection result;
  std::map<uint32_t, uint32_t> constants, scalarBytes, arrays, arrayElement, pointee;
  std::map<uint32_t, std::vector<uint32_t>> structMembers;
  std::map<std::pair<uint32_t, uint32_t>, uint32_t> memberOffsets;
  uint32_t pushConstantType = 0;
  for (size_t at = 5; at < words.size();) {
    uint32_t opcode = words[at] & 0xffff, count = words[at] >> 16;
    const uint32_t *operand = &words[at + 1];
    if (opcode == kOpExecutionMode && operand[1] == kExecutionModeLocalSize)
      result.localSize = {operand[2], operand[3], operand[4]};
    if (opcode == kOpDecorate && operand[1] == kDecorationBinding)
      result.bindings.insert(operand[2]);
    if (opcode == kOpDecorate && operand[1] == kDecorationDescriptorSet)
      result.descriptorSets.insert(operand[2]);
    if (opcode == kOpMemberDecorate && operand[2] == kDecorationOffset)
      memberOffsets[{operand[0], operand[1]}] = operand[3];
    if (opcode == kOpTypeInt || opcode == kOpTypeFloat)
      scalarBytes[operand[0]] = operand[1] / 8;
    if (opcode == kOpConstant)
      constants[operand[1]] = operand[2];
    if (opcode == kOpTypeArray) {
      arrayElement[operand[0]] = operand[1];
      arrays[operand[0]] = operand[2];
    }
    if (opcode == kOpTypeStruct)
      structMembers[operand[0]] = std::vector<uint32_t>(operand + 1, operand + count - 1);
    if (opcode == kOpTypePointer)
      pointee[operand[0]] = operand[2];
    if (opcode == kOpVariable && operand[2] == kStorageClassPushConstant)
      pushConstantType = pointee[operand[0]];
    at += count;
  }
  if (pushConstantType != 0) {
    // Every push-constant member is a 32-bit scalar or an array of them (KernelAbi.h).
    const std::vector<uint32_t> &members = structMembers[pushConstantType];
    uint32_t last = static_cast<uint32_t>(members.size() - 1);
    uint32_t type = members[last];
    uint32_t bytes = arrays.count(type) ? constants[arrays[type]] * scalarBytes[arrayElement[type]]
                                        : scalarBytes[type];
    result.pushConstantBytes = memberOffsets[{pushConstantType, last}] + bytes;
  }
  return result;
}

class KernelTemplateTest : public testing::TestWithParam<VulkanKernel> {
protected:
  const VulkanKernelInfo &info() const { return vulkanKernelInfo(GetParam()); }
};

TEST_P(KernelTemplateTest, PassesSpirvValForVulkan11) {
  spvtools::SpirvTools tools(SPV_ENV_VULKAN_1_1);
  std::string messages;
  tools.SetMessageConsumer(
      [&](spv_message_level_t, const char *, const spv_position_t &position, const char *message) {
        messages += "word " + std::to_string(position.index) + ": " + message + "\n";
      });
  EXPECT_TRUE(tools.Validate(info().spirv.data(), info().spirv.size())) << messages;
}

TEST_P(KernelTemplateTest, DescriptionMatchesTheModule) {
  Reflection module = reflect(info().spirv);
  EXPECT_EQ(module.localSize,
            std::vector<uint32_t>(info().workgroupSize.begin(), info().workgroupSize.end()));
  std::set<uint32_t> expectedBindings;
  for (uint32_t binding = 0; binding < info().bindingCount; ++binding)
    expectedBindings.insert(binding);
  EXPECT_EQ(module.bindings, expectedBindings);
  EXPECT_EQ(module.descriptorSets, std::set<uint32_t>{0});
  EXPECT_EQ(module.pushConstantBytes, info().pushConstantSize);
  EXPECT_LE(info().pushConstantSize, 128u) << "lavapipe allows 128 bytes of push constants";
}

TEST(KernelTemplates, NamesAreUnique) {
  std::set<std::string_view> names;
  for (VulkanKernel kernel : allVulkanKernels())
    EXPECT_TRUE(names.insert(vulkanKernelInfo(kernel).name).second)
        << vulkanKernelInfo(kernel).name;
}

INSTANTIATE_TEST_SUITE_P(AllTemplates, KernelTemplateTest,
                         testing::ValuesIn(allVulkanKernels().begin(), allVulkanKernels().end()),
                         [](const testing::TestParamInfo<VulkanKernel> &info) {
                           return std::string(vulkanKernelInfo(info.param).name);
                         });

} // namespace
} // namespace kiln::kernels
