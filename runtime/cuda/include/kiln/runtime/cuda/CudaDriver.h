//===- CudaDriver.h - The CUDA driver API, loaded at run time ---*- C++ -*-===//
//
// Kiln never links libcuda (the toolkit's stub fails at start-up on machines
// without a driver, and CI has none). CudaDriver::load() dlopens
// "libcuda.so.1" once and resolves every entry point the runtime calls by its
// versioned symbol name (cuMemAlloc_v2, cuStreamBeginCapture_v2, ...); cuda.h
// supplies the types only. The environment variable KILN_CUDA_DRIVER
// overrides the library path, e.g. KILN_CUDA_DRIVER=/nonexistent/libcuda.so.1
// to test the no-driver path on a machine that has one.
//
// Every failing driver call becomes an absl::Status through cudaError(),
// naming the call, what the runtime was doing, and the CUresult, e.g.
//   cuModuleLoadDataEx(kernel "fc1_matmul", sm_90): CUDA_ERROR_INVALID_PTX:
//   a PTX JIT compilation failed (JIT log: ...) [runtime/cuda/SessionSetup.cpp:80]
// Nothing here aborts.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CUDA_CUDADRIVER_H
#define KILN_RUNTIME_CUDA_CUDADRIVER_H

#include "kiln/runtime/StatusMacros.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#include <cuda.h>
#include <string>
#include <string_view>

namespace kiln::cuda {

/// The environment variable that overrides the driver library's path.
inline constexpr char kDriverPathVariable[] = "KILN_CUDA_DRIVER";
/// The library dlopen()ed when KILN_CUDA_DRIVER is unset or empty.
inline constexpr char kDefaultDriverPath[] = "libcuda.so.1";

/// The driver entry points the runtime uses. Each member has the signature cuda.h declares
/// for the name without its version suffix.
struct CudaDriver {
#define KILN_CUDA_ENTRY(name) decltype(&::name) name = nullptr;
#include "kiln/runtime/cuda/CudaEntryPoints.def"
#undef KILN_CUDA_ENTRY

  /// The path that was loaded.
  std::string path;
  /// cuDriverGetVersion, e.g. 13000 for CUDA 13.0.
  int version = 0;
  /// What cuInit(0) returned: CUDA_ERROR_NO_DEVICE on a machine with a driver but no GPU.
  CUresult initResult = CUDA_SUCCESS;

  /// Loads the driver once per path (KILN_CUDA_DRIVER or libcuda.so.1) and calls cuInit(0).
  /// The result lives until the process ends. Fails with FailedPrecondition
  /// "CUDA driver not found: dlopen("libcuda.so.1") failed: <dlerror>" when the library is
  /// missing, or naming the entry point the library lacks (a driver older than CUDA 12).
  /// Failures are not cached, so a test may change KILN_CUDA_DRIVER and load again.
  static absl::StatusOr<const CudaDriver *> load();

  /// "CUDA_ERROR_OUT_OF_MEMORY: out of memory" for `result`.
  std::string describe(CUresult result) const;
};

/// The path load() opens now: $KILN_CUDA_DRIVER when set and non-empty, else libcuda.so.1.
std::string driverLibraryPath();

/// "<call>(<activity>): <name>: <description><detail> [<file>:<line>]", the message of every
/// failed driver call. Pure, for tests.
std::string formatCudaError(std::string_view call, std::string_view activity,
                            std::string_view resultName, std::string_view resultDescription,
                            std::string_view detail, const char *file, int line);

/// The Status for `result` returned by `call` while doing `activity`; `detail` is appended to
/// the message (a JIT log). Out of memory gives ResourceExhausted; errors that leave the context
/// unusable (illegal address, launch failure, ...) give Unavailable; a missing device, an
/// unsupported PTX version or no code for the GPU give FailedPrecondition; others Internal.
absl::Status cudaError(const CudaDriver &driver, CUresult result, std::string_view call,
                       std::string_view activity, const char *file, int line,
                       std::string_view detail = {});

} // namespace kiln::cuda

/// Calls driver entry point `entry` of `driver` (a CudaDriver&) with the arguments that follow
/// and returns the cudaError Status from the enclosing function if it does not succeed.
/// `activity` is evaluated only on failure.
#define KILN_CU_CHECK(driver, activity, entry, ...)                                                \
  do {                                                                                             \
    CUresult kilnCuResult = (driver).entry(__VA_ARGS__);                                           \
    if (kilnCuResult != CUDA_SUCCESS)                                                              \
      return ::kiln::cuda::cudaError((driver), kilnCuResult, #entry, (activity), __FILE__,         \
                                     __LINE__);                                                    \
  } while (false)

#endif // KILN_RUNTIME_CUDA_CUDADRIVER_H
