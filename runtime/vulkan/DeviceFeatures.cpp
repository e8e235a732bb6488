//===- DeviceFeatures.cpp - The plan's DeviceFeature as Vulkan flags ------===//

#include "DeviceFeatures.h"

namespace kiln::vulkan {

FeatureChain::FeatureChain(uint32_t apiVersion) {
  features_.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2;
  storage16_.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES;
  storage8_.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_8BIT_STORAGE_FEATURES;
  float16Int8_.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES;
  features_.pNext = &storage16_;
  hasVulkan12_ = apiVersion >= VK_API_VERSION_1_2;
  if (hasVulkan12_) {
    storage16_.pNext = &storage8_;
    storage8_.pNext = &float16Int8_;
  }
}

VkBool32 *FeatureChain::flag(plan::DeviceFeature feature) {
  switch (feature) {
  case plan::DEVICE_FEATURE_FLOAT64:
    return &features_.features.shaderFloat64;
  case plan::DEVICE_FEATURE_INT64:
    return &features_.features.shaderInt64;
  case plan::DEVICE_FEATURE_INT16:
    return &features_.features.shaderInt16;
  case plan::DEVICE_FEATURE_STORAGE_BUFFER_16BIT:
    return &storage16_.storageBuffer16BitAccess;
  case plan::DEVICE_FEATURE_FLOAT16:
    return hasVulkan12_ ? &float16Int8_.shaderFloat16 : nullptr;
  case plan::DEVICE_FEATURE_INT8:
    return hasVulkan12_ ? &float16Int8_.shaderInt8 : nullptr;
  case plan::DEVICE_FEATURE_STORAGE_BUFFER_8BIT:
    return hasVulkan12_ ? &storage8_.storageBuffer8BitAccess : nullptr;
  default:
    return nullptr;
  }
}

} // namespace kiln::vulkan
