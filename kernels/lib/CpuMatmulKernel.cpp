//===- CpuMatmulKernel.cpp - The CPU contraction: packed and register-tiled ===//
//
// A tile is one panel of NR = cpuMatmulVectors * cpuLanes result columns (of one batch
// element); tiles run panel after panel, so a thread keeps its panels of the right operand.
// For a tile:
//  1. pack: the panel of the right operand, rhs(kk, j0 .. j0 + NR), is copied into scratch
//     as packed[kk * NR + c], zero past the last column, read along the stored matrix's
//     contiguous dimension (so dX = dY Wᵀ does not stride through memory per k);
//  2. micro-kernel: for each block of MR = cpuMatmulRows rows, MR x cpuMatmulVectors vector
//     accumulators (12 ymm on AVX2, BLIS's 6x16) sum k in ascending order, one fma per k:
//     per k, cpuMatmulVectors loads of the packed panel, MR broadcasts of lhs(i, kk);
//  3. epilogue: the accumulators go to a block in scratch, and the kernel's epilogue (bias,
//     activation, every returned value) runs per element through the value emitter with the
//     product provided from the block, row by row, widened to vectors by vectorizeCpuLoop.
// Rows past a multiple of MR get a block of their own size; there is no split of k, so each
// element is one fixed chain of fmas whichever thread computes it.
//
// A convolution op is the same kernel as an implicit GEMM (ConvGeometry.h), the batch being
// the group: packing reads B[g, kk, j] through the geometry's index (the im2col element, a
// zero where it is padding or between strides: a select on a clamped offset, no branch), the
// micro-kernel reads A[g, i, kk] (always in bounds) through it, and the epilogue runs at the
// conv result's index of (g, i, j).
//
//===----------------------------------------------------------------------===//

#include "KernelContext.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;

namespace kiln::kernels {

LogicalResult emitCpuMatmul(KernelContext &context) {
  FailureOr<Contraction> contraction = findContraction(context);
  if (failed(contraction))
    return failure();
  const TargetConfig &config = context.config;
  OpBuilder &b = context.b;
  Location loc = context.loc;
  auto index = [&](int64_t value) -> Value { return context.index(value); };
  auto add = [&](Value lhs, Value rhs) -> Value { return b.create<arith::AddIOp>(loc, lhs, rhs); };
  auto mul = [&](Value lhs, int64_t rhs) -> Value {
    return rhs == 1 ? lhs : b.create<arith::MulIOp>(loc, lhs, index(rhs)).getResult();
  };
  Value product = contraction->product;
  llvm::ArrayRef<int64_t> resultShape = contraction->resultShape;
  llvm::ArrayRef<int64_t> batchShape = contraction->batchShape;
  int64_t batch = contraction->batch;
  int64_t m = contraction->m, n = contraction->n, k = contraction->k;
  bool transposeLhs = contraction->transposeLhs, transposeRhs = contraction->transposeRhs;
  BlockArgument lhsArgument = contraction->lhs, rhsArgument = contraction->rhs;
  std::optional<graph::ConvGeometry> conv = contraction->conv;
  IndexMath math{b, loc};
  if (!conv && (shapeOf(lhsArgument).size() != resultShape.size() ||
                shapeOf(rhsArgument).size() != resultShape.size()))
    return contraction->op->emitOpError("cannot be compiled for the CPU target yet: a "
                                        "broadcast batch operand");
  Value lhs = context.inputs[lhsArgument.getArgNumber()];
  Value rhs = context.inputs[rhsArgument.getArgNumber()];

  const int64_t lanes = config.cpuLanes, vectors = config.cpuMatmulVectors;
  const int64_t panel = lanes * vectors, blockRows = config.cpuMatmulRows;
  int64_t panels = (n + panel - 1) / panel;
  context.tileCount = batch * panels;
  // Scratch: the packed panel, then the block of accumulators.
  int64_t packedElements = k * panel, blockOffset = packedElements;
  int64_t scratchElements = packedElements + blockRows * panel;
  context.scratchBytes = scratchElements * 4;
  Value scratch =
      cpuMemRef(b, loc, context.scratch, MemRefType::get({scratchElements}, b.getF32Type()));
  Type f32 = b.getF32Type();
  VectorType vector = VectorType::get({lanes}, f32);
  llvm::SmallVector<unsigned> all;
  for (unsigned result = 0; result < context.returned.size(); ++result)
    all.push_back(result);

  OpBuilder::InsertionGuard guard(b);
  Value tile = context.linearGroup(context.tileCount);
  Value batchIndex = b.create<arith::DivUIOp>(loc, tile, index(panels));
  Value panelIndex = b.create<arith::RemUIOp>(loc, tile, index(panels));
  Value firstColumn = mul(panelIndex, panel);
  Value lhsBase = mul(batchIndex, m * k), rhsBase = mul(batchIndex, k * n);
  Value resultBase = mul(batchIndex, m * n);
  Index batchIdx = context.delinearize(batchIndex, batchShape);

  // The tile's code for a panel of `width` columns (NR, or the last panel's rest).
  auto emitPanel = [&](int64_t width) -> LogicalResult {
    // 1. Pack, zero past `width`.
    if (width < panel) {
      Value zero = b.create<arith::ConstantOp>(loc, DenseElementsAttr::get(vector, 0.0f));
      auto clear = b.create<scf::ForOp>(loc, index(0), index(packedElements), index(lanes));
      OpBuilder::InsertionGuard clearGuard(b);
      b.setInsertionPointToStart(clear.getBody());
      b.create<vector::StoreOp>(loc, zero, scratch, ValueRange{clear.getInductionVar()});
    }
    {
      // rhs(kk, j): stored [k, n] (j contiguous) or, transposed, [n, k] (kk contiguous).
      // A conv's B is packed kk-major like a plain rhs (along cols, which mostly run along
      // pixels in memory).
      bool columnMajor = transposeRhs && !conv;
      int64_t outerExtent = columnMajor ? width : k, innerExtent = columnMajor ? k : width;
      auto outer = b.create<scf::ForOp>(loc, index(0), index(outerExtent), index(1));
      OpBuilder::InsertionGuard packGuard(b);
      b.setInsertionPointToStart(outer.getBody());
      auto inner = b.create<scf::ForOp>(loc, index(0), index(innerExtent), index(1));
      b.setInsertionPointToStart(inner.getBody());
      Value kk = columnMajor ? inner.getInductionVar() : outer.getInductionVar();
      Value c = columnMajor ? outer.getInductionVar() : inner.getInductionVar();
      Value column = add(firstColumn, c);
      Value element;
      if (conv) {
        graph::ConvAccess<Value, Value> access = conv->rhsAt(math, batchIndex, kk, column);
        Value offset = b.create<arith::SelectOp>(loc, access.valid, access.offset, index(0));
        Value loaded = b.create<memref::LoadOp>(loc, rhs, offset);
        element = b.create<arith::SelectOp>(
            loc, access.valid, loaded, b.create<arith::ConstantOp>(loc, b.getF32FloatAttr(0.0f)));
      } else {
        Value source = transposeRhs ? add(mul(column, k), kk) : add(mul(kk, n), column);
        element = b.create<memref::LoadOp>(loc, rhs, add(rhsBase, source));
      }
      b.create<memref::StoreOp>(loc, element, scratch, add(mul(kk, panel), c));
      b.setInsertionPointAfter(inner);
      vectorizeCpuLoop(b, inner, lanes);
    }

    // 2 and 3 for a block of `rows` rows from `firstRow`.
    auto emitBlock = [&](Value firstRow, int64_t rows) -> LogicalResult {
      Value zero = b.create<arith::ConstantOp>(loc, DenseElementsAttr::get(vector, 0.0f));
      llvm::SmallVector<Value> initial(rows * vectors, zero);
      auto depth = b.create<scf::ForOp>(loc, index(0), index(k), index(1), initial);
      {
        OpBuilder::InsertionGuard depthGuard(b);
        b.setInsertionPointToStart(depth.getBody());
        Value kk = depth.getInductionVar();
        Value packedRow = mul(kk, panel);
        llvm::SmallVector<Value> right;
        for (int64_t v = 0; v < vectors; ++v)
          right.push_back(b.create<vector::LoadOp>(loc, vector, scratch,
                                                   ValueRange{add(packedRow, index(v * lanes))}));
        llvm::SmallVector<Value> next;
        for (int64_t r = 0; r < rows; ++r) {
          Value row = add(firstRow, index(r));
          Value at = conv           ? conv->lhsAt(math, batchIndex, row, kk).offset
                     : transposeLhs ? add(lhsBase, add(mul(kk, m), row))
                                    : add(lhsBase, add(mul(row, k), kk));
          Value left =
              b.create<vector::BroadcastOp>(loc, vector, b.create<memref::LoadOp>(loc, lhs, at));
          for (int64_t v = 0; v < vectors; ++v)
            next.push_back(b.create<math::FmaOp>(loc, left, right[v],
                                                 depth.getRegionIterArgs()[r * vectors + v]));
        }
        b.create<scf::YieldOp>(loc, next);
      }
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t v = 0; v < vectors; ++v)
          b.create<vector::StoreOp>(loc, depth.getResult(r * vectors + v), scratch,
                                    ValueRange{index(blockOffset + r * panel + v * lanes)});
      // The epilogue, row by row of the block (a loop: one copy of its code per block shape).
      auto blockRow = b.create<scf::ForOp>(loc, index(0), index(rows), index(1));
      {
        OpBuilder::InsertionGuard rowGuard(b);
        b.setInsertionPointToStart(blockRow.getBody());
        Value r = blockRow.getInductionVar();
        Value row = add(firstRow, r);
        Value blockStart = add(index(blockOffset), mul(r, panel));
        auto columns = b.create<scf::ForOp>(loc, index(0), index(width), index(1));
        {
          OpBuilder::InsertionGuard epilogueGuard(b);
          b.setInsertionPointToStart(columns.getBody());
          Value c = columns.getInductionVar();
          Value column = add(firstColumn, c);
          Index idx;
          Value linear;
          if (conv) {
            std::array<Value, 4> at = conv->resultAt(math, batchIndex, row, column);
            idx.assign(at.begin(), at.end());
            linear = math.ravel(idx, resultShape);
          } else {
            idx = batchIdx;
            idx.push_back(row);
            idx.push_back(column);
            linear = add(resultBase, add(mul(row, n), column));
          }
          context.beginSite(idx, resultShape, linear);
          context.provided[product] = b.create<memref::LoadOp>(loc, scratch, add(blockStart, c));
          if (failed(context.storeResults(all, idx)))
            return failure();
        }
        vectorizeCpuLoop(b, columns, lanes);
      }
      return success();
    };
    int64_t fullRows = m / blockRows * blockRows;
    if (fullRows > 0) {
      auto blocks = b.create<scf::ForOp>(loc, index(0), index(fullRows), index(blockRows));
      OpBuilder::InsertionGuard blockGuard(b);
      b.setInsertionPointToStart(blocks.getBody());
      if (failed(emitBlock(blocks.getInductionVar(), blockRows)))
        return failure();
    }
    if (fullRows < m && failed(emitBlock(index(fullRows), m - fullRows)))
      return failure();
    return success();
  };

  int64_t lastWidth = n - (panels - 1) * panel;
  if (lastWidth == panel)
    return emitPanel(panel);
  if (panels == 1)
    return emitPanel(lastWidth);
  Value isLast =
      b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, panelIndex, index(panels - 1));
  auto branch = b.create<scf::IfOp>(loc, isLast, /*withElseRegion=*/true);
  b.setInsertionPointToStart(&branch.getThenRegion().front());
  if (failed(emitPanel(lastWidth)))
    return failure();
  b.setInsertionPointToStart(&branch.getElseRegion().front());
  return emitPanel(panel);
}

} // namespace kiln::kernels
