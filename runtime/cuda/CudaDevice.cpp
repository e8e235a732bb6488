//===- CudaDevice.cpp - Finding CUDA devices and choosing PTX -------------===//

#include "kiln/runtime/cuda/CudaDevice.h"

#include "kiln/runtime/PlanValidation.h"
#include "kiln/runtime/cuda/CudaDriver.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

#include <cctype>

namespace kiln::cuda {

absl::StatusOr<std::vector<CudaDeviceInfo>> listCudaDevices() {
  absl::StatusOr<const CudaDriver *> loaded = CudaDriver::load();
  if (!loaded.ok())
    return loaded.status();
  const CudaDriver &driver = **loaded;
  std::vector<CudaDeviceInfo> devices;
  if (driver.initResult == CUDA_ERROR_NO_DEVICE)
    return devices;
  if (driver.initResult != CUDA_SUCCESS)
    return cudaError(driver, driver.initResult, "cuInit", "initialising the CUDA driver", __FILE__,
                     __LINE__);
  int count = 0;
  KILN_CU_CHECK(driver, "counting CUDA devices", cuDeviceGetCount, &count);
  for (int index = 0; index < count; ++index) {
    std::string activity = absl::StrCat("describing CUDA device ", index);
    CUdevice device;
    KILN_CU_CHECK(driver, activity, cuDeviceGet, &device, index);
    CudaDeviceInfo info;
    info.index = index;
    char name[256] = {};
    KILN_CU_CHECK(driver, activity, cuDeviceGetName, name, sizeof(name) - 1, device);
    info.name = name;
    KILN_CU_CHECK(driver, activity, cuDeviceGetAttribute, &info.computeMajor,
                  CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device);
    KILN_CU_CHECK(driver, activity, cuDeviceGetAttribute, &info.computeMinor,
                  CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device);
    KILN_CU_CHECK(driver, activity, cuDeviceGetAttribute, &info.multiprocessors,
                  CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, device);
    size_t bytes = 0;
    KILN_CU_CHECK(driver, activity, cuDeviceTotalMem, &bytes, device);
    info.totalMemoryBytes = bytes;
    devices.push_back(std::move(info));
  }
  return devices;
}

std::string computeCapabilityName(int major, int minor) { return absl::StrCat(major, ".", minor); }

int ptxArchNumber(const std::string &arch) {
  if (arch.size() < 4 || arch.compare(0, 3, "sm_") != 0)
    return -1;
  size_t end = arch.size();
  if (arch.back() == 'a' || arch.back() == 'f')
    --end;
  if (end == 3 || end - 3 > 4)
    return -1;
  int number = 0;
  for (size_t i = 3; i < end; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(arch[i])))
      return -1;
    number = number * 10 + (arch[i] - '0');
  }
  return number;
}

absl::StatusOr<int> selectPtxCode(const plan::Kernel &kernel, int major, int minor) {
  int device = 10 * major + minor;
  std::vector<std::string> archs;
  int best = -1, bestNumber = -1;
  for (int index = 0; index < kernel.ptx_code_size(); ++index) {
    const std::string &arch = kernel.ptx_code(index).arch();
    archs.push_back(arch);
    int number = ptxArchNumber(arch);
    if (number < 0)
      return absl::FailedPreconditionError(
          absl::StrCat("kernel '", kernel.name(), "' has PTX for arch '", arch,
                       "', which is not of the form sm_<number>; recompile the plan"));
    bool archSpecific = arch.back() == 'a';
    bool fits = archSpecific ? number == device : number <= device;
    // Prefer the generic entry when an arch-specific one has the same number.
    if (fits && (number > bestNumber || (number == bestNumber && !archSpecific)))
      best = index, bestNumber = number;
  }
  if (archs.empty())
    return absl::FailedPreconditionError(
        absl::StrCat("kernel '", kernel.name(), "' has no PTX; recompile with --target=cuda"));
  if (best < 0)
    return absl::FailedPreconditionError(
        absl::StrCat("kernel '", kernel.name(), "' has PTX for ", absl::StrJoin(archs, ", "),
                     " but the device has compute capability ", computeCapabilityName(major, minor),
                     "; recompile for an arch <= sm_", device,
                     " (HINT: kiln compile --target=cuda emits sm_80 PTX, which runs on "
                     "compute capability 8.0 or newer)"));
  return best;
}

absl::Status checkPlanForCuda(const plan::Plan &plan) {
  if (!plan::hasTarget(plan, plan::TARGET_CUDA)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "plan '", plan.metadata().model_name(), "' was compiled for ", plan::targetNames(plan),
        ", not cuda; its kernels carry no PTX (recompile with --target=cuda)"));
  }
  for (const plan::Kernel &kernel : plan.kernels()) {
    if (kernel.ptx_code().empty())
      return absl::FailedPreconditionError(
          absl::StrCat("kernel '", kernel.name(),
                       "' has no PTX, so the plan cannot run on CUDA; recompile "
                       "with --target=cuda"));
    if (kernel.push_constant_size() > 0)
      return absl::FailedPreconditionError(absl::StrCat(
          "kernel '", kernel.name(), "' uses ", kernel.push_constant_size(),
          " bytes of push constants, which the CUDA kernel ABI does not have (parameters are "
          "buffer pointers only); recompile with --target=cuda so no kernel needs them"));
  }
  return absl::OkStatus();
}

} // namespace kiln::cuda
