//===- VulkanKernels.cpp - The embedded SPIR-V kernel templates -----------===//
//
// Includes the SPIR-V arrays glslangValidator wrote at build time (see
// kernels/vulkan/CMakeLists.txt) and describes each template's interface.
// Push-constant sizes are the byte sizes of each .comp file's `Parameters`
// block; the kernel-template test checks them, and the bindings and workgroup
// sizes, against the SPIR-V itself.
//
//===----------------------------------------------------------------------===//

#include "kiln/kernels/VulkanKernels.h"

#include "kiln/kernels/KernelAbi.h"

#include <cstdint>

namespace kiln::kernels {
namespace {

#include "cross_entropy.spv.h"
#include "elementwise_binary.spv.h"
#include "elementwise_unary.spv.h"
#include "gather.spv.h"
#include "mask_bytes.spv.h"
#include "matmul.spv.h"
#include "mse.spv.h"
#include "one_hot.spv.h"
#include "reduce.spv.h"
#include "select.spv.h"
#include "softmax.spv.h"

constexpr uint32_t kWordBytes = 4;
constexpr std::array<uint32_t, 3> kElementwiseWorkgroup = {KILN_ELEMENTWISE_WORKGROUP, 1, 1};
constexpr std::array<uint32_t, 3> kRowWorkgroup = {KILN_ROW_WORKGROUP, 1, 1};

const VulkanKernelInfo kInfos[] = {
    {"elementwise_unary", kElementwiseUnarySpirv, kElementwiseWorkgroup, 2, 2 * kWordBytes},
    {"elementwise_binary", kElementwiseBinarySpirv, kElementwiseWorkgroup, 3, 2 * kWordBytes},
    {"select", kSelectSpirv, kElementwiseWorkgroup, 4, 2 * kWordBytes},
    {"gather", kGatherSpirv, kElementwiseWorkgroup, 2, (2 + 2 * KILN_MAX_RANK) * kWordBytes},
    {"reduce",
     kReduceSpirv,
     {KILN_REDUCE_WORKGROUP, 1, 1},
     2,
     (5 + 4 * KILN_MAX_RANK) * kWordBytes},
    {"matmul", kMatmulSpirv, {KILN_MATMUL_TILE, KILN_MATMUL_TILE, 1}, 3, 9 * kWordBytes},
    {"softmax", kSoftmaxSpirv, kRowWorkgroup, 2, 4 * kWordBytes},
    {"cross_entropy", kCrossEntropySpirv, kRowWorkgroup, 3, 2 * kWordBytes},
    {"one_hot", kOneHotSpirv, kElementwiseWorkgroup, 2, 2 * kWordBytes},
    {"mse", kMseSpirv, kRowWorkgroup, 3, 1 * kWordBytes},
    {"mask_bytes", kMaskBytesSpirv, kElementwiseWorkgroup, 2, 2 * kWordBytes},
};

constexpr VulkanKernel kAllKernels[] = {
    VulkanKernel::kElementwiseUnary, VulkanKernel::kElementwiseBinary,
    VulkanKernel::kSelect,           VulkanKernel::kGather,
    VulkanKernel::kReduce,           VulkanKernel::kMatmul,
    VulkanKernel::kSoftmax,          VulkanKernel::kCrossEntropy,
    VulkanKernel::kOneHot,           VulkanKernel::kMse,
    VulkanKernel::kMaskBytes,
};

static_assert(std::size(kInfos) == std::size(kAllKernels), "one description per template");

} // namespace

const VulkanKernelInfo &vulkanKernelInfo(VulkanKernel kernel) {
  return kInfos[static_cast<int>(kernel)];
}

std::span<const VulkanKernel> allVulkanKernels() { return kAllKernels; }

} // namespace kiln::kernels
