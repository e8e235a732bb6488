//===- ReferenceMath.h - The op registry's own implementations --*- C++ -*-===//
//
// Straightforward definitions of every graph op on row-major doubles, written
// independently of the reference device (no strides, no packing, no shared
// code): each output element is computed from its multi-index exactly as the
// op's documentation states it. They are what the registry's forward tests
// compare devices against.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TESTS_UNIT_OPS_REFERENCEMATH_H
#define KILN_TESTS_UNIT_OPS_REFERENCEMATH_H

#include <cstdint>
#include <functional>
#include <vector>

namespace kiln::ops_test {

using Shape = std::vector<int64_t>;

/// A tensor of any element type as row-major doubles (labels and masks too).
struct Tensor {
  Shape shape;
  std::vector<double> values;
};

int64_t numElements(const Shape &shape);
/// The multi-index of row-major position `flat` in `shape`.
std::vector<int64_t> unravel(int64_t flat, const Shape &shape);
/// The row-major position of `index` in `shape`.
int64_t ravel(const std::vector<int64_t> &index, const Shape &shape);

std::vector<double> map(const Tensor &x, const std::function<double(double)> &f);
std::vector<double> zip(const Tensor &x, const Tensor &y,
                        const std::function<double(double, double)> &f);

/// Result index o takes operand index i with i[d] = o[dims[d]], or 0 where the operand
/// dimension is 1.
std::vector<double> broadcast(const Tensor &x, const std::vector<int64_t> &dims,
                              const Shape &resultShape);
/// Result dimension k is operand dimension perm[k].
std::vector<double> transpose(const Tensor &x, const std::vector<int64_t> &perm);

enum class Reduction { kSum, kMean, kMax };
std::vector<double> reduce(const Tensor &x, const std::vector<int64_t> &axes, Reduction kind);

/// op(a) x op(b) over the last two dimensions, batched over the leading ones.
std::vector<double> matmul(const Tensor &a, const Tensor &b, bool transposeA, bool transposeB);

/// exp(x) / sum(exp(x)) along `axis`, or its logarithm.
std::vector<double> softmax(const Tensor &x, int64_t axis, bool logarithm);

/// labels [N...] -> [N..., classes]; labels outside [0, classes) give zero rows.
std::vector<double> oneHot(const Tensor &labels, int64_t classes);

/// log(sum_c exp(logits[n, c])) - logits[n, labels[n]].
std::vector<double> softmaxCrossEntropy(const Tensor &logits, const Tensor &labels);

/// mean((p - t)^2) as a one-element vector.
std::vector<double> meanSquaredError(const Tensor &p, const Tensor &t);

} // namespace kiln::ops_test

#endif // KILN_TESTS_UNIT_OPS_REFERENCEMATH_H
