//===- SoftmaxKernels.cpp - softmax, log_softmax and cross entropy --------===//
//
// Numerically stable forms: the maximum along the axis is subtracted before
// exponentiating, so large logits neither overflow nor lose the answer. A row
// is computed in Accumulator<T> (double for float32: the exponentials, their
// sum and its logarithm) and each result rounded to T once.
//
//===----------------------------------------------------------------------===//

#include "Kernels.h"

#include "absl/strings/str_cat.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace kiln::reference {

template <typename T>
void softmax(bool logarithm, const T *operand, T *result, const AxisLayout &layout) {
  using Wide = Accumulator<T>;
  int64_t size = layout.size, inner = layout.inner;
  for (int64_t o = 0; o < layout.outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const T *in = operand + o * size * inner + i;
      T *out = result + o * size * inner + i;
      Wide maximum = -std::numeric_limits<Wide>::infinity();
      for (int64_t a = 0; a < size; ++a)
        maximum = std::max(maximum, static_cast<Wide>(in[a * inner]));
      Wide sum = 0;
      for (int64_t a = 0; a < size; ++a)
        sum += std::exp(in[a * inner] - maximum);
      if (logarithm) {
        Wide logSum = std::log(sum);
        for (int64_t a = 0; a < size; ++a)
          out[a * inner] = static_cast<T>(in[a * inner] - maximum - logSum);
      } else {
        for (int64_t a = 0; a < size; ++a)
          out[a * inner] = static_cast<T>(std::exp(in[a * inner] - maximum) / sum);
      }
    }
  }
}

template <typename T>
absl::Status softmaxCrossEntropy(const T *logits, const int32_t *labels, T *result,
                                 const AxisLayout &layout, std::string_view where) {
  int64_t classes = layout.size;
  for (int64_t r = 0; r < layout.outer; ++r) {
    int32_t label = labels[r];
    if (label < 0 || label >= classes)
      return absl::InvalidArgumentError(absl::StrCat(
          std::string(where), ": label ", label, " of example ", r, " is outside [0, ", classes,
          "); labels must be class indices (check the dataset's label range and "
          "the model's class count)"));
    using Wide = Accumulator<T>;
    const T *row = logits + r * classes;
    Wide maximum = -std::numeric_limits<Wide>::infinity();
    for (int64_t c = 0; c < classes; ++c)
      maximum = std::max(maximum, static_cast<Wide>(row[c]));
    Wide sum = 0;
    for (int64_t c = 0; c < classes; ++c)
      sum += std::exp(row[c] - maximum);
    result[r] = static_cast<T>(std::log(sum) + (maximum - row[label]));
  }
  return absl::OkStatus();
}

#define KILN_INSTANTIATE(T)                                                                        \
  template void softmax<T>(bool, const T *, T *, const AxisLayout &);                              \
  template absl::Status softmaxCrossEntropy<T>(const T *, const int32_t *, T *,                    \
                                               const AxisLayout &, std::string_view);
KILN_INSTANTIATE(float)
KILN_INSTANTIATE(double)
#undef KILN_INSTANTIATE

} // namespace kiln::reference
