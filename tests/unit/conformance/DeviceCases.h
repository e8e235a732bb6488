//===- DeviceCases.h - The devices the conformance suite runs on -*- C++ -*-===//
//
// One entry per device the runtime has (reference, Vulkan, CUDA, the native CPU): how
// to tell
// whether this machine has it, how to open a session::Session on it, and what
// it reports beyond the session core (Vulkan's validation messages). The
// suite (SessionConformanceTest.cpp) is instantiated once per entry, as
// IREE's HAL CTS is per driver; a device this machine lacks is skipped with
// the reason. Adding a device adds an entry here.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TESTS_UNIT_CONFORMANCE_DEVICECASES_H
#define KILN_TESTS_UNIT_CONFORMANCE_DEVICECASES_H

#include "kiln/plan/plan.pb.h"
#include "kiln/runtime/session/Session.h"

#include "absl/status/statusor.h"

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

namespace kiln::conformance {

struct DeviceCase {
  std::string name; ///< "reference", "vulkan", "cuda", "cpu", "cpuv3": the test name suffix.
  /// Empty when this machine has the device, else why not (the driver's message).
  std::function<std::string()> unavailableReason;
  /// Opens a session for `plan` (Vulkan: validation and synchronization validation on).
  std::function<absl::StatusOr<std::unique_ptr<session::Session>>(plan::Plan)> create;
  /// Validation messages the session's device reported so far; empty for devices without.
  std::function<std::vector<std::string>(const session::Session &)> validationMessages;
  /// Whether the device runs the plan's kernels (so its stats count dispatches and kernels);
  /// the reference device interprets the graph module instead.
  bool runsKernels = true;
  /// The targets to compile a module for when only this device runs it (the op registry's
  /// many small plans), to spare the others' code generation.
  std::vector<plan::Target> targets;
};

/// Every device of the runtime that runs the whole suite, present on this machine or not.
std::vector<DeviceCase> allDevices();

/// Fails the current test with the validation messages `device` reported for `session`, if any.
void expectNoValidationMessages(const DeviceCase &device, const session::Session &session);

inline std::ostream &operator<<(std::ostream &out, const DeviceCase &device) {
  return out << device.name;
}

} // namespace kiln::conformance

/// Skips the current test, naming the device and the reason, when this machine lacks it.
#define KILN_REQUIRE_DEVICE(device)                                                                \
  do {                                                                                             \
    if (std::string reason = (device).unavailableReason(); !reason.empty())                        \
      GTEST_SKIP() << "no " << (device).name << " device: " << reason;                             \
  } while (false)

#endif // KILN_TESTS_UNIT_CONFORMANCE_DEVICECASES_H
