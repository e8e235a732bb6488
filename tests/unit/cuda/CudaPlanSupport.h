//===- CudaPlanSupport.h - Compiled graph modules on CUDA -------*- C++ -*-===//
//
// Compiles graph-dialect modules with KilnCodegen for the CUDA runtime. On a
// machine with a GPU, a plan without PTX is a failure (the compiler must emit
// it), never a skip. Header-only.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TESTS_UNIT_CUDA_CUDAPLANSUPPORT_H
#define KILN_TESTS_UNIT_CUDA_CUDAPLANSUPPORT_H

#include "kiln/Codegen/Codegen.h"
#include "kiln/runtime/cuda/Session.h"

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "mlir/IR/Diagnostics.h"

#include <memory>
#include <string>

namespace kiln::cuda_test {

/// Compiles `module` and checks that every kernel carries PTX; InvalidArgument with the
/// diagnostics or FailedPrecondition naming the first kernel without PTX.
inline absl::StatusOr<plan::Plan> compileForCuda(mlir::ModuleOp module) {
  std::string diagnostics;
  mlir::ScopedDiagnosticHandler handler(module.getContext(), [&](mlir::Diagnostic &d) {
    diagnostics += d.str() + "\n";
    return mlir::success();
  });
  mlir::FailureOr<plan::Plan> plan = codegen::compileToPlan(module);
  if (mlir::failed(plan))
    return absl::InvalidArgumentError("codegen failed:\n" + diagnostics);
  for (const plan::Kernel &kernel : plan->kernels())
    if (kernel.ptx_code().empty())
      return absl::FailedPreconditionError(
          absl::StrCat("codegen::compileToPlan gave kernel '", kernel.name(),
                       "' no PTX; the CUDA runtime needs Kernel.ptx_code (plan targets: ",
                       plan->metadata().targets_size(), ")"));
  return *std::move(plan);
}

/// compileForCuda, then a session on device 0.
inline absl::StatusOr<std::unique_ptr<cuda::Session>> createCudaSession(mlir::ModuleOp module) {
  absl::StatusOr<plan::Plan> plan = compileForCuda(module);
  if (!plan.ok())
    return plan.status();
  return cuda::Session::create(*std::move(plan));
}

} // namespace kiln::cuda_test

#endif // KILN_TESTS_UNIT_CUDA_CUDAPLANSUPPORT_H
