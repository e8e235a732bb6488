//===- Session.h - Executing a plan on a CUDA device ------------*- C++ -*-===//
//
// A session (session::Session) over the CUDA device (Device.h): ONE
// cuGraphLaunch per step of a graph captured once per step slot. This file
// adds only what is CUDA's: the checks a plan must pass before the driver is
// touched, loading the driver and choosing the device.
//
// Not thread-safe: one thread drives a session (the context is made current
// on each call, so that thread may change between calls).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CUDA_SESSION_H
#define KILN_RUNTIME_CUDA_SESSION_H

#include "kiln/plan/plan.pb.h"
#include "kiln/runtime/cuda/CudaDevice.h"
#include "kiln/runtime/session/Session.h"

#include "absl/status/statusor.h"

#include <chrono>
#include <memory>

namespace kiln::cuda {

using SessionStats = session::SessionStats;
using session::toJson;

struct SessionOptions {
  /// The CUdevice ordinal (see listCudaDevices()).
  int deviceIndex = 0;
  /// How long step(), output(), run(), variable() and setVariable() wait for the device
  /// before failing with DeadlineExceeded.
  std::chrono::seconds waitTimeout{600};
};

class Session : public session::Session {
public:
  /// Loads the driver, opens device options.deviceIndex and loads `plan` onto it. Fails with
  /// InvalidArgument if the plan is invalid or plan::checkPlanForLoad refuses it (before
  /// touching the driver); FailedPrecondition, before touching the driver,
  /// if checkPlanForCuda refuses it (not compiled for cuda, a kernel without PTX or with push
  /// constants); FailedPrecondition if the driver is missing ("CUDA driver not found: ..."),
  /// the device does not exist, or no PTX entry fits its compute capability; the driver's
  /// error for anything else (CUDA_ERROR_INVALID_PTX with the JIT log, out of memory as
  /// ResourceExhausted), each message naming the driver call and the kernel or buffer.
  static absl::StatusOr<std::unique_ptr<Session>> create(plan::Plan plan,
                                                         const SessionOptions &options = {});

  const CudaDeviceInfo &device() const;

private:
  using session::Session::Session;
};

} // namespace kiln::cuda

#endif // KILN_RUNTIME_CUDA_SESSION_H
