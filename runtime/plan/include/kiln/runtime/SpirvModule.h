//===- SpirvModule.h - Validating a kernel's SPIR-V before a driver sees it -*- C++ -*-===//
//
// A damaged SPIR-V module (a zero id bound, no OpFunctionEnd, ...) can corrupt
// the heap inside a Vulkan driver instead of failing, so every module is run
// through SPIRV-Tools' validator first; then the storage buffers it declares
// (descriptor set, binding, and the byte extent of a fixed-size block) are
// read so they can be compared with what the plan binds.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_SPIRVMODULE_H
#define KILN_RUNTIME_SPIRVMODULE_H

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::plan {

/// Runs SPIRV-Tools' validator (target environment Vulkan 1.1, the plan contract's) on the
/// little-endian module `bytes`. Returns OK or InvalidArgument carrying the validator's first
/// diagnostic, e.g. "Invalid SPIR-V binary version ..." or "Missing OpFunctionEnd at end of
/// module".
absl::Status validateSpirv(std::string_view bytes);

/// One storage buffer a module declares (an OpVariable in the StorageBuffer storage class, or
/// a Uniform-class BufferBlock) with a Binding decoration.
struct SpirvStorageBuffer {
  std::string name; ///< From OpName; empty if the module names none.
  uint32_t descriptorSet = 0;
  uint32_t binding = 0;
  /// The bytes the block spans: the largest member offset + member size, arrays counted as
  /// length x ArrayStride. nullopt when the block ends in a runtime array (its size is
  /// whatever is bound).
  std::optional<uint64_t> bytes;
};

/// The storage buffers of the module `bytes`, in declaration order. Meant for a module that
/// passed validateSpirv; InvalidArgument if the words do not parse (an instruction running past
/// the end, a type nested too deep).
absl::StatusOr<std::vector<SpirvStorageBuffer>> spirvStorageBuffers(std::string_view bytes);

} // namespace kiln::plan

#endif // KILN_RUNTIME_SPIRVMODULE_H
