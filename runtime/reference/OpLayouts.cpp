//===- OpLayouts.cpp - Graph op attributes as kernel parameters ----------===//
//
// Strides are in elements of row-major tensors.
//
//===----------------------------------------------------------------------===//

#include "OpLayouts.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/TypeSwitch.h"

namespace kiln::reference {
namespace {

std::vector<int64_t> contiguousStrides(const std::vector<int64_t> &shape) {
  std::vector<int64_t> strides(shape.size(), 1);
  for (size_t d = shape.size(); d > 1; --d)
    strides[d - 2] = strides[d - 1] * shape[d - 1];
  return strides;
}

int64_t product(llvm::ArrayRef<int64_t> dims) {
  int64_t result = 1;
  for (int64_t d : dims)
    result *= d;
  return result;
}

} // namespace

std::vector<int64_t> shapeOf(mlir::Type type) {
  auto shape = llvm::cast<mlir::ShapedType>(type).getShape();
  return {shape.begin(), shape.end()};
}

CompareKind compareKind(graph::ComparePredicate predicate) {
  switch (predicate) {
  case graph::ComparePredicate::eq:
    return CompareKind::kEq;
  case graph::ComparePredicate::ne:
    return CompareKind::kNe;
  case graph::ComparePredicate::lt:
    return CompareKind::kLt;
  case graph::ComparePredicate::le:
    return CompareKind::kLe;
  case graph::ComparePredicate::gt:
    return CompareKind::kGt;
  case graph::ComparePredicate::ge:
    return CompareKind::kGe;
  }
  return CompareKind::kEq;
}

StridedLayout broadcastLayout(mlir::RankedTensorType operand, mlir::RankedTensorType result,
                              llvm::ArrayRef<int64_t> dims) {
  StridedLayout layout{shapeOf(result), std::vector<int64_t>(result.getRank(), 0)};
  std::vector<int64_t> strides = contiguousStrides(shapeOf(operand));
  for (auto [i, d] : llvm::enumerate(dims))
    if (operand.getDimSize(i) == result.getDimSize(d))
      layout.operandStrides[d] = strides[i];
  return layout;
}

StridedLayout transposeLayout(mlir::RankedTensorType operand, mlir::RankedTensorType result,
                              llvm::ArrayRef<int64_t> perm) {
  StridedLayout layout{shapeOf(result), {}};
  std::vector<int64_t> strides = contiguousStrides(shapeOf(operand));
  for (int64_t p : perm)
    layout.operandStrides.push_back(strides[p]);
  return layout;
}

ReduceLayout reduceLayout(mlir::RankedTensorType operand, mlir::RankedTensorType result,
                          llvm::ArrayRef<int64_t> axes) {
  ReduceLayout layout{shapeOf(operand), {}, result.getNumElements(), 1};
  std::vector<int64_t> resultStrides = contiguousStrides(shapeOf(result));
  size_t kept = 0;
  for (int64_t d = 0; d < operand.getRank(); ++d) {
    if (llvm::is_contained(axes, d)) {
      layout.resultStrides.push_back(0);
      layout.reducedCount *= operand.getDimSize(d);
    } else {
      layout.resultStrides.push_back(resultStrides[kept++]);
    }
  }
  return layout;
}

MatmulLayout matmulLayout(graph::MatmulOp matmul) {
  llvm::ArrayRef<int64_t> lhs = matmul.getLhs().getType().getShape();
  llvm::ArrayRef<int64_t> result = matmul.getType().getShape();
  MatmulLayout layout;
  layout.batch = product(result.drop_back(2));
  layout.m = result[result.size() - 2];
  layout.n = result.back();
  layout.k = matmul.getTransposeLhs() ? lhs[lhs.size() - 2] : lhs.back();
  layout.transposeLhs = matmul.getTransposeLhs();
  layout.transposeRhs = matmul.getTransposeRhs();
  return layout;
}

ConvLayout convLayout(mlir::Operation *conv) {
  auto shape = [](mlir::Value value) {
    return llvm::cast<mlir::RankedTensorType>(value.getType()).getShape();
  };
  // x, w and y of the forward conv, whichever of the three ops this is.
  llvm::ArrayRef<int64_t> x, w, y;
  if (llvm::isa<graph::Conv2dOp>(conv)) {
    x = shape(conv->getOperand(0)), w = shape(conv->getOperand(1)), y = shape(conv->getResult(0));
  } else if (llvm::isa<graph::Conv2dInputGradOp>(conv)) {
    y = shape(conv->getOperand(0)), w = shape(conv->getOperand(1)), x = shape(conv->getResult(0));
  } else {
    y = shape(conv->getOperand(0)), x = shape(conv->getOperand(1)), w = shape(conv->getResult(0));
  }
  auto pair = [&](llvm::StringRef name) {
    return conv->getAttrOfType<mlir::DenseI64ArrayAttr>(name).asArrayRef();
  };
  ConvLayout layout;
  layout.n = x[0], layout.c = x[1], layout.h = x[2], layout.w = x[3];
  layout.o = w[0], layout.kh = w[2], layout.kw = w[3], layout.oh = y[2], layout.ow = y[3];
  layout.strideH = pair("stride")[0], layout.strideW = pair("stride")[1];
  layout.padH = pair("padding")[0], layout.padW = pair("padding")[1];
  layout.dilationH = pair("dilation")[0], layout.dilationW = pair("dilation")[1];
  layout.groups = conv->getAttrOfType<mlir::IntegerAttr>("groups").getInt();
  return layout;
}

AttentionLayout attentionLayout(mlir::Operation *attention) {
  llvm::ArrayRef<int64_t> q =
      llvm::cast<mlir::RankedTensorType>(attention->getOperand(0).getType()).getShape();
  auto scale = attention->getAttrOfType<mlir::FloatAttr>("scale");
  return {q[0] * q[1], q[2], q[3], scale.getValueAsDouble()};
}

IndexLayout indexLayout(mlir::Operation *op) {
  auto shape = [](mlir::Value value) {
    return llvm::cast<mlir::RankedTensorType>(value.getType()).getShape();
  };
  // The table is gather's operand 0 and scatter_add's result; the indices are operand 1.
  llvm::ArrayRef<int64_t> table =
      llvm::isa<graph::GatherOp>(op) ? shape(op->getOperand(0)) : shape(op->getResult(0));
  auto axis = static_cast<int64_t>(op->getAttrOfType<mlir::IntegerAttr>("axis").getInt());
  return {product(table.take_front(axis)), table[axis], product(shape(op->getOperand(1))),
          product(table.drop_front(axis + 1))};
}

AxisLayout axisLayout(mlir::RankedTensorType type, int64_t axis) {
  llvm::ArrayRef<int64_t> shape = type.getShape();
  return {product(shape.take_front(axis)), shape[axis], product(shape.drop_front(axis + 1))};
}

} // namespace kiln::reference
