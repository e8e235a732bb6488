//===- KernelContext.cpp - The value emitter every kernel kind shares -----===//
//
// Index arithmetic, workgroup reductions, and the value emitter: a graph value
// of the kernel at a multi-index, from the op interfaces (a leaf is a load, an
// elementwise op its scalar payload, a view its element function), memoized
// per site; and the loads and stores it records for the in-place analysis.
//
//===----------------------------------------------------------------------===//

#include "KernelContext.h"

#include "mlir/Dialect/Utils/StaticValueUtils.h"

#include "mlir/IR/BuiltinAttributes.h"

#include <algorithm>
#include <limits>

using namespace mlir;

namespace kiln::kernels {

int64_t product(llvm::ArrayRef<int64_t> extents) {
  int64_t result = 1;
  for (int64_t extent : extents)
    result *= extent;
  return result;
}

llvm::ArrayRef<int64_t> shapeOf(Value value) {
  return llvm::cast<ShapedType>(value.getType()).getShape();
}

KernelContext::KernelContext(func::FuncOp kernel, const TargetConfig &config)
    : kernel(kernel), config(config), b(kernel.getContext()), loc(kernel.getLoc()) {}

Value KernelContext::index(int64_t value) { return b.create<arith::ConstantIndexOp>(loc, value); }

Value KernelContext::f32(double value) { return graph::f32Constant(b, loc, value); }

Value KernelContext::linearize(llvm::ArrayRef<Value> idx, llvm::ArrayRef<int64_t> shape) {
  if (!siteIdx_.empty() && shape == llvm::ArrayRef<int64_t>(siteShape_) &&
      llvm::equal(idx, siteIdx_))
    return siteLinear_;
  Value linear = index(0);
  int64_t stride = 1;
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
    Value term = stride == 1 ? idx[d] : b.create<arith::MulIOp>(loc, idx[d], index(stride));
    linear = b.create<arith::AddIOp>(loc, linear, term);
    stride *= shape[d];
  }
  return linear;
}

Index KernelContext::delinearize(Value linear, llvm::ArrayRef<int64_t> shape) {
  Index idx(shape.size());
  int64_t stride = product(shape);
  for (size_t d = 0; d < shape.size(); ++d) {
    stride /= shape[d];
    Value quotient = stride == 1 ? linear : b.create<arith::DivUIOp>(loc, linear, index(stride));
    idx[d] = shape[d] == 1 ? index(0)
             : d == 0      ? quotient
                           : b.create<arith::RemUIOp>(loc, quotient, index(shape[d]));
  }
  return idx;
}

FailureOr<Index> KernelContext::applyMap(AffineMap map, llvm::ArrayRef<Value> loopIdx,
                                         Operation *where) {
  Index idx;
  for (AffineExpr expr : map.getResults()) {
    if (auto dim = llvm::dyn_cast<AffineDimExpr>(expr))
      idx.push_back(loopIdx[dim.getPosition()]);
    else if (auto constant = llvm::dyn_cast<AffineConstantExpr>(expr))
      idx.push_back(index(constant.getValue()));
    else
      return where->emitOpError("internal compiler error: an operand index map that is not a "
                                "permutation of loops: ")
             << AffineMapAttr::get(map);
  }
  return idx;
}

Value KernelContext::combine(graph::Combiner combiner, Value lhs, Value rhs) {
  if (combiner == graph::Combiner::Max)
    return b.create<arith::MaximumFOp>(loc, lhs, rhs);
  return b.create<arith::AddFOp>(loc, lhs, rhs);
}

Value KernelContext::identity(graph::Combiner combiner) {
  return combiner == graph::Combiner::Max ? f32(-std::numeric_limits<float>::infinity()) : f32(0.0);
}

Value KernelContext::threadId() {
  if (cpu())
    return index(0);
  return b.create<gpu::ThreadIdOp>(loc, gpu::Dimension::x);
}

int64_t KernelContext::reductionThreads(int64_t extent) const {
  int64_t result = config.minReductionThreads;
  while (result < extent && result < config.maxReductionThreads)
    result *= 2;
  return result;
}

std::array<uint32_t, 3> KernelContext::gridFor(int64_t count) const {
  int64_t x = std::clamp<int64_t>(count, 1, config.maxGroupsPerDimension);
  int64_t y = (count + x - 1) / x;
  return {static_cast<uint32_t>(x), static_cast<uint32_t>(std::max<int64_t>(y, 1)), 1};
}

Value KernelContext::linearGroup(int64_t count) {
  if (cpu()) {
    tileCount = count;
    Value begin = b.create<arith::MinUIOp>(loc, tileBegin, index(count));
    Value end =
        b.create<arith::MaxUIOp>(loc, begin, b.create<arith::MinUIOp>(loc, tileEnd, index(count)));
    auto loop = b.create<scf::ForOp>(loc, begin, end, index(1));
    tileLoop = loop;
    b.setInsertionPointToStart(loop.getBody());
    return loop.getInductionVar();
  }
  Value group = b.create<arith::AddIOp>(
      loc, b.create<gpu::BlockIdOp>(loc, gpu::Dimension::x),
      b.create<arith::MulIOp>(loc, b.create<gpu::BlockIdOp>(loc, gpu::Dimension::y),
                              index(grid[0])));
  if (static_cast<int64_t>(grid[0]) * grid[1] != count) {
    Value inside = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, group, index(count));
    auto branch = b.create<scf::IfOp>(loc, inside, /*withElseRegion=*/false);
    b.setInsertionPointToStart(&branch.getThenRegion().front());
  }
  return group;
}

Value KernelContext::workgroupReduce(Value value, Value thread, int64_t threads,
                                     graph::Combiner combiner) {
  if (threads == 1)
    return value;
  Value scratch = workgroupBuffers.front();
  b.create<memref::StoreOp>(loc, value, scratch, thread);
  b.create<gpu::BarrierOp>(loc);
  for (int64_t half = threads / 2; half >= 1; half /= 2) {
    Value active = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, thread, index(half));
    auto branch = b.create<scf::IfOp>(loc, active, /*withElseRegion=*/false);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&branch.getThenRegion().front());
      Value mine = b.create<memref::LoadOp>(loc, scratch, thread);
      Value other = b.create<memref::LoadOp>(
          loc, scratch, b.create<arith::AddIOp>(loc, thread, index(half)).getResult());
      b.create<memref::StoreOp>(loc, combine(combiner, mine, other), scratch, thread);
    }
    b.create<gpu::BarrierOp>(loc);
  }
  Value total = b.create<memref::LoadOp>(loc, scratch, index(0));
  // Everyone has read the total before the scratch is reused.
  b.create<gpu::BarrierOp>(loc);
  return total;
}

void KernelContext::onFirstThread(Value thread) {
  if (cpu())
    return;
  Value first = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, thread, index(0));
  auto branch = b.create<scf::IfOp>(loc, first, /*withElseRegion=*/false);
  b.setInsertionPointToStart(&branch.getThenRegion().front());
}

void KernelContext::beginSite(Index idx, llvm::ArrayRef<int64_t> shape, Value linear) {
  ++site_;
  memo_.clear();
  provided.clear();
  siteIdx_ = std::move(idx);
  siteShape_.assign(shape.begin(), shape.end());
  siteLinear_ = linear;
}

Value KernelContext::load(BlockArgument leaf, llvm::ArrayRef<Value> idx) {
  Value linear = linearize(idx, shapeOf(leaf));
  bool canonical = linear == siteLinear_ && shapeOf(leaf) == llvm::ArrayRef(siteShape_);
  loads_[leaf.getArgNumber()].push_back({site_, canonical});
  Value loaded = b.create<memref::LoadOp>(loc, inputs[leaf.getArgNumber()], linear);
  if (llvm::cast<ShapedType>(leaf.getType()).getElementType().isInteger(1))
    return b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ne, loaded,
                                   b.create<arith::ConstantIntOp>(loc, 0, 32));
  return loaded;
}

FailureOr<Value> KernelContext::at(Value value, llvm::ArrayRef<Value> idx) {
  std::pair<void *, std::vector<void *>> key{value.getAsOpaquePointer(), {}};
  for (Value i : idx)
    key.second.push_back(i.getAsOpaquePointer());
  if (auto it = memo_.find(key); it != memo_.end())
    return it->second;
  FailureOr<Value> result = compute(value, idx);
  if (succeeded(result))
    memo_[key] = *result;
  return result;
}

FailureOr<Value> KernelContext::compute(Value value, llvm::ArrayRef<Value> idx) {
  if (auto it = provided.find(value); it != provided.end()) {
    if (!llvm::equal(idx, siteIdx_))
      return emitError(value.getLoc(), "internal compiler error: a kernel reads the ")
             << "anchor's result away from the element its thread holds";
    return it->second;
  }
  if (auto it = rowValues.find(value); it != rowValues.end())
    return it->second;
  if (anchorAt)
    if (std::optional<FailureOr<Value>> own = anchorAt(value, idx))
      return *own;
  if (auto leaf = llvm::dyn_cast<BlockArgument>(value))
    return load(leaf, idx);
  Operation *op = value.getDefiningOp();
  if (auto view = llvm::dyn_cast<graph::IndexViewOpInterface>(op); view && view.isIndexView())
    return view.buildElement(b, loc, idx, [&](unsigned operand, ValueRange operandIdx) {
      return at(op->getOperand(operand), llvm::SmallVector<Value, 4>(operandIdx));
    });
  if (auto elementwise = llvm::dyn_cast<graph::ElementwiseOpInterface>(op)) {
    llvm::SmallVector<Value, 3> scalars;
    for (Value operand : op->getOperands()) {
      FailureOr<Value> scalar = at(operand, idx);
      if (failed(scalar))
        return failure();
      scalars.push_back(*scalar);
    }
    return elementwise.buildScalar(b, loc, scalars);
  }
  return op->emitOpError("cannot be emitted inside a ")
         << kindName << " kernel at an element index (a bug in kernel formation)";
}

LogicalResult KernelContext::storeResults(llvm::ArrayRef<unsigned> results,
                                          llvm::ArrayRef<Value> idx) {
  llvm::SmallVector<Value> words;
  for (unsigned resultIndex : results) {
    FailureOr<Value> computed = at(returned[resultIndex], idx);
    if (failed(computed))
      return failure();
    Value word = *computed;
    if (word.getType().isInteger(1))
      word = b.create<arith::ExtUIOp>(loc, b.getI32Type(), word);
    words.push_back(word);
  }
  for (auto [resultIndex, word] : llvm::zip(results, words)) {
    Value linear = linearize(idx, shapeOf(returned[resultIndex]));
    if (linear == siteLinear_)
      stores_[resultIndex].insert(site_);
    else
      nonCanonicalStores_.insert(resultIndex);
    b.create<memref::StoreOp>(loc, word, outputs[resultIndex], linear);
  }
  return success();
}

llvm::SmallVector<unsigned> KernelContext::resultsDependingOn(llvm::ArrayRef<Operation *> roots,
                                                              bool depend) {
  llvm::DenseSet<Value> dependent;
  for (Operation *root : roots)
    for (Value result : root->getResults())
      dependent.insert(result);
  for (Operation &op : body())
    if (llvm::any_of(op.getOperands(), [&](Value v) { return dependent.contains(v); }))
      for (Value result : op.getResults())
        dependent.insert(result);
  llvm::SmallVector<unsigned> selected;
  for (auto [i, value] : llvm::enumerate(returned))
    if (dependent.contains(value) == depend)
      selected.push_back(static_cast<unsigned>(i));
  return selected;
}

llvm::SmallVector<std::pair<uint32_t, uint32_t>> KernelContext::inPlacePairs() {
  llvm::SmallVector<std::pair<uint32_t, uint32_t>> pairs;
  for (unsigned output = 0; output < returned.size(); ++output) {
    if (nonCanonicalStores_.contains(output) || !stores_.count(output))
      continue;
    for (BlockArgument argument : body().getArguments()) {
      if (argument.getType() != returned[output].getType())
        continue;
      auto it = loads_.find(argument.getArgNumber());
      if (it == loads_.end() || directReads.contains(argument.getArgNumber()))
        continue;
      bool sameElement = llvm::all_of(it->second, [&](std::pair<int, bool> load) {
        return load.second && stores_[output].contains(load.first);
      });
      if (sameElement)
        pairs.push_back({output, static_cast<uint32_t>(returned.size() + argument.getArgNumber())});
    }
  }
  return pairs;
}

FailureOr<llvm::SmallVector<MemRefType>>
prepareKernel(KernelContext &context, graph::KernelAttr info, llvm::StringRef target) {
  func::FuncOp kernel = context.kernel;
  OpBuilder &b = context.b;
  context.kindName = info.getKindName();
  Block &body = context.body();
  for (Value value : body.getTerminator()->getOperands())
    context.returned.push_back(value);
  auto supported = [](Type element) {
    return element.isF32() || element.isInteger(32) || element.isInteger(1);
  };
  llvm::SmallVector<MemRefType> types;
  for (Value value : llvm::concat<Value>(context.returned, body.getArguments())) {
    auto type = llvm::cast<RankedTensorType>(value.getType());
    Type element = type.getElementType();
    if (!supported(element))
      return kernel.emitOpError("cannot be compiled for ")
             << target << ": " << type << " has elements of type " << element
             << "; kernels support f32, i32 and i1";
    if (!type.hasStaticShape())
      return kernel.emitOpError("cannot be compiled for ")
             << target << ": " << type << " has a dynamic shape";
    types.push_back(MemRefType::get({type.getNumElements()},
                                    element.isF32() ? Type(b.getF32Type()) : Type(b.getI32Type())));
  }
  for (Operation &op : body)
    for (Value result : op.getResults())
      if (auto tensor = llvm::dyn_cast<RankedTensorType>(result.getType());
          tensor && !supported(tensor.getElementType()))
        return op.emitOpError("cannot be compiled for ")
               << target << ": its result " << tensor << " is not f32, i32 or i1";
  return types;
}

Value IndexMath::constant(int64_t value) { return b.create<arith::ConstantIndexOp>(loc, value); }
Value IndexMath::add(Value lhs, Value rhs) { return b.create<arith::AddIOp>(loc, lhs, rhs); }
Value IndexMath::sub(Value lhs, Value rhs) { return b.create<arith::SubIOp>(loc, lhs, rhs); }
Value IndexMath::mul(Value lhs, int64_t rhs) {
  return rhs == 1 ? lhs : b.create<arith::MulIOp>(loc, lhs, constant(rhs)).getResult();
}
Value IndexMath::div(Value lhs, int64_t rhs) {
  return rhs == 1 ? lhs : b.create<arith::DivUIOp>(loc, lhs, constant(rhs)).getResult();
}
Value IndexMath::rem(Value lhs, int64_t rhs) {
  return rhs == 1 ? constant(0) : b.create<arith::RemUIOp>(loc, lhs, constant(rhs)).getResult();
}
Value IndexMath::inRange(Value value, int64_t limit) {
  return all(b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::sge, value, constant(0)),
             b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::slt, value, constant(limit)));
}
Value IndexMath::isZero(Value value) {
  return b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, value, constant(0));
}
Value IndexMath::all(Value lhs, Value rhs) {
  if (auto known = getConstantIntValue(lhs); known && *known)
    return rhs;
  if (auto known = getConstantIntValue(rhs); known && *known)
    return lhs;
  return b.create<arith::AndIOp>(loc, lhs, rhs);
}
Value IndexMath::yes() { return b.create<arith::ConstantIntOp>(loc, 1, 1); }
Value IndexMath::ravel(llvm::ArrayRef<Value> idx, llvm::ArrayRef<int64_t> shape) {
  Value linear = idx.front();
  for (size_t d = 1; d < idx.size(); ++d)
    linear = add(mul(linear, shape[d]), idx[d]);
  return linear;
}

FailureOr<Contraction> findContraction(KernelContext &context) {
  Contraction found;
  graph::IterationSpace space;
  for (Operation &op : context.body())
    if (auto iterating = llvm::dyn_cast<graph::IterationSpaceOpInterface>(op))
      if (iterating.getIterationSpace().kind == graph::IterationKind::Contraction) {
        found.op = &op;
        space = iterating.getIterationSpace();
      }
  if (!found.op)
    return context.kernel.emitOpError("internal compiler error: a matmul kernel without a "
                                      "contraction");
  found.product = found.op->getResult(0);
  found.resultShape = shapeOf(found.product);
  if ((found.conv = graph::convGeometryOf(found.op))) {
    found.batch = found.conv->groups();
    found.m = found.conv->rows();
    found.n = found.conv->cols();
    found.k = found.conv->depth();
    found.lhs = llvm::dyn_cast<BlockArgument>(found.op->getOperand(found.conv->lhsOperand()));
    found.rhs = llvm::dyn_cast<BlockArgument>(found.op->getOperand(found.conv->rhsOperand()));
  } else {
    size_t rank = found.resultShape.size();
    found.batchShape = found.resultShape.drop_back(2);
    found.batch = product(found.batchShape);
    found.m = found.resultShape[rank - 2];
    found.n = found.resultShape[rank - 1];
    found.k = space.extents[rank];
    AffineExpr depthDim = getAffineDimExpr(rank, context.b.getContext());
    found.transposeLhs = space.operandMaps[0].getResults().back() != depthDim;
    found.transposeRhs = space.operandMaps[1].getResults().back() == depthDim;
    found.lhs = llvm::dyn_cast<BlockArgument>(found.op->getOperand(0));
    found.rhs = llvm::dyn_cast<BlockArgument>(found.op->getOperand(1));
  }
  if (!found.lhs || !found.rhs)
    return found.op->emitOpError("cannot be emitted: its ")
           << (found.lhs ? "rhs" : "lhs") << " is computed inside the kernel, but a matmul "
           << "kernel reads its operands from buffers (a bug in kernel formation)";
  context.directReads.insert(found.lhs.getArgNumber());
  context.directReads.insert(found.rhs.getArgNumber());
  return found;
}

} // namespace kiln::kernels
