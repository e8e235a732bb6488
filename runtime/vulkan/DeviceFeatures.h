//===- DeviceFeatures.h - The plan's DeviceFeature as Vulkan flags -*- C++ -*-===//
//
// Internal to KilnVulkanRuntime. Maps each plan::DeviceFeature to the VkBool32
// in a VkPhysicalDeviceFeatures2 chain, so the same chain type can be queried
// (what the device supports) and passed to vkCreateDevice (what we enable).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_VULKAN_DEVICEFEATURES_H
#define KILN_RUNTIME_VULKAN_DEVICEFEATURES_H

#include "kiln/plan/plan.pb.h"

#include <vulkan/vulkan.h>

namespace kiln::vulkan {

/// A VkPhysicalDeviceFeatures2 chain holding every struct a DeviceFeature lives in. The
/// Vulkan 1.2 structs are chained only when `apiVersion` >= 1.2. Not movable: the chain
/// points into itself.
class FeatureChain {
public:
  explicit FeatureChain(uint32_t apiVersion);
  FeatureChain(const FeatureChain &) = delete;
  FeatureChain &operator=(const FeatureChain &) = delete;

  VkPhysicalDeviceFeatures2 *head() { return &features_; }
  /// The flag for `feature`, or nullptr if this device's API version cannot express it.
  VkBool32 *flag(plan::DeviceFeature feature);

private:
  VkPhysicalDeviceFeatures2 features_{};
  VkPhysicalDevice16BitStorageFeatures storage16_{};
  VkPhysicalDevice8BitStorageFeatures storage8_{};
  VkPhysicalDeviceShaderFloat16Int8Features float16Int8_{};
  bool hasVulkan12_ = false;
};

} // namespace kiln::vulkan

#endif // KILN_RUNTIME_VULKAN_DEVICEFEATURES_H
