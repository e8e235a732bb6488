//===- Accesses.cpp - What each exec command reads and writes -------------===//

#include "Accesses.h"

using namespace mlir;

namespace kiln::exec {

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
