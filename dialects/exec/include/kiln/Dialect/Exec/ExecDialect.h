//===- ExecDialect.h - Kiln exec dialect -------------------------*- C++ -*-===//
//
// The exec dialect: a compiled plan as IR (ExecOps.td). Include this header for
// the dialect, its type, attributes and ops.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_DIALECT_EXEC_EXECDIALECT_H
#define KILN_DIALECT_EXEC_EXECDIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/SymbolTable.h"

#include "kiln/Dialect/Exec/ExecDialect.h.inc"
#include "kiln/Dialect/Exec/ExecEnums.h.inc"

#define GET_TYPEDEF_CLASSES
#include "kiln/Dialect/Exec/ExecTypes.h.inc"

#define GET_ATTRDEF_CLASSES
#include "kiln/Dialect/Exec/ExecAttrs.h.inc"

#define GET_OP_CLASSES
#include "kiln/Dialect/Exec/ExecOps.h.inc"

namespace kiln::exec {

/// The exec.buffer defining `value`, or null (a verified plan has no other buffer values).
BufferOp bufferOf(mlir::Value value);

/// Bytes of the buffer a host tensor of `type` occupies: 4 per f32 or i32 element, 1 per i1
/// element (the host's mask layout), rounded up to a multiple of 4.
uint64_t hostTensorBytes(mlir::RankedTensorType type);

} // namespace kiln::exec

#endif // KILN_DIALECT_EXEC_EXECDIALECT_H
