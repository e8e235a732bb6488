//===- ElementwiseKernels.cpp - Elementwise loops of the reference device -===//
//
// One loop per op, the switch outside it, so each loop vectorizes. NaNs
// propagate through relu and max (as in PyTorch), so a diverging model shows
// up in the oracle too.
//
//===----------------------------------------------------------------------===//

#include "Kernels.h"

#include <algorithm>
#include <cmath>

namespace kiln::reference {
namespace {

template <typename T, typename Function>
void map(const T *operand, T *result, int64_t count, Function function) {
  for (int64_t i = 0; i < count; ++i)
    result[i] = function(operand[i]);
}

template <typename T, typename R, typename Function>
void zip(const T *lhs, const T *rhs, R *result, int64_t count, Function function) {
  for (int64_t i = 0; i < count; ++i)
    result[i] = function(lhs[i], rhs[i]);
}

} // namespace

template <typename T> void unary(UnaryKind kind, const T *operand, T *result, int64_t count) {
  switch (kind) {
  case UnaryKind::kNeg:
    return map(operand, result, count, [](T x) { return -x; });
  case UnaryKind::kExp:
    return map(operand, result, count, [](T x) { return std::exp(x); });
  case UnaryKind::kLog:
    return map(operand, result, count, [](T x) { return std::log(x); });
  case UnaryKind::kSqrt:
    return map(operand, result, count, [](T x) { return std::sqrt(x); });
  case UnaryKind::kRelu:
    return map(operand, result, count, [](T x) { return x < T(0) ? T(0) : x; });
  case UnaryKind::kTanh:
    return map(operand, result, count, [](T x) { return std::tanh(x); });
  case UnaryKind::kSigmoid:
    return map(operand, result, count, [](T x) { return T(1) / (T(1) + std::exp(-x)); });
  }
}

template <typename T>
void binary(BinaryKind kind, const T *lhs, const T *rhs, T *result, int64_t count) {
  switch (kind) {
  case BinaryKind::kAdd:
    return zip(lhs, rhs, result, count, [](T a, T b) { return a + b; });
  case BinaryKind::kSub:
    return zip(lhs, rhs, result, count, [](T a, T b) { return a - b; });
  case BinaryKind::kMul:
    return zip(lhs, rhs, result, count, [](T a, T b) { return a * b; });
  case BinaryKind::kDiv:
    return zip(lhs, rhs, result, count, [](T a, T b) { return a / b; });
  case BinaryKind::kMax:
    return zip(lhs, rhs, result, count, [](T a, T b) { return a >= b || std::isnan(a) ? a : b; });
  }
}

template <typename T>
void compare(CompareKind kind, const T *lhs, const T *rhs, uint8_t *result, int64_t count) {
  auto mask = [](bool value) { return static_cast<uint8_t>(value); };
  switch (kind) {
  case CompareKind::kEq:
    return zip(lhs, rhs, result, count, [&](T a, T b) { return mask(a == b); });
  case CompareKind::kNe:
    return zip(lhs, rhs, result, count, [&](T a, T b) { return mask(a != b); });
  case CompareKind::kLt:
    return zip(lhs, rhs, result, count, [&](T a, T b) { return mask(a < b); });
  case CompareKind::kLe:
    return zip(lhs, rhs, result, count, [&](T a, T b) { return mask(a <= b); });
  case CompareKind::kGt:
    return zip(lhs, rhs, result, count, [&](T a, T b) { return mask(a > b); });
  case CompareKind::kGe:
    return zip(lhs, rhs, result, count, [&](T a, T b) { return mask(a >= b); });
  }
}

template <typename T>
void select(const uint8_t *condition, const T *onTrue, const T *onFalse, T *result, int64_t count) {
  for (int64_t i = 0; i < count; ++i)
    result[i] = condition[i] ? onTrue[i] : onFalse[i];
}

template <typename T>
void oneHot(const int32_t *labels, T *result, int64_t count, int64_t classes) {
  std::fill(result, result + count * classes, T(0));
  for (int64_t i = 0; i < count; ++i)
    if (labels[i] >= 0 && labels[i] < classes)
      result[i * classes + labels[i]] = T(1);
}

template <typename T>
void meanSquaredError(const T *prediction, const T *target, T *result, int64_t count) {
  T sum = 0;
  for (int64_t i = 0; i < count; ++i) {
    T difference = prediction[i] - target[i];
    sum += difference * difference;
  }
  result[0] = sum / static_cast<T>(count);
}

#define KILN_INSTANTIATE(T)                                                                        \
  template void unary<T>(UnaryKind, const T *, T *, int64_t);                                      \
  template void binary<T>(BinaryKind, const T *, const T *, T *, int64_t);                         \
  template void compare<T>(CompareKind, const T *, const T *, uint8_t *, int64_t);                 \
  template void select<T>(const uint8_t *, const T *, const T *, T *, int64_t);                    \
  template void oneHot<T>(const int32_t *, T *, int64_t, int64_t);                                 \
  template void meanSquaredError<T>(const T *, const T *, T *, int64_t);
KILN_INSTANTIATE(float)
KILN_INSTANTIATE(double)
#undef KILN_INSTANTIATE

} // namespace kiln::reference
