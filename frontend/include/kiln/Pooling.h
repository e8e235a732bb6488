//===- Pooling.h - Pooling, padding, slicing and concatenation --*- C++ -*-===//
//
// Max and average pooling as PyTorch's (NCHW), composed from the graph
// dialect's window views: a reduction over `graph.window` of `graph.pad`,
// which fusion emits as one reduction kernel reading x through both views (no
// padded copy, no window tensor). Max pooling's gradient goes to the first
// maximum of each window, as PyTorch's does. pad, slice and concat are the
// views themselves; their gradients are each other.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_POOLING_H
#define KILN_POOLING_H

#include "kiln/Ops.h"

#include <array>
#include <cstdint>
#include <optional>

namespace kiln {

/// Kernel size, stride (default: the kernel size) and symmetric padding as {height, width};
/// padding is at most half the kernel size, as in PyTorch. `countIncludePad` is average
/// pooling's count_include_pad: whether padded positions count in a window's divisor.
struct Pool2dOptions {
  std::array<int64_t, 2> kernel{2, 2};
  std::optional<std::array<int64_t, 2>> stride; /* default: kernel */
  std::array<int64_t, 2> padding{0, 0};
  bool countIncludePad = true;
};

/// x [N, C, H, W] -> [N, C, OH, OW], as torch.nn.functional.max_pool2d (padding is -inf),
/// OH = floor((H + 2 padding[0] - kernel[0]) / stride[0]) + 1. The gradient goes to the first
/// maximum of each window in row-major window order.
Tensor maxPool2d(Tensor x, Pool2dOptions options = {},
                 SourceLocation loc = SourceLocation::current());
/// As torch.nn.functional.avg_pool2d, with its count_include_pad semantics.
Tensor avgPool2d(Tensor x, Pool2dOptions options = {},
                 SourceLocation loc = SourceLocation::current());
/// [N, C, H, W] -> [N, C], the mean over H and W.
Tensor globalAvgPool2d(Tensor x, SourceLocation loc = SourceLocation::current());
/// Pads dimension d with low[d] copies of `value` before and high[d] after (graph.pad).
Tensor pad(Tensor x, llvm::ArrayRef<int64_t> low, llvm::ArrayRef<int64_t> high, float value = 0.0f,
           SourceLocation loc = SourceLocation::current());
/// Elements start, start + stride, ... (size of them) along `axis`.
Tensor slice(Tensor x, int64_t axis, int64_t start, int64_t size, int64_t stride = 1,
             SourceLocation loc = SourceLocation::current());
/// Joins `parts` along `axis` (negative from the end); the other dimensions must agree.
Tensor concat(llvm::ArrayRef<Tensor> parts, int64_t axis,
              SourceLocation loc = SourceLocation::current());

} // namespace kiln

#endif // KILN_POOLING_H
