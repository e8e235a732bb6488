//===- GraphShapes.h - Shape rules of the graph ops -------------*- C++ -*-===//
//
// One function per shape rule, shared by the ops' verifiers and type
// inference and by the C++ builder, so a shape mistake gets the same precise
// message whether it is found in a `.mlir` file or in a user's model.
//
// Each function emits its diagnostic at `loc` (when given) and fails; the
// message names the op and the offending dimension.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_DIALECT_GRAPH_GRAPHSHAPES_H
#define KILN_DIALECT_GRAPH_GRAPHSHAPES_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Location.h"
#include "mlir/Support/LogicalResult.h"

#include <optional>

namespace kiln::graph {

using OptionalLoc = std::optional<mlir::Location>;

/// Elementwise binary ops: both operands have one type; the result has it too.
mlir::FailureOr<mlir::RankedTensorType>
inferElementwiseType(OptionalLoc loc, llvm::StringRef opName, mlir::Type lhs, mlir::Type rhs);

/// `graph.compare`: same-typed float operands give an i1 mask of their shape.
mlir::FailureOr<mlir::RankedTensorType> inferCompareType(OptionalLoc loc, mlir::Type lhs,
                                                         mlir::Type rhs);

/// `graph.select`: the mask has the shape of the two same-typed branches.
mlir::FailureOr<mlir::RankedTensorType> inferSelectType(OptionalLoc loc, mlir::Type condition,
                                                        mlir::Type onTrue, mlir::Type onFalse);

/// `graph.matmul`: op(lhs) [.., M, K] x op(rhs) [.., K, N] -> [.., M, N].
mlir::FailureOr<mlir::RankedTensorType> inferMatmulType(OptionalLoc loc, mlir::Type lhs,
                                                        mlir::Type rhs, bool transposeLhs,
                                                        bool transposeRhs);

/// `graph.transpose`: `perm` is a permutation of the operand's dimensions.
mlir::FailureOr<mlir::RankedTensorType> inferTransposeType(OptionalLoc loc, mlir::Type operand,
                                                           llvm::ArrayRef<int64_t> perm);

/// `graph.reduce_*`: `axes` are distinct, sorted and in range; they are dropped.
mlir::FailureOr<mlir::RankedTensorType> inferReduceType(OptionalLoc loc, llvm::StringRef opName,
                                                        mlir::Type operand,
                                                        llvm::ArrayRef<int64_t> axes);

/// `graph.softmax` / `graph.log_softmax`: `axis` is in range; shape unchanged.
mlir::FailureOr<mlir::RankedTensorType> inferSoftmaxType(OptionalLoc loc, llvm::StringRef opName,
                                                         mlir::Type operand, int64_t axis);

/// `graph.softmax_cross_entropy`: logits [N, C], labels [N] -> [N].
mlir::FailureOr<mlir::RankedTensorType>
inferSoftmaxCrossEntropyType(OptionalLoc loc, mlir::Type logits, mlir::Type labels);

/// `graph.mse`: same-typed prediction and target give a scalar.
mlir::FailureOr<mlir::RankedTensorType> inferMseType(OptionalLoc loc, mlir::Type prediction,
                                                     mlir::Type target);

/// `graph.broadcast`: operand dim i maps to result dim dims[i], equal or 1.
mlir::LogicalResult verifyBroadcast(OptionalLoc loc, mlir::Type operand,
                                    llvm::ArrayRef<int64_t> dims, mlir::Type result);

/// The `dims` a numpy-style broadcast of `from` to `to` uses (trailing
/// dimensions aligned), or failure when the shapes are incompatible.
mlir::FailureOr<llvm::SmallVector<int64_t>> numpyBroadcastDims(OptionalLoc loc,
                                                               llvm::StringRef opName,
                                                               mlir::RankedTensorType from,
                                                               llvm::ArrayRef<int64_t> toShape);

/// `graph.reshape`: same element type and element count.
mlir::LogicalResult verifyReshape(OptionalLoc loc, mlir::Type operand, mlir::Type result);

/// `graph.one_hot`: labels [N...] give [N..., C] floats.
mlir::LogicalResult verifyOneHot(OptionalLoc loc, mlir::Type labels, mlir::Type result);

} // namespace kiln::graph

#endif // KILN_DIALECT_GRAPH_GRAPHSHAPES_H
