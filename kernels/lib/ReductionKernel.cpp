//===- ReductionKernel.cpp - A reduction with its prologue and epilogue ---===//
//
// One workgroup per output element, a power of two of threads (within the
// configuration's range) striding over the reduced elements. At each visited
// element the prologue runs (with any results it stores) and the reduction's
// term is combined into the thread's accumulator; a tree in workgroup memory
// combines the threads; thread 0 finishes the result (a mean divides) and runs
// the epilogue. The reduced dimensions, combiner, term and result all come
// from the op's IterationSpaceOpInterface. An ordered reduction (graph.scatter_add) runs
// one thread per output element on every target, so its terms combine in ascending order of
// the reduced elements everywhere and every device computes the same bits.
//
//===----------------------------------------------------------------------===//

#include "KernelContext.h"

using namespace mlir;

namespace kiln::kernels {
namespace {

class ReductionEmitter : public KernelKindEmitter {
public:
  llvm::SmallVector<int64_t> workgroupMemory(const KernelContext &context) const override {
    return {context.config.maxReductionThreads};
  }
  LogicalResult emit(KernelContext &context) override;
};

LogicalResult ReductionEmitter::emit(KernelContext &context) {
  graph::IterationSpaceOpInterface reduction;
  for (Operation &op : context.body())
    if (auto iterating = llvm::dyn_cast<graph::IterationSpaceOpInterface>(op))
      if (iterating.getIterationSpace().kind == graph::IterationKind::Reduction)
        reduction = iterating;
  if (!reduction)
    return context.kernel.emitOpError("internal compiler error: a reduction kernel without a "
                                      "reduction");
  graph::IterationSpace space = reduction.getIterationSpace();
  OpBuilder &b = context.b;
  Location loc = context.loc;
  llvm::SmallVector<int64_t> reducedDims = space.reducedDims();
  llvm::SmallVector<int64_t> keptShape, reducedShape;
  for (auto [d, extent] : llvm::enumerate(space.extents))
    (llvm::is_contained(reducedDims, static_cast<int64_t>(d)) ? reducedShape : keptShape)
        .push_back(extent);
  int64_t outputs = product(keptShape), reduced = product(reducedShape);
  // An ordered reduction (graph.scatter_add) combines its terms one at a time in ascending
  // order of the reduced elements: one thread, as on the CPU, so every target sums alike.
  int64_t threads = space.ordered ? 1 : context.reductionThreads(reduced);
  context.workgroup = {static_cast<uint32_t>(threads), 1, 1};
  context.grid = context.gridFor(outputs);

  Value thread = context.threadId();
  OpBuilder::InsertionGuard guard(b);
  Value output = context.linearGroup(outputs);
  Index keptIdx = context.delinearize(output, keptShape);
  Value result = reduction->getResult(0);
  llvm::SmallVector<unsigned> prologueResults =
      context.resultsDependingOn({reduction.getOperation()}, false);
  llvm::SmallVector<unsigned> epilogueResults =
      context.resultsDependingOn({reduction.getOperation()}, true);

  auto loop = b.create<scf::ForOp>(loc, thread, context.index(reduced), context.index(threads),
                                   ValueRange{context.identity(space.combiner)});
  {
    OpBuilder::InsertionGuard loopGuard(b);
    b.setInsertionPointToStart(loop.getBody());
    Index reducedIdx = context.delinearize(loop.getInductionVar(), reducedShape);
    Index loopIdx;
    for (int64_t d = 0, kept = 0, red = 0; d < static_cast<int64_t>(space.extents.size()); ++d)
      loopIdx.push_back(llvm::is_contained(reducedDims, d) ? reducedIdx[red++] : keptIdx[kept++]);
    // The site is the visited element of operand 0 (at the loops' own index for every
    // reduction Kiln has), so the prologue's results store at it.
    FailureOr<Index> siteIdx = context.applyMap(space.operandMaps[0], loopIdx, reduction);
    if (failed(siteIdx))
      return failure();
    llvm::ArrayRef<int64_t> siteShape = shapeOf(reduction->getOperand(0));
    context.beginSite({}, {}, Value());
    Value linear = context.linearize(*siteIdx, siteShape);
    context.beginSite(*siteIdx, siteShape, linear);
    llvm::SmallVector<Value, 2> operands;
    for (auto [i, operand] : llvm::enumerate(reduction->getOperands())) {
      FailureOr<Index> operandIdx = context.applyMap(space.operandMaps[i], loopIdx, reduction);
      if (failed(operandIdx))
        return failure();
      FailureOr<Value> value = context.at(operand, *operandIdx);
      if (failed(value))
        return failure();
      operands.push_back(*value);
    }
    Value term = reduction.buildReductionTermAt(b, loc, operands, loopIdx);
    if (failed(context.storeResults(prologueResults, context.siteIndex())))
      return failure();
    Value combined = context.combine(space.combiner, loop.getRegionIterArgs()[0], term);
    b.create<scf::YieldOp>(loc, combined);
  }
  // A thread past the last reduced element runs no iteration, and the SPIR-V lowering of a
  // zero-trip scf.for leaves its result undefined rather than its initial value (lavapipe reads
  // 0: harmless for a sum, wrong for a maximum of negative values), so such a thread
  // contributes the identity explicitly.
  Value partial = loop.getResult(0);
  if (threads > reduced) {
    Value ran =
        b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, thread, context.index(reduced));
    partial = b.create<arith::SelectOp>(loc, ran, partial, context.identity(space.combiner));
  }
  Value total = context.workgroupReduce(partial, thread, threads, space.combiner);
  total = reduction.buildReductionResult(b, loc, total, reduced);
  context.onFirstThread(thread);
  context.beginSite(keptIdx, shapeOf(result), output);
  context.provided[result] = total;
  return context.storeResults(epilogueResults, keptIdx);
}

} // namespace

std::unique_ptr<KernelKindEmitter> createReductionEmitter() {
  return std::make_unique<ReductionEmitter>();
}

} // namespace kiln::kernels
