//===- PlanLoadCheck.h - What a device checks before it loads a plan -*- C++ -*-===//
//
// validatePlan makes a plan safe to index; checkPlanForLoad makes it safe to
// run: no kernel's SPIR-V can crash the driver, no dispatch lets a kernel reach
// outside the buffers it binds, and the memory plan (arena placement and
// barriers) is proved by the independent checker. Every device session calls it
// before it touches a driver, so a damaged plan is refused with a message
// instead of corrupting memory.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_PLANLOADCHECK_H
#define KILN_RUNTIME_PLANLOADCHECK_H

#include "kiln/plan/plan.pb.h"

#include "absl/status/status.h"

namespace kiln::plan {

struct LoadCheckOptions {
  /// Run checkPlanMemory (arena placement, clobbered reads, barriers). Only tests that show
  /// the Vulkan validation layers catch a removed barrier turn it off; the SPIR-V and binding
  /// checks always run.
  bool checkMemoryPlan = true;
};

/// Checks a plan that passed validatePlan, in this order, and returns InvalidArgument for the
/// first problem, naming the kernel, program, command, binding and buffer (index and name):
///   1. every kernel's SPIR-V (when it has any) passes SPIRV-Tools' validator for Vulkan 1.1;
///   2. every storage buffer it declares is in descriptor set 0 at a binding below the
///      kernel's binding_count;
///   3. no program output is smaller than what the kernel writing it declares (an output
///      declared with the wrong shape, e.g. a scalar `logits`);
///   4. every dispatch binds, at each binding, a buffer at least as large as the fixed-size
///      block the kernel declares there;
///   5. (options.checkMemoryPlan) checkArenaPlacement, then checkPlanMemory.
/// Costs a few milliseconds on the sample MLPs (docs/design/plan-format.md).
absl::Status checkPlanForLoad(const Plan &plan, const LoadCheckOptions &options = {});

} // namespace kiln::plan

#endif // KILN_RUNTIME_PLANLOADCHECK_H
