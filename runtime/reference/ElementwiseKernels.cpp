//===- ElementwiseKernels.cpp - Elementwise loops of the reference device -===//
//
// The table of every elementwise graph op's loop, written once as a generic
// lambda over T and instantiated for float and double, plus the comparison,
// selection, one_hot and mse loops, which read or write masks and labels.
// Loops use std:: math, never the ops' MLIR payloads, so the oracle is an
// independent implementation. NaNs propagate through relu, max, minimum and
// clamp (as in PyTorch), so a diverging model shows up in the oracle too.
//
// A new elementwise op needs one entry in `kTable` and nothing else here.
//
//===----------------------------------------------------------------------===//

#include "ElementwiseKernels.h"
#include "Kernels.h"

#include "kiln/Dialect/Graph/GraphDialect.h"

#include "absl/strings/str_cat.h"
#include "llvm/ADT/STLExtras.h"

#include <algorithm>
#include <cmath>

namespace kiln::reference {
namespace {

namespace graph = kiln::graph;
using mlir::Operation;

template <typename T, typename Function> auto unaryLoopOf(Function function) {
  return [function](const T *const *operands, T *result, int64_t count) {
    const T *x = operands[0];
    for (int64_t i = 0; i < count; ++i)
      result[i] = function(x[i]);
  };
}

template <typename T, typename Function> auto binaryLoopOf(Function function) {
  return [function](const T *const *operands, T *result, int64_t count) {
    const T *lhs = operands[0], *rhs = operands[1];
    for (int64_t i = 0; i < count; ++i)
      result[i] = function(lhs[i], rhs[i]);
  };
}

/// `function` (a generic lambda of one T) as a float and a double loop.
template <typename Function> ElementwiseLoop unary(Function function) {
  return {unaryLoopOf<float>(function), unaryLoopOf<double>(function)};
}

/// `function` (a generic lambda of two Ts) as a float and a double loop.
template <typename Function> ElementwiseLoop binary(Function function) {
  return {binaryLoopOf<float>(function), binaryLoopOf<double>(function)};
}

template <typename OpTy> double attribute(Operation *op, llvm::APFloat (OpTy::*getter)()) {
  return (llvm::cast<OpTy>(op).*getter)().convertToDouble();
}

/// One elementwise op: its name and how its loop is configured from it.
struct Entry {
  llvm::StringLiteral op;
  ElementwiseLoop (*configure)(Operation *op);
};

// clang-format off
const Entry kTable[] = {
    {graph::AddOp::getOperationName(),
     [](Operation *) { return binary([](auto a, auto b) { return a + b; }); }},
    {graph::SubOp::getOperationName(),
     [](Operation *) { return binary([](auto a, auto b) { return a - b; }); }},
    {graph::MulOp::getOperationName(),
     [](Operation *) { return binary([](auto a, auto b) { return a * b; }); }},
    {graph::DivOp::getOperationName(),
     [](Operation *) { return binary([](auto a, auto b) { return a / b; }); }},
    {graph::MaxOp::getOperationName(),
     [](Operation *) {
       return binary([](auto a, auto b) { return a >= b || std::isnan(a) ? a : b; });
     }},
    {graph::MinimumOp::getOperationName(),
     [](Operation *) {
       return binary([](auto a, auto b) { return a <= b || std::isnan(a) ? a : b; });
     }},
    {graph::NegOp::getOperationName(),
     [](Operation *) { return unary([](auto x) { return -x; }); }},
    {graph::ExpOp::getOperationName(),
     [](Operation *) { return unary([](auto x) { return std::exp(x); }); }},
    {graph::LogOp::getOperationName(),
     [](Operation *) { return unary([](auto x) { return std::log(x); }); }},
    {graph::Log1pOp::getOperationName(),
     [](Operation *) { return unary([](auto x) { return std::log1p(x); }); }},
    {graph::SqrtOp::getOperationName(),
     [](Operation *) { return unary([](auto x) { return std::sqrt(x); }); }},
    {graph::RsqrtOp::getOperationName(),
     [](Operation *) { return unary([](auto x) { return decltype(x)(1) / std::sqrt(x); }); }},
    {graph::SquareOp::getOperationName(),
     [](Operation *) { return unary([](auto x) { return x * x; }); }},
    {graph::AbsOp::getOperationName(),
     [](Operation *) { return unary([](auto x) { return std::fabs(x); }); }},
    {graph::ErfOp::getOperationName(),
     [](Operation *) { return unary([](auto x) { return std::erf(x); }); }},
    {graph::ReluOp::getOperationName(),
     [](Operation *) {
       return unary([](auto x) { return x < decltype(x)(0) ? decltype(x)(0) : x; });
     }},
    {graph::TanhOp::getOperationName(),
     [](Operation *) { return unary([](auto x) { return std::tanh(x); }); }},
    {graph::SigmoidOp::getOperationName(),
     [](Operation *) {
       return unary([](auto x) {
         using T = decltype(x);
         return T(1) / (T(1) + std::exp(-x));
       });
     }},
    {graph::SiluOp::getOperationName(),
     [](Operation *) {
       return unary([](auto x) {
         using T = decltype(x);
         return x / (T(1) + std::exp(-x));
       });
     }},
    {graph::GeluOp::getOperationName(),
     [](Operation *op) {
       if (llvm::cast<graph::GeluOp>(op).getApproximate() == graph::GeluApproximation::tanh)
         return unary([](auto x) {
           using T = decltype(x);
           T inner = T(std::sqrt(2 / M_PI)) * (x + T(0.044715) * x * x * x);
           return T(0.5) * x * (T(1) + std::tanh(inner));
         });
       return unary([](auto x) {
         using T = decltype(x);
         return T(0.5) * x * (T(1) + std::erf(x / T(std::sqrt(2.0))));
       });
     }},
    {graph::PowOp::getOperationName(),
     [](Operation *op) {
       double exponent = attribute(op, &graph::PowOp::getExponent);
       return unary([exponent](auto x) { return std::pow(x, decltype(x)(exponent)); });
     }},
    {graph::ClampOp::getOperationName(),
     [](Operation *op) {
       double min = attribute(op, &graph::ClampOp::getMin);
       double max = attribute(op, &graph::ClampOp::getMax);
       return unary([min, max](auto x) {
         using T = decltype(x);
         return std::isnan(x) ? x : std::min(std::max(x, T(min)), T(max));
       });
     }},
    {graph::LeakyReluOp::getOperationName(),
     [](Operation *op) {
       double slope = attribute(op, &graph::LeakyReluOp::getNegativeSlope);
       return unary([slope](auto x) { return x > 0 ? x : decltype(x)(slope) * x; });
     }},
    {graph::SoftplusOp::getOperationName(),
     [](Operation *op) {
       double beta = attribute(op, &graph::SoftplusOp::getBeta);
       double threshold = attribute(op, &graph::SoftplusOp::getThreshold);
       return unary([beta, threshold](auto x) {
         using T = decltype(x);
         T scaled = T(beta) * x;
         return scaled > T(threshold) ? x : std::log1p(std::exp(scaled)) / T(beta);
       });
     }},
};
// clang-format on

absl::StatusOr<const Entry *> findEntry(std::string_view opName) {
  const Entry *entry =
      llvm::find_if(kTable, [&](const Entry &e) { return e.op == llvm::StringRef(opName); });
  if (entry == std::end(kTable))
    return absl::UnimplementedError(
        absl::StrCat("reference device: elementwise op '", std::string(opName),
                     "' has no reference loop; add an entry for it to kTable in "
                     "runtime/reference/ElementwiseKernels.cpp"));
  return entry;
}

template <typename T, typename R, typename Function>
void zip(const T *lhs, const T *rhs, R *result, int64_t count, Function function) {
  for (int64_t i = 0; i < count; ++i)
    result[i] = function(lhs[i], rhs[i]);
}

} // namespace

absl::StatusOr<ElementwiseLoop> elementwiseLoop(Operation *op) {
  absl::StatusOr<const Entry *> entry = findEntry(op->getName().getStringRef());
  if (!entry.ok())
    return entry.status();
  return (*entry)->configure(op);
}

absl::Status findElementwiseEntry(std::string_view opName) { return findEntry(opName).status(); }

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
  Accumulator<T> sum = 0;
  for (int64_t i = 0; i < count; ++i) {
    Accumulator<T> difference =
        static_cast<Accumulator<T>>(prediction[i]) - static_cast<Accumulator<T>>(target[i]);
    sum += difference * difference;
  }
  result[0] = static_cast<T>(sum / static_cast<Accumulator<T>>(count));
}

#define KILN_INSTANTIATE(T)                                                                        \
  template void compare<T>(CompareKind, const T *, const T *, uint8_t *, int64_t);                 \
  template void select<T>(const uint8_t *, const T *, const T *, T *, int64_t);                    \
  template void oneHot<T>(const int32_t *, T *, int64_t, int64_t);                                 \
  template void meanSquaredError<T>(const T *, const T *, T *, int64_t);
KILN_INSTANTIATE(float)
KILN_INSTANTIATE(double)
#undef KILN_INSTANTIATE

} // namespace kiln::reference
