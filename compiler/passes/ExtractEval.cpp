//===- ExtractEval.cpp - kiln-extract-eval: a forward-only program --------===//
//
// Derives func @eval from func @step before autodiff: the same forward ops
// and outputs, without the loss root and without state updates, and with
// every graph.train_or_eval replaced by its eval operand (batch norm's running
// statistics, dropout's identity). Ops nothing observable needs afterwards (an
// input only the optimizer would have used, reads that only fed an assign, a
// dropout mask and its step counter) are removed here, since graph.input and
// graph.read have effects canonicalization does not remove.
//
// Every other function (an extra forward-only program the builder wrote with
// beginProgram, such as @generate) is forward-only too: its
// graph.train_or_eval takes the eval operand.
//
// Also kiln-resolve-train-or-eval, for a compile without an eval program:
// graph.train_or_eval becomes its training operand in @step and its eval
// operand in every other function.
//
//===----------------------------------------------------------------------===//

#include "kiln/Compiler/Passes.h"
#include "kiln/Dialect/Graph/GraphDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace kiln {
#define GEN_PASS_DEF_EXTRACTEVAL
#define GEN_PASS_DEF_RESOLVETRAINOREVAL
#include "kiln/Compiler/Passes.h.inc"

using namespace mlir;
using namespace kiln::graph;

namespace {

/// True for ops @eval may drop when their results are unused.
bool isRemovableWhenDead(Operation *op) {
  if (op->hasTrait<OpTrait::IsTerminator>())
    return false;
  return isPure(op) || llvm::isa<InputOp, ReadOp>(op);
}

/// Replaces every graph.train_or_eval in `function` by its training or eval operand.
void resolve(func::FuncOp function, bool training) {
  function.walk([&](TrainOrEvalOp op) {
    op.replaceAllUsesWith(training ? op.getTrain() : op.getEval());
    op.erase();
  });
}

struct ExtractEvalPass : impl::ExtractEvalBase<ExtractEvalPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto step = module.lookupSymbol<func::FuncOp>("step");
    if (!step) {
      module.emitError("kiln-extract-eval: the module has no func.func @step");
      return signalPassFailure();
    }
    if (Operation *existing = module.lookupSymbol("eval")) {
      existing->emitError("kiln-extract-eval: the module already has a symbol @eval");
      return signalPassFailure();
    }
    func::FuncOp eval = step.clone();
    resolve(step, /*training=*/true);
    eval.setName("eval");
    module.insert(std::next(Block::iterator(step)), eval);

    eval.walk([](Operation *op) {
      if (llvm::isa<MinimizeOp, AssignOp, GradientOp>(op))
        op->erase();
    });
    resolve(eval, /*training=*/false);
    for (auto function : module.getOps<func::FuncOp>())
      if (function != step && function != eval)
        resolve(function, /*training=*/false);
    // Reverse order erases users before producers, so one sweep suffices.
    Block &body = eval.getBody().front();
    for (Operation &op : llvm::make_early_inc_range(llvm::reverse(body)))
      if (op.use_empty() && isRemovableWhenDead(&op))
        op.erase();
  }
};

struct ResolveTrainOrEvalPass : impl::ResolveTrainOrEvalBase<ResolveTrainOrEvalPass> {
  void runOnOperation() override {
    // Only the step trains; @eval and the extra programs are forward-only.
    for (auto function : getOperation().getOps<func::FuncOp>())
      resolve(function, /*training=*/function.getName() == "step");
  }
};

} // namespace
} // namespace kiln
