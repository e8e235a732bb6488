//===- GraphInterfaces.h - Types the graph op interfaces use ----*- C++ -*-===//
//
// The C++ side of GraphInterfaces.td: the iteration-space description, row
// statistics' combiners and the callbacks views and row ops read through.
// Include GraphDialect.h, which includes this before the generated
// interfaces.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_DIALECT_GRAPH_GRAPHINTERFACES_H
#define KILN_DIALECT_GRAPH_GRAPHINTERFACES_H

#include "mlir/IR/AffineMap.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/SmallVector.h"

#include <cstdint>

namespace kiln::graph {

/// How an op iterating over more than its result loops.
enum class IterationKind {
  Contraction, ///< a matrix product: one reduced dimension, two operands multiplied
  Reduction,   ///< a reduction of one operand (or of a term of several) over some dimensions
  Row,         ///< a row computation (RowOpInterface) along one axis
};

/// Whether a loop covers independent elements or is combined.
enum class IteratorType { Parallel, Reduced };

/// How terms combine in a reduction or a row statistic.
enum class Combiner { Add, Max };

/// The loops of an op and how each operand and the result are indexed by them
/// (maps from the loop indices, as in linalg.generic). `operandMaps` has one map
/// per operand; `combiner` is meaningful for reductions and contractions (Add). The maps are
/// null where the reads are not affine: the convolution ops' contractions (loops group, row,
/// col, depth), whose index their consumers take from convGeometryOf (ConvGeometry.h).
struct IterationSpace {
  IterationKind kind = IterationKind::Reduction;
  llvm::SmallVector<IteratorType> iterators;
  llvm::SmallVector<int64_t> extents;
  llvm::SmallVector<mlir::AffineMap> operandMaps;
  mlir::AffineMap resultMap;
  Combiner combiner = Combiner::Add;
  /// Reductions: whether the terms must combine one at a time in ascending row-major order of
  /// the reduced loops on every target (one thread per result element, no tree), so every
  /// device computes the same bits (graph.scatter_add).
  bool ordered = false;

  /// The loop dimensions that are reduced, in order.
  llvm::SmallVector<int64_t> reducedDims() const {
    llvm::SmallVector<int64_t> dims;
    for (auto [d, type] : llvm::enumerate(iterators))
      if (type == IteratorType::Reduced)
        dims.push_back(static_cast<int64_t>(d));
    return dims;
  }
};

/// Operand `operand`'s element at `index` (one index value per dimension).
using OperandElementFn =
    llvm::function_ref<mlir::FailureOr<mlir::Value>(unsigned operand, mlir::ValueRange index)>;
/// Element `position` (an index value) of the row being computed.
using RowElementFn = llvm::function_ref<mlir::Value(mlir::Value position)>;

/// An f32 scalar constant, for payloads.
mlir::Value f32Constant(mlir::OpBuilder &builder, mlir::Location loc, double value);

} // namespace kiln::graph

#endif // KILN_DIALECT_GRAPH_GRAPHINTERFACES_H
