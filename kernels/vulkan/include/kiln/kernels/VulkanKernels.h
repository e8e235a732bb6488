//===- VulkanKernels.h - The embedded SPIR-V kernel templates ---*- C++ -*-===//
//
// Every Vulkan compute kernel Kiln emits is one of these templates: GLSL in
// kernels/vulkan/*.comp, compiled to SPIR-V (Vulkan 1.1) when Kiln is built
// and embedded here. Each template's interface (storage-buffer bindings and
// push-constant words) is documented at the top of its .comp file; op codes
// and workgroup sizes come from KernelAbi.h.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_KERNELS_VULKANKERNELS_H
#define KILN_KERNELS_VULKANKERNELS_H

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

namespace kiln::kernels {

/// The kernel templates, one per SPIR-V module.
enum class VulkanKernel {
  kElementwiseUnary,
  kElementwiseBinary,
  kSelect,
  kGather,
  kReduce,
  kMatmul,
  kSoftmax,
  kCrossEntropy,
  kOneHot,
  kMse,
  kMaskBytes,
};

/// What a runtime needs to know to bind and dispatch a template.
struct VulkanKernelInfo {
  /// Unique, e.g. "elementwise_binary".
  std::string_view name;
  /// The SPIR-V module; static storage, never freed.
  std::span<const uint32_t> spirv;
  /// The module's LocalSize.
  std::array<uint32_t, 3> workgroupSize;
  /// Storage buffers at bindings 0..bindingCount-1 of set 0.
  uint32_t bindingCount;
  /// Bytes of the push-constant block (a multiple of 4, at most 128).
  uint32_t pushConstantSize;
};

/// The template `kernel`; the reference is to static storage.
const VulkanKernelInfo &vulkanKernelInfo(VulkanKernel kernel);

/// Every template, in enum order.
std::span<const VulkanKernel> allVulkanKernels();

} // namespace kiln::kernels

#endif // KILN_KERNELS_VULKANKERNELS_H
