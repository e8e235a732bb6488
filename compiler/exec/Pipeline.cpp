//===- Pipeline.cpp - The exec passes as one pipeline ---------------------===//

#include "kiln/Exec/Passes.h"

#include "mlir/Pass/PassRegistry.h"

namespace kiln::exec {
namespace {
#define GEN_PASS_REGISTRATION
#include "kiln/Exec/Passes.h.inc"
} // namespace

void addExecPipeline(mlir::OpPassManager &pm, const ExecPipelineOptions &options) {
  pm.addPass(createExecAssemble(options.assemble));
  if (options.planMemory) {
    if (options.elideCopies)
      pm.addPass(createExecElideCopies());
    pm.addPass(createExecAllocateArena(options.arena));
  }
  pm.addPass(createExecPlaceBarriers());
  if (options.compileTargets)
    pm.addPass(createExecCompileTargets());
}

void registerExecPasses() {
  registerKilnExecPasses();
  mlir::PassPipelineRegistration<>(
      "kiln-exec",
      "Plan assembly, copy elision, arena allocation, barrier placement and target "
      "compilation: a module after kiln-emit-kernels to a plan ready to serialize",
      [](mlir::OpPassManager &pm) { addExecPipeline(pm); });
}

} // namespace kiln::exec
