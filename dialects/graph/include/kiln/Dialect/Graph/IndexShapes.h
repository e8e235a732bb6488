//===- IndexShapes.h - Shape rules of gather and scatter_add ----*- C++ -*-===//
//
// As GraphShapes.h for the index ops (GraphIndexOps.td): one function per
// rule, shared by the verifiers, type inference and the builder
// (Embedding.cpp), each emitting at `loc` (when given) a message naming the
// op, the operand and the offending dimension.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_DIALECT_GRAPH_INDEXSHAPES_H
#define KILN_DIALECT_GRAPH_INDEXSHAPES_H

#include "kiln/Dialect/Graph/GraphShapes.h"

namespace kiln::graph {

/// The shape of gathering `table` at `indices` along `axis`: the table's shape with
/// dimension `axis` replaced by the indices' dimensions ([A..., V, B...] at [N...] gives
/// [A..., N..., B...]). No checks: see inferGatherType.
llvm::SmallVector<int64_t> gatheredShape(llvm::ArrayRef<int64_t> table,
                                         llvm::ArrayRef<int64_t> indices, int64_t axis);

/// `graph.gather`: a static f32 table of rank >= 1, static i32 indices of any rank, and
/// 0 <= axis < rank(table); the result has the gathered shape.
mlir::FailureOr<mlir::RankedTensorType> inferGatherType(OptionalLoc loc, mlir::Type table,
                                                        mlir::Type indices, int64_t axis);

/// `graph.scatter_add`: a static f32 result of rank >= 1 (the table's shape), static i32
/// indices, 0 <= axis < rank(result), and f32 updates of the shape gathering the result at the
/// indices would have.
mlir::LogicalResult verifyScatterAdd(OptionalLoc loc, mlir::Type updates, mlir::Type indices,
                                     int64_t axis, mlir::Type result);

} // namespace kiln::graph

#endif // KILN_DIALECT_GRAPH_INDEXSHAPES_H
