//===- ReferenceMath.cpp - The op registry's own implementations ---------===//
//
// Deliberately naive: loops over output multi-indices, sums in double.
//
//===----------------------------------------------------------------------===//

#include "ReferenceMath.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace kiln::ops_test {

int64_t numElements(const Shape &shape) {
  int64_t count = 1;
  for (int64_t d : shape)
    count *= d;
  return count;
}

std::vector<int64_t> unravel(int64_t flat, const Shape &shape) {
  std::vector<int64_t> index(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    index[d] = flat % shape[d];
    flat /= shape[d];
  }
  return index;
}

int64_t ravel(const std::vector<int64_t> &index, const Shape &shape) {
  int64_t flat = 0;
  for (size_t d = 0; d < shape.size(); ++d)
    flat = flat * shape[d] + index[d];
  return flat;
}

std::vector<double> map(const Tensor &x, const std::function<double(double)> &f) {
  std::vector<double> out;
  for (double v : x.values)
    out.push_back(f(v));
  return out;
}

std::vector<double> zip(const Tensor &x, const Tensor &y,
                        const std::function<double(double, double)> &f) {
  std::vector<double> out;
  for (size_t i = 0; i < x.values.size(); ++i)
    out.push_back(f(x.values[i], y.values[i]));
  return out;
}

std::vector<double> broadcast(const Tensor &x, const std::vector<int64_t> &dims,
                              const Shape &resultShape) {
  std::vector<double> out(numElements(resultShape));
  for (int64_t o = 0; o < static_cast<int64_t>(out.size()); ++o) {
    std::vector<int64_t> result = unravel(o, resultShape);
    std::vector<int64_t> operand(x.shape.size());
    for (size_t d = 0; d < x.shape.size(); ++d)
      operand[d] = x.shape[d] == 1 ? 0 : result[dims[d]];
    out[o] = x.values[ravel(operand, x.shape)];
  }
  return out;
}

std::vector<double> transpose(const Tensor &x, const std::vector<int64_t> &perm) {
  Shape resultShape;
  for (int64_t p : perm)
    resultShape.push_back(x.shape[p]);
  std::vector<double> out(x.values.size());
  for (int64_t o = 0; o < static_cast<int64_t>(out.size()); ++o) {
    std::vector<int64_t> result = unravel(o, resultShape);
    std::vector<int64_t> operand(x.shape.size());
    for (size_t k = 0; k < perm.size(); ++k)
      operand[perm[k]] = result[k];
    out[o] = x.values[ravel(operand, x.shape)];
  }
  return out;
}

std::vector<double> reduce(const Tensor &x, const std::vector<int64_t> &axes, Reduction kind) {
  Shape resultShape;
  int64_t reducedCount = 1;
  for (int64_t d = 0; d < static_cast<int64_t>(x.shape.size()); ++d) {
    if (std::count(axes.begin(), axes.end(), d))
      reducedCount *= x.shape[d];
    else
      resultShape.push_back(x.shape[d]);
  }
  double start = kind == Reduction::kMax ? -std::numeric_limits<double>::infinity() : 0.0;
  std::vector<double> out(numElements(resultShape), start);
  for (int64_t i = 0; i < static_cast<int64_t>(x.values.size()); ++i) {
    std::vector<int64_t> operand = unravel(i, x.shape), kept;
    for (int64_t d = 0; d < static_cast<int64_t>(x.shape.size()); ++d)
      if (!std::count(axes.begin(), axes.end(), d))
        kept.push_back(operand[d]);
    double &slot = out[ravel(kept, resultShape)];
    slot = kind == Reduction::kMax ? std::max(slot, x.values[i]) : slot + x.values[i];
  }
  if (kind == Reduction::kMean)
    for (double &v : out)
      v /= static_cast<double>(reducedCount);
  return out;
}

std::vector<double> matmul(const Tensor &a, const Tensor &b, bool transposeA, bool transposeB) {
  size_t rank = a.shape.size();
  int64_t aRows = a.shape[rank - 2], aColumns = a.shape[rank - 1];
  int64_t bRows = b.shape[rank - 2], bColumns = b.shape[rank - 1];
  int64_t m = transposeA ? aColumns : aRows, k = transposeA ? aRows : aColumns;
  int64_t n = transposeB ? bRows : bColumns;
  int64_t batch = numElements(Shape(a.shape.begin(), a.shape.end() - 2));
  // Element (i, j) of op(X) for matrix `index` of the batch.
  auto element = [](const Tensor &x, int64_t index, bool transposed, int64_t i, int64_t j) {
    size_t r = x.shape.size();
    int64_t rows = x.shape[r - 2], columns = x.shape[r - 1];
    int64_t row = transposed ? j : i, column = transposed ? i : j;
    return x.values[index * rows * columns + row * columns + column];
  };
  std::vector<double> out(batch * m * n, 0.0);
  for (int64_t s = 0; s < batch; ++s)
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double sum = 0;
        for (int64_t p = 0; p < k; ++p)
          sum += element(a, s, transposeA, i, p) * element(b, s, transposeB, p, j);
        out[(s * m + i) * n + j] = sum;
      }
  return out;
}

std::vector<double> softmax(const Tensor &x, int64_t axis, bool logarithm) {
  std::vector<double> out(x.values.size());
  for (int64_t o = 0; o < static_cast<int64_t>(out.size()); ++o) {
    std::vector<int64_t> index = unravel(o, x.shape);
    double sum = 0;
    for (int64_t a = 0; a < x.shape[axis]; ++a) {
      std::vector<int64_t> other = index;
      other[axis] = a;
      sum += std::exp(x.values[ravel(other, x.shape)]);
    }
    out[o] = logarithm ? x.values[o] - std::log(sum) : std::exp(x.values[o]) / sum;
  }
  return out;
}

std::vector<double> oneHot(const Tensor &labels, int64_t classes) {
  std::vector<double> out;
  for (double label : labels.values)
    for (int64_t c = 0; c < classes; ++c)
      out.push_back(label == static_cast<double>(c) ? 1.0 : 0.0);
  return out;
}

std::vector<double> softmaxCrossEntropy(const Tensor &logits, const Tensor &labels) {
  int64_t rows = logits.shape[0], classes = logits.shape[1];
  std::vector<double> out;
  for (int64_t n = 0; n < rows; ++n) {
    double sum = 0;
    for (int64_t c = 0; c < classes; ++c)
      sum += std::exp(logits.values[n * classes + c]);
    int64_t label = static_cast<int64_t>(labels.values[n]);
    out.push_back(std::log(sum) - logits.values[n * classes + label]);
  }
  return out;
}

std::vector<double> meanSquaredError(const Tensor &p, const Tensor &t) {
  double sum = 0;
  for (size_t i = 0; i < p.values.size(); ++i)
    sum += (p.values[i] - t.values[i]) * (p.values[i] - t.values[i]);
  return {sum / static_cast<double>(p.values.size())};
}

} // namespace kiln::ops_test
