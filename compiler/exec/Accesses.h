//===- Accesses.h - What exec commands touch; what passes share -*- C++ -*-===//
//
// Shared by the exec passes: a dispatch reads and writes its buffers as its
// kernel's `bindings` declare (the dispatch's markers, which the verifier holds
// equal to the kernel's); a copy reads its source and writes its target.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_EXEC_ACCESSES_H
#define KILN_EXEC_ACCESSES_H

#include "kiln/Dialect/Exec/ExecDialect.h"

#include "mlir/IR/BuiltinAttributeInterfaces.h"
#include "llvm/ADT/SmallVector.h"

#include <vector>

namespace kiln::exec {

struct Accesses {
  llvm::SmallVector<BufferOp, 4> reads, writes;
};

/// The module's exec.plan; null, after an error naming `pass`, when it holds none.
PlanOp requirePlan(mlir::ModuleOp module, llvm::StringRef pass);

/// Element i of a float, i32 or i1 elements attribute as the 32-bit word a kernel reads (the
/// bits of an f32, an i32, 0 or 1); failure for other element types.
mlir::FailureOr<std::vector<int32_t>> elementWords(mlir::ElementsAttr attr);

/// The buffers `command` reads and writes (a buffer may be in both); empty for a barrier.
Accesses accessesOf(mlir::Operation *command);

/// The plan's programs in order (@train first): the timeline of the memory planner.
llvm::SmallVector<ProgramOp> programsOf(PlanOp plan);

/// The commands of `program` (dispatches, copies, barriers) in order, without its outputs.
llvm::SmallVector<mlir::Operation *> commandsOf(ProgramOp program);

} // namespace kiln::exec

#endif // KILN_EXEC_ACCESSES_H
