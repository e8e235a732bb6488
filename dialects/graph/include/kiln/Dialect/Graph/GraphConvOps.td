//===- GraphConvOps.td - 2-D convolution and its gradients -*- tablegen -*-===//
//
// `graph.conv2d` (as torch.nn.functional.conv2d without bias, NCHW / OIHW) and
// its two dedicated backward ops. All three are contractions (the matmul kernel
// kind): per group one GEMM whose operands are read through an index
// computation (ConvGeometry.h), so the backward ops need no flipped or dilated
// copies of anything. Shape rules, verifiers, iteration spaces and VJPs live in
// lib/GraphConv.cpp; docs/design/convolution.md explains the mappings.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_GRAPH_CONV_OPS
#define KILN_GRAPH_CONV_OPS

// The attributes every conv op carries: stride, symmetric padding and dilation as
// [height, width], and the number of groups (groups = C is depthwise).
class Graph_ConvOp<string mnemonic, string first, string second, list<Trait> traits = []>
    : Graph_IteratingOp<mnemonic, traits> {
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = "$" # first # " `,` $" # second # [{
    `stride` `=` $stride `padding` `=` $padding `dilation` `=` $dilation
    `groups` `=` $groups attr-dict `:` type($}] # first # [{) `,` type($}] # second #
    [{) `->` type($result)
  }];
  let extraClassDeclaration = [{
    /// The attributes as one struct (ConvGeometry.h).
    ::kiln::graph::ConvParams getParams();
  }];
}

def Graph_Conv2dOp : Graph_ConvOp<"conv2d", "input", "weight", [InferTypeOpAdaptor]> {
  let summary = "2-D convolution (cross-correlation) of NCHW input by OIHW weight";
  let description = [{
    `result[n, o, y, x] = sum_{c, i, j} input[n, g*Cg + c, y*sh - ph + i*dh,
    x*sw - pw + j*dw] * weight[o, c, i, j]` with `g = o / (O / groups)` and
    `Cg = C / groups`, reads outside the input being zero. The result is
    [N, O, OH, OW] with OH = floor((H + 2ph - dh(KH-1) - 1) / sh) + 1, exactly
    torch.nn.functional.conv2d without bias.

    ```mlir
    %y = graph.conv2d %x, %w stride = [1, 1] padding = [1, 1] dilation = [1, 1] groups = 1
        : tensor<8x3x32x32xf32>, tensor<16x3x3x3xf32> -> tensor<8x16x32x32xf32>
    ```
  }];
  let arguments = (ins Graph_FloatTensor:$input, Graph_FloatTensor:$weight,
                       DenseI64ArrayAttr:$stride, DenseI64ArrayAttr:$padding,
                       DenseI64ArrayAttr:$dilation, I64Attr:$groups);
}

def Graph_Conv2dInputGradOp : Graph_ConvOp<"conv2d_input_grad", "grad", "weight"> {
  let summary = "The gradient of conv2d with respect to its input";
  let description = [{
    The adjoint of `x -> conv2d(x, weight)` applied to `grad` [N, O, OH, OW]:
    `result[n, c, h, w] = sum grad[n, o, y, x] * weight[o, c', i, j]` over the
    (o, y, x, i, j) with `h = y*sh - ph + i*dh`, `w = x*sw - pw + j*dw`. The
    result type names H and W, which the floor of conv2d's shape rule loses.

    ```mlir
    %dx = graph.conv2d_input_grad %g, %w stride = [2, 2] padding = [1, 1]
        dilation = [1, 1] groups = 1
        : tensor<8x16x16x16xf32>, tensor<16x3x3x3xf32> -> tensor<8x3x32x32xf32>
    ```
  }];
  let arguments = (ins Graph_FloatTensor:$grad, Graph_FloatTensor:$weight,
                       DenseI64ArrayAttr:$stride, DenseI64ArrayAttr:$padding,
                       DenseI64ArrayAttr:$dilation, I64Attr:$groups);
  let hasVerifier = 1;
}

def Graph_Conv2dWeightGradOp : Graph_ConvOp<"conv2d_weight_grad", "grad", "input"> {
  let summary = "The gradient of conv2d with respect to its weight";
  let description = [{
    The adjoint of `w -> conv2d(input, w)` applied to `grad` [N, O, OH, OW]:
    `result[o, c, i, j] = sum_{n, y, x} grad[n, o, y, x] * input[n, g*Cg + c,
    y*sh - ph + i*dh, x*sw - pw + j*dw]`. The result type names KH and KW.

    ```mlir
    %dw = graph.conv2d_weight_grad %g, %x stride = [1, 1] padding = [1, 1]
        dilation = [1, 1] groups = 1
        : tensor<8x16x32x32xf32>, tensor<8x3x32x32xf32> -> tensor<16x3x3x3xf32>
    ```
  }];
  let arguments = (ins Graph_FloatTensor:$grad, Graph_FloatTensor:$input,
                       DenseI64ArrayAttr:$stride, DenseI64ArrayAttr:$padding,
                       DenseI64ArrayAttr:$dilation, I64Attr:$groups);
  let hasVerifier = 1;
}

#endif // KILN_GRAPH_CONV_OPS
