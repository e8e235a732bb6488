//===- Handle.h - RAII owners of Vulkan device objects ----------*- C++ -*-===//
//
// A move-only owner for any handle destroyed by `vkDestroyX(device, handle,
// allocator)` (and vkFreeMemory, which has the same shape). The VkDevice must
// outlive every handle made from it; VulkanDevice is held by shared_ptr for
// exactly that reason.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_VULKAN_HANDLE_H
#define KILN_RUNTIME_VULKAN_HANDLE_H

#include <utility>
#include <vulkan/vulkan.h>

namespace kiln::vulkan {

template <typename T, void (*Destroy)(VkDevice, T, const VkAllocationCallbacks *)>
class DeviceHandle {
public:
  DeviceHandle() = default;
  /// Takes ownership of `handle`, made from `device`.
  DeviceHandle(VkDevice device, T handle) : device_(device), handle_(handle) {}
  ~DeviceHandle() { reset(); }
  DeviceHandle(const DeviceHandle &) = delete;
  DeviceHandle &operator=(const DeviceHandle &) = delete;
  DeviceHandle(DeviceHandle &&other) noexcept
      : device_(other.device_), handle_(std::exchange(other.handle_, VK_NULL_HANDLE)) {}
  DeviceHandle &operator=(DeviceHandle &&other) noexcept {
    if (this != &other) {
      reset();
      device_ = other.device_;
      handle_ = std::exchange(other.handle_, VK_NULL_HANDLE);
    }
    return *this;
  }

  T get() const { return handle_; }
  explicit operator bool() const { return handle_ != VK_NULL_HANDLE; }

  /// Gives up ownership without destroying, for objects the device may still be using.
  T release() { return std::exchange(handle_, VK_NULL_HANDLE); }

  /// Destroys the handle now (a no-op if empty).
  void reset() {
    if (handle_ != VK_NULL_HANDLE)
      Destroy(device_, handle_, nullptr);
    handle_ = VK_NULL_HANDLE;
  }

private:
  VkDevice device_ = VK_NULL_HANDLE;
  T handle_ = VK_NULL_HANDLE;
};

using BufferHandle = DeviceHandle<VkBuffer, vkDestroyBuffer>;
using MemoryHandle = DeviceHandle<VkDeviceMemory, vkFreeMemory>;
using ShaderModuleHandle = DeviceHandle<VkShaderModule, vkDestroyShaderModule>;
using DescriptorSetLayoutHandle = DeviceHandle<VkDescriptorSetLayout, vkDestroyDescriptorSetLayout>;
using DescriptorPoolHandle = DeviceHandle<VkDescriptorPool, vkDestroyDescriptorPool>;
using PipelineLayoutHandle = DeviceHandle<VkPipelineLayout, vkDestroyPipelineLayout>;
using PipelineHandle = DeviceHandle<VkPipeline, vkDestroyPipeline>;
using CommandPoolHandle = DeviceHandle<VkCommandPool, vkDestroyCommandPool>;
using FenceHandle = DeviceHandle<VkFence, vkDestroyFence>;
using QueryPoolHandle = DeviceHandle<VkQueryPool, vkDestroyQueryPool>;

} // namespace kiln::vulkan

#endif // KILN_RUNTIME_VULKAN_HANDLE_H
