//===- VulkanDeviceTest.cpp - Device choice, overrides and validation -----===//

#include "VulkanTestSupport.h"

#include "kiln/runtime/vulkan/VulkanDevice.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include <cstdlib>

namespace kiln::vulkan {
namespace {

using ::testing::HasSubstr;

TEST(VulkanDeviceTest, RanksDiscreteOverIntegratedOverVirtualOverCpu) {
  EXPECT_LT(deviceTypeRank(VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU),
            deviceTypeRank(VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU));
  EXPECT_LT(deviceTypeRank(VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU),
            deviceTypeRank(VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU));
  EXPECT_LT(deviceTypeRank(VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU),
            deviceTypeRank(VK_PHYSICAL_DEVICE_TYPE_CPU));
  EXPECT_LT(deviceTypeRank(VK_PHYSICAL_DEVICE_TYPE_CPU),
            deviceTypeRank(VK_PHYSICAL_DEVICE_TYPE_OTHER));
}

TEST(VulkanDeviceTest, DefaultChoiceIsTheBestRankedDevice) {
  KILN_REQUIRE_VULKAN();
  absl::StatusOr<std::vector<PhysicalDeviceInfo>> devices = VulkanDevice::enumerate();
  ASSERT_TRUE(devices.ok()) << devices.status();
  ASSERT_FALSE(devices->empty());
  int best = 4;
  for (const PhysicalDeviceInfo &info : *devices)
    best = std::min(best, deviceTypeRank(info.type));
  absl::StatusOr<std::shared_ptr<VulkanDevice>> device = VulkanDevice::create();
  ASSERT_TRUE(device.ok()) << device.status();
  EXPECT_FALSE((*device)->info().name.empty());
  EXPECT_EQ(deviceTypeRank((*device)->info().type), best) << (*device)->info().name;
  EXPECT_GE((*device)->info().apiVersion, VK_API_VERSION_1_1);
  EXPECT_FALSE((*device)->validationEnabled());
}

TEST(VulkanDeviceTest, SelectsByIndexAndByNameSubstring) {
  KILN_REQUIRE_VULKAN();
  absl::StatusOr<std::vector<PhysicalDeviceInfo>> devices = VulkanDevice::enumerate();
  ASSERT_TRUE(devices.ok());
  const PhysicalDeviceInfo &last = devices->back();
  DeviceOptions byIndex;
  byIndex.deviceIndex = last.index;
  absl::StatusOr<std::shared_ptr<VulkanDevice>> indexed = VulkanDevice::create(byIndex);
  ASSERT_TRUE(indexed.ok()) << indexed.status();
  EXPECT_EQ((*indexed)->info().name, last.name);

  DeviceOptions byName;
  std::string upper = last.name;
  for (char &c : upper)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  byName.deviceName = upper.substr(0, 4);
  absl::StatusOr<std::shared_ptr<VulkanDevice>> named = VulkanDevice::create(byName);
  ASSERT_TRUE(named.ok()) << named.status();
  EXPECT_THAT((*named)->info().name, HasSubstr(last.name.substr(0, 4)));
}

TEST(VulkanDeviceTest, UnknownOverridesListTheDevices) {
  KILN_REQUIRE_VULKAN();
  DeviceOptions byName;
  byName.deviceName = "no-such-gpu-9000";
  absl::StatusOr<std::shared_ptr<VulkanDevice>> named = VulkanDevice::create(byName);
  ASSERT_FALSE(named.ok());
  EXPECT_EQ(named.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(named.status().message()),
              HasSubstr("no Vulkan device name contains 'no-such-gpu-9000'; devices: 0: '"));
  DeviceOptions byIndex;
  byIndex.deviceIndex = 99;
  absl::StatusOr<std::shared_ptr<VulkanDevice>> indexed = VulkanDevice::create(byIndex);
  ASSERT_FALSE(indexed.ok());
  EXPECT_THAT(std::string(indexed.status().message()),
              HasSubstr("Vulkan device index 99 requested but this machine has"));
}

TEST(VulkanDeviceTest, EnvironmentOverrideIsUsedWhenOptionsAreEmpty) {
  KILN_REQUIRE_VULKAN();
  setenv("KILN_VULKAN_DEVICE", "no-such-gpu-from-env", 1);
  absl::StatusOr<std::shared_ptr<VulkanDevice>> device = VulkanDevice::create();
  unsetenv("KILN_VULKAN_DEVICE");
  ASSERT_FALSE(device.ok());
  EXPECT_THAT(std::string(device.status().message()), HasSubstr("'no-such-gpu-from-env'"));
}

TEST(VulkanDeviceTest, ValidationFromOptionOrEnvironmentRecordsNothingOnCleanUse) {
  KILN_REQUIRE_VULKAN();
  DeviceOptions options;
  options.validation = true;
  absl::StatusOr<std::shared_ptr<VulkanDevice>> device = VulkanDevice::create(options);
  ASSERT_TRUE(device.ok()) << device.status();
  EXPECT_TRUE((*device)->validationEnabled());
  EXPECT_THAT((*device)->validationMessages(), ::testing::IsEmpty());

  setenv("KILN_VULKAN_VALIDATION", "1", 1);
  absl::StatusOr<std::shared_ptr<VulkanDevice>> fromEnvironment = VulkanDevice::create();
  unsetenv("KILN_VULKAN_VALIDATION");
  ASSERT_TRUE(fromEnvironment.ok()) << fromEnvironment.status();
  EXPECT_TRUE((*fromEnvironment)->validationEnabled());
}

TEST(VulkanDeviceTest, RequiredFeaturesAreEnabledOrNamedWhenMissing) {
  KILN_REQUIRE_VULKAN();
  absl::StatusOr<std::shared_ptr<VulkanDevice>> probe = VulkanDevice::create();
  ASSERT_TRUE(probe.ok());
  VkPhysicalDeviceFeatures features;
  vkGetPhysicalDeviceFeatures((*probe)->physicalDevice(), &features);
  DeviceOptions options;
  options.validation = true;
  options.requiredFeatures = {plan::DEVICE_FEATURE_FLOAT64};
  absl::StatusOr<std::shared_ptr<VulkanDevice>> device = VulkanDevice::create(options);
  if (features.shaderFloat64) {
    ASSERT_TRUE(device.ok()) << device.status();
    EXPECT_TRUE((*device)->featureEnabled(plan::DEVICE_FEATURE_FLOAT64));
    EXPECT_FALSE((*device)->featureEnabled(plan::DEVICE_FEATURE_INT8));
    EXPECT_THAT((*device)->validationMessages(), ::testing::IsEmpty());
  } else {
    ASSERT_FALSE(device.ok());
    EXPECT_THAT(std::string(device.status().message()),
                HasSubstr("DEVICE_FEATURE_FLOAT64 (shaderFloat64)"));
  }
  EXPECT_EQ(featureName(plan::DEVICE_FEATURE_STORAGE_BUFFER_8BIT),
            "DEVICE_FEATURE_STORAGE_BUFFER_8BIT (storageBuffer8BitAccess)");
}

} // namespace
} // namespace kiln::vulkan
