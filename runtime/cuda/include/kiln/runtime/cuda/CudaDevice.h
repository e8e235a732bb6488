//===- CudaDevice.h - Finding CUDA devices and choosing PTX -----*- C++ -*-===//
//
// What `kiln train --device auto|cuda` needs to pick a CUDA device, and the
// rule that picks which of a kernel's PTX entries a device loads: the highest
// arch not above the device's compute capability (PTX is JIT-compiled forward,
// so sm_80 PTX runs on an 8.6 or 9.0 device, never the other way round).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CUDA_CUDADEVICE_H
#define KILN_RUNTIME_CUDA_CUDADEVICE_H

#include "kiln/plan/plan.pb.h"

#include "absl/status/statusor.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kiln::cuda {

struct CudaDeviceInfo {
  int index = 0;        ///< CUdevice ordinal.
  std::string name;     ///< "NVIDIA H100 80GB HBM3".
  int computeMajor = 0; ///< 9 for compute capability 9.0.
  int computeMinor = 0;
  uint64_t totalMemoryBytes = 0;
  int multiprocessors = 0;
};

/// The CUDA devices of this machine; empty when the driver is present but has no device.
/// Fails (FailedPrecondition, CudaDriver::load's message) when the driver cannot be loaded, or
/// with the failing driver call.
absl::StatusOr<std::vector<CudaDeviceInfo>> listCudaDevices();

/// Compute capability as "9.0".
std::string computeCapabilityName(int major, int minor);

/// 80 for "sm_80", 90 for "sm_90" and "sm_90a"; -1 if `arch` is not "sm_<digits>[a|f]".
int ptxArchNumber(const std::string &arch);

/// The index into kernel.ptx_code() of the entry a device of compute capability
/// major.minor loads: the highest arch <= 10 * major + minor (an arch-specific "sm_90a" only
/// on exactly that capability). Fails with FailedPrecondition naming the kernel, its archs and
/// the device's capability when none fits ("kernel 'add' has PTX for sm_80, sm_90 but the
/// device has compute capability 7.5; recompile for an arch <= sm_75"), or when the kernel
/// has no PTX or an arch that does not parse.
absl::StatusOr<int> selectPtxCode(const plan::Kernel &kernel, int major, int minor);

/// Checks what only the CUDA runtime requires of a plan that passed plan::validatePlan: it
/// targets cuda, and every kernel has PTX and no push constants (the CUDA kernel ABI passes
/// buffer pointers only). FailedPrecondition naming the kernel otherwise. Needs no driver.
absl::Status checkPlanForCuda(const plan::Plan &plan);

} // namespace kiln::cuda

#endif // KILN_RUNTIME_CUDA_CUDADEVICE_H
