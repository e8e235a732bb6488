//===- Passes.h - Kiln compiler passes --------------------------*- C++ -*-===//
//
// Declarations and registration of every Kiln pass (see Passes.td) and the
// named pipelines built from them.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_PASSES_H
#define KILN_COMPILER_PASSES_H

#include "kiln/Dialect/Graph/GraphDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"

#include <memory>

namespace kiln {

#define GEN_PASS_DECL
#include "kiln/Compiler/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "kiln/Compiler/Passes.h.inc"

/// Adds the simplification pipeline (canonicalize, CSE; dead ops go with
/// canonicalization) to `pm`.
void addSimplifyPasses(mlir::OpPassManager &pm);

/// Adds the front half of the compiler to `pm`: autodiff, optimizer,
/// simplification. Options for the optimizer come from `optimizerOptions`.
void addTrainingStepPipeline(mlir::OpPassManager &pm,
                             const AppendOptimizerOptions &optimizerOptions = {});

/// Registers every Kiln pass and the `kiln-training-step` and `kiln-simplify`
/// pipelines with MLIR's global registry (for kiln-opt).
void registerPassesAndPipelines();

} // namespace kiln

#endif // KILN_COMPILER_PASSES_H
