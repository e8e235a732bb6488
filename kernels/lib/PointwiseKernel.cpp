//===- PointwiseKernel.cpp - Elementwise kernels ---------------------------===//
//
// A grid-stride loop over the elements of every result shape ("segments"),
// one element per thread per iteration, `pointwiseWorkgroup` threads per
// workgroup and at most `maxGroupsPerDimension` workgroups. Every result is
// computed by the value emitter at its own element index, so an elementwise
// update may run in place.
//
//===----------------------------------------------------------------------===//

#include "KernelContext.h"

#include <algorithm>

using namespace mlir;

namespace kiln::kernels {

namespace {

/// The CPU form: tile t covers elements [t * T, (t + 1) * T) of the segments laid end to end
/// (T = cpuPointwiseTileElements); a call loops over each segment's part of its tiles, in
/// vectors of cpuLanes with a scalar tail. Every element is computed by the same
/// instructions however the tiles are split among threads (lanes and the tail round alike).
LogicalResult emitCpuSegments(KernelContext &context,
                              llvm::ArrayRef<llvm::SmallVector<int64_t>> shapes,
                              llvm::ArrayRef<llvm::SmallVector<unsigned>> members, int64_t total) {
  OpBuilder &b = context.b;
  Location loc = context.loc;
  int64_t tile = context.config.cpuPointwiseTileElements;
  context.tileCount = (total + tile - 1) / tile;
  Value first = b.create<arith::MulIOp>(loc, context.tileBegin, context.index(tile));
  Value last = b.create<arith::MulIOp>(loc, context.tileEnd, context.index(tile));
  int64_t start = 0;
  for (auto [shape, segment] : llvm::zip(shapes, members)) {
    int64_t count = product(shape);
    // This segment's elements in the call's range, relative to the segment's start.
    auto clamp = [&](Value bound) -> Value {
      Value shifted = b.create<arith::SubIOp>(
          loc, b.create<arith::MaxUIOp>(loc, bound, context.index(start)), context.index(start));
      return b.create<arith::MinUIOp>(loc, shifted, context.index(count));
    };
    Value begin = clamp(first);
    Value end = b.create<arith::MaxUIOp>(loc, begin, clamp(last));
    auto loop = b.create<scf::ForOp>(loc, begin, end, context.index(1));
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      Value linear = loop.getInductionVar();
      context.beginSite(context.delinearize(linear, shape), shape, linear);
      if (failed(context.storeResults(segment, context.siteIndex())))
        return failure();
    }
    vectorizeCpuLoop(b, loop, context.config.cpuLanes);
    start += count;
  }
  return success();
}

} // namespace

LogicalResult emitSegmentedGridStride(KernelContext &context) {
  OpBuilder &b = context.b;
  Location loc = context.loc;
  // Segments: the results grouped by shape; one flat range of threads each.
  llvm::SmallVector<llvm::SmallVector<int64_t>> shapes;
  llvm::SmallVector<llvm::SmallVector<unsigned>> members;
  for (auto [i, value] : llvm::enumerate(context.returned)) {
    llvm::ArrayRef<int64_t> shape = shapeOf(value);
    auto it = llvm::find_if(shapes, [&](auto &known) { return llvm::ArrayRef(known) == shape; });
    if (it == shapes.end()) {
      shapes.push_back(llvm::SmallVector<int64_t>(shape));
      members.emplace_back();
      it = std::prev(shapes.end());
    }
    members[it - shapes.begin()].push_back(static_cast<unsigned>(i));
  }
  int64_t total = 0;
  for (auto &shape : shapes)
    total += product(shape);
  if (context.cpu())
    return emitCpuSegments(context, shapes, members, total);
  int64_t workgroup = context.config.pointwiseWorkgroup;
  int64_t groups = std::clamp<int64_t>((total + workgroup - 1) / workgroup, 1,
                                       context.config.maxGroupsPerDimension);
  context.workgroup = {static_cast<uint32_t>(workgroup), 1, 1};
  context.grid = {static_cast<uint32_t>(groups), 1, 1};

  Value thread = b.create<gpu::ThreadIdOp>(loc, gpu::Dimension::x);
  Value group = b.create<gpu::BlockIdOp>(loc, gpu::Dimension::x);
  Value first = b.create<arith::AddIOp>(
      loc, b.create<arith::MulIOp>(loc, group, context.index(workgroup)), thread);
  auto loop =
      b.create<scf::ForOp>(loc, first, context.index(total), context.index(groups * workgroup));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(loop.getBody());
  Value element = loop.getInductionVar();
  int64_t start = 0;
  for (auto [shape, segment] : llvm::zip(shapes, members)) {
    int64_t count = product(shape);
    OpBuilder::InsertionGuard segmentGuard(b);
    Value linear = element;
    if (shapes.size() > 1) {
      Value inside = b.create<arith::AndIOp>(
          loc,
          b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::uge, element, context.index(start)),
          b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, element,
                                  context.index(start + count)));
      auto branch = b.create<scf::IfOp>(loc, inside, /*withElseRegion=*/false);
      b.setInsertionPointToStart(&branch.getThenRegion().front());
      linear = start == 0 ? element : b.create<arith::SubIOp>(loc, element, context.index(start));
    }
    context.beginSite(context.delinearize(linear, shape), shape, linear);
    if (failed(context.storeResults(segment, context.siteIndex())))
      return failure();
    start += count;
  }
  return success();
}

namespace {

class PointwiseEmitter : public KernelKindEmitter {
public:
  LogicalResult emit(KernelContext &context) override { return emitSegmentedGridStride(context); }
};

} // namespace

std::unique_ptr<KernelKindEmitter> createPointwiseEmitter() {
  return std::make_unique<PointwiseEmitter>();
}

} // namespace kiln::kernels
