//===- MatmulKernel.cpp - A contraction with its epilogue -----------------===//
//
// One workgroup per `matmulTile` x `matmulTile` output tile, of
// `matmulThreadsPerSide`^2 threads each computing `matmulPerThread`^2 outputs;
// both operands staged through workgroup memory `matmulTileDepth` deep along
// k, read along each stored matrix's contiguous dimension. Which operand is
// transposed comes from the contraction's operand index maps. The epilogue
// runs per output element on the accumulator; the batch is the grid's z.
//
// A convolution op is the same kernel as an implicit GEMM (ConvGeometry.h): the
// batch is the group, and stage() loads A[g, row, depth] and B[g, depth, col]
// through the geometry's index (the im2col element, zero where it falls in the
// padding or between strides) instead of a plain row-major offset; the
// epilogue runs at the conv result's index the geometry gives for (g, row, col).
//
//===----------------------------------------------------------------------===//

#include "KernelContext.h"

using namespace mlir;

namespace kiln::kernels {
namespace {

class MatmulEmitter : public KernelKindEmitter {
public:
  llvm::SmallVector<int64_t> workgroupMemory(const KernelContext &context) const override {
    return {context.config.matmulTileElements(), context.config.matmulTileElements()};
  }
  LogicalResult emit(KernelContext &context) override;
};

LogicalResult MatmulEmitter::emit(KernelContext &context) {
  FailureOr<Contraction> contraction = findContraction(context);
  if (failed(contraction))
    return failure();
  const TargetConfig &config = context.config;
  OpBuilder &b = context.b;
  Location loc = context.loc;
  auto index = [&](int64_t value) { return context.index(value); };
  Value product = contraction->product;
  llvm::ArrayRef<int64_t> resultShape = contraction->resultShape;
  llvm::ArrayRef<int64_t> batchShape = contraction->batchShape;
  int64_t batch = contraction->batch;
  int64_t m = contraction->m, n = contraction->n, k = contraction->k;
  bool transposeLhs = contraction->transposeLhs, transposeRhs = contraction->transposeRhs;
  BlockArgument lhs = contraction->lhs, rhs = contraction->rhs;
  int64_t tile = config.matmulTile, depthTile = config.matmulTileDepth;
  int64_t side = config.matmulThreadsPerSide, perThread = config.matmulPerThread;
  int64_t maxGroups = config.maxGroupsPerDimension;
  int64_t columnTiles = (n + tile - 1) / tile, rowTiles = (m + tile - 1) / tile;
  if (columnTiles > maxGroups || rowTiles > maxGroups || batch > maxGroups)
    return contraction->op->emitOpError("cannot be compiled: a ")
           << batch << " x " << m << " x " << n << " product needs " << columnTiles << " x "
           << rowTiles << " x " << batch << " workgroups, beyond " << maxGroups << " per dimension";
  context.workgroup = {static_cast<uint32_t>(side), static_cast<uint32_t>(side), 1};
  context.grid = {static_cast<uint32_t>(columnTiles), static_cast<uint32_t>(rowTiles),
                  static_cast<uint32_t>(batch)};

  Value lhsTile = context.workgroupBuffers[0], rhsTile = context.workgroupBuffers[1];
  Value tx = b.create<gpu::ThreadIdOp>(loc, gpu::Dimension::x);
  Value ty = b.create<gpu::ThreadIdOp>(loc, gpu::Dimension::y);
  Value bx = b.create<gpu::BlockIdOp>(loc, gpu::Dimension::x);
  Value by = b.create<gpu::BlockIdOp>(loc, gpu::Dimension::y);
  Value bz = b.create<gpu::BlockIdOp>(loc, gpu::Dimension::z);
  Value thread = b.create<arith::AddIOp>(loc, b.create<arith::MulIOp>(loc, ty, index(side)), tx);
  Value rowBase = b.create<arith::MulIOp>(loc, by, index(tile));
  Value columnBase = b.create<arith::MulIOp>(loc, bx, index(tile));
  Value lhsBatch = b.create<arith::MulIOp>(loc, bz, index(m * k));
  Value rhsBatch = b.create<arith::MulIOp>(loc, bz, index(k * n));
  Value zero = context.f32(0.0);
  int64_t accumulators = perThread * perThread, threads = side * side;

  // Stages the tile of `operand` (rows/columns `base`.., depth `depth`..) into `tileBuffer` as
  // tile[depth * tile + outer], reading along the stored matrix's contiguous dimension
  // (outerMajorInMemory: element (outer, depth) at outer * k + depth, else depth * extent +
  // outer).
  // A conv operand's element: the geometry's offset and validity at (outer, depth).
  std::optional<graph::ConvGeometry> conv = contraction->conv;
  IndexMath math{b, loc};
  using ConvElement = std::function<graph::ConvAccess<Value, Value>(Value outer, Value depth)>;
  auto stage = [&](Value operand, Value tileBuffer, Value base, Value depth, int64_t outerExtent,
                   Value batchOffset, bool outerMajorInMemory,
                   const ConvElement &convElement = nullptr) {
    for (int64_t q = 0; q < config.matmulTileElements() / threads; ++q) {
      Value e = b.create<arith::AddIOp>(loc, thread, index(q * threads));
      Value outer, inner;
      if (outerMajorInMemory) {
        outer = b.create<arith::DivUIOp>(loc, e, index(depthTile));
        inner = b.create<arith::RemUIOp>(loc, e, index(depthTile));
      } else {
        inner = b.create<arith::DivUIOp>(loc, e, index(tile));
        outer = b.create<arith::RemUIOp>(loc, e, index(tile));
      }
      Value globalOuter = b.create<arith::AddIOp>(loc, base, outer);
      Value globalDepth = b.create<arith::AddIOp>(loc, depth, inner);
      Value inBounds = b.create<arith::AndIOp>(
          loc,
          b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, globalOuter, index(outerExtent)),
          b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, globalDepth, index(k)));
      std::optional<graph::ConvAccess<Value, Value>> convAccess;
      if (convElement) {
        convAccess = convElement(globalOuter, globalDepth);
        inBounds = math.all(inBounds, convAccess->valid);
      }
      auto branch = b.create<scf::IfOp>(loc, b.getF32Type(), inBounds, /*withElse=*/true);
      {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(&branch.getThenRegion().front());
        Value offset;
        if (convAccess) {
          offset = convAccess->offset;
        } else {
          offset = outerMajorInMemory
                       ? b.create<arith::AddIOp>(
                             loc, b.create<arith::MulIOp>(loc, globalOuter, index(k)), globalDepth)
                       : b.create<arith::AddIOp>(
                             loc, b.create<arith::MulIOp>(loc, globalDepth, index(outerExtent)),
                             globalOuter);
          offset = b.create<arith::AddIOp>(loc, offset, batchOffset);
        }
        b.create<scf::YieldOp>(loc, b.create<memref::LoadOp>(loc, operand, offset).getResult());
        b.setInsertionPointToStart(&branch.getElseRegion().front());
        b.create<scf::YieldOp>(loc, zero);
      }
      Value slot =
          b.create<arith::AddIOp>(loc, b.create<arith::MulIOp>(loc, inner, index(tile)), outer);
      b.create<memref::StoreOp>(loc, branch.getResult(0), tileBuffer, slot);
    }
  };

  llvm::SmallVector<Value> initial(accumulators, zero);
  auto tiles = b.create<scf::ForOp>(loc, index(0), index(k), index(depthTile), initial);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(tiles.getBody());
    Value depth = tiles.getInductionVar();
    context.directReads.insert(lhs.getArgNumber());
    context.directReads.insert(rhs.getArgNumber());
    if (conv) {
      // A[g, row, depth] runs along depth in memory (weights, or the gradient's pixels);
      // B[g, depth, col] along col (output or input pixels), except for weight_grad's taps.
      stage(context.inputs[lhs.getArgNumber()], lhsTile, rowBase, depth, m, lhsBatch, true,
            [&](Value row, Value d) { return conv->lhsAt(math, bz, row, d); });
      stage(context.inputs[rhs.getArgNumber()], rhsTile, columnBase, depth, n, rhsBatch, false,
            [&](Value col, Value d) { return conv->rhsAt(math, bz, d, col); });
    } else {
      // lhs(m, k): stored [m, k] (k contiguous) or, transposed, [k, m].
      stage(context.inputs[lhs.getArgNumber()], lhsTile, rowBase, depth, m, lhsBatch,
            !transposeLhs);
      // rhs(k, n): stored [k, n] (n contiguous) or, transposed, [n, k].
      stage(context.inputs[rhs.getArgNumber()], rhsTile, columnBase, depth, n, rhsBatch,
            transposeRhs);
    }
    b.create<gpu::BarrierOp>(loc);
    auto inner =
        b.create<scf::ForOp>(loc, index(0), index(depthTile), index(1), tiles.getRegionIterArgs());
    {
      OpBuilder::InsertionGuard innerGuard(b);
      b.setInsertionPointToStart(inner.getBody());
      Value kk = b.create<arith::MulIOp>(loc, inner.getInductionVar(), index(tile));
      llvm::SmallVector<Value, 8> a, bValues;
      for (int64_t i = 0; i < perThread; ++i) {
        Value row = b.create<arith::AddIOp>(loc, ty, index(i * side));
        a.push_back(b.create<memref::LoadOp>(loc, lhsTile,
                                             b.create<arith::AddIOp>(loc, kk, row).getResult()));
        Value column = b.create<arith::AddIOp>(loc, tx, index(i * side));
        bValues.push_back(b.create<memref::LoadOp>(
            loc, rhsTile, b.create<arith::AddIOp>(loc, kk, column).getResult()));
      }
      llvm::SmallVector<Value> next;
      for (int64_t i = 0; i < perThread; ++i)
        for (int64_t j = 0; j < perThread; ++j) {
          Value accumulator = inner.getRegionIterArgs()[i * perThread + j];
          next.push_back(b.create<arith::AddFOp>(loc, accumulator,
                                                 b.create<arith::MulFOp>(loc, a[i], bValues[j])));
        }
      b.create<scf::YieldOp>(loc, next);
    }
    b.create<gpu::BarrierOp>(loc);
    b.create<scf::YieldOp>(loc, inner.getResults());
  }

  Index batchIdx = context.delinearize(bz, batchShape);
  llvm::SmallVector<unsigned> all;
  for (unsigned result = 0; result < context.returned.size(); ++result)
    all.push_back(result);
  for (int64_t i = 0; i < perThread; ++i)
    for (int64_t j = 0; j < perThread; ++j) {
      OpBuilder::InsertionGuard guard(b);
      Value row =
          b.create<arith::AddIOp>(loc, rowBase, b.create<arith::AddIOp>(loc, ty, index(i * side)));
      Value column = b.create<arith::AddIOp>(loc, columnBase,
                                             b.create<arith::AddIOp>(loc, tx, index(j * side)));
      Value inside = b.create<arith::AndIOp>(
          loc, b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, row, index(m)),
          b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, column, index(n)));
      auto branch = b.create<scf::IfOp>(loc, inside, /*withElseRegion=*/false);
      b.setInsertionPointToStart(&branch.getThenRegion().front());
      Index idx;
      Value linear;
      if (conv) {
        std::array<Value, 4> at = conv->resultAt(math, bz, row, column);
        idx.assign(at.begin(), at.end());
        linear = math.ravel(idx, resultShape);
      } else {
        idx = batchIdx;
        idx.push_back(row);
        idx.push_back(column);
        linear = b.create<arith::AddIOp>(
            loc, b.create<arith::MulIOp>(loc, bz, index(m * n)),
            b.create<arith::AddIOp>(loc, b.create<arith::MulIOp>(loc, row, index(n)), column));
      }
      context.beginSite(idx, resultShape, linear);
      context.provided[product] = tiles.getResult(i * perThread + j);
      if (failed(context.storeResults(all, idx)))
        return failure();
    }
  return success();
}

} // namespace

std::unique_ptr<KernelKindEmitter> createMatmulEmitter() {
  return std::make_unique<MatmulEmitter>();
}

} // namespace kiln::kernels
