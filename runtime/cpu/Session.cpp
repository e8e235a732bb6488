//===- Session.cpp - Executing a plan on the host CPU ---------------------===//

#include "kiln/runtime/cpu/Session.h"

#include "kiln/runtime/PlanValidation.h"
#include "kiln/runtime/StatusMacros.h"
#include "kiln/runtime/cpu/Device.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

#include <string>
#include <vector>

namespace kiln::cpu {

absl::Status checkPlanForCpu(const plan::Plan &plan) {
  if (!plan::hasTarget(plan, plan::TARGET_CPU)) {
    return absl::FailedPreconditionError(
        absl::StrCat("plan '", plan.metadata().model_name(), "' was compiled for ",
                     plan::targetNames(plan), ", not cpu; it carries no CPU code"));
  }
  for (const plan::Kernel &kernel : plan.kernels())
    if (kernel.push_constant_size() > 0)
      return absl::FailedPreconditionError(
          absl::StrCat("kernel '", kernel.name(), "' uses ", kernel.push_constant_size(),
                       " bytes of push constants, which the CPU kernel ABI does not have "
                       "(bindings, a tile range and scratch only)"));
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<session::Session>> createSession(plan::Plan plan,
                                                                const SessionOptions &options) {
  if (absl::Status status = plan::validatePlan(plan); !status.ok())
    return absl::InvalidArgumentError(absl::StrCat("invalid plan: ", status.message()));
  KILN_RETURN_IF_ERROR(checkPlanForCpu(plan));
  session::SessionConfig config;
  config.waitTimeout = options.waitTimeout;
  return session::Session::create(std::move(plan),
                                  std::make_unique<Device>(options.threads, options.isa), config);
}

} // namespace kiln::cpu
