//===- Session.cpp - Executing a plan on a CUDA device --------------------===//
//
// What a plan must pass before the CUDA driver is touched, loading the driver
// and choosing the device, then the session core over cuda::Device.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/cuda/Session.h"

#include "kiln/runtime/PlanLoadCheck.h"
#include "kiln/runtime/PlanValidation.h"
#include "kiln/runtime/cuda/Device.h"

#include "absl/strings/str_cat.h"

namespace kiln::cuda {

absl::StatusOr<std::unique_ptr<Session>> Session::create(plan::Plan plan,
                                                         const SessionOptions &options) {
  if (absl::Status status = plan::validatePlan(plan); !status.ok())
    return absl::InvalidArgumentError(absl::StrCat("invalid plan: ", status.message()));
  // Refuse what can never run on CUDA before looking for a driver, so the message is the
  // same on every machine.
  KILN_RETURN_IF_ERROR(checkPlanForCuda(plan));
  if (absl::Status status = plan::checkPlanForLoad(plan); !status.ok())
    return absl::InvalidArgumentError(absl::StrCat("invalid plan: ", status.message()));
  absl::StatusOr<const CudaDriver *> driver = CudaDriver::load();
  if (!driver.ok())
    return driver.status();
  if ((*driver)->initResult != CUDA_SUCCESS)
    return cudaError(**driver, (*driver)->initResult, "cuInit", "initialising the CUDA driver",
                     __FILE__, __LINE__);
  absl::StatusOr<std::vector<CudaDeviceInfo>> devices = listCudaDevices();
  if (!devices.ok())
    return devices.status();
  if (options.deviceIndex < 0 || options.deviceIndex >= static_cast<int>(devices->size()))
    return absl::FailedPreconditionError(absl::StrCat("CUDA device ", options.deviceIndex,
                                                      " does not exist; this machine has ",
                                                      devices->size(), " CUDA device(s)"));
  CUdevice device;
  KILN_CU_CHECK(**driver, absl::StrCat("opening CUDA device ", options.deviceIndex), cuDeviceGet,
                &device, options.deviceIndex);

  session::SessionConfig config;
  config.waitTimeout = options.waitTimeout;
  std::unique_ptr<Session> session(
      new Session(std::move(plan),
                  std::make_unique<Device>(**driver, (*devices)[options.deviceIndex], device,
                                           options.waitTimeout),
                  config));
  KILN_RETURN_IF_ERROR(session->start());
  return session;
}

const CudaDeviceInfo &Session::device() const {
  return static_cast<const Device &>(sessionDevice()).info();
}

} // namespace kiln::cuda
