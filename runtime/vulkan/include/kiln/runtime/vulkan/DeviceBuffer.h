//===- DeviceBuffer.h - A VkBuffer with its own memory ----------*- C++ -*-===//
//
// Every plan buffer gets its own VkDeviceMemory for now (plan arena offsets
// are all 0; see plan.proto), device-local where the device has such memory.
// Host-visible buffers (staging, readback) are mapped once for their lifetime.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_VULKAN_DEVICEBUFFER_H
#define KILN_RUNTIME_VULKAN_DEVICEBUFFER_H

#include "kiln/runtime/vulkan/Handle.h"
#include "kiln/runtime/vulkan/VulkanDevice.h"

#include "absl/status/statusor.h"

#include <cstdint>
#include <string_view>

namespace kiln::vulkan {

/// Where a buffer's memory lives.
enum class MemoryKind {
  kDeviceLocal, ///< Read and written by kernels and copies only.
  kUpload,      ///< Host-visible, written by the host, read by copies (staging).
  kReadback,    ///< Host-visible (cached if possible), written by copies, read by the host.
};

/// A buffer usable as storage buffer and as copy source and destination, bound to memory
/// it owns. Move-only.
class DeviceBuffer {
public:
  /// Creates a buffer of `size` bytes. `name` appears in error messages. Fails with
  /// ResourceExhausted when memory runs out, naming the buffer and its size.
  static absl::StatusOr<DeviceBuffer> create(const VulkanDevice &device, VkDeviceSize size,
                                             MemoryKind kind, std::string_view name);

  DeviceBuffer() = default;
  DeviceBuffer(DeviceBuffer &&) = default;
  DeviceBuffer &operator=(DeviceBuffer &&) = default;

  VkBuffer buffer() const { return buffer_.get(); }
  VkDeviceSize size() const { return size_; }
  /// Bytes of memory actually allocated (at least size()).
  VkDeviceSize allocationSize() const { return allocationSize_; }
  /// The persistent mapping of a host-visible buffer; nullptr for device-local ones.
  uint8_t *mapped() const { return mapped_; }

  /// Makes host writes to the mapping visible to the device (a no-op on coherent memory).
  absl::Status flushHostWrites() const;
  /// Makes device writes visible to host reads of the mapping (a no-op on coherent memory).
  absl::Status invalidateForHostReads() const;

private:
  VkDevice device_ = VK_NULL_HANDLE;
  MemoryHandle memory_; // declared first so the buffer is destroyed before its memory
  BufferHandle buffer_;
  VkDeviceSize size_ = 0;
  VkDeviceSize allocationSize_ = 0;
  uint8_t *mapped_ = nullptr;
  bool coherent_ = true;
};

} // namespace kiln::vulkan

#endif // KILN_RUNTIME_VULKAN_DEVICEBUFFER_H
