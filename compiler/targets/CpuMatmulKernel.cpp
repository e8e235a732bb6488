//===- CpuMatmulKernel.cpp - Matmul kernel functions for the CPU ---------===//
//
// A naive but exact CPU form of a `matmul` kernel function holding one 2-D graph.matmul and
// nothing else: tile i is row i of the result. Each result element sums k in ascending order
// with one fma per k, like the GPU kernels and the reference device; when the right operand
// is not transposed, 8 adjacent columns share one vector<8xf32> accumulator (a broadcast of
// lhs(i, k) times a contiguous load of rhs(k, j..j+7)), and the last N mod 8 columns are
// scalar. Vector lanes and scalar columns round identically, and a row is computed the same
// way whichever call contains it. No cache blocking, packing or register tile yet: this is the
// correctness baseline the tuned schedule of CPU-TARGET.md will be checked against.
//
//===----------------------------------------------------------------------===//
#include "CpuKernelFunction.h"

#include "kiln/Targets/CpuTarget.h"

#include "kiln/Dialect/Graph/GraphDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;

namespace kiln::targets {

namespace {

constexpr int64_t kLanes = 8;

/// The kernel's one matmul, when the function is exactly `return graph.matmul(arg, arg)` on
/// 2-D f32 tensors.
FailureOr<graph::MatmulOp> matchMatmul(func::FuncOp kernel) {
  auto info = kernel->getAttrOfType<graph::KernelAttr>("graph.kernel");
  if (!info || info.getKind() != graph::KernelKind::matmul)
    return kernel.emitOpError("is not a matmul kernel function (graph.kernel of kind matmul)");
  Block &body = kernel.getBody().front();
  auto matmul = dyn_cast<graph::MatmulOp>(body.front());
  auto returnOp = dyn_cast<func::ReturnOp>(body.getTerminator());
  if (!matmul || &body.front() != body.getTerminator()->getPrevNode() || !returnOp ||
      returnOp.getNumOperands() != 1 || returnOp.getOperand(0) != matmul.getResult())
    return kernel.emitOpError("cannot be compiled for the CPU yet: CPU matmul kernels hold one "
                              "graph.matmul whose result they return (no epilogue)");
  for (Value value : {matmul.getLhs(), matmul.getRhs(), matmul.getResult()}) {
    auto type = dyn_cast<RankedTensorType>(value.getType());
    if (!type || type.getRank() != 2 || !type.hasStaticShape() || !type.getElementType().isF32())
      return matmul.emitOpError("cannot be compiled for the CPU yet: operand or result type ")
             << value.getType() << " is not a static 2-D f32 tensor (batched matmul)";
  }
  if (!isa<BlockArgument>(matmul.getLhs()) || !isa<BlockArgument>(matmul.getRhs()))
    return matmul.emitOpError("cannot be compiled for the CPU yet: its operands must be "
                              "kernel arguments");
  return matmul;
}

} // namespace

FailureOr<CpuKernelTiling> buildCpuMatmulKernel(func::FuncOp kernel, ModuleOp into) {
  FailureOr<graph::MatmulOp> matched = matchMatmul(kernel);
  if (failed(matched))
    return failure();
  if (into.lookupSymbol(kernel.getName()))
    return kernel.emitOpError("cannot be written as a CPU kernel: @")
           << kernel.getName() << " already exists in the target module";
  graph::MatmulOp matmul = *matched;
  bool transposeLhs = matmul.getTransposeLhs(), transposeRhs = matmul.getTransposeRhs();
  ArrayRef<int64_t> result = cast<RankedTensorType>(matmul.getType()).getShape();
  ArrayRef<int64_t> lhsShape = cast<RankedTensorType>(matmul.getLhs().getType()).getShape();
  int64_t rows = result[0], columns = result[1];
  int64_t depth = transposeLhs ? lhsShape[0] : lhsShape[1];
  int64_t vectorColumns = transposeRhs ? 0 : columns / kLanes * kLanes;

  Location loc = matmul.getLoc();
  OpBuilder b(into.getContext());
  detail::CpuKernelFunction frame =
      detail::createCpuKernelFunction(b, into, loc, kernel.getName(), 1 + kernel.getNumArguments());
  Value out = frame.bindings[0];
  Value lhs = frame.bindings[1 + cast<BlockArgument>(matmul.getLhs()).getArgNumber()];
  Value rhs = frame.bindings[1 + cast<BlockArgument>(matmul.getRhs()).getArgNumber()];
  auto constant = [&](int64_t value) -> Value {
    return b.create<arith::ConstantIndexOp>(loc, value);
  };
  auto linear = [&](Value row, Value column, int64_t stride) -> Value {
    return b.create<arith::AddIOp>(loc, b.create<arith::MulIOp>(loc, row, constant(stride)),
                                   column);
  };
  Type f32 = b.getF32Type();
  VectorType vector = VectorType::get({kLanes}, f32);

  Value begin = b.create<arith::MinUIOp>(loc, frame.tileBegin, constant(rows));
  Value end = b.create<arith::MaxUIOp>(
      loc, begin, b.create<arith::MinUIOp>(loc, frame.tileEnd, constant(rows)));
  auto rowLoop = b.create<scf::ForOp>(loc, begin, end, constant(1));
  b.setInsertionPointToStart(rowLoop.getBody());
  Value i = rowLoop.getInductionVar();

  // One output site: columns j.. (a vector of kLanes or one scalar), k ascending.
  auto emitSite = [&](Value j, bool wide) {
    Type type = wide ? Type(vector) : f32;
    TypedAttr zeroAttr =
        wide ? TypedAttr(DenseElementsAttr::get(vector, 0.0f)) : TypedAttr(b.getF32FloatAttr(0.0f));
    Value zero = b.create<arith::ConstantOp>(loc, zeroAttr);
    auto kLoop =
        b.create<scf::ForOp>(loc, constant(0), constant(depth), constant(1), ValueRange{zero});
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(kLoop.getBody());
      Value k = kLoop.getInductionVar();
      Value lhsElement = transposeLhs ? linear(k, i, rows) : linear(i, k, depth);
      Value a = b.create<LLVM::LoadOp>(loc, f32, detail::elementAddress(b, loc, lhs, lhsElement),
                                       /*alignment=*/4);
      Value rhsElement = transposeRhs ? linear(j, k, depth) : linear(k, j, columns);
      Value bValue = b.create<LLVM::LoadOp>(
          loc, type, detail::elementAddress(b, loc, rhs, rhsElement), /*alignment=*/4);
      if (wide)
        a = b.create<vector::BroadcastOp>(loc, vector, a);
      Value sum = b.create<math::FmaOp>(loc, a, bValue, kLoop.getRegionIterArgs()[0]);
      b.create<scf::YieldOp>(loc, sum);
    }
    b.create<LLVM::StoreOp>(loc, kLoop.getResult(0),
                            detail::elementAddress(b, loc, out, linear(i, j, columns)),
                            /*alignment=*/4);
  };
  if (vectorColumns > 0) {
    auto columnLoop =
        b.create<scf::ForOp>(loc, constant(0), constant(vectorColumns), constant(kLanes));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(columnLoop.getBody());
    emitSite(columnLoop.getInductionVar(), /*wide=*/true);
  }
  if (vectorColumns < columns) {
    auto columnLoop =
        b.create<scf::ForOp>(loc, constant(vectorColumns), constant(columns), constant(1));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(columnLoop.getBody());
    emitSite(columnLoop.getInductionVar(), /*wide=*/false);
  }
  b.setInsertionPointAfter(rowLoop);
  b.create<func::ReturnOp>(loc);
  return CpuKernelTiling{kernel.getName().str(), static_cast<uint32_t>(rows), columns};
}

} // namespace kiln::targets
