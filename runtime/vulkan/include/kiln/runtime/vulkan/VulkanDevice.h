//===- VulkanDevice.h - Instance, physical device and queue -----*- C++ -*-===//
//
// Owns the Vulkan instance, the chosen physical device, the logical device and
// its compute queue, and (when validation is on) the debug messenger that
// records every validation message so tests can fail on any of them.
//
// Device choice: discrete GPU > integrated GPU > virtual GPU > CPU (lavapipe),
// among devices with Vulkan >= 1.1 and a compute queue; overridable by index or
// by a case-insensitive name substring (DeviceOptions, or the environment
// variable KILN_VULKAN_DEVICE=<index>|<name substring>).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_VULKAN_VULKANDEVICE_H
#define KILN_RUNTIME_VULKAN_VULKANDEVICE_H

#include "kiln/plan/plan.pb.h"

#include "absl/status/statusor.h"

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>
#include <vulkan/vulkan.h>

namespace kiln::vulkan {

/// How to pick and set up the device.
struct DeviceOptions {
  /// Enables VK_LAYER_KHRONOS_validation with synchronization validation and records every
  /// warning and error it reports. Also enabled by the environment variable
  /// KILN_VULKAN_VALIDATION=1.
  bool validation = false;
  /// Use the device with this index in vkEnumeratePhysicalDevices order.
  std::optional<uint32_t> deviceIndex;
  /// Use the first device whose name contains this, ignoring case (when deviceIndex is unset).
  std::string deviceName;
  /// Capabilities to enable; creation fails naming the first one the device lacks.
  std::vector<plan::DeviceFeature> requiredFeatures;
};

/// What vkGetPhysicalDeviceProperties says about one device.
struct PhysicalDeviceInfo {
  uint32_t index = 0;
  std::string name;
  VkPhysicalDeviceType type = VK_PHYSICAL_DEVICE_TYPE_OTHER;
  uint32_t apiVersion = 0;
};

/// "discrete GPU", "integrated GPU", "virtual GPU", "CPU" or "other".
const char *deviceTypeName(VkPhysicalDeviceType type);
/// The default device preference: 0 discrete GPU, 1 integrated, 2 virtual, 3 CPU, 4 other;
/// the lowest rank wins.
int deviceTypeRank(VkPhysicalDeviceType type);
/// "DEVICE_FEATURE_FLOAT64 (shaderFloat64)" and so on, for messages.
std::string featureName(plan::DeviceFeature feature);

/// An initialised Vulkan device with one compute queue. Shared (by shared_ptr) between the
/// objects made from it, which keeps the VkDevice alive as long as any of them. Not
/// thread-safe except validationMessages(), which the driver may call into from any thread.
class VulkanDevice {
public:
  /// Creates the instance and device. Fails with NotFound if no Vulkan device exists or none
  /// matches the override (the message lists the devices), FailedPrecondition if validation
  /// is requested but the layer is missing or a required feature is absent, and with the
  /// Vulkan error otherwise.
  static absl::StatusOr<std::shared_ptr<VulkanDevice>> create(const DeviceOptions &options = {});

  /// The devices this machine exposes (validation off). NotFound if there are none.
  static absl::StatusOr<std::vector<PhysicalDeviceInfo>> enumerate();

  ~VulkanDevice();
  VulkanDevice(const VulkanDevice &) = delete;
  VulkanDevice &operator=(const VulkanDevice &) = delete;

  const PhysicalDeviceInfo &info() const { return info_; }
  VkPhysicalDevice physicalDevice() const { return physicalDevice_; }
  VkDevice device() const { return device_; }
  VkQueue queue() const { return queue_; }
  uint32_t queueFamily() const { return queueFamily_; }
  const VkPhysicalDeviceLimits &limits() const { return properties_.limits; }
  const VkPhysicalDeviceMemoryProperties &memoryProperties() const { return memory_; }
  /// True if the queue can write timestamps (timestampValidBits > 0).
  bool supportsTimestamps() const { return timestampValidBits_ > 0; }
  uint32_t timestampValidBits() const { return timestampValidBits_; }
  bool validationEnabled() const { return messageLog_ != nullptr; }
  /// Whether `feature` was enabled at creation.
  bool featureEnabled(plan::DeviceFeature feature) const;

  /// Every validation warning and error so far, as "[ERROR] <id>: <text>". Empty when
  /// validation is off.
  std::vector<std::string> validationMessages() const;
  void clearValidationMessages();

  /// Shared with the debug messenger callback; public only so the callback can name it.
  struct MessageLog {
    std::mutex mutex;
    std::vector<std::string> messages;
  };

private:
  VulkanDevice() = default;

  VkInstance instance_ = VK_NULL_HANDLE;
  VkDebugUtilsMessengerEXT messenger_ = VK_NULL_HANDLE;
  VkPhysicalDevice physicalDevice_ = VK_NULL_HANDLE;
  VkDevice device_ = VK_NULL_HANDLE;
  VkQueue queue_ = VK_NULL_HANDLE;
  uint32_t queueFamily_ = 0;
  uint32_t timestampValidBits_ = 0;
  PhysicalDeviceInfo info_;
  VkPhysicalDeviceProperties properties_{};
  VkPhysicalDeviceMemoryProperties memory_{};
  std::vector<plan::DeviceFeature> enabledFeatures_;
  std::unique_ptr<MessageLog> messageLog_;
};

} // namespace kiln::vulkan

#endif // KILN_RUNTIME_VULKAN_VULKANDEVICE_H
