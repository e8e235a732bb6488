//===- Passes.h - Passes over the exec dialect ------------------*- C++ -*-===//
//
// The exec passes (Passes.td) and the pipeline that takes a module after
// kiln-emit-kernels to a plan ready to serialize.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_EXEC_PASSES_H
#define KILN_EXEC_PASSES_H

#include "kiln/Dialect/Exec/ExecDialect.h"

#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"

#include <memory>
#include <string>

namespace kiln::exec {

#define GEN_PASS_DECL
#include "kiln/Exec/Passes.h.inc"

/// The name of the output holding the gradient of `variable` ("gradient/<variable>").
std::string gradientOutputName(llvm::StringRef variable);

/// The version string plans record by default ("kiln 0.1.0").
const char *compilerVersion();

struct ExecPipelineOptions {
  ExecAssembleOptions assemble;
  /// Run copy elision and arena allocation (the memory planner); false leaves every
  /// transient buffer its own allocation and every assign a copy.
  bool planMemory = true;
  bool elideCopies = true;
  ExecAllocateArenaOptions arena;
  /// Compile every kernel for the plan's targets (kiln-exec-compile-targets).
  bool compileTargets = true;
};

/// Adds assembly, [copy elision, arena allocation,] barrier placement and target
/// compilation, in that order.
void addExecPipeline(mlir::OpPassManager &pm, const ExecPipelineOptions &options = {});

/// Registers the exec passes and the `kiln-exec` pipeline with the global registry.
void registerExecPasses();

/// The module's one exec.plan, or null.
PlanOp getPlan(mlir::ModuleOp module);

} // namespace kiln::exec

#endif // KILN_EXEC_PASSES_H
