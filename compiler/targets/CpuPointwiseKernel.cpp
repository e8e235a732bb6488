//===- CpuPointwiseKernel.cpp - Pointwise kernel functions for the CPU ---===//
//
// The CPU form of a `pointwise` kernel function: tile t covers elements
// [t * kCpuPointwiseTileElements, min((t + 1) * kCpuPointwiseTileElements, N)). A call for
// tiles [tile_begin, tile_end) runs one loop of 8-lane vectors over their elements and a
// scalar loop over the last fewer-than-8, so every element is computed by the same code
// however the tiles are split. Each site loads the operands it reads, computes every op by
// its ElementwiseOpInterface payload and stores every result after all loads (an output may
// share memory with an input). The vector loop's payload is the scalar payload widened: it
// is built on scalar placeholders, then each op (arith and math ops are all elementwise
// mappable) is recreated on vectors, scalar constants as splats.
//
//===----------------------------------------------------------------------===//
#include "CpuKernelFunction.h"

#include "kiln/Targets/CpuTarget.h"

#include "kiln/Dialect/Graph/GraphDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"

using namespace mlir;

namespace kiln::targets {

namespace {

constexpr int64_t kLanes = 8;

/// `op`'s payload on `operands` (f32 scalars, or vectors of kLanes f32).
FailureOr<Value> buildPayload(OpBuilder &b, graph::ElementwiseOpInterface op, ValueRange operands,
                              bool vector) {
  Location loc = op->getLoc();
  if (!vector)
    return op.buildScalar(b, loc, operands);
  Block scratch;
  for (Value operand : operands)
    scratch.addArgument(cast<VectorType>(operand.getType()).getElementType(), loc);
  OpBuilder inner(b.getContext());
  inner.setInsertionPointToStart(&scratch);
  Value scalar = op.buildScalar(inner, loc, scratch.getArguments());
  IRMapping mapping;
  mapping.map(scratch.getArguments(), operands);
  for (Operation &payload : scratch) {
    auto widen = [](Type type) -> Type {
      return type.isIntOrFloat() ? VectorType::get({kLanes}, type) : Type();
    };
    if (auto constant = dyn_cast<arith::ConstantOp>(payload)) {
      auto value = dyn_cast<TypedAttr>(constant.getValue());
      Type type = value ? widen(value.getType()) : Type();
      if (!type)
        return payload.emitError("cannot widen the constant in the payload of ") << op->getName();
      mapping.map(
          constant.getResult(),
          b.create<arith::ConstantOp>(loc, DenseElementsAttr::get(cast<ShapedType>(type), value)));
      continue;
    }
    SmallVector<Type> types;
    for (Type type : payload.getResultTypes())
      types.push_back(widen(type));
    bool widenable = payload.hasTrait<OpTrait::Elementwise>() && payload.getNumRegions() == 0 &&
                     llvm::all_of(types, [](Type type) { return bool(type); });
    if (!widenable)
      return payload.emitError("cannot widen '") << payload.getName() << "' in the payload of "
                                                 << op->getName() << " to " << kLanes << " lanes";
    OperationState state(payload.getLoc(), payload.getName());
    for (Value operand : payload.getOperands())
      state.addOperands(mapping.lookup(operand));
    state.addTypes(types);
    state.addAttributes(payload.getAttrs());
    Operation *wide = b.create(state);
    mapping.map(payload.getResults(), wide->getResults());
  }
  return mapping.lookup(scalar);
}

/// The code of one site (a vector or a scalar element) of the kernel function `kernel`.
class SiteBuilder {
public:
  SiteBuilder(OpBuilder &b, func::FuncOp kernel, ArrayRef<Value> bindings, unsigned numResults)
      : b(b), kernel(kernel), bindings(bindings), numResults(numResults) {}

  LogicalResult build(Value element, bool vector) {
    Location loc = kernel.getLoc();
    Type f32 = b.getF32Type();
    Type type = vector ? Type(VectorType::get({kLanes}, f32)) : f32;
    auto address = [&](Value base) { return detail::elementAddress(b, loc, base, element); };
    IRMapping values;
    for (auto [index, argument] : llvm::enumerate(kernel.getArguments()))
      if (!argument.use_empty())
        values.map(argument,
                   b.create<LLVM::LoadOp>(loc, type, address(bindings[numResults + index]),
                                          /*alignment=*/4));
    auto returnOp = cast<func::ReturnOp>(kernel.getBody().front().getTerminator());
    for (Operation &op : kernel.getBody().front().without_terminator()) {
      auto elementwise = dyn_cast<graph::ElementwiseOpInterface>(op);
      if (!elementwise)
        return op.emitError("cannot be compiled for the CPU yet: pointwise CPU kernels "
                            "support elementwise ops only");
      SmallVector<Value> operands;
      for (Value operand : op.getOperands())
        operands.push_back(values.lookup(operand));
      FailureOr<Value> result = buildPayload(b, elementwise, operands, vector);
      if (failed(result))
        return failure();
      values.map(op.getResult(0), *result);
    }
    for (auto [index, result] : llvm::enumerate(returnOp.getOperands()))
      b.create<LLVM::StoreOp>(loc, values.lookup(result), address(bindings[index]),
                              /*alignment=*/4);
    return success();
  }

private:
  OpBuilder &b;
  func::FuncOp kernel;
  ArrayRef<Value> bindings;
  unsigned numResults;
};

/// Every argument and result of `kernel` is an f32 tensor of one shape, and every op has
/// one f32 result of that shape; returns its element count.
FailureOr<int64_t> checkPointwise(func::FuncOp kernel) {
  auto info = kernel->getAttrOfType<graph::KernelAttr>("graph.kernel");
  if (!info || info.getKind() != graph::KernelKind::pointwise)
    return kernel.emitOpError("is not a pointwise kernel function (graph.kernel of kind "
                              "pointwise)");
  if (kernel.getNumResults() == 0 || !kernel.getBody().hasOneBlock())
    return kernel.emitOpError("has no results or more than one block");
  RankedTensorType shape = dyn_cast<RankedTensorType>(kernel.getResultTypes()[0]);
  auto check = [&](Type type, Location loc, const llvm::Twine &what) -> LogicalResult {
    auto tensor = dyn_cast<RankedTensorType>(type);
    if (!shape || !tensor || !tensor.getElementType().isF32() || !tensor.hasStaticShape() ||
        tensor.getShape() != shape.getShape())
      return emitError(loc) << what << " has type " << type << "; the CPU pointwise kernel @"
                            << kernel.getName() << " needs f32 tensors of one static shape"
                            << (shape ? " (the first result's)" : "");
    return success();
  };
  for (BlockArgument argument : kernel.getArguments())
    if (failed(check(argument.getType(), kernel.getLoc(),
                     "argument " + llvm::Twine(argument.getArgNumber()))))
      return failure();
  for (Operation &op : kernel.getBody().front().without_terminator())
    if (op.getNumResults() != 1 || failed(check(op.getResult(0).getType(), op.getLoc(),
                                                "'" + op.getName().getStringRef() + "' result")))
      return failure();
  for (auto [index, type] : llvm::enumerate(kernel.getResultTypes()))
    if (failed(check(type, kernel.getLoc(), "result " + llvm::Twine(index))))
      return failure();
  return shape.getNumElements();
}

} // namespace

FailureOr<CpuKernelTiling> buildCpuPointwiseKernel(func::FuncOp kernel, ModuleOp into) {
  FailureOr<int64_t> numElements = checkPointwise(kernel);
  if (failed(numElements))
    return failure();
  if (into.lookupSymbol(kernel.getName()))
    return kernel.emitOpError("cannot be written as a CPU kernel: @")
           << kernel.getName() << " already exists in the target module";
  Location loc = kernel.getLoc();
  OpBuilder b(into.getContext());
  unsigned numResults = kernel.getNumResults();
  detail::CpuKernelFunction frame = detail::createCpuKernelFunction(
      b, into, loc, kernel.getName(), numResults + kernel.getNumArguments());
  func::FuncOp function = frame.function;
  SmallVector<Value> bindings = frame.bindings;
  Value tileBegin = frame.tileBegin, tileEnd = frame.tileEnd;

  auto constant = [&](int64_t value) { return b.create<arith::ConstantIndexOp>(loc, value); };
  Value tileElements = constant(kCpuPointwiseTileElements);
  Value begin = b.create<arith::MulIOp>(loc, tileBegin, tileElements);
  Value end = b.create<arith::MinUIOp>(loc, b.create<arith::MulIOp>(loc, tileEnd, tileElements),
                                       constant(*numElements));
  end = b.create<arith::MaxUIOp>(loc, end, begin);
  Value count = b.create<arith::SubIOp>(loc, end, begin);
  Value vectorCount = b.create<arith::MulIOp>(
      loc, b.create<arith::DivUIOp>(loc, count, constant(kLanes)), constant(kLanes));
  Value vectorEnd = b.create<arith::AddIOp>(loc, begin, vectorCount);

  SiteBuilder site(b, kernel, bindings, numResults);
  auto vectorLoop = b.create<scf::ForOp>(loc, begin, vectorEnd, constant(kLanes));
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(vectorLoop.getBody());
    if (failed(site.build(vectorLoop.getInductionVar(), /*vector=*/true))) {
      function.erase();
      return failure();
    }
  }
  auto scalarLoop = b.create<scf::ForOp>(loc, vectorEnd, end, constant(1));
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(scalarLoop.getBody());
    if (failed(site.build(scalarLoop.getInductionVar(), /*vector=*/false))) {
      function.erase();
      return failure();
    }
  }
  b.create<func::ReturnOp>(loc);

  int64_t tiles = (*numElements + kCpuPointwiseTileElements - 1) / kCpuPointwiseTileElements;
  return CpuKernelTiling{kernel.getName().str(), static_cast<uint32_t>(tiles),
                         kCpuPointwiseTileElements};
}

} // namespace kiln::targets
