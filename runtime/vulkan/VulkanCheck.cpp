//===- VulkanCheck.cpp - VkResult to absl::Status -------------------------===//

#include "kiln/runtime/vulkan/VulkanCheck.h"

#include "absl/strings/str_cat.h"

namespace kiln::vulkan {

const char *resultName(VkResult result) {
  switch (result) {
#define KILN_RESULT_CASE(name)                                                                     \
  case name:                                                                                       \
    return #name;
    KILN_RESULT_CASE(VK_SUCCESS)
    KILN_RESULT_CASE(VK_NOT_READY)
    KILN_RESULT_CASE(VK_TIMEOUT)
    KILN_RESULT_CASE(VK_EVENT_SET)
    KILN_RESULT_CASE(VK_EVENT_RESET)
    KILN_RESULT_CASE(VK_INCOMPLETE)
    KILN_RESULT_CASE(VK_ERROR_OUT_OF_HOST_MEMORY)
    KILN_RESULT_CASE(VK_ERROR_OUT_OF_DEVICE_MEMORY)
    KILN_RESULT_CASE(VK_ERROR_INITIALIZATION_FAILED)
    KILN_RESULT_CASE(VK_ERROR_DEVICE_LOST)
    KILN_RESULT_CASE(VK_ERROR_MEMORY_MAP_FAILED)
    KILN_RESULT_CASE(VK_ERROR_LAYER_NOT_PRESENT)
    KILN_RESULT_CASE(VK_ERROR_EXTENSION_NOT_PRESENT)
    KILN_RESULT_CASE(VK_ERROR_FEATURE_NOT_PRESENT)
    KILN_RESULT_CASE(VK_ERROR_INCOMPATIBLE_DRIVER)
    KILN_RESULT_CASE(VK_ERROR_TOO_MANY_OBJECTS)
    KILN_RESULT_CASE(VK_ERROR_FORMAT_NOT_SUPPORTED)
    KILN_RESULT_CASE(VK_ERROR_FRAGMENTED_POOL)
    KILN_RESULT_CASE(VK_ERROR_UNKNOWN)
    KILN_RESULT_CASE(VK_ERROR_OUT_OF_POOL_MEMORY)
    KILN_RESULT_CASE(VK_ERROR_INVALID_EXTERNAL_HANDLE)
    KILN_RESULT_CASE(VK_ERROR_FRAGMENTATION)
    KILN_RESULT_CASE(VK_ERROR_INVALID_OPAQUE_CAPTURE_ADDRESS)
    KILN_RESULT_CASE(VK_ERROR_VALIDATION_FAILED_EXT)
#undef KILN_RESULT_CASE
  default:
    return nullptr;
  }
}

absl::Status vulkanError(VkResult result, std::string_view callText, std::string_view activity,
                         const char *file, int line) {
  std::string_view call = callText.substr(0, callText.find('('));
  const char *name = resultName(result);
  // Keep messages short and machine-independent: "runtime/vulkan/Session.cpp", not an
  // absolute path.
  std::string_view source(file);
  if (size_t at = source.rfind("runtime/"); at != std::string_view::npos)
    source = source.substr(at);
  std::string message =
      absl::StrCat(absl::string_view(call.data(), call.size()), " failed with ",
                   name ? name : absl::StrCat("VkResult(", static_cast<int>(result), ")"),
                   " while ", absl::string_view(activity.data(), activity.size()), " [",
                   absl::string_view(source.data(), source.size()), ":", line, "]");
  switch (result) {
  case VK_ERROR_OUT_OF_HOST_MEMORY:
  case VK_ERROR_OUT_OF_DEVICE_MEMORY:
  case VK_ERROR_OUT_OF_POOL_MEMORY:
  case VK_ERROR_TOO_MANY_OBJECTS:
    return absl::ResourceExhaustedError(message);
  case VK_ERROR_DEVICE_LOST:
    return absl::UnavailableError(absl::StrCat(
        message, "; the device was lost (driver crash, reset or timeout), so this session "
                 "cannot continue: create a new one"));
  case VK_ERROR_LAYER_NOT_PRESENT:
  case VK_ERROR_EXTENSION_NOT_PRESENT:
  case VK_ERROR_FEATURE_NOT_PRESENT:
  case VK_ERROR_INCOMPATIBLE_DRIVER:
    return absl::FailedPreconditionError(message);
  default:
    return absl::InternalError(message);
  }
}

} // namespace kiln::vulkan
