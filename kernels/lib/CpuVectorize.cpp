//===- CpuVectorize.cpp - Widening a CPU kernel's scalar loop to vectors ---===//
//
// The CPU emitters write each site as scalar code through the value emitter (the same code
// path as the GPU kernels); this file widens a loop of such sites to `lanes` f32 lanes.
// Values are uniform (independent of the induction variable: cloned as they are) or varying
// (widened to vectors: the induction variable becomes iv + [0, 1, ..., lanes-1]); a nested
// scf.for with uniform bounds stays a loop whose carried values are vectors (a reduction
// kernel's sum: each lane sums its own output in the scalar order). A varying
// value of the form iv + uniform is also contiguous: it keeps a scalar form (its lane 0),
// so a load or store at it is one vector access; any other varying address is a gather or
// a scatter. Widened ops are the same IEEE operations lane by lane, so a vector lane and the
// scalar tail give the same bits, and a tile split among threads computes every element with
// the same result.
//
// Why not LLVM's loop vectorizer: an optimizer update is in place (its output buffer is its
// input), and with pointers of unknown provenance the vectorizer's runtime alias check then
// falls back to the scalar loop; here a load and a store at the same index in one lane are
// known to be the same element.
//
//===----------------------------------------------------------------------===//

#include "KernelContext.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"

using namespace mlir;

namespace kiln::kernels {

namespace {

bool widenableType(Type type) { return type.isIntOrIndexOrFloat(); }

/// Whether `op` (varying) can be recreated on vectors operand by operand. Every result is
/// widened: arith.mului_extended (dropout's Philox rounds) has two.
bool widenableOp(Operation &op) {
  if (op.getNumRegions() != 0 || op.getNumResults() == 0 ||
      !llvm::all_of(op.getResultTypes(), widenableType))
    return false;
  Dialect *dialect = op.getDialect();
  if (!dialect || !isa<arith::ArithDialect, math::MathDialect>(dialect))
    return false;
  return llvm::all_of(op.getOperandTypes(), widenableType);
}

class LoopWidener {
public:
  LoopWidener(OpBuilder &b, scf::ForOp loop, int64_t lanes)
      : b(b), loop(loop), lanes(lanes), loc(loop.getLoc()) {}

  bool analyze() {
    if (!loop.getResults().empty() || !isConstant(loop.getStep(), 1))
      return false;
    varying.insert(loop.getInductionVar());
    contiguous.insert(loop.getInductionVar());
    return analyzeBlock(*loop.getBody());
  }

  void widen() {
    b.setInsertionPoint(loop);
    Value lower = loop.getLowerBound(), upper = loop.getUpperBound();
    Value count = b.create<arith::SubIOp>(loc, upper, lower);
    Value vectorCount = b.create<arith::MulIOp>(
        loc, b.create<arith::DivUIOp>(loc, count, index(lanes)), index(lanes));
    Value vectorEnd = b.create<arith::AddIOp>(loc, lower, vectorCount);
    auto vectorLoop = b.create<scf::ForOp>(loc, lower, vectorEnd, index(lanes));
    b.setInsertionPointToStart(vectorLoop.getBody());
    Value iv = vectorLoop.getInductionVar();
    scalar.map(loop.getInductionVar(), iv);
    llvm::SmallVector<Attribute> steps;
    for (int64_t lane = 0; lane < lanes; ++lane)
      steps.push_back(b.getIndexAttr(lane));
    auto indexVector = VectorType::get({lanes}, b.getIndexType());
    wide.map(loop.getInductionVar(),
             b.create<arith::AddIOp>(
                 loc, b.create<vector::BroadcastOp>(loc, indexVector, iv),
                 b.create<arith::ConstantOp>(loc, DenseElementsAttr::get(indexVector, steps))));
    for (Operation &op : loop.getBody()->without_terminator())
      widenOp(op);
    loop.getLowerBoundMutable().assign(vectorEnd);
  }

  /// The ops of `block` (the widened loop's body or a nested loop's), recording varying and
  /// contiguous values; false when one cannot be widened.
  bool analyzeBlock(Block &block) {
    for (Operation &op : block.without_terminator()) {
      bool isVarying = llvm::any_of(op.getOperands(), [&](Value v) { return varying.contains(v); });
      if (auto inner = dyn_cast<scf::ForOp>(op)) {
        // A nested loop with uniform bounds: its carried values become vectors (each lane
        // carries its own, in the same order as the scalar loop).
        if (varying.contains(inner.getLowerBound()) || varying.contains(inner.getUpperBound()) ||
            varying.contains(inner.getStep()) ||
            !llvm::all_of(inner.getResultTypes(), widenableType))
          return false;
        for (Value carried : inner.getRegionIterArgs())
          varying.insert(carried);
        for (Value result : inner.getResults())
          varying.insert(result);
        if (!analyzeBlock(*inner.getBody()))
          return false;
        continue;
      }
      if (auto load = dyn_cast<memref::LoadOp>(op)) {
        if (load.getIndices().size() != 1 || !widenableType(load.getType()))
          return false;
      } else if (auto store = dyn_cast<memref::StoreOp>(op)) {
        if (store.getIndices().size() != 1 || !varying.contains(store.getIndices()[0]))
          return false;
      } else if (isVarying ? !widenableOp(op)
                           : (op.getNumRegions() != 0 || !isMemoryEffectFree(&op))) {
        return false;
      }
      if (!isVarying)
        continue;
      for (Value result : op.getResults())
        varying.insert(result);
      // iv + u, u + iv, iv - u stay contiguous.
      if (isa<arith::AddIOp>(op) || isa<arith::SubIOp>(op)) {
        Value lhs = op.getOperand(0), rhs = op.getOperand(1);
        bool lhsContiguous = contiguous.contains(lhs) && !varying.contains(rhs);
        bool rhsContiguous =
            isa<arith::AddIOp>(op) && contiguous.contains(rhs) && !varying.contains(lhs);
        if (lhsContiguous || rhsContiguous)
          contiguous.insert(op.getResult(0));
      }
    }
    return true;
  }

  /// Recreates a nested loop with vector carried values.
  void widenLoop(scf::ForOp inner) {
    llvm::SmallVector<Value> initial;
    for (Value value : inner.getInitArgs())
      initial.push_back(vectorValue(value));
    auto wideLoop = b.create<scf::ForOp>(loc, scalar.lookupOrDefault(inner.getLowerBound()),
                                         scalar.lookupOrDefault(inner.getUpperBound()),
                                         scalar.lookupOrDefault(inner.getStep()), initial);
    scalar.map(inner.getInductionVar(), wideLoop.getInductionVar());
    for (auto [from, to] : llvm::zip(inner.getRegionIterArgs(), wideLoop.getRegionIterArgs()))
      wide.map(from, to);
    {
      OpBuilder::InsertionGuard guard(b);
      Block *body = wideLoop.getBody();
      if (!body->empty() && body->back().hasTrait<OpTrait::IsTerminator>())
        body->back().erase();
      b.setInsertionPointToEnd(body);
      for (Operation &op : inner.getBody()->without_terminator())
        widenOp(op);
      llvm::SmallVector<Value> yielded;
      for (Value value : inner.getBody()->getTerminator()->getOperands())
        yielded.push_back(vectorValue(value));
      b.create<scf::YieldOp>(loc, yielded);
    }
    for (auto [from, to] : llvm::zip(inner.getResults(), wideLoop.getResults()))
      wide.map(from, to);
  }

private:
  static bool isConstant(Value value, int64_t expected) {
    auto constant = value.getDefiningOp<arith::ConstantIndexOp>();
    return constant && constant.value() == expected;
  }
  Value index(int64_t value) { return b.create<arith::ConstantIndexOp>(loc, value); }
  VectorType vectorOf(Type type) { return VectorType::get({lanes}, type); }

  /// The vector form of `value`: widened, or a uniform value broadcast.
  Value vectorValue(Value value) {
    if (Value known = wide.lookupOrNull(value))
      return known;
    Value uniform = scalar.lookupOrDefault(value);
    Value broadcast = b.create<vector::BroadcastOp>(loc, vectorOf(uniform.getType()), uniform);
    wide.map(value, broadcast);
    return broadcast;
  }
  Value allLanes() {
    return b.create<arith::ConstantOp>(
        loc, DenseElementsAttr::get(vectorOf(b.getI1Type()), b.getBoolAttr(true)));
  }

  void widenOp(Operation &op) {
    if (auto inner = dyn_cast<scf::ForOp>(op)) {
      widenLoop(inner);
      return;
    }
    bool isVarying = llvm::any_of(op.getOperands(), [&](Value v) { return varying.contains(v); });
    if (!isVarying && !isa<memref::StoreOp>(op)) {
      b.clone(op, scalar);
      return;
    }
    if (auto load = dyn_cast<memref::LoadOp>(op)) {
      Value at = load.getIndices()[0];
      Type type = vectorOf(load.getType());
      Value result;
      if (contiguous.contains(at)) {
        result =
            b.create<vector::LoadOp>(loc, type, load.getMemRef(), ValueRange{scalar.lookup(at)});
      } else {
        Value zero = b.create<arith::ConstantOp>(
            loc, DenseElementsAttr::get(cast<ShapedType>(type), b.getZeroAttr(load.getType())));
        result = b.create<vector::GatherOp>(loc, type, load.getMemRef(), ValueRange{index(0)},
                                            vectorValue(at), allLanes(), zero);
      }
      wide.map(load.getResult(), result);
      return;
    }
    if (auto store = dyn_cast<memref::StoreOp>(op)) {
      Value at = store.getIndices()[0];
      Value value = vectorValue(store.getValue());
      if (contiguous.contains(at))
        b.create<vector::StoreOp>(loc, value, store.getMemRef(), ValueRange{scalar.lookup(at)});
      else
        b.create<vector::ScatterOp>(loc, store.getMemRef(), ValueRange{index(0)}, vectorValue(at),
                                    allLanes(), value);
      return;
    }
    // A contiguous index keeps its lane-0 scalar form beside the vector.
    if (contiguous.contains(op.getResult(0)))
      b.clone(op, scalar);
    OperationState state(op.getLoc(), op.getName());
    for (Value operand : op.getOperands())
      state.addOperands(vectorValue(operand));
    for (Type type : op.getResultTypes())
      state.addTypes(vectorOf(type));
    state.addAttributes(op.getAttrs());
    Operation *widened = b.create(state);
    for (auto [from, to] : llvm::zip(op.getResults(), widened->getResults()))
      wide.map(from, to);
  }

  OpBuilder &b;
  scf::ForOp loop;
  int64_t lanes;
  Location loc;
  llvm::DenseSet<Value> varying, contiguous;
  /// Uniform values and the lane-0 form of contiguous ones; the vector form of varying ones.
  IRMapping scalar, wide;
};

} // namespace

bool vectorizeCpuLoop(OpBuilder &b, scf::ForOp loop, int64_t lanes) {
  OpBuilder::InsertionGuard guard(b);
  LoopWidener widener(b, loop, lanes);
  if (!widener.analyze())
    return false;
  widener.widen();
  return true;
}

} // namespace kiln::kernels
