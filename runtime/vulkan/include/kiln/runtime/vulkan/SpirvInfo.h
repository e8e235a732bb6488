//===- SpirvInfo.h - What a SPIR-V module declares --------------*- C++ -*-===//
//
// Reads the entry points of a SPIR-V module and their fixed workgroup sizes,
// so a session can check a plan's kernel description against the code before
// handing it to the driver (which may crash rather than report a mismatch).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_VULKAN_SPIRVINFO_H
#define KILN_RUNTIME_VULKAN_SPIRVINFO_H

#include "absl/status/statusor.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::vulkan {

struct SpirvEntryPoint {
  std::string name;
  uint32_t executionModel = 0; ///< 5 = GLCompute.
  /// From OpExecutionMode LocalSize; empty when the size is given by LocalSizeId or
  /// specialization constants, or not at all.
  std::optional<std::array<uint32_t, 3>> localSize;
};

/// The entry points of the little-endian SPIR-V module `bytes`. InvalidArgument if the
/// bytes are not a SPIR-V module or an instruction runs past the end.
absl::StatusOr<std::vector<SpirvEntryPoint>> inspectSpirv(std::string_view bytes);

} // namespace kiln::vulkan

#endif // KILN_RUNTIME_VULKAN_SPIRVINFO_H
