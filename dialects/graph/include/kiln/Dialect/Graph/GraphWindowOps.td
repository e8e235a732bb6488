//===- GraphWindowOps.td - Pad, slice, concat and sliding windows -*- tablegen -*-===//
//
// Views (IndexViewOpInterface) whose result element is an operand element at
// another index, or a fill value: kernels recompute them where they read them,
// nothing stores them. Pooling is a reduction over `graph.window` of
// `graph.pad`; the window's gradient sums overlapping windows as a reduction
// over `graph.unwindow`. `graph.iota` numbers positions, for the first-maximum
// gradient of `graph.reduce_max`. Shape rules (naming the offending dimension),
// element functions and VJPs are in lib/GraphWindow.cpp;
// docs/design/windows-and-pooling.md explains the design.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_GRAPH_WINDOW_OPS
#define KILN_GRAPH_WINDOW_OPS

def Graph_PadOp : Graph_ViewOp<"pad", [InferTypeOpAdaptor]> {
  let summary = "Pads with a constant: low/high edges and interior gaps per dimension";
  let description = [{
    As XLA's Pad: along dimension d, `low[d]` copies of `value` come first,
    then the operand's elements with `interior[d]` copies between each two,
    then `high[d]` copies, so the result has
    `low + high + n + (n - 1) * interior` elements (`n` when the operand is
    empty along d: no interior). All three are >= 0. The gradient is the
    strided `graph.slice` (start `low`, stride `interior + 1`) of the
    result's gradient, and the gradient of a strided slice is a pad.

    ```mlir
    %p = graph.pad %x low = [0, 0, 1, 1] high = [0, 0, 1, 1] interior = [0, 0, 0, 0]
        value = 0xFF800000 : tensor<8x3x32x32xf32> -> tensor<8x3x34x34xf32>
    ```
  }];
  let arguments = (ins Graph_FloatTensor:$operand, DenseI64ArrayAttr:$low,
                       DenseI64ArrayAttr:$high, DenseI64ArrayAttr:$interior, F32Attr:$value);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = [{
    $operand `low` `=` $low `high` `=` $high `interior` `=` $interior `value` `=` $value
    attr-dict `:` type($operand) `->` type($result)
  }];
}

def Graph_SliceOp : Graph_ViewOp<"slice"> {
  let summary = "Every stride-th element from start, per dimension (sizes from the result)";
  let description = [{
    `result[i] = operand[start + i * stride]` per dimension; the result type
    gives the number of elements taken, and the last one must be inside the
    operand: `start + (size - 1) * stride < n` (and `start < n` when size > 0).
    `start >= 0`, `stride >= 1`. The gradient is a `graph.pad` with zeros.

    ```mlir
    %s = graph.slice %x start = [0, 2] stride = [1, 2] : tensor<4x9xf32> -> tensor<4x3xf32>
    ```
  }];
  let arguments = (ins Graph_FloatTensor:$operand, DenseI64ArrayAttr:$start,
                       DenseI64ArrayAttr:$stride);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = [{
    $operand `start` `=` $start `stride` `=` $stride attr-dict `:` type($operand) `->`
    type($result)
  }];
  let hasVerifier = 1;
}

def Graph_ConcatOp : Graph_ViewOp<"concat", [InferTypeOpAdaptor]> {
  let summary = "Joins tensors along `axis` (every other dimension equal)";
  let description = [{
    One or more operands of one rank and element type, equal but along
    `axis`; the result's `axis` extent is their sum. The gradient of each
    operand is the `graph.slice` of the result's gradient it occupies.

    ```mlir
    %c = graph.concat %a, %b axis = 1 : tensor<2x3xf32>, tensor<2x5xf32> -> tensor<2x8xf32>
    ```
  }];
  let arguments = (ins Variadic<Graph_FloatTensor>:$parts, I64Attr:$axis);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = [{
    $parts `axis` `=` $axis attr-dict `:` type($parts) `->` type($result)
  }];
}

// The attributes of both window views: one entry per windowed (trailing spatial) dimension.
class Graph_WindowViewOp<string mnemonic> : Graph_ViewOp<mnemonic> {
  let arguments = (ins Graph_FloatTensor:$operand, DenseI64ArrayAttr:$window,
                       DenseI64ArrayAttr:$stride, DenseI64ArrayAttr:$dilation);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = [{
    $operand `window` `=` $window `stride` `=` $stride `dilation` `=` $dilation attr-dict `:`
    type($operand) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Graph_WindowOp : Graph_WindowViewOp<"window"> {
  let summary = "Sliding windows over the trailing dimensions: [..., S] -> [..., O, K]";
  let description = [{
    With k = size of `window` trailing (spatial) dimensions S_1..S_k, window
    sizes K_i, strides s_i and dilations d_i (all >= 1), the result is
    `[..., O_1..O_k, K_1..K_k]` with `O_i = (S_i - d_i (K_i - 1) - 1) / s_i + 1`
    (floor; the dilated window must fit) and

      result[..., o, q] = operand[..., o * s + q * d]

    (per dimension i). Pooling is a reduction over the last k axes. In the
    per-tap form the operand already has the trailing window dimensions,
    `[..., S, K] -> [..., O, K]` with `result[..., o, q] = operand[..., o * s
    + q * d, q]`; it is the adjoint of `graph.unwindow`. The result type's
    rank says which form it is. The plain form's gradient sums the
    overlapping windows: a `graph.reduce_sum` over the last k axes of
    `graph.unwindow` of the result's gradient.

    ```mlir
    %w = graph.window %p window = [3, 3] stride = [2, 2] dilation = [1, 1]
        : tensor<8x3x34x34xf32> -> tensor<8x3x16x16x3x3xf32>
    ```
  }];
}

def Graph_UnwindowOp : Graph_WindowViewOp<"unwindow"> {
  let summary = "Places each window element back at its position: [..., O, K] -> [..., S, K]";
  let description = [{
    The adjoint of the per-tap `graph.window` (same attributes): for the
    spatial extents S_i of the result type (whose windows `O_i` must be those
    of the operand),

      result[..., y, q] = operand[..., (y - q * d) / s, q]

    where `y - q * d` is a non-negative multiple of `s` below `O * s`, and 0
    elsewhere: every input position y, for every tap q, gets the window
    element that read it, if any. A reduction over the last k axes gives the
    gradient of a plain window.

    Canonicalization moves it through a `graph.select` with a zero branch (max
    pooling's gradient), so the gradient's reduction reads its sources
    through views instead of a stored window-shaped tensor.

    ```mlir
    %u = graph.unwindow %g window = [3, 3] stride = [2, 2] dilation = [1, 1]
        : tensor<8x3x16x16x3x3xf32> -> tensor<8x3x34x34x3x3xf32>
    ```
  }];
  let hasCanonicalizer = 1;
}

def Graph_IotaOp : Graph_ViewOp<"iota"> {
  let summary = "Numbers positions: the row-major index over `dims`, as f32";
  let description = [{
    `result[i]` is the row-major linear index of `(i[dims[0]], i[dims[1]],
    ...)` in the extents of those dimensions (sorted, distinct), as an f32
    (exact below 2^24). With all dimensions it numbers every element. It has
    no operand; kernels compute it from the index where they read it.

    ```mlir
    %pos = graph.iota dims = [2, 3] : tensor<4x8x3x3xf32>
    ```
  }];
  let arguments = (ins DenseI64ArrayAttr:$dims);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = "`dims` `=` $dims attr-dict `:` type($result)";
  let hasVerifier = 1;
}

#endif // KILN_GRAPH_WINDOW_OPS
