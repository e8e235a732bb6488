//===- WindowShapes.h - Shape rules of pad, slice, concat, windows -*- C++ -*-===//
//
// As GraphShapes.h for the window views (GraphWindowOps.td): one function per
// rule, shared by the verifiers, type inference and the builder (Pooling.cpp),
// each emitting at `loc` (when given) a message naming the op, the attribute
// and the offending dimension.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_DIALECT_GRAPH_WINDOWSHAPES_H
#define KILN_DIALECT_GRAPH_WINDOWSHAPES_H

#include "kiln/Dialect/Graph/GraphShapes.h"

#include "mlir/IR/TypeRange.h"

namespace kiln::graph {

/// `graph.pad`: low, high and interior have one entry >= 0 per dimension.
mlir::FailureOr<mlir::RankedTensorType> inferPadType(OptionalLoc loc, mlir::Type operand,
                                                     llvm::ArrayRef<int64_t> low,
                                                     llvm::ArrayRef<int64_t> high,
                                                     llvm::ArrayRef<int64_t> interior);

/// `graph.slice`: start >= 0 and stride >= 1 per dimension; every element the result's
/// extents take lies inside the operand.
mlir::LogicalResult verifySlice(OptionalLoc loc, mlir::Type operand, llvm::ArrayRef<int64_t> start,
                                llvm::ArrayRef<int64_t> stride, mlir::Type result);

/// `graph.concat`: one or more parts of one rank, equal but along `axis`.
mlir::FailureOr<mlir::RankedTensorType> inferConcatType(OptionalLoc loc, mlir::TypeRange parts,
                                                        int64_t axis);

/// The windows along one spatial extent: (extent - dilation (window - 1) - 1) / stride + 1,
/// or failure when the dilated window does not fit (no diagnostic: callers word it).
mlir::FailureOr<int64_t> windowCount(int64_t extent, int64_t window, int64_t stride,
                                     int64_t dilation);

/// `graph.window` in its plain form: operand [..., S] -> [..., O, K] over the last
/// window.size() dimensions.
mlir::FailureOr<mlir::RankedTensorType> inferWindowType(OptionalLoc loc, mlir::Type operand,
                                                        llvm::ArrayRef<int64_t> window,
                                                        llvm::ArrayRef<int64_t> stride,
                                                        llvm::ArrayRef<int64_t> dilation);

/// `graph.window` (plain [..., S] -> [..., O, K] or per-tap [..., S, K] -> [..., O, K], by the
/// ranks) and `graph.unwindow` ([..., O, K] -> [..., S, K]), named by `opName`.
mlir::LogicalResult verifyWindow(OptionalLoc loc, llvm::StringRef opName, mlir::Type operand,
                                 llvm::ArrayRef<int64_t> window, llvm::ArrayRef<int64_t> stride,
                                 llvm::ArrayRef<int64_t> dilation, mlir::Type result);

/// `graph.iota`: dims sorted, distinct and in range of the f32 result.
mlir::LogicalResult verifyIota(OptionalLoc loc, llvm::ArrayRef<int64_t> dims, mlir::Type result);

} // namespace kiln::graph

#endif // KILN_DIALECT_GRAPH_WINDOWSHAPES_H
