//===- CudaTestSupport.h - Skipping CUDA tests without a GPU ----*- C++ -*-===//
//
// KILN_REQUIRE_CUDA() skips a test, with the exact reason (the dlopen error,
// "the driver reports no CUDA device"), when this machine cannot run CUDA, so
// GPU tests report SKIPPED in CI and never pass without running.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TESTS_UNIT_CUDA_CUDATESTSUPPORT_H
#define KILN_TESTS_UNIT_CUDA_CUDATESTSUPPORT_H

#include "kiln/runtime/cuda/CudaDevice.h"

#include "gtest/gtest.h"

#include <string>

namespace kiln::cuda_test {

/// Empty if the driver loads and reports at least one device, else why not.
inline std::string cudaUnavailableReason() {
  absl::StatusOr<std::vector<cuda::CudaDeviceInfo>> devices = cuda::listCudaDevices();
  if (!devices.ok())
    return std::string(devices.status().message());
  if (devices->empty())
    return "the CUDA driver reports no CUDA device (cuInit: CUDA_ERROR_NO_DEVICE)";
  return "";
}

#define KILN_REQUIRE_CUDA()                                                                        \
  do {                                                                                             \
    if (std::string reason = ::kiln::cuda_test::cudaUnavailableReason(); !reason.empty())          \
      GTEST_SKIP() << "no CUDA device: " << reason;                                                \
  } while (false)

} // namespace kiln::cuda_test

#endif // KILN_TESTS_UNIT_CUDA_CUDATESTSUPPORT_H
