//===- Accesses.h - What each exec command reads and writes ----*- C++ -*-===//
//
// Shared by the exec passes: a dispatch reads and writes its buffers as its
// kernel's `bindings` declare (the dispatch's markers, which the verifier holds
// equal to the kernel's); a copy reads its source and writes its target.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_EXEC_ACCESSES_H
#define KILN_EXEC_ACCESSES_H

#include "kiln/Dialect/Exec/ExecDialect.h"

#include "llvm/ADT/SmallVector.h"

namespace kiln::exec {

struct Accesses {
  llvm::SmallVector<BufferOp, 4> reads, writes;
};

/// The buffers `command` reads and writes (a buffer may be in both); empty for a barrier.
Accesses accessesOf(mlir::Operation *command);

/// The plan's programs in order (@train first): the timeline of the memory planner.
llvm::SmallVector<ProgramOp> programsOf(PlanOp plan);

/// The commands of `program` (dispatches, copies, barriers) in order, without its outputs.
llvm::SmallVector<mlir::Operation *> commandsOf(ProgramOp program);

} // namespace kiln::exec

#endif // KILN_EXEC_ACCESSES_H
