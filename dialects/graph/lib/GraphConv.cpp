//===- GraphConv.cpp - conv2d and its gradients ---------------------------===//
//
// Shape rules and verifiers (messages name the offending dimension or
// attribute), iteration spaces, geometries (ConvGeometry.h) and VJPs of
// `graph.conv2d`, `graph.conv2d_input_grad` and `graph.conv2d_weight_grad`.
//
// The three ops close over each other under differentiation: input_grad(g, w)
// is the adjoint of x -> conv2d(x, w) and weight_grad(g, x) the adjoint of
// w -> conv2d(x, w), so every derivative of any of them is one of them again.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Graph/GraphDialect.h"
#include "kiln/Dialect/Graph/GraphShapes.h"

#include "TypeText.h"

#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;

namespace kiln::graph {
namespace {

/// A static-shaped rank-4 f32 tensor named `what` ("input"), or a diagnostic.
FailureOr<RankedTensorType> imageTensor(OptionalLoc loc, StringRef opName, StringRef what,
                                        Type type, StringRef layout) {
  auto tensor = llvm::dyn_cast_or_null<RankedTensorType>(type);
  if (!tensor || !tensor.hasStaticShape() || !tensor.getElementType().isF32())
    return emitOptionalError(loc, opName, ": ", what,
                             " must be a static-shaped tensor of f32, got ",
                             type ? str(type) : std::string("<null>"));
  if (tensor.getRank() != 4)
    return emitOptionalError(loc, opName, ": ", what, " must have rank 4 (", layout, "), got ",
                             str(tensor));
  return tensor;
}

LogicalResult checkParams(OptionalLoc loc, StringRef opName, const ConvParams &params) {
  const char *axes[2] = {"height", "width"};
  for (int d = 0; d < 2; ++d) {
    if (params.stride[d] < 1)
      return emitOptionalError(loc, opName, ": stride ", axes[d], " (stride[", d,
                               "]) must be >= 1, got ", params.stride[d]);
    if (params.dilation[d] < 1)
      return emitOptionalError(loc, opName, ": dilation ", axes[d], " (dilation[", d,
                               "]) must be >= 1, got ", params.dilation[d]);
    if (params.padding[d] < 0)
      return emitOptionalError(loc, opName, ": padding ", axes[d], " (padding[", d,
                               "]) must be >= 0, got ", params.padding[d]);
  }
  if (params.groups < 1)
    return emitOptionalError(loc, opName, ": groups must be >= 1, got ", params.groups);
  return success();
}

/// The forward geometry of x `input` [N, C, H, W] by w `weight` [O, C/groups, KH, KW]; `opName`
/// and the operand names are those of the op being checked.
FailureOr<ConvGeometry> forwardGeometry(OptionalLoc loc, StringRef opName, StringRef inputName,
                                        RankedTensorType input, StringRef weightName,
                                        RankedTensorType weight, const ConvParams &params) {
  if (failed(checkParams(loc, opName, params)))
    return failure();
  ArrayRef<int64_t> x = input.getShape(), w = weight.getShape();
  int64_t groups = params.groups;
  if (x[1] % groups != 0)
    return emitOptionalError(loc, opName, ": ", inputName, " channels (dim 1) = ", x[1],
                             " are not divisible by groups = ", groups);
  if (w[0] % groups != 0)
    return emitOptionalError(loc, opName, ": ", weightName, " output channels (dim 0) = ", w[0],
                             " are not divisible by groups = ", groups);
  if (w[1] != x[1] / groups)
    return emitOptionalError(loc, opName, ": ", weightName, " input channels (dim 1) = ", w[1],
                             " but ", inputName, " has ", x[1], " channels (dim 1) / groups ",
                             groups, " = ", x[1] / groups);
  ConvGeometry geometry;
  geometry.n = x[0], geometry.c = x[1], geometry.h = x[2], geometry.w = x[3];
  geometry.o = w[0], geometry.kh = w[2], geometry.kw = w[3];
  geometry.params = params;
  const char *axes[2] = {"height", "width"};
  int64_t out[2];
  for (int d = 0; d < 2; ++d) {
    int64_t extent = x[2 + d], kernel = w[2 + d];
    if (kernel < 1)
      return emitOptionalError(loc, opName, ": ", weightName, " kernel ", axes[d], " (dim ", 2 + d,
                               ") must be >= 1, got ", kernel);
    int64_t span = params.dilation[d] * (kernel - 1) + 1;
    int64_t padded = extent + 2 * params.padding[d];
    if (padded < span)
      return emitOptionalError(loc, opName, ": ", inputName, " ", axes[d], " (dim ", 2 + d,
                               ") = ", extent, " padded by ", params.padding[d],
                               " on each side is ", padded, ", smaller than the dilated kernel ",
                               axes[d], " ", span, " (", weightName, " dim ", 2 + d, " = ", kernel,
                               ", dilation ", params.dilation[d], ")");
    out[d] = (padded - span) / params.stride[d] + 1;
  }
  geometry.oh = out[0], geometry.ow = out[1];
  return geometry;
}

/// Checks that `grad` has the shape of conv2d's result in `geometry`.
LogicalResult checkGrad(OptionalLoc loc, StringRef opName, RankedTensorType grad,
                        const ConvGeometry &geometry, StringRef from) {
  std::array<int64_t, 4> expected = {geometry.n, geometry.o, geometry.oh, geometry.ow};
  const char *names[4] = {"batch", "channels", "height", "width"};
  for (int d = 0; d < 4; ++d)
    if (grad.getDimSize(d) != expected[d])
      return emitOptionalError(loc, opName, ": grad ", names[d], " (dim ", d, ") is ",
                               grad.getDimSize(d), " but conv2d of ", from, " gives ", expected[d],
                               " (grad must be ", geometry.n, "x", geometry.o, "x", geometry.oh,
                               "x", geometry.ow, ")");
  return success();
}

FailureOr<ConvParams> paramsOf(OptionalLoc loc, StringRef opName, ArrayRef<int64_t> stride,
                               ArrayRef<int64_t> padding, ArrayRef<int64_t> dilation,
                               int64_t groups) {
  ConvParams params;
  std::pair<const char *, ArrayRef<int64_t>> lists[3] = {
      {"stride", stride}, {"padding", padding}, {"dilation", dilation}};
  std::array<int64_t, 2> *targets[3] = {&params.stride, &params.padding, &params.dilation};
  for (int i = 0; i < 3; ++i) {
    if (lists[i].second.size() != 2)
      return emitOptionalError(loc, opName, ": ", lists[i].first,
                               " must have 2 values (height, width), got ", lists[i].second.size());
    (*targets[i])[0] = lists[i].second[0];
    (*targets[i])[1] = lists[i].second[1];
  }
  params.groups = groups;
  return params;
}

/// Loops (group, row, col, depth) of the GEMM per group; the operand and result maps are null
/// because the reads are not affine (padding, the stride's divisibility): emitters ask
/// convGeometryOf instead.
IterationSpace convSpace(const ConvGeometry &geometry) {
  IterationSpace space;
  space.kind = IterationKind::Contraction;
  space.iterators = {IteratorType::Parallel, IteratorType::Parallel, IteratorType::Parallel,
                     IteratorType::Reduced};
  space.extents = {geometry.groups(), geometry.rows(), geometry.cols(), geometry.depth()};
  space.operandMaps = {AffineMap(), AffineMap()};
  space.resultMap = AffineMap();
  return space;
}

RankedTensorType tensorOf(Value value) { return llvm::cast<RankedTensorType>(value.getType()); }

template <typename OpTy> ConvParams opParams(OpTy op) {
  ConvParams params;
  for (int d = 0; d < 2; ++d) {
    params.stride[d] = op.getStride()[d];
    params.padding[d] = op.getPadding()[d];
    params.dilation[d] = op.getDilation()[d];
  }
  params.groups = static_cast<int64_t>(op.getGroups());
  return params;
}

} // namespace

//===----------------------------------------------------------------------===//
// Shape rules
//===----------------------------------------------------------------------===//

FailureOr<RankedTensorType> inferConv2dType(OptionalLoc loc, Type input, Type weight,
                                            const ConvParams &params) {
  StringRef op = "graph.conv2d";
  auto x = imageTensor(loc, op, "input", input, "N, C, H, W");
  auto w = imageTensor(loc, op, "weight", weight, "O, C / groups, KH, KW");
  if (failed(x) || failed(w))
    return failure();
  FailureOr<ConvGeometry> geometry = forwardGeometry(loc, op, "input", *x, "weight", *w, params);
  if (failed(geometry))
    return failure();
  return RankedTensorType::get({geometry->n, geometry->o, geometry->oh, geometry->ow},
                               x->getElementType());
}

LogicalResult verifyConv2dInputGrad(OptionalLoc loc, Type grad, Type weight, Type result,
                                    const ConvParams &params) {
  StringRef op = "graph.conv2d_input_grad";
  auto g = imageTensor(loc, op, "grad", grad, "N, O, OH, OW");
  auto w = imageTensor(loc, op, "weight", weight, "O, C / groups, KH, KW");
  auto x = imageTensor(loc, op, "result", result, "N, C, H, W");
  if (failed(g) || failed(w) || failed(x))
    return failure();
  FailureOr<ConvGeometry> geometry = forwardGeometry(loc, op, "result", *x, "weight", *w, params);
  if (failed(geometry))
    return failure();
  return checkGrad(loc, op, *g, *geometry, "the result shape by weight");
}

LogicalResult verifyConv2dWeightGrad(OptionalLoc loc, Type grad, Type input, Type result,
                                     const ConvParams &params) {
  StringRef op = "graph.conv2d_weight_grad";
  auto g = imageTensor(loc, op, "grad", grad, "N, O, OH, OW");
  auto x = imageTensor(loc, op, "input", input, "N, C, H, W");
  auto w = imageTensor(loc, op, "result", result, "O, C / groups, KH, KW");
  if (failed(g) || failed(x) || failed(w))
    return failure();
  FailureOr<ConvGeometry> geometry = forwardGeometry(loc, op, "input", *x, "result", *w, params);
  if (failed(geometry))
    return failure();
  if (g->getDimSize(0) != x->getDimSize(0))
    return emitOptionalError(loc, op, ": grad batch (dim 0) is ", g->getDimSize(0),
                             " but input batch (dim 0) is ", x->getDimSize(0));
  return checkGrad(loc, op, *g, *geometry, "input by the result shape");
}

//===----------------------------------------------------------------------===//
// Ops
//===----------------------------------------------------------------------===//

ConvParams Conv2dOp::getParams() { return opParams(*this); }
ConvParams Conv2dInputGradOp::getParams() { return opParams(*this); }
ConvParams Conv2dWeightGradOp::getParams() { return opParams(*this); }

LogicalResult Conv2dOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                         Adaptor adaptor, SmallVectorImpl<Type> &types) {
  FailureOr<ConvParams> params =
      paramsOf(loc, getOperationName(), adaptor.getStride(), adaptor.getPadding(),
               adaptor.getDilation(), static_cast<int64_t>(adaptor.getGroups()));
  if (failed(params))
    return failure();
  FailureOr<RankedTensorType> type =
      inferConv2dType(loc, adaptor.getInput().getType(), adaptor.getWeight().getType(), *params);
  if (failed(type))
    return failure();
  types.push_back(*type);
  return success();
}

LogicalResult Conv2dInputGradOp::verify() {
  FailureOr<ConvParams> params = paramsOf(getLoc(), getOperationName(), getStride(), getPadding(),
                                          getDilation(), static_cast<int64_t>(getGroups()));
  if (failed(params))
    return failure();
  return verifyConv2dInputGrad(getLoc(), getGrad().getType(), getWeight().getType(), getType(),
                               *params);
}

LogicalResult Conv2dWeightGradOp::verify() {
  FailureOr<ConvParams> params = paramsOf(getLoc(), getOperationName(), getStride(), getPadding(),
                                          getDilation(), static_cast<int64_t>(getGroups()));
  if (failed(params))
    return failure();
  return verifyConv2dWeightGrad(getLoc(), getGrad().getType(), getInput().getType(), getType(),
                                *params);
}

std::optional<ConvGeometry> convGeometryOf(Operation *op) {
  auto geometry = [](ConvKind kind, RankedTensorType x, RankedTensorType w,
                     const ConvParams &params) -> std::optional<ConvGeometry> {
    FailureOr<ConvGeometry> found = forwardGeometry(std::nullopt, "", "", x, "", w, params);
    if (failed(found))
      return std::nullopt;
    found->kind = kind;
    return *found;
  };
  return llvm::TypeSwitch<Operation *, std::optional<ConvGeometry>>(op)
      .Case([&](Conv2dOp conv) {
        return geometry(ConvKind::Forward, tensorOf(conv.getInput()), tensorOf(conv.getWeight()),
                        conv.getParams());
      })
      .Case([&](Conv2dInputGradOp conv) {
        return geometry(ConvKind::InputGrad, conv.getType(), tensorOf(conv.getWeight()),
                        conv.getParams());
      })
      .Case([&](Conv2dWeightGradOp conv) {
        return geometry(ConvKind::WeightGrad, tensorOf(conv.getInput()), conv.getType(),
                        conv.getParams());
      })
      .Default([](Operation *) { return std::nullopt; });
}

IterationSpace Conv2dOp::getIterationSpace() { return convSpace(*convGeometryOf(*this)); }
IterationSpace Conv2dInputGradOp::getIterationSpace() { return convSpace(*convGeometryOf(*this)); }
IterationSpace Conv2dWeightGradOp::getIterationSpace() { return convSpace(*convGeometryOf(*this)); }

//===----------------------------------------------------------------------===//
// Derivatives
//===----------------------------------------------------------------------===//

// y = conv2d(x, w): dx = input_grad(g, w), dw = weight_grad(g, x).
LogicalResult Conv2dOp::buildVJP(OpBuilder &b, ValueRange gs, SmallVectorImpl<Value> &out) {
  Location loc = getLoc();
  Value dx =
      b.create<Conv2dInputGradOp>(loc, getInput().getType(), gs[0], getWeight(), getStrideAttr(),
                                  getPaddingAttr(), getDilationAttr(), getGroupsAttr());
  Value dw =
      b.create<Conv2dWeightGradOp>(loc, getWeight().getType(), gs[0], getInput(), getStrideAttr(),
                                   getPaddingAttr(), getDilationAttr(), getGroupsAttr());
  out.assign({dx, dw});
  return success();
}

// dx = input_grad(g, w) is bilinear, the adjoint of x -> conv2d(x, w): with cotangent u
// (shaped like dx), <u, input_grad(g, w)> = <conv2d(u, w), g> = <weight_grad(g, u), w>.
LogicalResult Conv2dInputGradOp::buildVJP(OpBuilder &b, ValueRange gs,
                                          SmallVectorImpl<Value> &out) {
  Location loc = getLoc();
  Value u = gs[0];
  Value dGrad = b.create<Conv2dOp>(loc, u, getWeight(), getStrideAttr(), getPaddingAttr(),
                                   getDilationAttr(), getGroupsAttr());
  Value dWeight =
      b.create<Conv2dWeightGradOp>(loc, getWeight().getType(), getGrad(), u, getStrideAttr(),
                                   getPaddingAttr(), getDilationAttr(), getGroupsAttr());
  out.assign({dGrad, dWeight});
  return success();
}

// dw = weight_grad(g, x), the adjoint of w -> conv2d(x, w): with cotangent v (shaped like
// dw), <v, weight_grad(g, x)> = <conv2d(x, v), g> = <input_grad(g, v), x>.
LogicalResult Conv2dWeightGradOp::buildVJP(OpBuilder &b, ValueRange gs,
                                           SmallVectorImpl<Value> &out) {
  Location loc = getLoc();
  Value v = gs[0];
  Value dGrad = b.create<Conv2dOp>(loc, getInput(), v, getStrideAttr(), getPaddingAttr(),
                                   getDilationAttr(), getGroupsAttr());
  Value dInput =
      b.create<Conv2dInputGradOp>(loc, getInput().getType(), getGrad(), v, getStrideAttr(),
                                  getPaddingAttr(), getDilationAttr(), getGroupsAttr());
  out.assign({dGrad, dInput});
  return success();
}

} // namespace kiln::graph
