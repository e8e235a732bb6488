//===- Conv.cpp - 2-D convolution in the builder --------------------------===//
//
// The shape rule is the dialect's (inferConv2dType, ConvGeometry.h), run under
// the builder's diagnostic capture, so a mistake is reported at the user's call
// with the message the verifier would give.
//
//===----------------------------------------------------------------------===//

#include "kiln/Conv.h"

#include "OpSupport.h"

#include "kiln/Dialect/Graph/GraphDialect.h"

using namespace mlir;

namespace kiln {

Tensor conv2d(Tensor x, Tensor weight, Conv2dOptions options, SourceLocation loc) {
  StringRef opName = "graph.conv2d";
  Builder *b = builderFor(opName, {x, weight}, loc);
  if (!b)
    return poisoned({x, weight});
  graph::ConvParams params;
  params.stride = options.stride;
  params.padding = options.padding;
  params.dilation = options.dilation;
  params.groups = options.groups;
  FailureOr<RankedTensorType> type;
  if (!b->check(
          [&](Location l) {
            type = graph::inferConv2dType(l, x.type(), weight.type(), params);
            return success(succeeded(type));
          },
          loc))
    return b->poison();
  MLIRContext *context = &b->context();
  auto pair = [&](const std::array<int64_t, 2> &values) {
    return DenseI64ArrayAttr::get(context, values);
  };
  return b->create<graph::Conv2dOp>(
      loc, *type, x.value(), weight.value(), pair(options.stride), pair(options.padding),
      pair(options.dilation), IntegerAttr::get(IntegerType::get(context, 64), options.groups));
}

} // namespace kiln
