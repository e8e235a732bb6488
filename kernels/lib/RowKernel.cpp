//===- RowKernel.cpp - Per-row reductions, then elementwise work ----------===//
//
// The general row kernel: one workgroup per row of the row shape (the
// element shape with the row axis), a power of two of threads striding along
// the row. Its anchors are row ops (RowOpInterface: softmax, log_softmax,
// softmax_cross_entropy) and reductions of exactly the last axis of a tensor
// of the element shape; elementwise ops and views run per element or per row
// (the axis dropped), and a broadcast reads a per-row value back per element.
//
// In body order, every statistic (each of a row op's statistics, each row
// reduction) takes one strided pass over the row computing its term through
// the value emitter, a workgroup tree combination and, for a reduction, its
// `buildReductionResult`. The statistic then holds for the whole row
// (`rowValues`), so later terms and results read it at any index of the row.
// A last pass stores the per-element results; thread 0 stores the per-row
// ones. Row ops on one operand whose statistics are built alike (softmax and
// the cross entropy of the same logits) share one set of passes.
//
//===----------------------------------------------------------------------===//

#include "KernelContext.h"

#include "mlir/IR/OperationSupport.h"

using namespace mlir;

namespace kiln::kernels {
namespace {

class RowEmitter : public KernelKindEmitter {
public:
  llvm::SmallVector<int64_t> workgroupMemory(const KernelContext &context) const override {
    return {context.config.maxReductionThreads};
  }
  LogicalResult emit(KernelContext &context) override;

private:
  /// The row's element index at position `position` along the axis, from the index of an
  /// element (`idx` of the element rank) or of a row (`idx` without the axis).
  Index elementAt(llvm::ArrayRef<Value> idx, Value position) const {
    Index element(idx.begin(), idx.end());
    if (element.size() == shape_.size())
      element[axis_] = position;
    else
      element.insert(element.begin() + axis_, position);
    return element;
  }

  /// Finds the anchors and the row's shape; fails at an anchor that does not fit.
  LogicalResult scanAnchors(KernelContext &context);
  /// Whether row op `other` computes the same statistics as `known` (same operand and axis,
  /// terms built alike).
  bool sameStatistics(graph::RowOpInterface known, graph::RowOpInterface other) const;
  /// One strided pass over the row combining `term(element index)`; the workgroup's total.
  FailureOr<Value> statistic(KernelContext &context, graph::Combiner combiner,
                             llvm::function_ref<FailureOr<Value>(llvm::ArrayRef<Value>)> term);

  llvm::SmallVector<Operation *> anchors_;
  llvm::SmallVector<int64_t> shape_, rowShape_;
  int64_t axis_ = 0, length_ = 0, threads_ = 0;
  Value thread_, base_;
  int64_t innerCount_ = 1;
  Index rowIdx_;
  llvm::DenseMap<Operation *, llvm::SmallVector<Value>> statistics_;
  /// The row ops whose statistics have passes of their own, in body order.
  llvm::SmallVector<Operation *> computed_;
};

LogicalResult RowEmitter::scanAnchors(KernelContext &context) {
  for (Operation &op : context.body()) {
    llvm::SmallVector<int64_t> shape;
    int64_t axis = 0;
    if (auto row = llvm::dyn_cast<graph::RowOpInterface>(op)) {
      shape.assign(shapeOf(op.getOperand(0)).begin(), shapeOf(op.getOperand(0)).end());
      axis = row.getRowAxis();
    } else if (auto iterating = llvm::dyn_cast<graph::IterationSpaceOpInterface>(op)) {
      graph::IterationSpace space = iterating.getIterationSpace();
      if (space.kind != graph::IterationKind::Reduction)
        return op.emitOpError("cannot be emitted in a row kernel: it is neither a row "
                              "computation nor a reduction");
      shape = space.extents;
      axis = static_cast<int64_t>(shape.size()) - 1;
      if (space.reducedDims() != llvm::SmallVector<int64_t>{axis})
        return op.emitOpError("cannot be emitted in a row kernel: it reduces other than ")
               << "exactly the last axis of its operand";
    } else {
      continue;
    }
    if (anchors_.empty()) {
      shape_ = shape;
      axis_ = axis;
    } else if (shape != shape_ || axis != axis_) {
      return op.emitOpError("cannot be emitted in this row kernel: its rows run along axis ")
             << axis << " of a tensor of " << shape.size() << " dimensions, unlike "
             << anchors_.front()->getName() << "'s";
    }
    anchors_.push_back(&op);
  }
  if (anchors_.empty())
    return context.kernel.emitOpError("internal compiler error: a row kernel without a row "
                                      "computation or reduction");
  rowShape_ = shape_;
  rowShape_.erase(rowShape_.begin() + axis_);
  length_ = shape_[axis_];
  innerCount_ = product(llvm::ArrayRef(shape_).drop_front(axis_ + 1));
  return success();
}

bool RowEmitter::sameStatistics(graph::RowOpInterface known, graph::RowOpInterface other) const {
  if (known->getOperand(0) != other->getOperand(0) || known.getRowAxis() != other.getRowAxis())
    return false;
  llvm::SmallVector<graph::Combiner> combiners = known.getRowStatistics();
  if (combiners != other.getRowStatistics())
    return false;
  // Build both ops' terms on placeholders and compare them op by op.
  Block scratch;
  Location loc = known.getLoc();
  Type f32 = Float32Type::get(known.getContext());
  Value element = scratch.addArgument(f32, loc);
  llvm::SmallVector<Value> statistics;
  for (size_t k = 0; k < combiners.size(); ++k)
    statistics.push_back(scratch.addArgument(f32, loc));
  OpBuilder b(known.getContext());
  b.setInsertionPointToStart(&scratch);
  std::function<LogicalResult(Value, Value)> equivalent = [&](Value lhs, Value rhs) {
    if (lhs == rhs)
      return success();
    Operation *lhsOp = lhs.getDefiningOp(), *rhsOp = rhs.getDefiningOp();
    if (!lhsOp || !rhsOp ||
        llvm::cast<OpResult>(lhs).getResultNumber() != llvm::cast<OpResult>(rhs).getResultNumber())
      return failure();
    return success(OperationEquivalence::isEquivalentTo(lhsOp, rhsOp, equivalent, nullptr,
                                                        OperationEquivalence::IgnoreLocations));
  };
  bool same = true;
  for (unsigned k = 0; k < combiners.size() && same; ++k) {
    ValueRange before = ValueRange(statistics).take_front(k);
    Value lhs = known.buildStatisticTerm(b, loc, k, element, before);
    Value rhs = other.buildStatisticTerm(b, loc, k, element, before);
    same = succeeded(equivalent(lhs, rhs));
  }
  for (Operation &op : llvm::make_early_inc_range(llvm::reverse(scratch)))
    op.erase();
  return same;
}

FailureOr<Value>
RowEmitter::statistic(KernelContext &context, graph::Combiner combiner,
                      llvm::function_ref<FailureOr<Value>(llvm::ArrayRef<Value>)> term) {
  OpBuilder &b = context.b;
  Location loc = context.loc;
  auto loop = b.create<scf::ForOp>(loc, thread_, context.index(length_), context.index(threads_),
                                   ValueRange{context.identity(combiner)});
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value position = loop.getInductionVar();
    Value linear = b.create<arith::AddIOp>(
        loc, base_, b.create<arith::MulIOp>(loc, position, context.index(innerCount_)));
    context.beginSite(elementAt(rowIdx_, position), shape_, linear);
    FailureOr<Value> value = term(context.siteIndex());
    if (failed(value))
      return failure();
    b.create<scf::YieldOp>(loc, context.combine(combiner, loop.getRegionIterArgs()[0], *value));
  }
  // A thread past the row's end runs no iteration; the SPIR-V lowering of a zero-trip scf.for
  // leaves its result undefined (ReductionKernel.cpp), so it contributes the identity.
  Value partial = loop.getResult(0);
  if (threads_ > length_)
    partial = b.create<arith::SelectOp>(
        loc,
        b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, thread_, context.index(length_)),
        partial, context.identity(combiner));
  return context.workgroupReduce(partial, thread_, threads_, combiner);
}

LogicalResult RowEmitter::emit(KernelContext &context) {
  if (failed(scanAnchors(context)))
    return failure();
  OpBuilder &b = context.b;
  Location loc = context.loc;
  threads_ = context.reductionThreads(length_);
  int64_t rows = product(shape_) / length_;
  context.workgroup = {static_cast<uint32_t>(threads_), 1, 1};
  context.grid = context.gridFor(rows);

  thread_ = context.threadId();
  OpBuilder::InsertionGuard guard(b);
  Value row = context.linearGroup(rows);
  Value outer = b.create<arith::DivUIOp>(loc, row, context.index(innerCount_));
  Value inner = b.create<arith::RemUIOp>(loc, row, context.index(innerCount_));
  base_ = b.create<arith::AddIOp>(
      loc, b.create<arith::MulIOp>(loc, outer, context.index(length_ * innerCount_)), inner);
  rowIdx_ = context.delinearize(row, rowShape_);

  // Row ops' results, per element or per row, wherever the value emitter reads them (in a
  // later statistic's term or in the results), once their statistics are known.
  bool readFailed = false;
  context.anchorAt = [&](Value value,
                         llvm::ArrayRef<Value> idx) -> std::optional<FailureOr<Value>> {
    auto rowOp = llvm::dyn_cast_or_null<graph::RowOpInterface>(value.getDefiningOp());
    if (!rowOp || !statistics_.count(rowOp))
      return std::nullopt;
    Value source = rowOp->getOperand(0);
    auto rowElementAt = [&](Value position) -> Value {
      FailureOr<Value> element = context.at(source, elementAt(idx, position));
      readFailed |= failed(element);
      return succeeded(element) ? *element : context.f32(0.0);
    };
    Value element;
    llvm::SmallVector<Value, 2> rowOperands;
    if (rowOp.isPerRow()) {
      for (Value operand : rowOp->getOperands().drop_front()) {
        FailureOr<Value> scalar = context.at(operand, idx);
        if (failed(scalar))
          return scalar;
        rowOperands.push_back(*scalar);
      }
    } else {
      FailureOr<Value> scalar = context.at(source, idx);
      if (failed(scalar))
        return scalar;
      element = *scalar;
    }
    Value result =
        rowOp.buildRowResult(b, loc, element, statistics_[rowOp], rowOperands, rowElementAt);
    if (readFailed)
      return FailureOr<Value>(failure());
    return FailureOr<Value>(result);
  };

  // The statistics, in body order.
  for (Operation *anchor : anchors_) {
    if (auto rowOp = llvm::dyn_cast<graph::RowOpInterface>(anchor)) {
      if (auto a = llvm::dyn_cast<BlockArgument>(anchor->getOperand(0)))
        context.directReads.insert(a.getArgNumber());
      auto shared = llvm::find_if(computed_, [&](Operation *known) {
        return sameStatistics(llvm::cast<graph::RowOpInterface>(known), rowOp);
      });
      if (shared != computed_.end()) {
        llvm::SmallVector<Value> copy = statistics_[*shared];
        statistics_[anchor] = copy;
        continue;
      }
      llvm::SmallVector<Value> known;
      for (auto [k, combiner] : llvm::enumerate(rowOp.getRowStatistics())) {
        FailureOr<Value> total = statistic(context, combiner, [&](llvm::ArrayRef<Value> idx) {
          FailureOr<Value> element = context.at(anchor->getOperand(0), idx);
          if (failed(element))
            return element;
          return FailureOr<Value>(
              rowOp.buildStatisticTerm(b, loc, static_cast<unsigned>(k), *element, known));
        });
        if (failed(total))
          return failure();
        known.push_back(*total);
      }
      statistics_[anchor] = known;
      computed_.push_back(anchor);
      continue;
    }
    auto reduction = llvm::cast<graph::IterationSpaceOpInterface>(anchor);
    graph::IterationSpace space = reduction.getIterationSpace();
    FailureOr<Value> total = statistic(context, space.combiner, [&](llvm::ArrayRef<Value> idx) {
      llvm::SmallVector<Value, 2> operands;
      for (auto [i, operand] : llvm::enumerate(anchor->getOperands())) {
        FailureOr<Index> operandIdx = context.applyMap(space.operandMaps[i], idx, anchor);
        if (failed(operandIdx))
          return FailureOr<Value>(failure());
        FailureOr<Value> value = context.at(operand, *operandIdx);
        if (failed(value))
          return value;
        operands.push_back(*value);
      }
      return FailureOr<Value>(reduction.buildReductionTerm(b, loc, operands));
    });
    if (failed(total))
      return failure();
    context.rowValues[anchor->getResult(0)] =
        reduction.buildReductionResult(b, loc, *total, length_);
  }

  llvm::SmallVector<unsigned> elementResults, rowResults;
  for (auto [i, value] : llvm::enumerate(context.returned)) {
    llvm::ArrayRef<int64_t> shape = shapeOf(value);
    if (shape == llvm::ArrayRef(shape_))
      elementResults.push_back(static_cast<unsigned>(i));
    else if (shape == llvm::ArrayRef(rowShape_))
      rowResults.push_back(static_cast<unsigned>(i));
    else
      return context.kernel.emitOpError("internal compiler error: result ")
             << i << " of a row kernel is neither at the element shape nor at the row shape";
  }
  // Per element.
  if (!elementResults.empty()) {
    auto loop = b.create<scf::ForOp>(loc, thread_, context.index(length_), context.index(threads_));
    OpBuilder::InsertionGuard loopGuard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value position = loop.getInductionVar();
    Value linear = b.create<arith::AddIOp>(
        loc, base_, b.create<arith::MulIOp>(loc, position, context.index(innerCount_)));
    context.beginSite(elementAt(rowIdx_, position), shape_, linear);
    if (failed(context.storeResults(elementResults, context.siteIndex())))
      return failure();
  }
  // Per row, on thread 0.
  if (!rowResults.empty()) {
    OpBuilder::InsertionGuard branchGuard(b);
    context.onFirstThread(thread_);
    context.beginSite(rowIdx_, rowShape_, row);
    if (failed(context.storeResults(rowResults, rowIdx_)))
      return failure();
  }
  context.anchorAt = nullptr;
  return success();
}

} // namespace

std::unique_ptr<KernelKindEmitter> createRowEmitter() { return std::make_unique<RowEmitter>(); }

} // namespace kiln::kernels
