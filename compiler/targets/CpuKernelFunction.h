//===- CpuKernelFunction.h - The frame every CPU kernel kind fills -*- C++ -*-===//
//
// A public func.func with the CPU kernel signature, its binding pointers loaded at the top
// and its tile range as index values; the kind emits its loops after them.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TARGETS_CPUKERNELFUNCTION_H
#define KILN_TARGETS_CPUKERNELFUNCTION_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

namespace kiln::targets::detail {

struct CpuKernelFunction {
  mlir::func::FuncOp function;
  /// The base pointer of each binding (results first, then arguments).
  llvm::SmallVector<mlir::Value> bindings;
  /// tile_begin and tile_end as index values.
  mlir::Value tileBegin, tileEnd;
};

/// Creates @name with `numBindings` bindings at the end of `into`; `b` is left at the end
/// of its entry block, before any terminator (the caller adds the func.return).
CpuKernelFunction createCpuKernelFunction(mlir::OpBuilder &b, mlir::ModuleOp into,
                                          mlir::Location loc, llvm::StringRef name,
                                          unsigned numBindings);

/// The address of f32 element `element` (an index value) of `base`.
mlir::Value elementAddress(mlir::OpBuilder &b, mlir::Location loc, mlir::Value base,
                           mlir::Value element);

} // namespace kiln::targets::detail

#endif // KILN_TARGETS_CPUKERNELFUNCTION_H
