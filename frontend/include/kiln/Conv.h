//===- Conv.h - 2-D convolution in the builder ------------------*- C++ -*-===//
//
// `conv2d` as torch.nn.functional.conv2d without bias (NCHW input, OIHW
// weight). Its gradients are derived by kiln-autodiff (graph.conv2d_input_grad
// and graph.conv2d_weight_grad); add a bias with `add` and a broadcast, which
// fusion joins to the convolution's kernel.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_CONV_H
#define KILN_CONV_H

#include "kiln/Ops.h"

#include <array>
#include <cstdint>

namespace kiln {

/// Stride, symmetric padding (added on both sides) and dilation as {height, width}, and the
/// number of groups (groups = channels is a depthwise convolution).
struct Conv2dOptions {
  std::array<int64_t, 2> stride{1, 1}, padding{0, 0}, dilation{1, 1};
  int64_t groups = 1;
};

/// x [N, C, H, W], weight [O, C / groups, KH, KW] -> [N, O, OH, OW], as torch.nn.functional.conv2d
/// (no bias), with OH = floor((H + 2 padding[0] - dilation[0] (KH - 1) - 1) / stride[0]) + 1.
Tensor conv2d(Tensor x, Tensor weight, Conv2dOptions options = {},
              SourceLocation loc = SourceLocation::current());

} // namespace kiln

#endif // KILN_CONV_H
