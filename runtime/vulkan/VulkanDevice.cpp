//===- VulkanDevice.cpp - Instance, physical device and queue -------------===//

#include "kiln/runtime/vulkan/VulkanDevice.h"

#include "DeviceFeatures.h"
#include "kiln/runtime/vulkan/VulkanCheck.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace kiln::vulkan {

namespace {

constexpr const char *kValidationLayer = "VK_LAYER_KHRONOS_validation";

bool environmentFlag(const char *name) {
  const char *value = std::getenv(name);
  return value && std::strcmp(value, "1") == 0;
}

VKAPI_ATTR VkBool32 VKAPI_CALL recordMessage(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                             VkDebugUtilsMessageTypeFlagsEXT,
                                             const VkDebugUtilsMessengerCallbackDataEXT *data,
                                             void *userData) {
  auto *log = static_cast<VulkanDevice::MessageLog *>(userData);
  std::string text = absl::StrCat(
      severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT ? "[ERROR] " : "[WARNING] ",
      data->pMessageIdName ? data->pMessageIdName : "(no id)", ": ",
      data->pMessage ? data->pMessage : "");
  std::lock_guard<std::mutex> lock(log->mutex);
  log->messages.push_back(std::move(text));
  return VK_FALSE;
}

VkDebugUtilsMessengerCreateInfoEXT messengerInfo(VulkanDevice::MessageLog *log) {
  VkDebugUtilsMessengerCreateInfoEXT info{};
  info.sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT;
  info.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                         VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
  info.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                     VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                     VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
  info.pfnUserCallback = recordMessage;
  info.pUserData = log;
  return info;
}

bool hasLayer(const char *name) {
  uint32_t count = 0;
  if (vkEnumerateInstanceLayerProperties(&count, nullptr) != VK_SUCCESS)
    return false;
  std::vector<VkLayerProperties> layers(count);
  if (vkEnumerateInstanceLayerProperties(&count, layers.data()) != VK_SUCCESS)
    return false;
  return std::any_of(layers.begin(), layers.end(), [&](const VkLayerProperties &layer) {
    return std::strcmp(layer.layerName, name) == 0;
  });
}

bool hasInstanceExtension(const char *layer, const char *name) {
  uint32_t count = 0;
  if (vkEnumerateInstanceExtensionProperties(layer, &count, nullptr) != VK_SUCCESS)
    return false;
  std::vector<VkExtensionProperties> extensions(count);
  if (vkEnumerateInstanceExtensionProperties(layer, &count, extensions.data()) != VK_SUCCESS)
    return false;
  return std::any_of(extensions.begin(), extensions.end(), [&](const VkExtensionProperties &e) {
    return std::strcmp(e.extensionName, name) == 0;
  });
}

/// Creates an instance; with `log`, the validation layer and a messenger recording into it
/// from the start (the messenger info is chained into VkInstanceCreateInfo).
absl::StatusOr<VkInstance> createInstance(VulkanDevice::MessageLog *log) {
  uint32_t loaderVersion = VK_API_VERSION_1_0;
  KILN_VK_CHECK(vkEnumerateInstanceVersion(&loaderVersion), "querying the Vulkan loader version");
  if (loaderVersion < VK_API_VERSION_1_1)
    return absl::FailedPreconditionError(
        "the Vulkan loader supports only Vulkan 1.0; Kiln needs 1.1 or newer (update libvulkan1)");
  VkApplicationInfo application{};
  application.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO;
  application.pApplicationName = "kiln";
  application.pEngineName = "kiln";
  application.apiVersion = std::min(loaderVersion, VK_API_VERSION_1_3);

  VkInstanceCreateInfo info{};
  info.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO;
  info.pApplicationInfo = &application;
  std::vector<const char *> layers, extensions;
  VkDebugUtilsMessengerCreateInfoEXT messenger{};
  VkValidationFeaturesEXT features{};
  const VkValidationFeatureEnableEXT enables[] = {
      VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT};
  if (log) {
    if (!hasLayer(kValidationLayer))
      return absl::FailedPreconditionError(
          absl::StrCat("Vulkan validation was requested (DeviceOptions::validation or "
                       "KILN_VULKAN_VALIDATION=1) but ",
                       kValidationLayer,
                       " is not installed; install vulkan-validationlayers or turn validation "
                       "off"));
    layers.push_back(kValidationLayer);
    extensions.push_back(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
    if (hasInstanceExtension(kValidationLayer, VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME))
      extensions.push_back(VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME);
    messenger = messengerInfo(log);
    features.sType = VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT;
    features.pNext = &messenger;
    features.enabledValidationFeatureCount = 1;
    features.pEnabledValidationFeatures = enables;
    info.pNext = &features;
  }
  info.enabledLayerCount = static_cast<uint32_t>(layers.size());
  info.ppEnabledLayerNames = layers.data();
  info.enabledExtensionCount = static_cast<uint32_t>(extensions.size());
  info.ppEnabledExtensionNames = extensions.data();
  VkInstance instance = VK_NULL_HANDLE;
  VkResult created = vkCreateInstance(&info, nullptr, &instance);
  if (created == VK_ERROR_INCOMPATIBLE_DRIVER)
    return absl::NotFoundError("no Vulkan driver found (vkCreateInstance returned "
                               "VK_ERROR_INCOMPATIBLE_DRIVER); install one, e.g. "
                               "mesa-vulkan-drivers for the lavapipe CPU device");
  if (created != VK_SUCCESS)
    return vulkanError(created, "vkCreateInstance", "creating the Vulkan instance", __FILE__,
                       __LINE__);
  return instance;
}

absl::StatusOr<std::vector<std::pair<VkPhysicalDevice, PhysicalDeviceInfo>>>
listDevices(VkInstance instance) {
  uint32_t count = 0;
  KILN_VK_CHECK(vkEnumeratePhysicalDevices(instance, &count, nullptr),
                "enumerating physical devices");
  std::vector<VkPhysicalDevice> handles(count);
  KILN_VK_CHECK(vkEnumeratePhysicalDevices(instance, &count, handles.data()),
                "enumerating physical devices");
  if (count == 0)
    return absl::NotFoundError("no Vulkan device found (vkEnumeratePhysicalDevices returned "
                               "none); install a driver, e.g. mesa-vulkan-drivers for lavapipe");
  std::vector<std::pair<VkPhysicalDevice, PhysicalDeviceInfo>> devices;
  for (uint32_t index = 0; index < count; ++index) {
    VkPhysicalDeviceProperties properties;
    vkGetPhysicalDeviceProperties(handles[index], &properties);
    devices.push_back(
        {handles[index],
         {index, properties.deviceName, properties.deviceType, properties.apiVersion}});
  }
  return devices;
}

std::string
describeDevices(const std::vector<std::pair<VkPhysicalDevice, PhysicalDeviceInfo>> &devices) {
  std::string text;
  for (const auto &[handle, info] : devices)
    absl::StrAppend(&text, text.empty() ? "" : ", ", info.index, ": '", info.name, "' (",
                    deviceTypeName(info.type), ")");
  return text;
}

/// The first queue family with compute, preferring one that can write timestamps.
std::optional<std::pair<uint32_t, uint32_t>> computeQueueFamily(VkPhysicalDevice device) {
  uint32_t count = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(device, &count, nullptr);
  std::vector<VkQueueFamilyProperties> families(count);
  vkGetPhysicalDeviceQueueFamilyProperties(device, &count, families.data());
  std::optional<std::pair<uint32_t, uint32_t>> best;
  for (uint32_t family = 0; family < count; ++family) {
    if (!(families[family].queueFlags & VK_QUEUE_COMPUTE_BIT))
      continue;
    if (!best || (best->second == 0 && families[family].timestampValidBits > 0))
      best = std::pair(family, families[family].timestampValidBits);
  }
  return best;
}

/// Applies the override (options, then KILN_VULKAN_DEVICE) or the type ranking.
absl::StatusOr<size_t>
chooseDevice(const std::vector<std::pair<VkPhysicalDevice, PhysicalDeviceInfo>> &devices,
             const DeviceOptions &options) {
  std::optional<uint32_t> index = options.deviceIndex;
  std::string name = options.deviceName;
  const char *fromEnvironment = std::getenv("KILN_VULKAN_DEVICE");
  if (!index && name.empty() && fromEnvironment && *fromEnvironment) {
    uint32_t parsed;
    if (absl::SimpleAtoi(fromEnvironment, &parsed))
      index = parsed;
    else
      name = fromEnvironment;
  }
  if (index) {
    if (*index >= devices.size())
      return absl::NotFoundError(absl::StrCat("Vulkan device index ", *index,
                                              " requested but this machine has ", devices.size(),
                                              " devices: ", describeDevices(devices)));
    return *index;
  }
  if (!name.empty()) {
    for (size_t i = 0; i < devices.size(); ++i)
      if (absl::StrContains(absl::AsciiStrToLower(devices[i].second.name),
                            absl::AsciiStrToLower(name)))
        return i;
    return absl::NotFoundError(absl::StrCat("no Vulkan device name contains '", name,
                                            "'; devices: ", describeDevices(devices)));
  }
  std::optional<size_t> best;
  for (size_t i = 0; i < devices.size(); ++i) {
    const PhysicalDeviceInfo &info = devices[i].second;
    if (info.apiVersion < VK_API_VERSION_1_1 || !computeQueueFamily(devices[i].first))
      continue;
    if (!best || deviceTypeRank(info.type) < deviceTypeRank(devices[*best].second.type))
      best = i;
  }
  if (!best)
    return absl::NotFoundError(
        absl::StrCat("no Vulkan device has Vulkan 1.1 and a compute queue; devices: ",
                     describeDevices(devices)));
  return *best;
}

} // namespace

int deviceTypeRank(VkPhysicalDeviceType type) {
  switch (type) {
  case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU:
    return 0;
  case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU:
    return 1;
  case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU:
    return 2;
  case VK_PHYSICAL_DEVICE_TYPE_CPU:
    return 3;
  default:
    return 4;
  }
}

const char *deviceTypeName(VkPhysicalDeviceType type) {
  switch (type) {
  case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU:
    return "discrete GPU";
  case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU:
    return "integrated GPU";
  case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU:
    return "virtual GPU";
  case VK_PHYSICAL_DEVICE_TYPE_CPU:
    return "CPU";
  default:
    return "other";
  }
}

std::string featureName(plan::DeviceFeature feature) {
  static constexpr std::pair<plan::DeviceFeature, const char *> kVulkanNames[] = {
      {plan::DEVICE_FEATURE_FLOAT64, "shaderFloat64"},
      {plan::DEVICE_FEATURE_INT64, "shaderInt64"},
      {plan::DEVICE_FEATURE_INT16, "shaderInt16"},
      {plan::DEVICE_FEATURE_FLOAT16, "shaderFloat16"},
      {plan::DEVICE_FEATURE_INT8, "shaderInt8"},
      {plan::DEVICE_FEATURE_STORAGE_BUFFER_8BIT, "storageBuffer8BitAccess"},
      {plan::DEVICE_FEATURE_STORAGE_BUFFER_16BIT, "storageBuffer16BitAccess"},
  };
  for (auto [known, vulkanName] : kVulkanNames)
    if (known == feature)
      return absl::StrCat(plan::DeviceFeature_Name(feature), " (", vulkanName, ")");
  return absl::StrCat("device feature ", static_cast<int>(feature));
}

absl::StatusOr<std::vector<PhysicalDeviceInfo>> VulkanDevice::enumerate() {
  absl::StatusOr<VkInstance> instance = createInstance(nullptr);
  if (!instance.ok())
    return instance.status();
  auto devices = listDevices(*instance);
  vkDestroyInstance(*instance, nullptr);
  if (!devices.ok())
    return devices.status();
  std::vector<PhysicalDeviceInfo> infos;
  for (auto &[handle, info] : *devices)
    infos.push_back(info);
  return infos;
}

absl::StatusOr<std::shared_ptr<VulkanDevice>> VulkanDevice::create(const DeviceOptions &options) {
  std::shared_ptr<VulkanDevice> self(new VulkanDevice());
  if (options.validation || environmentFlag("KILN_VULKAN_VALIDATION"))
    self->messageLog_ = std::make_unique<MessageLog>();

  absl::StatusOr<VkInstance> instance = createInstance(self->messageLog_.get());
  if (!instance.ok())
    return instance.status();
  self->instance_ = *instance;
  if (self->messageLog_) {
    auto createMessenger = reinterpret_cast<PFN_vkCreateDebugUtilsMessengerEXT>(
        vkGetInstanceProcAddr(self->instance_, "vkCreateDebugUtilsMessengerEXT"));
    if (!createMessenger)
      return absl::FailedPreconditionError("the validation layer does not provide "
                                           "vkCreateDebugUtilsMessengerEXT");
    VkDebugUtilsMessengerCreateInfoEXT info = messengerInfo(self->messageLog_.get());
    KILN_VK_CHECK(createMessenger(self->instance_, &info, nullptr, &self->messenger_),
                  "creating the validation message recorder");
  }

  auto devices = listDevices(self->instance_);
  if (!devices.ok())
    return devices.status();
  absl::StatusOr<size_t> chosen = chooseDevice(*devices, options);
  if (!chosen.ok())
    return chosen.status();
  self->physicalDevice_ = (*devices)[*chosen].first;
  self->info_ = (*devices)[*chosen].second;
  std::string where = absl::StrCat("Vulkan device '", self->info_.name, "'");
  if (self->info_.apiVersion < VK_API_VERSION_1_1)
    return absl::FailedPreconditionError(
        absl::StrCat(where, " supports only Vulkan 1.0; Kiln needs 1.1 or newer"));
  auto family = computeQueueFamily(self->physicalDevice_);
  if (!family)
    return absl::FailedPreconditionError(absl::StrCat(where, " has no compute queue"));
  self->queueFamily_ = family->first;
  self->timestampValidBits_ = family->second;
  vkGetPhysicalDeviceProperties(self->physicalDevice_, &self->properties_);
  vkGetPhysicalDeviceMemoryProperties(self->physicalDevice_, &self->memory_);

  FeatureChain supported(self->info_.apiVersion), enabled(self->info_.apiVersion);
  vkGetPhysicalDeviceFeatures2(self->physicalDevice_, supported.head());
  for (plan::DeviceFeature feature : options.requiredFeatures) {
    VkBool32 *has = supported.flag(feature);
    if (!has || !*has)
      return absl::FailedPreconditionError(
          absl::StrCat("the plan needs ", featureName(feature), " but ", where,
                       " does not support it; pick another device (KILN_VULKAN_DEVICE) or "
                       "compile the model without it"));
    *enabled.flag(feature) = VK_TRUE;
    self->enabledFeatures_.push_back(feature);
  }

  float priority = 1.0f;
  VkDeviceQueueCreateInfo queueInfo{};
  queueInfo.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO;
  queueInfo.queueFamilyIndex = self->queueFamily_;
  queueInfo.queueCount = 1;
  queueInfo.pQueuePriorities = &priority;
  VkDeviceCreateInfo deviceInfo{};
  deviceInfo.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO;
  deviceInfo.pNext = enabled.head();
  deviceInfo.queueCreateInfoCount = 1;
  deviceInfo.pQueueCreateInfos = &queueInfo;
  KILN_VK_CHECK(vkCreateDevice(self->physicalDevice_, &deviceInfo, nullptr, &self->device_),
                absl::StrCat("creating the logical device on ", where));
  vkGetDeviceQueue(self->device_, self->queueFamily_, 0, &self->queue_);
  return self;
}

VulkanDevice::~VulkanDevice() {
  if (device_ != VK_NULL_HANDLE) {
    vkDeviceWaitIdle(device_);
    vkDestroyDevice(device_, nullptr);
  }
  if (messenger_ != VK_NULL_HANDLE) {
    auto destroyMessenger = reinterpret_cast<PFN_vkDestroyDebugUtilsMessengerEXT>(
        vkGetInstanceProcAddr(instance_, "vkDestroyDebugUtilsMessengerEXT"));
    if (destroyMessenger)
      destroyMessenger(instance_, messenger_, nullptr);
  }
  if (instance_ != VK_NULL_HANDLE)
    vkDestroyInstance(instance_, nullptr);
}

bool VulkanDevice::featureEnabled(plan::DeviceFeature feature) const {
  return std::find(enabledFeatures_.begin(), enabledFeatures_.end(), feature) !=
         enabledFeatures_.end();
}

std::vector<std::string> VulkanDevice::validationMessages() const {
  if (!messageLog_)
    return {};
  std::lock_guard<std::mutex> lock(messageLog_->mutex);
  return messageLog_->messages;
}

void VulkanDevice::clearValidationMessages() {
  if (!messageLog_)
    return;
  std::lock_guard<std::mutex> lock(messageLog_->mutex);
  messageLog_->messages.clear();
}

} // namespace kiln::vulkan
