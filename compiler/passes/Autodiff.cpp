//===- Autodiff.cpp - kiln-autodiff: reverse-mode differentiation --------===//
//
// Differentiates the scalar loss of `graph.minimize` with respect to every
// trainable variable of func @step. The sweep walks the step's block
// backwards once; each op's derivative comes from its
// DifferentiableOpInterface (the rules are in GraphVJP.cpp). Only "active"
// ops (those that depend on a trainable variable and feed the loss) are
// differentiated; gradients of inactive operands (images, labels) that a rule
// emits anyway are dead code for canonicalization to remove.
//
//===----------------------------------------------------------------------===//

#include "kiln/Compiler/Passes.h"
#include "kiln/Dialect/Graph/GraphDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/MapVector.h"

namespace kiln {
#define GEN_PASS_DEF_AUTODIFF
#include "kiln/Compiler/Passes.h.inc"

using namespace mlir;
using namespace kiln::graph;

namespace {

bool isFloatTensor(Value value) {
  auto type = llvm::dyn_cast<RankedTensorType>(value.getType());
  return type && llvm::isa<FloatType>(type.getElementType());
}

Value zerosLike(OpBuilder &builder, Location loc, Type type) {
  auto tensor = llvm::cast<RankedTensorType>(type);
  auto zero = builder.getFloatAttr(tensor.getElementType(), 0.0);
  return builder.create<ConstantOp>(loc, tensor, DenseElementsAttr::get(tensor, zero));
}

struct AutodiffPass : impl::AutodiffBase<AutodiffPass> {
  void runOnOperation() override;

private:
  /// Adds `grad` to the gradient accumulated for `value`.
  void accumulate(OpBuilder &builder, Value value, Value grad);

  DenseMap<Value, Value> grads;
};

void AutodiffPass::accumulate(OpBuilder &builder, Value value, Value grad) {
  auto [it, inserted] = grads.try_emplace(value, grad);
  if (inserted)
    return;
  it->second = builder.create<AddOp>(grad.getLoc(), it->second, grad);
  ++numAccumulations;
}

void AutodiffPass::runOnOperation() {
  ModuleOp module = getOperation();
  grads.clear();
  auto step = module.lookupSymbol<func::FuncOp>("step");
  if (!step) {
    module.emitError("kiln-autodiff: the module has no func.func @step to differentiate");
    return signalPassFailure();
  }
  if (!step.getBody().hasOneBlock()) {
    step.emitError("kiln-autodiff: @step must be a single block of graph ops");
    return signalPassFailure();
  }
  Block &body = step.getBody().front();

  SmallVector<MinimizeOp> roots(body.getOps<MinimizeOp>());
  if (roots.empty()) {
    step.emitError("kiln-autodiff: @step has no graph.minimize; name the loss to differentiate "
                   "(the builder's TrainingSpec does this)");
    return signalPassFailure();
  }
  if (roots.size() > 1) {
    InFlightDiagnostic diag = roots[1].emitError(
        "kiln-autodiff: a step minimizes one loss; found a second graph.minimize");
    diag.attachNote(roots[0].getLoc()) << "the first is here";
    return signalPassFailure();
  }
  MinimizeOp root = roots.front();

  // Forward activity: values that depend on a trainable variable.
  llvm::DenseSet<Value> active;
  for (Operation &op : body) {
    if (auto read = llvm::dyn_cast<ReadOp>(op)) {
      auto variable = module.lookupSymbol<VariableOp>(read.getVariableAttr());
      if (variable && variable.getTrainable())
        active.insert(read.getResult());
      continue;
    }
    if (llvm::any_of(op.getOperands(), [&](Value v) { return active.contains(v); }))
      for (Value result : op.getResults())
        if (isFloatTensor(result))
          active.insert(result);
  }

  // Reverse sweep, emitting the backward ops before the terminator.
  OpBuilder builder(body.getTerminator());
  Value loss = root.getLoss();
  grads[loss] = builder.create<ConstantOp>(
      root.getLoc(), loss.getType(),
      DenseElementsAttr::get(llvm::cast<RankedTensorType>(loss.getType()),
                             builder.getFloatAttr(getElementTypeOrSelf(loss.getType()), 1.0)));

  llvm::MapVector<StringAttr, Value> variableGrads;
  SmallVector<Operation *> forward;
  for (Operation &op : body)
    forward.push_back(&op);
  for (Operation *op : llvm::reverse(forward)) {
    if (op->getNumResults() == 0)
      continue;
    bool reached = llvm::any_of(op->getResults(),
                                [&](Value r) { return active.contains(r) && grads.count(r); });
    if (!reached)
      continue;

    if (auto read = llvm::dyn_cast<ReadOp>(op)) {
      Value grad = grads.lookup(read.getResult());
      auto [it, inserted] = variableGrads.try_emplace(read.getVariableAttr().getAttr(), grad);
      if (!inserted) {
        it->second = builder.create<AddOp>(read.getLoc(), it->second, grad);
        ++numAccumulations;
      }
      continue;
    }

    auto differentiable = llvm::dyn_cast<DifferentiableOpInterface>(op);
    if (!differentiable) {
      op->emitOpError("has no derivative, but the loss depends on it through a trainable "
                      "variable; detach its inputs or implement DifferentiableOpInterface");
      return signalPassFailure();
    }
    SmallVector<Value> resultGrads;
    for (Value result : op->getResults()) {
      Value grad = grads.lookup(result);
      resultGrads.push_back(grad ? grad : zerosLike(builder, op->getLoc(), result.getType()));
    }
    SmallVector<Value> operandGrads;
    if (failed(differentiable.buildVJP(builder, resultGrads, operandGrads)))
      return signalPassFailure();
    if (operandGrads.size() != op->getNumOperands()) {
      op->emitOpError("VJP rule returned ")
          << operandGrads.size() << " gradients for " << op->getNumOperands() << " operands";
      return signalPassFailure();
    }
    for (auto [operand, grad] : llvm::zip(op->getOperands(), operandGrads))
      if (grad && active.contains(operand))
        accumulate(builder, operand, grad);
  }

  // One gradient per trainable variable, in module order; zeros for those the
  // loss does not depend on.
  for (auto variable : module.getOps<VariableOp>()) {
    if (!variable.getTrainable())
      continue;
    Value grad = variableGrads.lookup(variable.getSymNameAttr());
    if (!grad)
      grad = zerosLike(builder, root.getLoc(), variable.getType());
    builder.create<GradientOp>(root.getLoc(), FlatSymbolRefAttr::get(variable.getSymNameAttr()),
                               grad);
    ++numGradients;
  }
  root.erase();
  grads.clear();
}

} // namespace
} // namespace kiln
