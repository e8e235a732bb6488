//===- Ops.h - Tensor ops of the builder ------------------------*- C++ -*-===//
//
// Free functions that emit graph-dialect ops on the Builder their operands
// belong to, XLA-client style: `relu(matmul(x, w, {.transposeRhs = true}))`.
// Each takes a defaulted std::source_location so the op carries the line of
// the user's call. Shapes are checked with the dialect's shared rules before
// an op is created; a failure records the builder's error and returns a
// poisoned Tensor.
//
// Elementwise binary ops broadcast numpy-style (trailing dimensions aligned,
// size-1 dimensions stretched) by inserting graph.broadcast. Negative axes
// count from the end.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_OPS_H
#define KILN_OPS_H

#include "kiln/Builder.h"

namespace kiln {

using SourceLocation = std::source_location;

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

/// lhs + rhs, broadcasting numpy-style.
Tensor add(Tensor lhs, Tensor rhs, SourceLocation loc = SourceLocation::current());
/// lhs - rhs, broadcasting numpy-style.
Tensor sub(Tensor lhs, Tensor rhs, SourceLocation loc = SourceLocation::current());
/// lhs * rhs, broadcasting numpy-style.
Tensor mul(Tensor lhs, Tensor rhs, SourceLocation loc = SourceLocation::current());
/// lhs / rhs, broadcasting numpy-style.
Tensor div(Tensor lhs, Tensor rhs, SourceLocation loc = SourceLocation::current());
/// max(lhs, rhs) elementwise, broadcasting numpy-style.
Tensor maximum(Tensor lhs, Tensor rhs, SourceLocation loc = SourceLocation::current());
/// min(lhs, rhs) elementwise (NaN if either is NaN), broadcasting numpy-style.
Tensor minimum(Tensor lhs, Tensor rhs, SourceLocation loc = SourceLocation::current());

/// The same ops with a scalar, which becomes a constant of the tensor's shape.
Tensor add(Tensor lhs, float rhs, SourceLocation loc = SourceLocation::current());
Tensor sub(Tensor lhs, float rhs, SourceLocation loc = SourceLocation::current());
Tensor sub(float lhs, Tensor rhs, SourceLocation loc = SourceLocation::current());
Tensor mul(Tensor lhs, float rhs, SourceLocation loc = SourceLocation::current());
Tensor div(Tensor lhs, float rhs, SourceLocation loc = SourceLocation::current());
Tensor div(float lhs, Tensor rhs, SourceLocation loc = SourceLocation::current());
Tensor maximum(Tensor lhs, float rhs, SourceLocation loc = SourceLocation::current());
Tensor minimum(Tensor lhs, float rhs, SourceLocation loc = SourceLocation::current());

Tensor neg(Tensor x, SourceLocation loc = SourceLocation::current());
Tensor exp(Tensor x, SourceLocation loc = SourceLocation::current());
Tensor log(Tensor x, SourceLocation loc = SourceLocation::current());
Tensor sqrt(Tensor x, SourceLocation loc = SourceLocation::current());
Tensor relu(Tensor x, SourceLocation loc = SourceLocation::current());
Tensor tanh(Tensor x, SourceLocation loc = SourceLocation::current());
Tensor sigmoid(Tensor x, SourceLocation loc = SourceLocation::current());
/// x * sigmoid(x).
Tensor silu(Tensor x, SourceLocation loc = SourceLocation::current());
Tensor erf(Tensor x, SourceLocation loc = SourceLocation::current());
Tensor abs(Tensor x, SourceLocation loc = SourceLocation::current());
/// 1 / sqrt(x).
Tensor rsqrt(Tensor x, SourceLocation loc = SourceLocation::current());
/// x * x.
Tensor square(Tensor x, SourceLocation loc = SourceLocation::current());
/// ln(1 + x), accurate for small x.
Tensor log1p(Tensor x, SourceLocation loc = SourceLocation::current());
/// x * Phi(x), as PyTorch's gelu(x, approximate='none' | 'tanh').
Tensor gelu(Tensor x, graph::GeluApproximation approximate = graph::GeluApproximation::none,
            SourceLocation loc = SourceLocation::current());
/// x^exponent for a constant exponent; fails if the exponent is not finite.
Tensor pow(Tensor x, double exponent, SourceLocation loc = SourceLocation::current());
/// min(max(x, min), max); fails unless min <= max.
Tensor clamp(Tensor x, double min, double max, SourceLocation loc = SourceLocation::current());
/// x > 0 ? x : negativeSlope * x, as PyTorch's leaky_relu.
Tensor leakyRelu(Tensor x, double negativeSlope = 0.01,
                 SourceLocation loc = SourceLocation::current());
/// beta x > threshold ? x : ln(1 + e^(beta x)) / beta, as PyTorch's softplus; fails unless
/// beta is finite and nonzero.
Tensor softplus(Tensor x, double beta = 1.0, double threshold = 20.0,
                SourceLocation loc = SourceLocation::current());

/// An i1 mask `lhs <predicate> rhs`, broadcasting numpy-style.
Tensor compare(Tensor lhs, graph::ComparePredicate predicate, Tensor rhs,
               SourceLocation loc = SourceLocation::current());
/// condition ? onTrue : onFalse; the branches broadcast to the mask's shape.
Tensor select(Tensor condition, Tensor onTrue, Tensor onFalse,
              SourceLocation loc = SourceLocation::current());

//===----------------------------------------------------------------------===//
// Shapes
//===----------------------------------------------------------------------===//

/// Broadcasts `x` numpy-style to `shape` (returns `x` when it already has it).
Tensor broadcastTo(Tensor x, llvm::ArrayRef<int64_t> shape,
                   SourceLocation loc = SourceLocation::current());
/// graph.broadcast: operand dimension i becomes result dimension dims[i].
Tensor broadcastInDim(Tensor x, llvm::ArrayRef<int64_t> dims, llvm::ArrayRef<int64_t> shape,
                      SourceLocation loc = SourceLocation::current());
/// Row-major reshape; one dimension may be -1 (inferred from the rest).
Tensor reshape(Tensor x, llvm::ArrayRef<int64_t> shape,
               SourceLocation loc = SourceLocation::current());
/// Result dimension i is operand dimension perm[i].
Tensor transpose(Tensor x, llvm::ArrayRef<int64_t> perm,
                 SourceLocation loc = SourceLocation::current());

//===----------------------------------------------------------------------===//
// Reductions (the axes are dropped; any order, negative from the end)
//===----------------------------------------------------------------------===//

Tensor reduceSum(Tensor x, llvm::ArrayRef<int64_t> axes,
                 SourceLocation loc = SourceLocation::current());
Tensor reduceMean(Tensor x, llvm::ArrayRef<int64_t> axes,
                  SourceLocation loc = SourceLocation::current());
Tensor reduceMax(Tensor x, llvm::ArrayRef<int64_t> axes,
                 SourceLocation loc = SourceLocation::current());
/// Reductions over every axis, giving a scalar.
Tensor reduceSum(Tensor x, SourceLocation loc = SourceLocation::current());
Tensor reduceMean(Tensor x, SourceLocation loc = SourceLocation::current());

//===----------------------------------------------------------------------===//
// Linear algebra, normalisation, labels
//===----------------------------------------------------------------------===//

/// Whether matmul transposes the last two dimensions of an operand.
struct MatmulOptions {
  bool transposeLhs = false;
  bool transposeRhs = false;
};

/// op(lhs) x op(rhs) over the last two dimensions, batched over the leading ones, which
/// broadcast numpy-style (graph.broadcast makes them equal). lhs [..., M, K] with a 2-D rhs
/// [K, N] (lhs not transposed) is one 2-D matmul on lhs reshaped to [prod(...) * M, K].
Tensor matmul(Tensor lhs, Tensor rhs, MatmulOptions options = {},
              SourceLocation loc = SourceLocation::current());
Tensor softmax(Tensor x, int64_t axis = -1, SourceLocation loc = SourceLocation::current());
Tensor logSoftmax(Tensor x, int64_t axis = -1, SourceLocation loc = SourceLocation::current());
/// i32 labels [N...] to f32 one-hot rows [N..., numClasses].
Tensor oneHot(Tensor labels, int64_t numClasses, SourceLocation loc = SourceLocation::current());

//===----------------------------------------------------------------------===//
// Operators
//===----------------------------------------------------------------------===//

/// An operand that remembers where the expression using it was written:
/// operators cannot take a defaulted std::source_location, so the implicit
/// conversion to this type captures the user's line instead.
struct LocatedTensor {
  LocatedTensor(Tensor tensor, SourceLocation loc = SourceLocation::current())
      : tensor(tensor), loc(loc) {}
  Tensor tensor;
  SourceLocation loc;
};

inline Tensor operator+(LocatedTensor lhs, Tensor rhs) { return add(lhs.tensor, rhs, lhs.loc); }
inline Tensor operator-(LocatedTensor lhs, Tensor rhs) { return sub(lhs.tensor, rhs, lhs.loc); }
inline Tensor operator*(LocatedTensor lhs, Tensor rhs) { return mul(lhs.tensor, rhs, lhs.loc); }
inline Tensor operator/(LocatedTensor lhs, Tensor rhs) { return div(lhs.tensor, rhs, lhs.loc); }
inline Tensor operator-(LocatedTensor x) { return neg(x.tensor, x.loc); }

inline Tensor operator+(LocatedTensor lhs, float rhs) { return add(lhs.tensor, rhs, lhs.loc); }
inline Tensor operator-(LocatedTensor lhs, float rhs) { return sub(lhs.tensor, rhs, lhs.loc); }
inline Tensor operator*(LocatedTensor lhs, float rhs) { return mul(lhs.tensor, rhs, lhs.loc); }
inline Tensor operator/(LocatedTensor lhs, float rhs) { return div(lhs.tensor, rhs, lhs.loc); }
inline Tensor operator+(float lhs, LocatedTensor rhs) { return add(rhs.tensor, lhs, rhs.loc); }
inline Tensor operator-(float lhs, LocatedTensor rhs) { return sub(lhs, rhs.tensor, rhs.loc); }
inline Tensor operator*(float lhs, LocatedTensor rhs) { return mul(rhs.tensor, lhs, rhs.loc); }
inline Tensor operator/(float lhs, LocatedTensor rhs) { return div(lhs, rhs.tensor, rhs.loc); }

} // namespace kiln

#endif // KILN_OPS_H
