//===- Pooling.cpp - Pooling, padding, slicing and concatenation ----------===//
//
// Shape rules are the dialect's (WindowShapes.h), run under the builder's
// diagnostic capture, so a mistake is reported at the user's call with the
// verifier's message; the pooling-specific rules (rank 4, PyTorch's limit on
// padding) are checked here first, naming the function and the option.
//
//===----------------------------------------------------------------------===//

#include "kiln/Pooling.h"

#include "OpSupport.h"
#include "kiln/Dialect/Graph/GraphDialect.h"
#include "kiln/Dialect/Graph/WindowShapes.h"

#include "absl/strings/str_cat.h"

#include <limits>

using namespace mlir;

namespace kiln {
namespace {

/// graph.pad of `x`, with the dialect's shape rule.
Tensor emitPad(Builder &b, Tensor x, ArrayRef<int64_t> low, ArrayRef<int64_t> high,
               ArrayRef<int64_t> interior, float value, SourceLocation loc) {
  FailureOr<RankedTensorType> type;
  if (!b.check(
          [&](Location l) {
            type = graph::inferPadType(l, x.type(), low, high, interior);
            return success(succeeded(type));
          },
          loc))
    return b.poison();
  return b.create<graph::PadOp>(loc, *type, x.value(), low, high, interior, llvm::APFloat(value));
}

/// The checked options of a pooling of x [N, C, H, W] and the windows of x padded with
/// `fill`: [N, C, OH, OW, KH, KW].
Tensor poolWindows(StringRef function, Builder &b, Tensor x, const Pool2dOptions &options,
                   float fill, SourceLocation loc) {
  std::array<int64_t, 2> stride = options.stride.value_or(options.kernel);
  const char *axes[2] = {"height", "width"};
  if (x.rank() != 4) {
    b.reportError(
        absl::StrCat(function.str(), ": x must have rank 4 [N, C, H, W], got ", describe(x.type())),
        loc);
    return b.poison();
  }
  for (int d = 0; d < 2; ++d) {
    std::string problem;
    if (options.kernel[d] < 1)
      problem = absl::StrCat("kernel ", axes[d], " (kernel[", d, "]) must be >= 1, got ",
                             options.kernel[d]);
    else if (stride[d] < 1)
      problem =
          absl::StrCat("stride ", axes[d], " (stride[", d, "]) must be >= 1, got ", stride[d]);
    else if (options.padding[d] < 0)
      problem = absl::StrCat("padding ", axes[d], " (padding[", d, "]) must be >= 0, got ",
                             options.padding[d]);
    else if (options.padding[d] > options.kernel[d] / 2)
      problem = absl::StrCat("padding ", axes[d], " (padding[", d, "]) = ", options.padding[d],
                             " is more than half the kernel ", axes[d], " ", options.kernel[d],
                             " (PyTorch's limit: a window must not lie in the padding only)");
    if (!problem.empty()) {
      b.reportError(absl::StrCat(function.str(), ": ", problem), loc);
      return b.poison();
    }
  }
  int64_t ph = options.padding[0], pw = options.padding[1];
  Tensor padded = x;
  if (ph != 0 || pw != 0)
    padded = emitPad(b, x, {0, 0, ph, pw}, {0, 0, ph, pw}, {0, 0, 0, 0}, fill, loc);
  if (!padded.ok())
    return padded;
  FailureOr<RankedTensorType> type;
  if (!b.check(
          [&](Location l) {
            type = graph::inferWindowType(l, padded.type(), options.kernel, stride, {1, 1});
            return success(succeeded(type));
          },
          loc))
    return b.poison();
  std::array<int64_t, 2> dilation = {1, 1};
  return b.create<graph::WindowOp>(loc, *type, padded.value(), options.kernel, stride, dilation);
}

} // namespace

Tensor maxPool2d(Tensor x, Pool2dOptions options, SourceLocation loc) {
  Builder *b = builderFor("maxPool2d", {x}, loc);
  if (!b)
    return poisoned({x});
  Tensor windows =
      poolWindows("maxPool2d", *b, x, options, -std::numeric_limits<float>::infinity(), loc);
  if (!windows.ok())
    return windows;
  int64_t rank = windows.rank();
  SmallVector<int64_t> axes = {rank - 2, rank - 1};
  auto type = RankedTensorType::get(windows.shape().drop_back(2), windows.type().getElementType());
  return b->create<graph::ReduceMaxOp>(loc, type, windows.value(), axes,
                                       /*first_max_gradient=*/true);
}

Tensor avgPool2d(Tensor x, Pool2dOptions options, SourceLocation loc) {
  Builder *b = builderFor("avgPool2d", {x}, loc);
  if (!b)
    return poisoned({x});
  Tensor windows = poolWindows("avgPool2d", *b, x, options, 0.0f, loc);
  if (!windows.ok())
    return windows;
  bool padded = options.padding[0] != 0 || options.padding[1] != 0;
  if (options.countIncludePad || !padded)
    return reduceMean(windows, {4, 5}, loc);
  // count_include_pad=False: divide each window's sum by the input elements it covers, a
  // constant of the output's spatial shape.
  std::array<int64_t, 2> stride = options.stride.value_or(options.kernel);
  llvm::ArrayRef<int64_t> shape = windows.shape();
  int64_t oh = shape[2], ow = shape[3];
  std::vector<float> counts;
  for (int64_t oy = 0; oy < oh; ++oy)
    for (int64_t ox = 0; ox < ow; ++ox) {
      auto covered = [&](int64_t o, int d) {
        int64_t begin = o * stride[d] - options.padding[d];
        int64_t end = begin + options.kernel[d];
        return std::min(end, x.dim(2 + d)) - std::max<int64_t>(begin, 0);
      };
      counts.push_back(static_cast<float>(covered(oy, 0) * covered(ox, 1)));
    }
  Tensor sums = reduceSum(windows, {4, 5}, loc);
  Tensor divisor = broadcastInDim(b->constant({oh, ow}, counts, loc), {2, 3}, sums.shape(), loc);
  return div(sums, divisor, loc);
}

Tensor globalAvgPool2d(Tensor x, SourceLocation loc) {
  Builder *b = builderFor("globalAvgPool2d", {x}, loc);
  if (!b)
    return poisoned({x});
  if (x.rank() != 4) {
    b->reportError(
        absl::StrCat("globalAvgPool2d: x must have rank 4 [N, C, H, W], got ", describe(x.type())),
        loc);
    return b->poison();
  }
  return reduceMean(x, {2, 3}, loc);
}

Tensor pad(Tensor x, llvm::ArrayRef<int64_t> low, llvm::ArrayRef<int64_t> high, float value,
           SourceLocation loc) {
  Builder *b = builderFor("graph.pad", {x}, loc);
  if (!b)
    return poisoned({x});
  SmallVector<int64_t> interior(x.rank(), 0);
  return emitPad(*b, x, low, high, interior, value, loc);
}

Tensor slice(Tensor x, int64_t axis, int64_t start, int64_t size, int64_t stride,
             SourceLocation loc) {
  Builder *b = builderFor("graph.slice", {x}, loc);
  if (!b)
    return poisoned({x});
  int64_t rank = x.rank();
  int64_t normalized = axis < 0 ? axis + rank : axis;
  if (normalized < 0 || normalized >= rank) {
    b->reportError(
        absl::StrCat("graph.slice: axis ", axis, " is out of range for ", describe(x.type())), loc);
    return b->poison();
  }
  if (size < 0) {
    b->reportError(absl::StrCat("graph.slice: size ", size, " along axis ", axis, " must be >= 0"),
                   loc);
    return b->poison();
  }
  SmallVector<int64_t> starts(rank, 0), strides(rank, 1), shape(x.shape());
  starts[normalized] = start;
  strides[normalized] = stride;
  shape[normalized] = size;
  auto type = RankedTensorType::get(shape, x.type().getElementType());
  if (!b->check([&](Location l) { return graph::verifySlice(l, x.type(), starts, strides, type); },
                loc))
    return b->poison();
  return b->create<graph::SliceOp>(loc, type, x.value(), starts, strides);
}

Tensor concat(llvm::ArrayRef<Tensor> parts, int64_t axis, SourceLocation loc) {
  Builder *b = builderFor("graph.concat", parts, loc);
  if (!b)
    return poisoned(parts);
  int64_t rank = parts.front().rank();
  int64_t normalized = axis < 0 && axis >= -rank ? axis + rank : axis;
  SmallVector<Type> types;
  SmallVector<Value> values;
  for (const Tensor &part : parts) {
    types.push_back(part.type());
    values.push_back(part.value());
  }
  FailureOr<RankedTensorType> type;
  if (!b->check(
          [&](Location l) {
            type = graph::inferConcatType(l, types, normalized);
            return success(succeeded(type));
          },
          loc))
    return b->poison();
  return b->create<graph::ConcatOp>(loc, *type, values, normalized);
}

} // namespace kiln
