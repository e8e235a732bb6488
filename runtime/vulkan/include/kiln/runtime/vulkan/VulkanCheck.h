//===- VulkanCheck.h - VkResult to absl::Status -----------------*- C++ -*-===//
//
// Every Vulkan call in the runtime goes through KILN_VK_CHECK, which turns a
// failing VkResult into a Status naming the call, the result, what the
// runtime was doing and the source line, e.g.
//   vkAllocateMemory failed with VK_ERROR_OUT_OF_DEVICE_MEMORY while allocating
//   buffer 'fc1.weight' (401408 bytes) [runtime/vulkan/DeviceBuffer.cpp:71]
// Nothing here aborts.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_VULKAN_VULKANCHECK_H
#define KILN_RUNTIME_VULKAN_VULKANCHECK_H

#include "kiln/runtime/StatusMacros.h"

#include "absl/status/status.h"

#include <string_view>
#include <vulkan/vulkan.h>

namespace kiln::vulkan {

/// "VK_ERROR_DEVICE_LOST" and so on; "VkResult(<n>)" for values this build does not know.
const char *resultName(VkResult result);

/// The Status for a failed call. `callText` is the call's source text (its name is the part
/// before '('); `activity` says what the runtime was doing ("allocating buffer 'x'").
/// Out-of-memory results give ResourceExhausted, VK_ERROR_DEVICE_LOST gives Unavailable,
/// missing layers/extensions/features/drivers give FailedPrecondition, others Internal.
absl::Status vulkanError(VkResult result, std::string_view callText, std::string_view activity,
                         const char *file, int line);

} // namespace kiln::vulkan

/// Evaluates `call`; if it does not return VK_SUCCESS, returns the vulkanError Status from the
/// enclosing function. `activity` is only evaluated on failure.
#define KILN_VK_CHECK(call, activity)                                                              \
  do {                                                                                             \
    VkResult kilnVkResult = (call);                                                                \
    if (kilnVkResult != VK_SUCCESS)                                                                \
      return ::kiln::vulkan::vulkanError(kilnVkResult, #call, (activity), __FILE__, __LINE__);     \
  } while (false)

#endif // KILN_RUNTIME_VULKAN_VULKANCHECK_H
