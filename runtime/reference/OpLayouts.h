//===- OpLayouts.h - Graph op attributes as kernel parameters ---*- C++ -*-===//
//
// Translates a graph op's types and attributes into the MLIR-free parameters
// of Kernels.h, once, when the plan is built.
//
// Internal to runtime/reference.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_REFERENCE_OPLAYOUTS_H
#define KILN_RUNTIME_REFERENCE_OPLAYOUTS_H

#include "Kernels.h"

#include "kiln/Dialect/Graph/GraphDialect.h"

#include <optional>
#include <vector>

namespace kiln::reference {

/// The static shape of a shaped type.
std::vector<int64_t> shapeOf(mlir::Type type);

CompareKind compareKind(graph::ComparePredicate predicate);

/// The layout of a broadcast of `operand` to `result` along `dims`.
StridedLayout broadcastLayout(mlir::RankedTensorType operand, mlir::RankedTensorType result,
                              llvm::ArrayRef<int64_t> dims);
/// The layout of a transpose by `perm`.
StridedLayout transposeLayout(mlir::RankedTensorType operand, mlir::RankedTensorType result,
                              llvm::ArrayRef<int64_t> perm);
/// The layout of a reduction of `operand` over `axes` into `result`.
ReduceLayout reduceLayout(mlir::RankedTensorType operand, mlir::RankedTensorType result,
                          llvm::ArrayRef<int64_t> axes);
MatmulLayout matmulLayout(graph::MatmulOp matmul);
/// The shapes and attributes of graph.conv2d, conv2d_input_grad or conv2d_weight_grad
/// (read from the op's types, not from ConvGeometry.h, so the oracle stays independent).
ConvLayout convLayout(mlir::Operation *conv);
/// graph.pad, slice, concat, window or unwindow as fills and copies; nullopt for other ops
/// (WindowLayouts.cpp).
std::optional<WindowLayout> windowLayout(mlir::Operation *op);
IotaLayout iotaLayout(graph::IotaOp iota);
/// `type` seen as [outer, axis, inner] around `axis`.
/// graph.attention or graph.attention_grad: B * H blocks of [T, D] and the scale.
AttentionLayout attentionLayout(mlir::Operation *attention);

AxisLayout axisLayout(mlir::RankedTensorType type, int64_t axis);

/// graph.gather or graph.scatter_add: the table around the indexed axis and the index count.
IndexLayout indexLayout(mlir::Operation *op);

} // namespace kiln::reference

#endif // KILN_RUNTIME_REFERENCE_OPLAYOUTS_H
