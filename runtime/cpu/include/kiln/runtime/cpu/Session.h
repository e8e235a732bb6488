//===- Session.h - Executing a plan on the host CPU -------------*- C++ -*-===//
//
// A session (session::Session) over the native CPU device (Device.h): ONE
// call per step, a thread team running the plan's kernels from the plan's
// own machine code. This file adds only what is the CPU's: the checks a plan
// must pass before its code is mapped, and the team's size.
//
// A plan carrying CPU code is native code, like a shared library: the loader
// checks what it can (hash, ELF, relocations, entries), but do not run plans
// from strangers (docs/design/cpu-runtime.md).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CPU_SESSION_H
#define KILN_RUNTIME_CPU_SESSION_H

#include "kiln/plan/plan.pb.h"
#include "kiln/runtime/session/Session.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace kiln::cpu {

struct SessionOptions {
  /// Participants of the thread team (the calling thread and threads-1 workers); 0 means
  /// the cores this process may run on. Results do not depend on it (cpu-runtime.md).
  uint32_t threads = 0;
  /// The image to run ("x86-64-v3", ...); empty: the best the plan carries that this CPU runs.
  /// One this CPU cannot run is refused at creation.
  std::string isa;
  /// How long step(), output(), run(), variable() and setVariable() wait.
  std::chrono::seconds waitTimeout{600};
};

/// FailedPrecondition unless `plan` targets cpu and no kernel uses push constants (the CPU
/// kernel ABI has none), naming the targets or the kernel.
absl::Status checkPlanForCpu(const plan::Plan &plan);

/// Checks `plan` (InvalidArgument from plan::validatePlan, FailedPrecondition from
/// checkPlanForCpu), then loads it onto a cpu::Device with `options.threads` threads: the
/// device's errors (Device.h) name the ISA, kernel, offset or buffer.
absl::StatusOr<std::unique_ptr<session::Session>> createSession(plan::Plan plan,
                                                                const SessionOptions &options = {});

} // namespace kiln::cpu

#endif // KILN_RUNTIME_CPU_SESSION_H
