//===- WindowLayouts.cpp - The window views as fills and strided copies ---===//
//
// Read from each op's types and attributes as its documentation
// (GraphWindowOps.td) states them, not from the element functions the kernels
// use, so the oracle stays independent. Strides are in elements of row-major
// tensors.
//
//===----------------------------------------------------------------------===//

#include "OpLayouts.h"

#include "llvm/ADT/TypeSwitch.h"

namespace kiln::reference {
namespace {

std::vector<int64_t> rowMajor(llvm::ArrayRef<int64_t> shape) {
  std::vector<int64_t> strides(shape.size(), 1);
  for (size_t d = shape.size(); d > 1; --d)
    strides[d - 2] = strides[d - 1] * shape[d - 1];
  return strides;
}

std::vector<int64_t> dims(mlir::Value value) { return shapeOf(value.getType()); }

/// The window views' copy: over the windowed tensor [..., O, K], the spatial tensor
/// [..., S(, K)] is at batch + o*s + q*d (+ q in the per-tap form) per windowed dimension.
AffineCopy windowCopyOver(llvm::ArrayRef<int64_t> windowedShape,
                          llvm::ArrayRef<int64_t> spatialShape, llvm::ArrayRef<int64_t> stride,
                          llvm::ArrayRef<int64_t> dilation) {
  size_t k = stride.size(), batch = windowedShape.size() - 2 * k;
  bool perTap = spatialShape.size() == windowedShape.size();
  std::vector<int64_t> spatial = rowMajor(spatialShape);
  AffineCopy copy;
  copy.shape.assign(windowedShape.begin(), windowedShape.end());
  std::vector<int64_t> strides(windowedShape.size(), 0);
  for (size_t d = 0; d < batch; ++d)
    strides[d] = spatial[d];
  for (size_t i = 0; i < k; ++i) {
    strides[batch + i] = stride[i] * spatial[batch + i];
    strides[batch + k + i] =
        dilation[i] * spatial[batch + i] + (perTap ? spatial[batch + k + i] : 0);
  }
  copy.fromStrides = strides;
  copy.toStrides = rowMajor(windowedShape);
  return copy;
}

} // namespace

std::optional<WindowLayout> windowLayout(mlir::Operation *op) {
  mlir::Value result = op->getResult(0);
  WindowLayout layout;
  layout.resultCount = llvm::cast<mlir::RankedTensorType>(result.getType()).getNumElements();
  std::vector<int64_t> resultStrides = rowMajor(dims(result));
  bool known =
      llvm::TypeSwitch<mlir::Operation *, bool>(op)
          .Case([&](graph::PadOp pad) {
            layout.filled = true;
            layout.fill = pad.getValue().convertToDouble();
            AffineCopy copy;
            copy.shape = dims(pad.getOperand());
            copy.fromStrides = rowMajor(copy.shape);
            for (size_t d = 0; d < copy.shape.size(); ++d) {
              copy.toStrides.push_back(resultStrides[d] * (pad.getInterior()[d] + 1));
              copy.toBase += pad.getLow()[d] * resultStrides[d];
            }
            layout.copies.push_back(copy);
            return true;
          })
          .Case([&](graph::SliceOp slice) {
            AffineCopy copy;
            copy.shape = dims(result);
            copy.toStrides = resultStrides;
            std::vector<int64_t> operand = rowMajor(dims(slice.getOperand()));
            for (size_t d = 0; d < copy.shape.size(); ++d) {
              copy.fromStrides.push_back(operand[d] * slice.getStride()[d]);
              copy.fromBase += slice.getStart()[d] * operand[d];
            }
            layout.copies.push_back(copy);
            return true;
          })
          .Case([&](graph::ConcatOp concat) {
            int64_t axis = concat.getAxis(), offset = 0;
            for (auto [i, part] : llvm::enumerate(concat.getParts())) {
              AffineCopy copy;
              copy.operand = static_cast<int>(i);
              copy.shape = dims(part);
              copy.fromStrides = rowMajor(copy.shape);
              copy.toStrides = resultStrides;
              copy.toBase = offset * resultStrides[axis];
              offset += copy.shape[axis];
              layout.copies.push_back(copy);
            }
            return true;
          })
          .Case([&](graph::WindowOp window) {
            layout.copies.push_back(windowCopyOver(dims(result), dims(window.getOperand()),
                                                   window.getStride(), window.getDilation()));
            return true;
          })
          .Case([&](graph::UnwindowOp unwindow) {
            // The scatter of the per-tap window's gather: roles swapped.
            AffineCopy gather = windowCopyOver(dims(unwindow.getOperand()), dims(result),
                                               unwindow.getStride(), unwindow.getDilation());
            std::swap(gather.fromStrides, gather.toStrides);
            layout.filled = true;
            layout.fill = 0.0;
            layout.copies.push_back(gather);
            return true;
          })
          .Default([](mlir::Operation *) { return false; });
  if (!known)
    return std::nullopt;
  return layout;
}

IotaLayout iotaLayout(graph::IotaOp iota) {
  IotaLayout layout;
  layout.shape = dims(iota.getResult());
  layout.positionStrides.assign(layout.shape.size(), 0);
  int64_t stride = 1;
  for (int64_t d : llvm::reverse(iota.getDims())) {
    layout.positionStrides[d] = stride;
    stride *= layout.shape[d];
  }
  return layout;
}

} // namespace kiln::reference
