//===- Accesses.cpp - What each exec command reads and writes -------------===//

#include "Accesses.h"

#include "kiln/Exec/Passes.h"

using namespace mlir;

namespace kiln::exec {

PlanOp requirePlan(ModuleOp module, llvm::StringRef pass) {
  PlanOp plan = getPlan(module);
  if (!plan)
    module.emitError() << pass << ": the module holds no exec.plan; run kiln-exec-assemble first";
  return plan;
}

FailureOr<std::vector<int32_t>> elementWords(ElementsAttr attr) {
  std::vector<int32_t> words;
  words.reserve(attr.getNumElements());
  Type elementType = attr.getElementType();
  if (elementType.isF32()) {
    auto values = attr.tryGetValues<APFloat>();
    if (!values)
      return failure();
    for (APFloat value : *values)
      words.push_back(static_cast<int32_t>(value.bitcastToAPInt().getZExtValue()));
    return words;
  }
  if (elementType.isInteger(32) || elementType.isInteger(1)) {
    auto values = attr.tryGetValues<APInt>();
    if (!values)
      return failure();
    for (APInt value : *values)
      words.push_back(static_cast<int32_t>(value.getZExtValue()));
    return words;
  }
  return failure();
}

Accesses accessesOf(Operation *command) {
  Accesses accesses;
  if (auto dispatch = llvm::dyn_cast<DispatchOp>(command)) {
    for (auto [binding, buffer] : llvm::enumerate(dispatch.getBuffers()))
      (dispatch.getWritten()[binding] ? accesses.writes : accesses.reads)
          .push_back(bufferOf(buffer));
  } else if (auto copy = llvm::dyn_cast<CopyOp>(command)) {
    accesses.reads.push_back(bufferOf(copy.getSource()));
    accesses.writes.push_back(bufferOf(copy.getTarget()));
  }
  return accesses;
}

llvm::SmallVector<ProgramOp> programsOf(PlanOp plan) {
  return llvm::to_vector(plan.getBlock().getOps<ProgramOp>());
}

llvm::SmallVector<Operation *> commandsOf(ProgramOp program) {
  llvm::SmallVector<Operation *> commands;
  for (Operation &op : program.getBlock())
    if (!llvm::isa<OutputOp>(op))
      commands.push_back(&op);
  return commands;
}

} // namespace kiln::exec
