//===- EmitKernels.cpp - Kernel functions to gpu.modules ------------------===//
//
// kiln-emit-kernels: every kernel function kiln-fuse formed (a func.func with
// `graph.kernel`) gets a gpu.module beside it, holding the one gpu.func that
// kernels/ emits for its kind with the GPU targets' configuration, simplified
// (canonicalize, CSE; row kernels also hoist loop invariants). The launch travels on the gpu.func:
// the workgroup
// (`known_block_size` and the SPIR-V entry-point ABI), the grid (`kiln.grid`)
// and the bindings that may share storage (`kiln.in_place`). Plan assembly
// then compiles each gpu.module for the targets.
//
//===----------------------------------------------------------------------===//

#include "kiln/Compiler/Passes.h"

#include "kiln/Kernels/KernelEmitter.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SPIRV/IR/SPIRVDialect.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/Passes.h"

namespace kiln {

#define GEN_PASS_DEF_EMITKERNELS
#include "kiln/Compiler/Passes.h.inc"

namespace {

using namespace mlir;

struct EmitKernelsPass : impl::EmitKernelsBase<EmitKernelsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    kernels::TargetConfig config = kernels::TargetConfig::gpu();
    OpPassManager simplify(gpu::GPUModuleOp::getOperationName());
    simplify.addPass(createCanonicalizerPass());
    simplify.addPass(createCSEPass());
    // A row kernel builds its per-row values (a log-sum-exp, a layer norm's sqrt(var + eps))
    // where a per-element payload reads them: hoist them out of the row's loops.
    OpPassManager simplifyRow(gpu::GPUModuleOp::getOperationName());
    simplifyRow.addPass(createCanonicalizerPass());
    simplifyRow.addPass(createLoopInvariantCodeMotionPass());
    simplifyRow.addPass(createCSEPass());

    llvm::SmallVector<func::FuncOp> kernelFunctions;
    for (auto function : module.getOps<func::FuncOp>())
      if (function->hasAttr("graph.kernel"))
        kernelFunctions.push_back(function);
    SymbolTable symbols(module);
    for (func::FuncOp function : kernelFunctions) {
      std::string name = kernels::gpuModuleName(function.getSymName());
      if (symbols.lookup(name)) {
        function.emitOpError("cannot be emitted: the module already holds a symbol @") << name;
        return signalPassFailure();
      }
      FailureOr<kernels::EmittedKernel> emitted = kernels::emitKernel(function, config);
      if (failed(emitted))
        return signalPassFailure();
      gpu::GPUModuleOp gpuModule = emitted->gpuModule;
      gpuModule->remove();
      module.getBody()->getOperations().insertAfter(Block::iterator(function), gpuModule);
      symbols.insert(gpuModule, Block::iterator(gpuModule));
      bool row = function->getAttrOfType<graph::KernelAttr>("graph.kernel").getKind() ==
                 graph::KernelKind::row;
      if (failed(runPipeline(row ? simplifyRow : simplify, gpuModule))) {
        function.emitOpError("internal compiler error: the emitted kernel does not simplify");
        return signalPassFailure();
      }
      ++numKernels;
      numInPlace += emitted->inPlace.size();
    }
    if (!kernelFunctions.empty())
      module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(), UnitAttr::get(&getContext()));
  }
};

} // namespace
} // namespace kiln
