//===- DeviceBuffer.cpp - A VkBuffer with its own memory ------------------===//

#include "kiln/runtime/vulkan/DeviceBuffer.h"

#include "kiln/runtime/vulkan/VulkanCheck.h"

#include "absl/strings/str_cat.h"

#include <initializer_list>
#include <optional>

namespace kiln::vulkan {

namespace {

/// The first memory type allowed by `typeBits` having all of `wanted`, trying each set of
/// property flags in order of preference.
std::optional<uint32_t> findMemoryType(const VkPhysicalDeviceMemoryProperties &memory,
                                       uint32_t typeBits,
                                       std::initializer_list<VkMemoryPropertyFlags> preferences) {
  for (VkMemoryPropertyFlags wanted : preferences)
    for (uint32_t type = 0; type < memory.memoryTypeCount; ++type)
      if ((typeBits & (1u << type)) && (memory.memoryTypes[type].propertyFlags & wanted) == wanted)
        return type;
  return std::nullopt;
}

std::optional<uint32_t> memoryTypeFor(const VkPhysicalDeviceMemoryProperties &memory,
                                      uint32_t typeBits, MemoryKind kind) {
  constexpr VkMemoryPropertyFlags kHost = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT;
  constexpr VkMemoryPropertyFlags kCoherent = VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  constexpr VkMemoryPropertyFlags kCached = VK_MEMORY_PROPERTY_HOST_CACHED_BIT;
  switch (kind) {
  case MemoryKind::kDeviceLocal:
    return findMemoryType(memory, typeBits, {VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, 0});
  case MemoryKind::kUpload:
    return findMemoryType(memory, typeBits, {kHost | kCoherent, kHost});
  case MemoryKind::kReadback:
    return findMemoryType(memory, typeBits,
                          {kHost | kCached | kCoherent, kHost | kCached, kHost | kCoherent, kHost});
  }
  return std::nullopt;
}

} // namespace

absl::StatusOr<DeviceBuffer> DeviceBuffer::create(const VulkanDevice &device, VkDeviceSize size,
                                                  MemoryKind kind, std::string_view name) {
  std::string what =
      absl::StrCat("buffer '", absl::string_view(name.data(), name.size()), "' (", size, " bytes)");
  DeviceBuffer result;
  result.device_ = device.device();
  result.size_ = size;

  VkBufferCreateInfo info{};
  info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
  info.size = size;
  info.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
               VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  info.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  VkBuffer buffer = VK_NULL_HANDLE;
  KILN_VK_CHECK(vkCreateBuffer(device.device(), &info, nullptr, &buffer),
                absl::StrCat("creating ", what));
  result.buffer_ = BufferHandle(device.device(), buffer);

  VkMemoryRequirements requirements;
  vkGetBufferMemoryRequirements(device.device(), buffer, &requirements);
  std::optional<uint32_t> type =
      memoryTypeFor(device.memoryProperties(), requirements.memoryTypeBits, kind);
  if (!type)
    return absl::FailedPreconditionError(
        absl::StrCat("no memory type on '", device.info().name, "' can hold ", what,
                     kind == MemoryKind::kDeviceLocal ? "" : " host-visibly"));
  VkMemoryAllocateInfo allocation{};
  allocation.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
  allocation.allocationSize = requirements.size;
  allocation.memoryTypeIndex = *type;
  VkDeviceMemory memory = VK_NULL_HANDLE;
  KILN_VK_CHECK(vkAllocateMemory(device.device(), &allocation, nullptr, &memory),
                absl::StrCat("allocating ", what));
  result.memory_ = MemoryHandle(device.device(), memory);
  result.allocationSize_ = requirements.size;
  KILN_VK_CHECK(vkBindBufferMemory(device.device(), buffer, memory, 0),
                absl::StrCat("binding memory to ", what));

  if (kind != MemoryKind::kDeviceLocal) {
    VkMemoryPropertyFlags flags = device.memoryProperties().memoryTypes[*type].propertyFlags;
    result.coherent_ = (flags & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT) != 0;
    void *mapped = nullptr;
    KILN_VK_CHECK(vkMapMemory(device.device(), memory, 0, VK_WHOLE_SIZE, 0, &mapped),
                  absl::StrCat("mapping ", what));
    result.mapped_ = static_cast<uint8_t *>(mapped);
  }
  return result;
}

absl::Status DeviceBuffer::flushHostWrites() const {
  if (coherent_ || !mapped_)
    return absl::OkStatus();
  VkMappedMemoryRange range{};
  range.sType = VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE;
  range.memory = memory_.get();
  range.size = VK_WHOLE_SIZE;
  KILN_VK_CHECK(vkFlushMappedMemoryRanges(device_, 1, &range), "flushing a staging buffer");
  return absl::OkStatus();
}

absl::Status DeviceBuffer::invalidateForHostReads() const {
  if (coherent_ || !mapped_)
    return absl::OkStatus();
  VkMappedMemoryRange range{};
  range.sType = VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE;
  range.memory = memory_.get();
  range.size = VK_WHOLE_SIZE;
  KILN_VK_CHECK(vkInvalidateMappedMemoryRanges(device_, 1, &range),
                "invalidating a readback buffer");
  return absl::OkStatus();
}

} // namespace kiln::vulkan
