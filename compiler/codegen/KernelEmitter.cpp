//===- KernelEmitter.cpp - Kernel functions to gpu.func -------------------===//
//
// One emitter per kernel kind, sharing a value emitter that computes any
// graph value of the kernel at a multi-index, recursively: a leaf is a load,
// an elementwise op computes from its operands at the same index, a view
// (broadcast, transpose, one_hot, splat constant) maps the index to its
// source's, and the anchor's result (a product, a reduction, a softmax) is
// whatever the kind's code provides at the current site. Every "site" (the
// code that handles one element of the kernel's iteration space) has its own
// memo, so a value read twice at one index is computed once.
//
//  - pointwise / multi-tensor: a grid-stride loop over the elements of every
//    result shape ("segments"), one element per thread per iteration;
//  - matmul: 64x64 output tiles per 16x16 workgroup, 4x4 outputs per thread,
//    operands staged through workgroup memory 16 deep; the epilogue runs per
//    output element on the accumulator;
//  - reduction: one workgroup per output element; the prologue (with its
//    stored results) per visited element, a tree in workgroup memory, the
//    epilogue on thread 0;
//  - row: one workgroup per row: the maximum, then the sum of exponentials,
//    then the per-element results, then the per-row ones on thread 0.
//
//===----------------------------------------------------------------------===//

#include "kiln/Codegen/KernelEmitter.h"

#include "kiln/Dialect/Graph/GraphDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SPIRV/IR/SPIRVDialect.h"
#include "mlir/Dialect/SPIRV/IR/TargetAndABI.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallSet.h"
#include "llvm/ADT/TypeSwitch.h"

#include <algorithm>
#include <limits>
#include <map>
#include <vector>

using namespace mlir;

namespace kiln::codegen {
namespace {

constexpr int64_t kMaxGroups = 65535;
constexpr int64_t kPointwiseWorkgroup = 256;
constexpr int64_t kTile = 64, kTileDepth = 16, kThreadsPerSide = 16, kPerThread = 4;
constexpr int64_t kTileElements = kTile * kTileDepth;

int64_t product(llvm::ArrayRef<int64_t> extents) {
  int64_t result = 1;
  for (int64_t extent : extents)
    result *= extent;
  return result;
}

llvm::ArrayRef<int64_t> shapeOf(Value value) {
  return llvm::cast<ShapedType>(value.getType()).getShape();
}

int64_t powerOfTwoAtLeast(int64_t value, int64_t floor, int64_t ceiling) {
  int64_t result = floor;
  while (result < value && result < ceiling)
    result *= 2;
  return result;
}

/// A grid of `count` workgroups: x up to the limit, the rest in y.
std::array<uint32_t, 3> gridFor(int64_t count) {
  int64_t x = std::clamp<int64_t>(count, 1, kMaxGroups);
  int64_t y = (count + x - 1) / x;
  return {static_cast<uint32_t>(x), static_cast<uint32_t>(std::max<int64_t>(y, 1)), 1};
}

class KernelBodyEmitter {
public:
  KernelBodyEmitter(func::FuncOp kernel) : kernel_(kernel), b_(kernel.getContext()) {}

  FailureOr<EmittedKernel> emit();

private:
  using Index = llvm::SmallVector<Value, 4>;

  //===--------------------------------------------------------------------===//
  // Small builders
  //===--------------------------------------------------------------------===//

  Value index(int64_t value) { return b_.create<arith::ConstantIndexOp>(loc_, value); }
  Value f32(double value) {
    return b_.create<arith::ConstantOp>(loc_, b_.getF32FloatAttr(static_cast<float>(value)));
  }

  Value linearize(llvm::ArrayRef<Value> idx, llvm::ArrayRef<int64_t> shape) {
    if (!siteIdx_.empty() && shape == llvm::ArrayRef<int64_t>(siteShape_) &&
        llvm::equal(idx, siteIdx_))
      return siteLinear_;
    Value linear = index(0);
    int64_t stride = 1;
    for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
      Value term = stride == 1 ? idx[d] : b_.create<arith::MulIOp>(loc_, idx[d], index(stride));
      linear = b_.create<arith::AddIOp>(loc_, linear, term);
      stride *= shape[d];
    }
    return linear;
  }

  Index delinearize(Value linear, llvm::ArrayRef<int64_t> shape) {
    Index idx(shape.size());
    int64_t stride = product(shape);
    for (size_t d = 0; d < shape.size(); ++d) {
      stride /= shape[d];
      Value quotient =
          stride == 1 ? linear : b_.create<arith::DivUIOp>(loc_, linear, index(stride));
      idx[d] = shape[d] == 1 ? index(0)
               : d == 0      ? quotient
                             : b_.create<arith::RemUIOp>(loc_, quotient, index(shape[d]));
    }
    return idx;
  }

  /// Starts the code for one element: values are memoized per site.
  void beginSite(Index idx, llvm::ArrayRef<int64_t> shape, Value linear) {
    ++site_;
    memo_.clear();
    provided_.clear();
    siteIdx_ = std::move(idx);
    siteShape_.assign(shape.begin(), shape.end());
    siteLinear_ = linear;
  }

  //===--------------------------------------------------------------------===//
  // Values at an index
  //===--------------------------------------------------------------------===//

  Value load(BlockArgument leaf, llvm::ArrayRef<Value> idx) {
    Value linear = linearize(idx, shapeOf(leaf));
    bool canonical = linear == siteLinear_ && shapeOf(leaf) == llvm::ArrayRef(siteShape_);
    loads_[leaf.getArgNumber()].push_back({site_, canonical});
    Value loaded = b_.create<memref::LoadOp>(loc_, inputs_[leaf.getArgNumber()], linear);
    if (llvm::cast<ShapedType>(leaf.getType()).getElementType().isInteger(1))
      return b_.create<arith::CmpIOp>(loc_, arith::CmpIPredicate::ne, loaded,
                                      b_.create<arith::ConstantIntOp>(loc_, 0, 32));
    return loaded;
  }

  FailureOr<Value> at(Value value, llvm::ArrayRef<Value> idx) {
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

  FailureOr<Value> compute(Value value, llvm::ArrayRef<Value> idx) {
    if (auto it = provided_.find(value); it != provided_.end()) {
      if (!llvm::equal(idx, siteIdx_))
        return emitError(value.getLoc(), "internal compiler error: a kernel reads the ")
               << "anchor's result away from the element its thread holds";
      return it->second;
    }
    if (auto leaf = llvm::dyn_cast<BlockArgument>(value))
      return load(leaf, idx);
    Operation *op = value.getDefiningOp();
    auto operandAt = [&](unsigned i) { return at(op->getOperand(i), idx); };
    if (auto constant = llvm::dyn_cast<graph::ConstantOp>(op)) {
      auto dense = llvm::dyn_cast<DenseElementsAttr>(constant.getValue());
      if (!dense || !dense.isSplat())
        return op->emitOpError("internal compiler error: a non-splat constant inside a kernel");
      Type element = dense.getElementType();
      if (element.isF32())
        return b_
            .create<arith::ConstantOp>(
                loc_, b_.getF32FloatAttr(dense.getSplatValue<APFloat>().convertToFloat()))
            .getResult();
      if (element.isInteger(1))
        return b_.create<arith::ConstantIntOp>(loc_, dense.getSplatValue<bool>(), 1).getResult();
      return b_.create<arith::ConstantIntOp>(loc_, dense.getSplatValue<APInt>().getSExtValue(), 32)
          .getResult();
    }
    if (auto broadcast = llvm::dyn_cast<graph::BroadcastOp>(op)) {
      llvm::ArrayRef<int64_t> operandShape = shapeOf(broadcast.getOperand());
      Index operandIdx;
      for (auto [d, resultDim] : llvm::enumerate(broadcast.getDims()))
        operandIdx.push_back(operandShape[d] == 1 ? index(0) : idx[resultDim]);
      return at(broadcast.getOperand(), operandIdx);
    }
    if (auto transpose = llvm::dyn_cast<graph::TransposeOp>(op)) {
      Index operandIdx(idx.size());
      for (auto [resultDim, source] : llvm::enumerate(transpose.getPerm()))
        operandIdx[source] = idx[resultDim];
      return at(transpose.getOperand(), operandIdx);
    }
    if (auto oneHot = llvm::dyn_cast<graph::OneHotOp>(op)) {
      FailureOr<Value> label = at(oneHot.getLabels(), idx.drop_back());
      if (failed(label))
        return failure();
      Value column = b_.create<arith::IndexCastOp>(loc_, b_.getI32Type(), idx.back());
      Value hit = b_.create<arith::CmpIOp>(loc_, arith::CmpIPredicate::eq, *label, column);
      return b_.create<arith::SelectOp>(loc_, hit, f32(1.0), f32(0.0)).getResult();
    }
    if (op->getNumOperands() == 1 && op->getNumResults() == 1 &&
        llvm::isa<graph::NegOp, graph::ExpOp, graph::LogOp, graph::SqrtOp, graph::ReluOp,
                  graph::TanhOp, graph::SigmoidOp>(op)) {
      FailureOr<Value> x = operandAt(0);
      if (failed(x))
        return failure();
      return llvm::TypeSwitch<Operation *, Value>(op)
          .Case([&](graph::NegOp) { return b_.create<arith::NegFOp>(loc_, *x).getResult(); })
          .Case([&](graph::ExpOp) { return b_.create<math::ExpOp>(loc_, *x).getResult(); })
          .Case([&](graph::LogOp) { return b_.create<math::LogOp>(loc_, *x).getResult(); })
          .Case([&](graph::SqrtOp) { return b_.create<math::SqrtOp>(loc_, *x).getResult(); })
          .Case([&](graph::TanhOp) { return b_.create<math::TanhOp>(loc_, *x).getResult(); })
          .Case([&](graph::ReluOp) {
            Value positive =
                b_.create<arith::CmpFOp>(loc_, arith::CmpFPredicate::OGT, *x, f32(0.0));
            return b_.create<arith::SelectOp>(loc_, positive, *x, f32(0.0)).getResult();
          })
          .Case([&](graph::SigmoidOp) {
            Value e = b_.create<math::ExpOp>(loc_, b_.create<arith::NegFOp>(loc_, *x));
            return b_
                .create<arith::DivFOp>(loc_, f32(1.0), b_.create<arith::AddFOp>(loc_, f32(1.0), e))
                .getResult();
          })
          .Default([](Operation *) { return Value(); });
    }
    if (llvm::isa<graph::AddOp, graph::SubOp, graph::MulOp, graph::DivOp, graph::MaxOp,
                  graph::CompareOp>(op)) {
      FailureOr<Value> lhs = operandAt(0), rhs = operandAt(1);
      if (failed(lhs) || failed(rhs))
        return failure();
      return llvm::TypeSwitch<Operation *, Value>(op)
          .Case(
              [&](graph::AddOp) { return b_.create<arith::AddFOp>(loc_, *lhs, *rhs).getResult(); })
          .Case(
              [&](graph::SubOp) { return b_.create<arith::SubFOp>(loc_, *lhs, *rhs).getResult(); })
          .Case(
              [&](graph::MulOp) { return b_.create<arith::MulFOp>(loc_, *lhs, *rhs).getResult(); })
          .Case(
              [&](graph::DivOp) { return b_.create<arith::DivFOp>(loc_, *lhs, *rhs).getResult(); })
          .Case([&](graph::MaxOp) {
            return b_.create<arith::MaximumFOp>(loc_, *lhs, *rhs).getResult();
          })
          .Case([&](graph::CompareOp compare) {
            arith::CmpFPredicate predicate = arith::CmpFPredicate::OEQ;
            switch (compare.getPredicate()) {
            case graph::ComparePredicate::eq:
              predicate = arith::CmpFPredicate::OEQ;
              break;
            case graph::ComparePredicate::ne:
              predicate = arith::CmpFPredicate::UNE;
              break;
            case graph::ComparePredicate::lt:
              predicate = arith::CmpFPredicate::OLT;
              break;
            case graph::ComparePredicate::le:
              predicate = arith::CmpFPredicate::OLE;
              break;
            case graph::ComparePredicate::gt:
              predicate = arith::CmpFPredicate::OGT;
              break;
            case graph::ComparePredicate::ge:
              predicate = arith::CmpFPredicate::OGE;
              break;
            }
            return b_.create<arith::CmpFOp>(loc_, predicate, *lhs, *rhs).getResult();
          })
          .Default([](Operation *) { return Value(); });
    }
    if (auto select = llvm::dyn_cast<graph::SelectOp>(op)) {
      FailureOr<Value> condition = operandAt(0), onTrue = operandAt(1), onFalse = operandAt(2);
      if (failed(condition) || failed(onTrue) || failed(onFalse))
        return failure();
      return b_.create<arith::SelectOp>(loc_, *condition, *onTrue, *onFalse).getResult();
    }
    return op->emitOpError("cannot be emitted inside a ")
           << kind_ << " kernel at an element index (a bug in kernel formation)";
  }

  /// Stores `results` of the kernel at the current site: every value is computed (every load
  /// done) before the first store, so an output may share memory with an input it reads.
  LogicalResult storeResults(llvm::ArrayRef<unsigned> results, llvm::ArrayRef<Value> idx) {
    llvm::SmallVector<Value> words;
    for (unsigned resultIndex : results) {
      FailureOr<Value> computed = at(returned_[resultIndex], idx);
      if (failed(computed))
        return failure();
      Value word = *computed;
      if (word.getType().isInteger(1))
        word = b_.create<arith::ExtUIOp>(loc_, b_.getI32Type(), word);
      words.push_back(word);
    }
    for (auto [resultIndex, word] : llvm::zip(results, words)) {
      Value linear = linearize(idx, shapeOf(returned_[resultIndex]));
      if (linear == siteLinear_)
        stores_[resultIndex].insert(site_);
      else
        nonCanonicalStores_.insert(resultIndex);
      b_.create<memref::StoreOp>(loc_, word, outputs_[resultIndex], linear);
    }
    return success();
  }

  //===--------------------------------------------------------------------===//
  // Kinds
  //===--------------------------------------------------------------------===//

  LogicalResult emitPointwise();
  LogicalResult emitMatmul(graph::MatmulOp matmul);
  LogicalResult emitReduction(Operation *reduction);
  LogicalResult emitRow(llvm::ArrayRef<Operation *> rowOps);

  /// Kernel results that (transitively) depend on any of `roots`' results.
  llvm::SmallVector<unsigned> resultsDependingOn(llvm::ArrayRef<Operation *> roots, bool depend);

  /// A tree combination of `value` over the workgroup through `scratch`; returns the total
  /// (valid in every thread after the final barrier).
  Value workgroupReduce(Value value, Value thread, int64_t threads,
                        llvm::function_ref<Value(Value, Value)> combine);

  func::FuncOp kernel_;
  OpBuilder b_;
  Location loc_ = UnknownLoc::get(kernel_.getContext());
  std::string kind_;
  llvm::SmallVector<Value> inputs_, outputs_, returned_;
  Value scratch_;
  llvm::SmallVector<Value, 2> kernelWorkgroup_;
  std::array<uint32_t, 3> workgroup_ = {1, 1, 1}, grid_ = {1, 1, 1};

  std::map<std::pair<void *, std::vector<void *>>, Value> memo_;
  llvm::DenseMap<Value, Value> provided_;
  int site_ = 0;
  Index siteIdx_;
  llvm::SmallVector<int64_t> siteShape_;
  Value siteLinear_;
  llvm::DenseMap<unsigned, llvm::SmallVector<std::pair<int, bool>>> loads_;
  llvm::DenseMap<unsigned, llvm::SmallSet<int, 4>> stores_;
  llvm::SmallSet<unsigned, 4> nonCanonicalStores_;
  /// Arguments read other than element by element at the thread's own index (matmul tiles,
  /// whole rows): never in place.
  llvm::SmallSet<unsigned, 4> directReads_;
};

llvm::SmallVector<unsigned> KernelBodyEmitter::resultsDependingOn(llvm::ArrayRef<Operation *> roots,
                                                                  bool depend) {
  llvm::DenseSet<Value> dependent;
  for (Operation *root : roots)
    for (Value result : root->getResults())
      dependent.insert(result);
  for (Operation &op : kernel_.getBody().front())
    if (llvm::any_of(op.getOperands(), [&](Value v) { return dependent.contains(v); }))
      for (Value result : op.getResults())
        dependent.insert(result);
  llvm::SmallVector<unsigned> selected;
  for (auto [i, value] : llvm::enumerate(returned_))
    if (dependent.contains(value) == depend)
      selected.push_back(static_cast<unsigned>(i));
  return selected;
}

Value KernelBodyEmitter::workgroupReduce(Value value, Value thread, int64_t threads,
                                         llvm::function_ref<Value(Value, Value)> combine) {
  b_.create<memref::StoreOp>(loc_, value, scratch_, thread);
  b_.create<gpu::BarrierOp>(loc_);
  for (int64_t half = threads / 2; half >= 1; half /= 2) {
    Value active = b_.create<arith::CmpIOp>(loc_, arith::CmpIPredicate::ult, thread, index(half));
    auto branch = b_.create<scf::IfOp>(loc_, active, /*withElseRegion=*/false);
    {
      OpBuilder::InsertionGuard guard(b_);
      b_.setInsertionPointToStart(&branch.getThenRegion().front());
      Value mine = b_.create<memref::LoadOp>(loc_, scratch_, thread);
      Value other = b_.create<memref::LoadOp>(
          loc_, scratch_, b_.create<arith::AddIOp>(loc_, thread, index(half)).getResult());
      b_.create<memref::StoreOp>(loc_, combine(mine, other), scratch_, thread);
    }
    b_.create<gpu::BarrierOp>(loc_);
  }
  Value total = b_.create<memref::LoadOp>(loc_, scratch_, index(0));
  // Everyone has read the total before the scratch is reused.
  b_.create<gpu::BarrierOp>(loc_);
  return total;
}

LogicalResult KernelBodyEmitter::emitPointwise() {
  // Segments: the results grouped by shape; one flat range of threads each.
  llvm::SmallVector<llvm::SmallVector<int64_t>> shapes;
  llvm::SmallVector<llvm::SmallVector<unsigned>> members;
  for (auto [i, value] : llvm::enumerate(returned_)) {
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
  workgroup_ = {static_cast<uint32_t>(kPointwiseWorkgroup), 1, 1};
  int64_t groups =
      std::clamp<int64_t>((total + kPointwiseWorkgroup - 1) / kPointwiseWorkgroup, 1, kMaxGroups);
  grid_ = {static_cast<uint32_t>(groups), 1, 1};

  Value thread = b_.create<gpu::ThreadIdOp>(loc_, gpu::Dimension::x);
  Value group = b_.create<gpu::BlockIdOp>(loc_, gpu::Dimension::x);
  Value first = b_.create<arith::AddIOp>(
      loc_, b_.create<arith::MulIOp>(loc_, group, index(kPointwiseWorkgroup)), thread);
  auto loop = b_.create<scf::ForOp>(loc_, first, index(total), index(groups * kPointwiseWorkgroup));
  OpBuilder::InsertionGuard guard(b_);
  b_.setInsertionPointToStart(loop.getBody());
  Value element = loop.getInductionVar();
  int64_t start = 0;
  for (auto [shape, segment] : llvm::zip(shapes, members)) {
    int64_t count = product(shape);
    OpBuilder::InsertionGuard segmentGuard(b_);
    Value linear = element;
    if (shapes.size() > 1) {
      Value inside = b_.create<arith::AndIOp>(
          loc_, b_.create<arith::CmpIOp>(loc_, arith::CmpIPredicate::uge, element, index(start)),
          b_.create<arith::CmpIOp>(loc_, arith::CmpIPredicate::ult, element, index(start + count)));
      auto branch = b_.create<scf::IfOp>(loc_, inside, /*withElseRegion=*/false);
      b_.setInsertionPointToStart(&branch.getThenRegion().front());
      linear = start == 0 ? element : b_.create<arith::SubIOp>(loc_, element, index(start));
    }
    beginSite(delinearize(linear, shape), shape, linear);
    if (failed(storeResults(segment, siteIdx_)))
      return failure();
    start += count;
  }
  return success();
}

LogicalResult KernelBodyEmitter::emitMatmul(graph::MatmulOp matmul) {
  llvm::ArrayRef<int64_t> resultShape = shapeOf(matmul.getResult());
  size_t rank = resultShape.size();
  llvm::ArrayRef<int64_t> batchShape = resultShape.drop_back(2);
  int64_t batch = product(batchShape);
  int64_t m = resultShape[rank - 2], n = resultShape[rank - 1];
  llvm::ArrayRef<int64_t> lhsShape = shapeOf(matmul.getLhs());
  int64_t k = matmul.getTransposeLhs() ? lhsShape[rank - 2] : lhsShape[rank - 1];
  bool transposeLhs = matmul.getTransposeLhs(), transposeRhs = matmul.getTransposeRhs();
  auto lhs = llvm::dyn_cast<BlockArgument>(matmul.getLhs());
  auto rhs = llvm::dyn_cast<BlockArgument>(matmul.getRhs());
  if (!lhs || !rhs)
    return matmul.emitOpError("internal compiler error: a matmul operand is computed in its "
                              "own kernel");
  int64_t columnTiles = (n + kTile - 1) / kTile, rowTiles = (m + kTile - 1) / kTile;
  if (columnTiles > kMaxGroups || rowTiles > kMaxGroups || batch > kMaxGroups)
    return matmul.emitOpError("cannot be compiled: a ")
           << batch << " x " << m << " x " << n << " product needs " << columnTiles << " x "
           << rowTiles << " x " << batch << " workgroups, beyond " << kMaxGroups
           << " per dimension";
  workgroup_ = {kThreadsPerSide, kThreadsPerSide, 1};
  grid_ = {static_cast<uint32_t>(columnTiles), static_cast<uint32_t>(rowTiles),
           static_cast<uint32_t>(batch)};

  Value lhsTile = scratch_;
  Value rhsTile = kernelWorkgroup_[1];
  Value tx = b_.create<gpu::ThreadIdOp>(loc_, gpu::Dimension::x);
  Value ty = b_.create<gpu::ThreadIdOp>(loc_, gpu::Dimension::y);
  Value bx = b_.create<gpu::BlockIdOp>(loc_, gpu::Dimension::x);
  Value by = b_.create<gpu::BlockIdOp>(loc_, gpu::Dimension::y);
  Value bz = b_.create<gpu::BlockIdOp>(loc_, gpu::Dimension::z);
  Value thread = b_.create<arith::AddIOp>(
      loc_, b_.create<arith::MulIOp>(loc_, ty, index(kThreadsPerSide)), tx);
  Value rowBase = b_.create<arith::MulIOp>(loc_, by, index(kTile));
  Value columnBase = b_.create<arith::MulIOp>(loc_, bx, index(kTile));
  Value lhsBatch = b_.create<arith::MulIOp>(loc_, bz, index(m * k));
  Value rhsBatch = b_.create<arith::MulIOp>(loc_, bz, index(k * n));
  Value zero = f32(0.0);
  constexpr int64_t kAccumulators = kPerThread * kPerThread;
  constexpr int64_t kThreads = kThreadsPerSide * kThreadsPerSide;

  // Stages the tile of `operand` (rows/columns `base`.., depth `depth`..) into `tile` as
  // tile[depth * 64 + outer], reading along the stored matrix's contiguous dimension.
  auto stage = [&](Value operand, Value tile, Value base, Value depth, int64_t outerExtent,
                   bool depthContiguous, Value batchOffset, bool outerMajorInMemory) {
    for (int64_t q = 0; q < kTileElements / kThreads; ++q) {
      Value e = b_.create<arith::AddIOp>(loc_, thread, index(q * kThreads));
      Value outer, inner;
      if (depthContiguous) {
        outer = b_.create<arith::DivUIOp>(loc_, e, index(kTileDepth));
        inner = b_.create<arith::RemUIOp>(loc_, e, index(kTileDepth));
      } else {
        inner = b_.create<arith::DivUIOp>(loc_, e, index(kTile));
        outer = b_.create<arith::RemUIOp>(loc_, e, index(kTile));
      }
      Value globalOuter = b_.create<arith::AddIOp>(loc_, base, outer);
      Value globalDepth = b_.create<arith::AddIOp>(loc_, depth, inner);
      Value inBounds = b_.create<arith::AndIOp>(
          loc_,
          b_.create<arith::CmpIOp>(loc_, arith::CmpIPredicate::ult, globalOuter,
                                   index(outerExtent)),
          b_.create<arith::CmpIOp>(loc_, arith::CmpIPredicate::ult, globalDepth, index(k)));
      auto branch = b_.create<scf::IfOp>(loc_, b_.getF32Type(), inBounds, /*withElse=*/true);
      {
        OpBuilder::InsertionGuard guard(b_);
        b_.setInsertionPointToStart(&branch.getThenRegion().front());
        // outerMajorInMemory: element (outer, depth) at outer * k + depth; else depth * extent +
        // outer.
        Value offset =
            outerMajorInMemory
                ? b_.create<arith::AddIOp>(
                      loc_, b_.create<arith::MulIOp>(loc_, globalOuter, index(k)), globalDepth)
                : b_.create<arith::AddIOp>(
                      loc_, b_.create<arith::MulIOp>(loc_, globalDepth, index(outerExtent)),
                      globalOuter);
        offset = b_.create<arith::AddIOp>(loc_, offset, batchOffset);
        Value loaded = b_.create<memref::LoadOp>(loc_, operand, offset);
        b_.create<scf::YieldOp>(loc_, loaded);
        b_.setInsertionPointToStart(&branch.getElseRegion().front());
        b_.create<scf::YieldOp>(loc_, zero);
      }
      Value slot = b_.create<arith::AddIOp>(
          loc_, b_.create<arith::MulIOp>(loc_, inner, index(kTile)), outer);
      b_.create<memref::StoreOp>(loc_, branch.getResult(0), tile, slot);
    }
  };

  llvm::SmallVector<Value> initial(kAccumulators, zero);
  auto tiles = b_.create<scf::ForOp>(loc_, index(0), index(k), index(kTileDepth), initial);
  {
    OpBuilder::InsertionGuard guard(b_);
    b_.setInsertionPointToStart(tiles.getBody());
    Value depth = tiles.getInductionVar();
    // lhs(m, k): stored [m, k] (k contiguous) or, transposed, [k, m].
    directReads_.insert(lhs.getArgNumber());
    directReads_.insert(rhs.getArgNumber());
    stage(inputs_[lhs.getArgNumber()], lhsTile, rowBase, depth, m, !transposeLhs, lhsBatch,
          !transposeLhs);
    // rhs(k, n): stored [k, n] (n contiguous) or, transposed, [n, k].
    stage(inputs_[rhs.getArgNumber()], rhsTile, columnBase, depth, n, transposeRhs, rhsBatch,
          transposeRhs);
    b_.create<gpu::BarrierOp>(loc_);
    auto inner = b_.create<scf::ForOp>(loc_, index(0), index(kTileDepth), index(1),
                                       tiles.getRegionIterArgs());
    {
      OpBuilder::InsertionGuard innerGuard(b_);
      b_.setInsertionPointToStart(inner.getBody());
      Value kk = b_.create<arith::MulIOp>(loc_, inner.getInductionVar(), index(kTile));
      llvm::SmallVector<Value, kPerThread> a, bValues;
      for (int64_t i = 0; i < kPerThread; ++i) {
        Value row = b_.create<arith::AddIOp>(loc_, ty, index(i * kThreadsPerSide));
        a.push_back(b_.create<memref::LoadOp>(loc_, lhsTile,
                                              b_.create<arith::AddIOp>(loc_, kk, row).getResult()));
        Value column = b_.create<arith::AddIOp>(loc_, tx, index(i * kThreadsPerSide));
        bValues.push_back(b_.create<memref::LoadOp>(
            loc_, rhsTile, b_.create<arith::AddIOp>(loc_, kk, column).getResult()));
      }
      llvm::SmallVector<Value> next;
      for (int64_t i = 0; i < kPerThread; ++i)
        for (int64_t j = 0; j < kPerThread; ++j) {
          Value accumulator = inner.getRegionIterArgs()[i * kPerThread + j];
          next.push_back(b_.create<arith::AddFOp>(
              loc_, accumulator, b_.create<arith::MulFOp>(loc_, a[i], bValues[j])));
        }
      b_.create<scf::YieldOp>(loc_, next);
    }
    b_.create<gpu::BarrierOp>(loc_);
    b_.create<scf::YieldOp>(loc_, inner.getResults());
  }

  Index batchIdx = delinearize(bz, batchShape);
  for (int64_t i = 0; i < kPerThread; ++i)
    for (int64_t j = 0; j < kPerThread; ++j) {
      OpBuilder::InsertionGuard guard(b_);
      Value row = b_.create<arith::AddIOp>(
          loc_, rowBase, b_.create<arith::AddIOp>(loc_, ty, index(i * kThreadsPerSide)));
      Value column = b_.create<arith::AddIOp>(
          loc_, columnBase, b_.create<arith::AddIOp>(loc_, tx, index(j * kThreadsPerSide)));
      Value inside = b_.create<arith::AndIOp>(
          loc_, b_.create<arith::CmpIOp>(loc_, arith::CmpIPredicate::ult, row, index(m)),
          b_.create<arith::CmpIOp>(loc_, arith::CmpIPredicate::ult, column, index(n)));
      auto branch = b_.create<scf::IfOp>(loc_, inside, /*withElseRegion=*/false);
      b_.setInsertionPointToStart(&branch.getThenRegion().front());
      Index idx = batchIdx;
      idx.push_back(row);
      idx.push_back(column);
      Value linear = b_.create<arith::AddIOp>(
          loc_, b_.create<arith::MulIOp>(loc_, bz, index(m * n)),
          b_.create<arith::AddIOp>(loc_, b_.create<arith::MulIOp>(loc_, row, index(n)), column));
      beginSite(idx, resultShape, linear);
      provided_[matmul.getResult()] = tiles.getResult(i * kPerThread + j);
      llvm::SmallVector<unsigned> all;
      for (unsigned result = 0; result < returned_.size(); ++result)
        all.push_back(result);
      if (failed(storeResults(all, idx)))
        return failure();
    }
  return success();
}

LogicalResult KernelBodyEmitter::emitReduction(Operation *reduction) {
  bool isMse = llvm::isa<graph::MseOp>(reduction);
  Value operand = reduction->getOperand(0);
  llvm::ArrayRef<int64_t> shape = shapeOf(operand);
  llvm::SmallVector<int64_t> axes;
  if (isMse) {
    for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d)
      axes.push_back(d);
  } else {
    auto attr = reduction->getAttrOfType<DenseI64ArrayAttr>("axes");
    axes.assign(attr.asArrayRef().begin(), attr.asArrayRef().end());
  }
  llvm::SmallVector<int64_t> keptShape, reducedShape;
  for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d)
    (llvm::is_contained(axes, d) ? reducedShape : keptShape).push_back(shape[d]);
  int64_t outputs = product(keptShape), reduced = product(reducedShape);
  int64_t threads = powerOfTwoAtLeast(reduced, 32, 256);
  workgroup_ = {static_cast<uint32_t>(threads), 1, 1};
  grid_ = gridFor(outputs);
  bool isMax = llvm::isa<graph::ReduceMaxOp>(reduction);

  Value thread = b_.create<gpu::ThreadIdOp>(loc_, gpu::Dimension::x);
  Value output = b_.create<arith::AddIOp>(
      loc_, b_.create<gpu::BlockIdOp>(loc_, gpu::Dimension::x),
      b_.create<arith::MulIOp>(loc_, b_.create<gpu::BlockIdOp>(loc_, gpu::Dimension::y),
                               index(grid_[0])));
  OpBuilder::InsertionGuard guard(b_);
  if (static_cast<int64_t>(grid_[0]) * grid_[1] != outputs) {
    // The whole workgroup takes the same branch, so its barriers stay uniform.
    Value inside =
        b_.create<arith::CmpIOp>(loc_, arith::CmpIPredicate::ult, output, index(outputs));
    auto branch = b_.create<scf::IfOp>(loc_, inside, /*withElseRegion=*/false);
    b_.setInsertionPointToStart(&branch.getThenRegion().front());
  }
  Index keptIdx = delinearize(output, keptShape);
  llvm::SmallVector<unsigned> prologueResults = resultsDependingOn({reduction}, false);
  llvm::SmallVector<unsigned> epilogueResults = resultsDependingOn({reduction}, true);

  Value identity = isMax ? f32(-std::numeric_limits<float>::infinity()) : f32(0.0);
  auto loop =
      b_.create<scf::ForOp>(loc_, thread, index(reduced), index(threads), ValueRange{identity});
  {
    OpBuilder::InsertionGuard loopGuard(b_);
    b_.setInsertionPointToStart(loop.getBody());
    Index reducedIdx = delinearize(loop.getInductionVar(), reducedShape);
    Index idx;
    for (int64_t d = 0, kept = 0, red = 0; d < static_cast<int64_t>(shape.size()); ++d)
      idx.push_back(llvm::is_contained(axes, d) ? reducedIdx[red++] : keptIdx[kept++]);
    siteIdx_.clear();
    Value linear = linearize(idx, shape);
    beginSite(idx, shape, linear);
    Value x;
    if (isMse) {
      FailureOr<Value> prediction = at(reduction->getOperand(0), idx);
      FailureOr<Value> target = at(reduction->getOperand(1), idx);
      if (failed(prediction) || failed(target))
        return failure();
      Value difference = b_.create<arith::SubFOp>(loc_, *prediction, *target);
      x = b_.create<arith::MulFOp>(loc_, difference, difference);
    } else {
      FailureOr<Value> value = at(operand, idx);
      if (failed(value))
        return failure();
      x = *value;
    }
    if (failed(storeResults(prologueResults, idx)))
      return failure();
    Value accumulator = loop.getRegionIterArgs()[0];
    Value combined = isMax ? b_.create<arith::MaximumFOp>(loc_, accumulator, x).getResult()
                           : b_.create<arith::AddFOp>(loc_, accumulator, x).getResult();
    b_.create<scf::YieldOp>(loc_, combined);
  }
  Value total = workgroupReduce(loop.getResult(0), thread, threads, [&](Value a, Value c) {
    return isMax ? b_.create<arith::MaximumFOp>(loc_, a, c).getResult()
                 : b_.create<arith::AddFOp>(loc_, a, c).getResult();
  });
  if (llvm::isa<graph::ReduceMeanOp, graph::MseOp>(reduction))
    total = b_.create<arith::DivFOp>(loc_, total, f32(static_cast<double>(reduced)));
  Value first = b_.create<arith::CmpIOp>(loc_, arith::CmpIPredicate::eq, thread, index(0));
  auto branch = b_.create<scf::IfOp>(loc_, first, /*withElseRegion=*/false);
  b_.setInsertionPointToStart(&branch.getThenRegion().front());
  beginSite(keptIdx, shapeOf(reduction->getResult(0)), output);
  provided_[reduction->getResult(0)] = total;
  if (failed(storeResults(epilogueResults, keptIdx)))
    return failure();
  return success();
}

LogicalResult KernelBodyEmitter::emitRow(llvm::ArrayRef<Operation *> rowOps) {
  Operation *anchor = rowOps.front();
  Value operand = anchor->getOperand(0);
  llvm::ArrayRef<int64_t> shape = shapeOf(operand);
  int64_t axis = llvm::isa<graph::SoftmaxCrossEntropyOp>(anchor)
                     ? static_cast<int64_t>(shape.size()) - 1
                     : anchor->getAttrOfType<IntegerAttr>("axis").getInt();
  int64_t length = shape[axis];
  int64_t innerCount = product(shape.drop_front(axis + 1));
  int64_t rows = product(shape) / length;
  int64_t threads = powerOfTwoAtLeast(length, 32, 256);
  workgroup_ = {static_cast<uint32_t>(threads), 1, 1};
  grid_ = gridFor(rows);
  auto x = llvm::dyn_cast<BlockArgument>(operand);
  if (!x)
    return anchor->emitOpError("internal compiler error: a row op's operand is computed in "
                               "its own kernel");
  Value xBuffer = inputs_[x.getArgNumber()];
  directReads_.insert(x.getArgNumber());

  Value thread = b_.create<gpu::ThreadIdOp>(loc_, gpu::Dimension::x);
  Value row = b_.create<arith::AddIOp>(
      loc_, b_.create<gpu::BlockIdOp>(loc_, gpu::Dimension::x),
      b_.create<arith::MulIOp>(loc_, b_.create<gpu::BlockIdOp>(loc_, gpu::Dimension::y),
                               index(grid_[0])));
  OpBuilder::InsertionGuard guard(b_);
  if (static_cast<int64_t>(grid_[0]) * grid_[1] != rows) {
    Value inside = b_.create<arith::CmpIOp>(loc_, arith::CmpIPredicate::ult, row, index(rows));
    auto branch = b_.create<scf::IfOp>(loc_, inside, /*withElseRegion=*/false);
    b_.setInsertionPointToStart(&branch.getThenRegion().front());
  }
  Value outer = b_.create<arith::DivUIOp>(loc_, row, index(innerCount));
  Value innerIndex = b_.create<arith::RemUIOp>(loc_, row, index(innerCount));
  Value base = b_.create<arith::AddIOp>(
      loc_, b_.create<arith::MulIOp>(loc_, outer, index(length * innerCount)), innerIndex);
  auto elementLinear = [&](Value j) {
    return b_
        .create<arith::AddIOp>(loc_, base, b_.create<arith::MulIOp>(loc_, j, index(innerCount)))
        .getResult();
  };

  // Passes over the row, each combining one value per element.
  auto pass = [&](Value initial, llvm::function_ref<Value(Value, Value)> step) {
    auto loop =
        b_.create<scf::ForOp>(loc_, thread, index(length), index(threads), ValueRange{initial});
    OpBuilder::InsertionGuard loopGuard(b_);
    b_.setInsertionPointToStart(loop.getBody());
    Value element = b_.create<memref::LoadOp>(loc_, xBuffer, elementLinear(loop.getInductionVar()));
    b_.create<scf::YieldOp>(loc_, step(loop.getRegionIterArgs()[0], element));
    return loop.getResult(0);
  };
  Value localMax = pass(f32(-std::numeric_limits<float>::infinity()), [&](Value acc, Value e) {
    return b_.create<arith::MaximumFOp>(loc_, acc, e).getResult();
  });
  Value maximum = workgroupReduce(localMax, thread, threads, [&](Value a, Value c) {
    return b_.create<arith::MaximumFOp>(loc_, a, c).getResult();
  });
  Value localSum = pass(f32(0.0), [&](Value acc, Value e) {
    Value shifted = b_.create<math::ExpOp>(loc_, b_.create<arith::SubFOp>(loc_, e, maximum));
    return b_.create<arith::AddFOp>(loc_, acc, shifted).getResult();
  });
  Value sum = workgroupReduce(localSum, thread, threads, [&](Value a, Value c) {
    return b_.create<arith::AddFOp>(loc_, a, c).getResult();
  });
  Value logSumExp = b_.create<arith::AddFOp>(loc_, maximum, b_.create<math::LogOp>(loc_, sum));

  llvm::SmallVector<Operation *> perRow, perElement;
  for (Operation *op : rowOps)
    (llvm::isa<graph::SoftmaxCrossEntropyOp>(op) ? perRow : perElement).push_back(op);
  llvm::SmallVector<unsigned> rowResults = resultsDependingOn(perRow, true);

  // Per element: softmax and log-softmax, and what follows them.
  llvm::SmallVector<unsigned> elementResults;
  for (unsigned result = 0; result < returned_.size(); ++result)
    if (!llvm::is_contained(rowResults, result))
      elementResults.push_back(result);
  if (!elementResults.empty()) {
    auto loop = b_.create<scf::ForOp>(loc_, thread, index(length), index(threads));
    OpBuilder::InsertionGuard loopGuard(b_);
    b_.setInsertionPointToStart(loop.getBody());
    Value linear = elementLinear(loop.getInductionVar());
    beginSite(delinearize(linear, shape), shape, linear);
    Value element = b_.create<memref::LoadOp>(loc_, xBuffer, linear);
    Value shifted = b_.create<arith::SubFOp>(loc_, element, maximum);
    for (Operation *op : perElement) {
      if (llvm::isa<graph::SoftmaxOp>(op))
        provided_[op->getResult(0)] =
            b_.create<arith::DivFOp>(loc_, b_.create<math::ExpOp>(loc_, shifted), sum);
      else
        provided_[op->getResult(0)] = b_.create<arith::SubFOp>(loc_, element, logSumExp);
    }
    if (failed(storeResults(elementResults, siteIdx_)))
      return failure();
  }
  // Per row, on thread 0: the cross entropy and what follows it.
  if (!rowResults.empty()) {
    Value first = b_.create<arith::CmpIOp>(loc_, arith::CmpIPredicate::eq, thread, index(0));
    auto branch = b_.create<scf::IfOp>(loc_, first, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard branchGuard(b_);
    b_.setInsertionPointToStart(&branch.getThenRegion().front());
    llvm::ArrayRef<int64_t> rowShape = shapeOf(perRow.front()->getResult(0));
    Index rowIdx = delinearize(row, rowShape);
    beginSite(rowIdx, rowShape, row);
    for (Operation *op : perRow) {
      FailureOr<Value> label = at(op->getOperand(1), rowIdx);
      if (failed(label))
        return failure();
      Value labelIndex = b_.create<arith::IndexCastOp>(loc_, b_.getIndexType(), *label);
      Value valid = b_.create<arith::AndIOp>(
          loc_,
          b_.create<arith::CmpIOp>(loc_, arith::CmpIPredicate::sge, *label,
                                   b_.create<arith::ConstantIntOp>(loc_, 0, 32)),
          b_.create<arith::CmpIOp>(loc_, arith::CmpIPredicate::slt, *label,
                                   b_.create<arith::ConstantIntOp>(loc_, length, 32)));
      Value safe = b_.create<arith::SelectOp>(loc_, valid, labelIndex, index(0));
      Value picked = b_.create<memref::LoadOp>(loc_, xBuffer, elementLinear(safe));
      // A label outside [0, C) has no probability: the loss is NaN, as on the reference device.
      picked = b_.create<arith::SelectOp>(loc_, valid, picked,
                                          f32(std::numeric_limits<double>::quiet_NaN()));
      provided_[op->getResult(0)] = b_.create<arith::SubFOp>(loc_, logSumExp, picked);
    }
    if (failed(storeResults(rowResults, rowIdx)))
      return failure();
  }
  return success();
}

FailureOr<EmittedKernel> KernelBodyEmitter::emit() {
  MLIRContext *context = kernel_.getContext();
  loc_ = kernel_.getLoc();
  auto info = kernel_->getAttrOfType<graph::KernelAttr>("graph.kernel");
  if (!info)
    return kernel_.emitOpError("is not a kernel formed by kiln-fuse (no graph.kernel attribute)");
  kind_ = info.getKindName();
  Block &body = kernel_.getBody().front();
  for (Value value : body.getTerminator()->getOperands())
    returned_.push_back(value);

  // Buffer types: f32 stays, i32 and i1 are 32-bit words.
  auto bufferType = [&](Value value, Operation *where) -> FailureOr<MemRefType> {
    auto type = llvm::cast<RankedTensorType>(value.getType());
    Type element = type.getElementType();
    if (!element.isF32() && !element.isInteger(32) && !element.isInteger(1))
      return where->emitOpError("cannot be compiled for a GPU target: ")
             << type << " has elements of type " << element << "; kernels support f32, i32 "
             << "and i1";
    return MemRefType::get({type.getNumElements()},
                           element.isF32() ? Type(b_.getF32Type()) : Type(b_.getI32Type()));
  };
  llvm::SmallVector<Type> argumentTypes;
  for (Value value : returned_) {
    FailureOr<MemRefType> type = bufferType(value, kernel_);
    if (failed(type))
      return failure();
    argumentTypes.push_back(*type);
  }
  for (BlockArgument argument : body.getArguments()) {
    FailureOr<MemRefType> type = bufferType(argument, kernel_);
    if (failed(type))
      return failure();
    argumentTypes.push_back(*type);
  }
  for (Operation &op : body)
    for (Value result : op.getResults())
      if (auto tensor = llvm::dyn_cast<RankedTensorType>(result.getType());
          tensor && !tensor.getElementType().isF32() && !tensor.getElementType().isInteger(1) &&
          !tensor.getElementType().isInteger(32))
        return op.emitOpError("cannot be compiled for a GPU target: its result ")
               << tensor << " is not f32, i32 or i1";

  Operation *anchor = nullptr;
  llvm::SmallVector<Operation *> rowOps;
  for (Operation &op : body) {
    if (llvm::isa<graph::MatmulOp, graph::ReduceSumOp, graph::ReduceMeanOp, graph::ReduceMaxOp,
                  graph::MseOp>(op)) {
      if (anchor)
        return op.emitOpError("internal compiler error: two anchors in one ") << kind_ << " kernel";
      anchor = &op;
    }
    if (llvm::isa<graph::SoftmaxOp, graph::LogSoftmaxOp, graph::SoftmaxCrossEntropyOp>(op))
      rowOps.push_back(&op);
  }

  auto moduleOp = ModuleOp::create(loc_);
  EmittedKernel result;
  result.module = OwningOpRef<ModuleOp>(moduleOp);
  b_.setInsertionPointToStart(moduleOp.getBody());
  auto gpuModule = b_.create<gpu::GPUModuleOp>(loc_, "kernels");
  b_.setInsertionPointToStart(gpuModule.getBody());
  auto workgroupMemory =
      MemRefType::get({kTileElements}, b_.getF32Type(), AffineMap(),
                      gpu::AddressSpaceAttr::get(context, gpu::AddressSpace::Workgroup));
  llvm::SmallVector<Type> workgroupTypes;
  bool isMatmul = anchor && llvm::isa<graph::MatmulOp>(anchor);
  bool needsScratch = anchor || !rowOps.empty();
  if (needsScratch)
    workgroupTypes.push_back(isMatmul ? Type(workgroupMemory)
                                      : Type(MemRefType::get({256}, b_.getF32Type(), AffineMap(),
                                                             workgroupMemory.getMemorySpace())));
  if (isMatmul)
    workgroupTypes.push_back(workgroupMemory);
  auto function = b_.create<gpu::GPUFuncOp>(loc_, kernel_.getSymName(),
                                            b_.getFunctionType(argumentTypes, {}), workgroupTypes);
  function->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b_.getUnitAttr());
  Block &entry = function.getBody().front();
  for (unsigned i = 0; i < returned_.size(); ++i)
    outputs_.push_back(entry.getArgument(i));
  for (unsigned i = 0; i < body.getNumArguments(); ++i)
    inputs_.push_back(entry.getArgument(returned_.size() + i));
  for (BlockArgument attribution : function.getWorkgroupAttributions())
    kernelWorkgroup_.push_back(attribution);
  if (!kernelWorkgroup_.empty())
    scratch_ = kernelWorkgroup_[0];
  b_.setInsertionPointToStart(&entry);

  LogicalResult emitted = failure();
  if (anchor && llvm::isa<graph::MatmulOp>(anchor))
    emitted = emitMatmul(llvm::cast<graph::MatmulOp>(anchor));
  else if (anchor)
    emitted = emitReduction(anchor);
  else if (!rowOps.empty())
    emitted = emitRow(rowOps);
  else
    emitted = emitPointwise();
  if (failed(emitted))
    return failure();
  b_.setInsertionPointToEnd(&entry);
  b_.create<gpu::ReturnOp>(loc_);

  function->setAttr("known_block_size",
                    b_.getDenseI32ArrayAttr({static_cast<int32_t>(workgroup_[0]),
                                             static_cast<int32_t>(workgroup_[1]),
                                             static_cast<int32_t>(workgroup_[2])}));
  function->setAttr(spirv::getEntryPointABIAttrName(),
                    spirv::getEntryPointABIAttr(context, {static_cast<int32_t>(workgroup_[0]),
                                                          static_cast<int32_t>(workgroup_[1]),
                                                          static_cast<int32_t>(workgroup_[2])}));

  // Output element i written by the thread that read input element i, and by no other.
  for (unsigned output = 0; output < returned_.size(); ++output) {
    if (nonCanonicalStores_.contains(output) || !stores_.count(output))
      continue;
    for (BlockArgument argument : body.getArguments()) {
      if (argument.getType() != returned_[output].getType())
        continue;
      auto it = loads_.find(argument.getArgNumber());
      if (it == loads_.end() || directReads_.contains(argument.getArgNumber()))
        continue;
      bool sameElement = llvm::all_of(it->second, [&](std::pair<int, bool> load) {
        return load.second && stores_[output].contains(load.first);
      });
      if (sameElement)
        result.inPlace.push_back(
            {output, static_cast<uint32_t>(returned_.size() + argument.getArgNumber())});
    }
  }

  PassManager pm(context);
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  if (failed(pm.run(moduleOp)))
    return kernel_.emitOpError("internal compiler error: the emitted kernel does not simplify");
  result.gpuModule = *moduleOp.getOps<gpu::GPUModuleOp>().begin();
  result.workgroupSize = workgroup_;
  result.groupCount = grid_;
  return result;
}

} // namespace

FailureOr<EmittedKernel> emitMaskConversion(MLIRContext *context, Location loc,
                                            llvm::StringRef name, int64_t count, bool pack) {
  OpBuilder b(context);
  auto moduleOp = ModuleOp::create(loc);
  EmittedKernel result;
  result.module = OwningOpRef<ModuleOp>(moduleOp);
  b.setInsertionPointToStart(moduleOp.getBody());
  auto gpuModule = b.create<gpu::GPUModuleOp>(loc, "kernels");
  b.setInsertionPointToStart(gpuModule.getBody());
  int64_t packedWords = (count + 3) / 4;
  auto wordsType = MemRefType::get({count}, b.getI32Type());
  auto packedType = MemRefType::get({packedWords}, b.getI32Type());
  auto function = b.create<gpu::GPUFuncOp>(
      loc, name,
      b.getFunctionType(pack ? TypeRange{packedType, wordsType} : TypeRange{wordsType, packedType},
                        {}));
  function->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
  Block &entry = function.getBody().front();
  b.setInsertionPointToStart(&entry);
  auto index = [&](int64_t v) { return b.create<arith::ConstantIndexOp>(loc, v).getResult(); };
  auto i32 = [&](int64_t v) { return b.create<arith::ConstantIntOp>(loc, v, 32).getResult(); };
  int64_t items = pack ? packedWords : count;
  int64_t groups =
      std::clamp<int64_t>((items + kPointwiseWorkgroup - 1) / kPointwiseWorkgroup, 1, kMaxGroups);
  Value first = b.create<arith::AddIOp>(
      loc,
      b.create<arith::MulIOp>(loc, b.create<gpu::BlockIdOp>(loc, gpu::Dimension::x),
                              index(kPointwiseWorkgroup)),
      b.create<gpu::ThreadIdOp>(loc, gpu::Dimension::x));
  auto loop = b.create<scf::ForOp>(loc, first, index(items), index(groups * kPointwiseWorkgroup));
  b.setInsertionPointToStart(loop.getBody());
  Value i = loop.getInductionVar();
  Value output = entry.getArgument(0), input = entry.getArgument(1);
  if (pack) {
    // Word i holds mask elements 4i..4i+3, one byte each, least significant first.
    Value word = i32(0);
    for (int64_t j = 0; j < 4; ++j) {
      Value element =
          b.create<arith::AddIOp>(loc, b.create<arith::MulIOp>(loc, i, index(4)), index(j));
      Value inside = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, element, index(count));
      Value safe = b.create<arith::SelectOp>(loc, inside, element, index(0));
      Value loaded = b.create<memref::LoadOp>(loc, input, safe);
      Value set = b.create<arith::AndIOp>(
          loc, inside, b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ne, loaded, i32(0)));
      Value bit = b.create<arith::SelectOp>(loc, set, i32(int64_t{1} << (8 * j)), i32(0));
      word = b.create<arith::OrIOp>(loc, word, bit);
    }
    b.create<memref::StoreOp>(loc, word, output, i);
  } else {
    Value word = b.create<memref::LoadOp>(loc, input,
                                          b.create<arith::DivUIOp>(loc, i, index(4)).getResult());
    Value shift = b.create<arith::MulIOp>(
        loc,
        b.create<arith::IndexCastOp>(loc, b.getI32Type(),
                                     b.create<arith::RemUIOp>(loc, i, index(4))),
        i32(8));
    Value byte = b.create<arith::AndIOp>(loc, b.create<arith::ShRUIOp>(loc, word, shift), i32(255));
    Value value = b.create<arith::ExtUIOp>(
        loc, b.getI32Type(), b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ne, byte, i32(0)));
    b.create<memref::StoreOp>(loc, value, output, i);
  }
  b.setInsertionPointToEnd(&entry);
  b.create<gpu::ReturnOp>(loc);
  result.workgroupSize = {static_cast<uint32_t>(kPointwiseWorkgroup), 1, 1};
  result.groupCount = {static_cast<uint32_t>(groups), 1, 1};
  function->setAttr("known_block_size",
                    b.getDenseI32ArrayAttr({static_cast<int32_t>(kPointwiseWorkgroup), 1, 1}));
  function->setAttr(
      spirv::getEntryPointABIAttrName(),
      spirv::getEntryPointABIAttr(context, {static_cast<int32_t>(kPointwiseWorkgroup), 1, 1}));
  result.gpuModule = gpuModule;
  return result;
}

void registerKernelEmitterDialects(DialectRegistry &registry) {
  registry.insert<arith::ArithDialect, gpu::GPUDialect, math::MathDialect, memref::MemRefDialect,
                  scf::SCFDialect, spirv::SPIRVDialect>();
}

FailureOr<EmittedKernel> emitKernel(func::FuncOp kernel) {
  return KernelBodyEmitter(kernel).emit();
}

} // namespace kiln::codegen
