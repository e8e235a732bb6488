//===- SpirvInfoTest.cpp - Entry points and sizes of real test kernels ----===//

#include "VulkanTestSupport.h"

#include "kiln/runtime/vulkan/SpirvInfo.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kiln::vulkan {
namespace {

using ::testing::HasSubstr;

TEST(SpirvInfoTest, ReadsEntryPointAndLocalSizeOfGlslangOutput) {
  for (const char *name : {"add", "scale"}) {
    absl::StatusOr<std::vector<SpirvEntryPoint>> entries = inspectSpirv(testing::loadKernel(name));
    ASSERT_TRUE(entries.ok()) << entries.status();
    ASSERT_EQ(entries->size(), 1u) << name;
    EXPECT_EQ(entries->front().name, "main");
    EXPECT_EQ(entries->front().executionModel, 5u); // GLCompute
    ASSERT_TRUE(entries->front().localSize.has_value());
    EXPECT_EQ(*entries->front().localSize, (std::array<uint32_t, 3>{64, 1, 1}));
  }
}

TEST(SpirvInfoTest, RejectsMalformedModules) {
  std::string spirv = testing::loadKernel("add");
  EXPECT_THAT(std::string(inspectSpirv(spirv.substr(0, 18)).status().message()),
              HasSubstr("not a whole module"));
  std::string badMagic = spirv;
  badMagic[0] = 0;
  EXPECT_THAT(std::string(inspectSpirv(badMagic).status().message()), HasSubstr("magic"));
  // Cutting the module mid-instruction leaves an instruction running past the end.
  bool sawOverrun = false;
  for (size_t words = 6; words < spirv.size() / 4; ++words) {
    absl::StatusOr<std::vector<SpirvEntryPoint>> cut = inspectSpirv(spirv.substr(0, 4 * words));
    if (!cut.ok()) {
      EXPECT_THAT(std::string(cut.status().message()), HasSubstr("runs past the end"));
      sawOverrun = true;
    }
  }
  EXPECT_TRUE(sawOverrun);
}

} // namespace
} // namespace kiln::vulkan
