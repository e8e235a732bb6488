//===- Pipelines.cpp - Kiln's named pass pipelines ------------------------===//
//
// The front half of the compiler as one pipeline (autodiff, optimizer,
// simplification), and the registration kiln-opt uses.
//
//===----------------------------------------------------------------------===//

#include "kiln/Compiler/Passes.h"

#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

namespace kiln {

void addSimplifyPasses(mlir::OpPassManager &pm) {
  pm.addPass(mlir::createCanonicalizerPass());
  pm.addPass(mlir::createCSEPass());
  pm.addPass(mlir::createCanonicalizerPass());
}

void addTrainingStepPipeline(mlir::OpPassManager &pm,
                             const AppendOptimizerOptions &optimizerOptions) {
  // After kiln-extract-eval (run by the caller), so @step and @eval both get it.
  pm.addPass(createFormAttention());
  pm.addPass(createAutodiff());
  pm.addPass(createAppendOptimizer(optimizerOptions));
  addSimplifyPasses(pm);
}

void registerPassesAndPipelines() {
  registerKilnPasses();
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  mlir::registerSymbolDCEPass();
  mlir::PassPipelineRegistration<>("kiln-simplify", "Canonicalize, CSE and drop dead ops",
                                   [](mlir::OpPassManager &pm) { addSimplifyPasses(pm); });
  mlir::PassPipelineRegistration<>(
      "kiln-training-step",
      "Form fused attention, autodiff, append the module's optimizer, simplify: a whole "
      "training step",
      [](mlir::OpPassManager &pm) { addTrainingStepPipeline(pm); });
}

} // namespace kiln
