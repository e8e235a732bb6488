//===- KernelLowering.cpp - Graph ops to kernel-template launches ---------===//
//
// One function per op family works out the push constants (shapes, strides,
// op codes) and the grid of the kernel template that implements the op. The
// layouts mirror the reference device's: row-major tensors, a broadcast or
// transpose as a strided view, a reduction as kept and reduced dimensions,
// a softmax as [outer, axis, inner].
//
//===----------------------------------------------------------------------===//

#include "kiln/Codegen/KernelInstance.h"

#include "kiln/Dialect/Graph/GraphDialect.h"
#include "kiln/kernels/KernelAbi.h"

#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/TypeSwitch.h"

#include <algorithm>

using namespace mlir;
using kiln::kernels::VulkanKernel;

namespace kiln::codegen {
namespace {

/// Vulkan guarantees at least this many workgroups along each grid dimension.
constexpr int64_t kMaxGroupsPerDimension = 65535;

llvm::ArrayRef<int64_t> shapeOf(Value value) {
  return llvm::cast<RankedTensorType>(value.getType()).getShape();
}

int64_t product(llvm::ArrayRef<int64_t> extents) {
  int64_t result = 1;
  for (int64_t extent : extents)
    result *= extent;
  return result;
}

int64_t numElements(Value value) { return product(shapeOf(value)); }

llvm::SmallVector<int64_t> contiguousStrides(llvm::ArrayRef<int64_t> shape) {
  llvm::SmallVector<int64_t> strides(shape.size(), 1);
  for (int64_t d = static_cast<int64_t>(shape.size()) - 2; d >= 0; --d)
    strides[d] = strides[d + 1] * shape[d + 1];
  return strides;
}

uint32_t word(int64_t value) { return static_cast<uint32_t>(value); }

/// Workgroups for a grid-stride kernel over `count` items, `perGroup` items a workgroup.
uint32_t gridStrideGroups(int64_t count, int64_t perGroup) {
  int64_t groups = (count + perGroup - 1) / perGroup;
  return word(std::clamp<int64_t>(groups, 1, KILN_MAX_WORKGROUPS));
}

KernelInstance makeInstance(VulkanKernel kernel, Operation *op) {
  KernelInstance instance{kernel, {}, {}, {1, 1, 1}, {op}};
  instance.bindings.push_back({op->getResult(0), /*written=*/true});
  for (Value operand : op->getOperands())
    instance.bindings.push_back({operand, /*written=*/false});
  return instance;
}

/// Appends `values` to `words`, padded with zeros to KILN_MAX_RANK entries.
void appendPadded(llvm::SmallVectorImpl<uint32_t> &words, llvm::ArrayRef<int64_t> values) {
  for (int64_t d = 0; d < KILN_MAX_RANK; ++d)
    words.push_back(d < static_cast<int64_t>(values.size()) ? word(values[d]) : 0u);
}

LogicalResult checkRank(Operation *op, Value value, llvm::StringRef role) {
  int64_t rank = static_cast<int64_t>(shapeOf(value).size());
  if (rank <= KILN_MAX_RANK)
    return success();
  return op->emitOpError("cannot be compiled for the Vulkan target: its ")
         << role << " has rank " << rank << " but the strided kernels support at most rank "
         << KILN_MAX_RANK << "; reshape it to fewer dimensions first";
}

FailureOr<KernelInstance> lowerUnary(Operation *op, uint32_t opcode) {
  KernelInstance instance = makeInstance(VulkanKernel::kElementwiseUnary, op);
  int64_t count = numElements(op->getResult(0));
  instance.pushConstants = {opcode, word(count)};
  instance.groupCount[0] = gridStrideGroups(count, KILN_ELEMENTWISE_WORKGROUP);
  return instance;
}

FailureOr<KernelInstance> lowerBinary(Operation *op, uint32_t opcode) {
  KernelInstance instance = makeInstance(VulkanKernel::kElementwiseBinary, op);
  int64_t count = numElements(op->getResult(0));
  instance.pushConstants = {opcode, word(count)};
  instance.groupCount[0] = gridStrideGroups(count, KILN_ELEMENTWISE_WORKGROUP);
  return instance;
}

uint32_t compareOpcode(graph::ComparePredicate predicate) {
  switch (predicate) {
  case graph::ComparePredicate::eq:
    return KILN_COMPARE_EQ;
  case graph::ComparePredicate::ne:
    return KILN_COMPARE_NE;
  case graph::ComparePredicate::lt:
    return KILN_COMPARE_LT;
  case graph::ComparePredicate::le:
    return KILN_COMPARE_LE;
  case graph::ComparePredicate::gt:
    return KILN_COMPARE_GT;
  case graph::ComparePredicate::ge:
    return KILN_COMPARE_GE;
  }
  return KILN_COMPARE_EQ;
}

FailureOr<KernelInstance> lowerSelect(graph::SelectOp op) {
  KernelInstance instance = makeInstance(VulkanKernel::kSelect, op);
  int64_t count = numElements(op.getResult());
  instance.pushConstants = {0u, word(count)};
  instance.groupCount[0] = gridStrideGroups(count, KILN_ELEMENTWISE_WORKGROUP);
  return instance;
}

/// A gather whose result (of `op`'s result shape) reads the operand at `operandStrides`.
FailureOr<KernelInstance> lowerGather(Operation *op, llvm::ArrayRef<int64_t> operandStrides) {
  Value result = op->getResult(0);
  if (failed(checkRank(op, result, "result")))
    return failure();
  KernelInstance instance = makeInstance(VulkanKernel::kGather, op);
  llvm::ArrayRef<int64_t> shape = shapeOf(result);
  int64_t count = product(shape);
  instance.pushConstants = {word(count), word(shape.size())};
  appendPadded(instance.pushConstants, shape);
  appendPadded(instance.pushConstants, operandStrides);
  instance.groupCount[0] = gridStrideGroups(count, KILN_ELEMENTWISE_WORKGROUP);
  return instance;
}

FailureOr<KernelInstance> lowerBroadcast(graph::BroadcastOp op) {
  llvm::ArrayRef<int64_t> operandShape = shapeOf(op.getOperand());
  llvm::SmallVector<int64_t> operandStrides = contiguousStrides(operandShape);
  llvm::SmallVector<int64_t> strides(shapeOf(op.getResult()).size(), 0);
  for (auto [operandDim, resultDim] : llvm::enumerate(op.getDims()))
    if (operandShape[operandDim] != 1)
      strides[resultDim] = operandStrides[operandDim];
  return lowerGather(op, strides);
}

FailureOr<KernelInstance> lowerTranspose(graph::TransposeOp op) {
  llvm::SmallVector<int64_t> operandStrides = contiguousStrides(shapeOf(op.getOperand()));
  llvm::SmallVector<int64_t> strides;
  for (int64_t source : op.getPerm())
    strides.push_back(operandStrides[source]);
  return lowerGather(op, strides);
}

FailureOr<KernelInstance> lowerReduce(Operation *op, llvm::ArrayRef<int64_t> axes,
                                      uint32_t opcode) {
  Value operand = op->getOperand(0);
  if (failed(checkRank(op, operand, "operand")))
    return failure();
  llvm::ArrayRef<int64_t> shape = shapeOf(operand);
  llvm::SmallVector<int64_t> strides = contiguousStrides(shape);
  llvm::SmallVector<int64_t> keptShape, keptStrides, reducedShape, reducedStrides;
  for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d) {
    bool reduced = llvm::is_contained(axes, d);
    (reduced ? reducedShape : keptShape).push_back(shape[d]);
    (reduced ? reducedStrides : keptStrides).push_back(strides[d]);
  }
  KernelInstance instance = makeInstance(VulkanKernel::kReduce, op);
  int64_t resultCount = product(keptShape);
  instance.pushConstants = {opcode, word(resultCount), word(product(reducedShape)),
                            word(keptShape.size()), word(reducedShape.size())};
  appendPadded(instance.pushConstants, keptShape);
  appendPadded(instance.pushConstants, keptStrides);
  appendPadded(instance.pushConstants, reducedShape);
  appendPadded(instance.pushConstants, reducedStrides);
  instance.groupCount[0] = gridStrideGroups(resultCount, 1);
  return instance;
}

FailureOr<KernelInstance> lowerMatmul(graph::MatmulOp op) {
  llvm::ArrayRef<int64_t> lhsShape = shapeOf(op.getLhs());
  llvm::ArrayRef<int64_t> resultShape = shapeOf(op.getResult());
  size_t rank = resultShape.size();
  int64_t batch = product(resultShape.drop_back(2));
  int64_t m = resultShape[rank - 2], n = resultShape[rank - 1];
  int64_t k = op.getTransposeLhs() ? lhsShape[rank - 2] : lhsShape[rank - 1];
  int64_t tile = KILN_MATMUL_TILE;
  int64_t columnTiles = (n + tile - 1) / tile, rowTiles = (m + tile - 1) / tile;
  if (columnTiles > kMaxGroupsPerDimension || rowTiles > kMaxGroupsPerDimension ||
      batch > kMaxGroupsPerDimension)
    return op.emitOpError("cannot be compiled for the Vulkan target: a ")
           << batch << " x " << m << " x " << n << " product needs a grid of " << columnTiles
           << " x " << rowTiles << " x " << batch << " workgroups, beyond Vulkan's "
           << kMaxGroupsPerDimension << " per dimension";
  // lhs(b, m, k) and rhs(b, k, n) as strides into the stored (maybe transposed) matrices.
  int64_t lhsRowStride = op.getTransposeLhs() ? 1 : k;
  int64_t lhsDepthStride = op.getTransposeLhs() ? m : 1;
  int64_t rhsDepthStride = op.getTransposeRhs() ? 1 : n;
  int64_t rhsColumnStride = op.getTransposeRhs() ? k : 1;
  KernelInstance instance = makeInstance(VulkanKernel::kMatmul, op);
  instance.pushConstants = {word(m),
                            word(n),
                            word(k),
                            word(m * k),
                            word(lhsRowStride),
                            word(lhsDepthStride),
                            word(k * n),
                            word(rhsDepthStride),
                            word(rhsColumnStride)};
  instance.groupCount = {word(columnTiles), word(rowTiles), word(batch)};
  return instance;
}

FailureOr<KernelInstance> lowerSoftmax(Operation *op, int64_t axis, bool logarithm) {
  llvm::ArrayRef<int64_t> shape = shapeOf(op->getResult(0));
  int64_t outer = product(shape.take_front(axis));
  int64_t inner = product(shape.drop_front(axis + 1));
  KernelInstance instance = makeInstance(VulkanKernel::kSoftmax, op);
  instance.pushConstants = {word(outer * inner), word(shape[axis]), word(inner),
                            logarithm ? 1u : 0u};
  instance.groupCount[0] = gridStrideGroups(outer * inner, 1);
  return instance;
}

FailureOr<KernelInstance> lowerCrossEntropy(graph::SoftmaxCrossEntropyOp op) {
  llvm::ArrayRef<int64_t> shape = shapeOf(op.getLogits());
  KernelInstance instance = makeInstance(VulkanKernel::kCrossEntropy, op);
  instance.pushConstants = {word(shape[0]), word(shape[1])};
  instance.groupCount[0] = gridStrideGroups(shape[0], 1);
  return instance;
}

FailureOr<KernelInstance> lowerOneHot(graph::OneHotOp op) {
  llvm::ArrayRef<int64_t> shape = shapeOf(op.getResult());
  int64_t count = product(shape);
  KernelInstance instance = makeInstance(VulkanKernel::kOneHot, op);
  instance.pushConstants = {word(count), word(shape.back())};
  instance.groupCount[0] = gridStrideGroups(count, KILN_ELEMENTWISE_WORKGROUP);
  return instance;
}

FailureOr<KernelInstance> lowerMse(graph::MseOp op) {
  KernelInstance instance = makeInstance(VulkanKernel::kMse, op);
  instance.pushConstants = {word(numElements(op.getPrediction()))};
  return instance;
}

} // namespace

KernelInstance maskConversion(Operation *op, int64_t count, bool pack) {
  KernelInstance instance{VulkanKernel::kMaskBytes, {}, {}, {1, 1, 1}, {op}};
  instance.bindings = {{Value(), /*written=*/true}, {Value(), /*written=*/false}};
  instance.pushConstants = {word(count), pack ? 1u : 0u};
  int64_t items = pack ? (count + 3) / 4 : count;
  instance.groupCount[0] = gridStrideGroups(items, KILN_ELEMENTWISE_WORKGROUP);
  return instance;
}

bool isComputeOp(Operation *op) {
  return isa<graph::AddOp, graph::SubOp, graph::MulOp, graph::DivOp, graph::MaxOp, graph::NegOp,
             graph::ExpOp, graph::LogOp, graph::SqrtOp, graph::ReluOp, graph::TanhOp,
             graph::SigmoidOp, graph::CompareOp, graph::SelectOp, graph::BroadcastOp,
             graph::TransposeOp, graph::ReduceSumOp, graph::ReduceMeanOp, graph::ReduceMaxOp,
             graph::MatmulOp, graph::SoftmaxOp, graph::LogSoftmaxOp, graph::OneHotOp,
             graph::SoftmaxCrossEntropyOp, graph::MseOp>(op);
}

FailureOr<KernelInstance> lowerToKernel(Operation *op) {
  return llvm::TypeSwitch<Operation *, FailureOr<KernelInstance>>(op)
      .Case([](graph::AddOp op) { return lowerBinary(op, KILN_BINARY_ADD); })
      .Case([](graph::SubOp op) { return lowerBinary(op, KILN_BINARY_SUB); })
      .Case([](graph::MulOp op) { return lowerBinary(op, KILN_BINARY_MUL); })
      .Case([](graph::DivOp op) { return lowerBinary(op, KILN_BINARY_DIV); })
      .Case([](graph::MaxOp op) { return lowerBinary(op, KILN_BINARY_MAX); })
      .Case([](graph::NegOp op) { return lowerUnary(op, KILN_UNARY_NEG); })
      .Case([](graph::ExpOp op) { return lowerUnary(op, KILN_UNARY_EXP); })
      .Case([](graph::LogOp op) { return lowerUnary(op, KILN_UNARY_LOG); })
      .Case([](graph::SqrtOp op) { return lowerUnary(op, KILN_UNARY_SQRT); })
      .Case([](graph::ReluOp op) { return lowerUnary(op, KILN_UNARY_RELU); })
      .Case([](graph::TanhOp op) { return lowerUnary(op, KILN_UNARY_TANH); })
      .Case([](graph::SigmoidOp op) { return lowerUnary(op, KILN_UNARY_SIGMOID); })
      .Case([](graph::CompareOp op) { return lowerBinary(op, compareOpcode(op.getPredicate())); })
      .Case([](graph::SelectOp op) { return lowerSelect(op); })
      .Case([](graph::BroadcastOp op) { return lowerBroadcast(op); })
      .Case([](graph::TransposeOp op) { return lowerTranspose(op); })
      .Case([](graph::ReduceSumOp op) { return lowerReduce(op, op.getAxes(), KILN_REDUCE_SUM); })
      .Case([](graph::ReduceMeanOp op) { return lowerReduce(op, op.getAxes(), KILN_REDUCE_MEAN); })
      .Case([](graph::ReduceMaxOp op) { return lowerReduce(op, op.getAxes(), KILN_REDUCE_MAX); })
      .Case([](graph::MatmulOp op) { return lowerMatmul(op); })
      .Case([](graph::SoftmaxOp op) { return lowerSoftmax(op, op.getAxis(), false); })
      .Case([](graph::LogSoftmaxOp op) { return lowerSoftmax(op, op.getAxis(), true); })
      .Case([](graph::SoftmaxCrossEntropyOp op) { return lowerCrossEntropy(op); })
      .Case([](graph::OneHotOp op) { return lowerOneHot(op); })
      .Case([](graph::MseOp op) { return lowerMse(op); })
      .Default([](Operation *op) -> FailureOr<KernelInstance> {
        return op->emitOpError("has no Vulkan kernel");
      });
}

} // namespace kiln::codegen
