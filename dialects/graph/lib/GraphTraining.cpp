//===- GraphTraining.cpp - train_or_eval and dropout_mask ----------------===//
//
// graph.train_or_eval has no semantics of its own after kiln-extract-eval
// (or kiln-resolve-train-or-eval); its VJP only exists to say so when a
// pipeline runs autodiff without either. graph.dropout_mask is an index view whose element is
// Philox-4x32-10 of its row-major index and the step counter, built from 32-bit integer ops
// (arith.mului_extended gives both halves of the 32x32 product: OpUMulExtended
// in SPIR-V, mul.lo/mul.hi in PTX, one 64-bit multiply on the CPU).
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Graph/GraphDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

#include <array>
#include <cmath>

using namespace mlir;

namespace kiln::graph {

//===----------------------------------------------------------------------===//
// train_or_eval
//===----------------------------------------------------------------------===//

LogicalResult TrainOrEvalOp::buildVJP(OpBuilder &, ValueRange, SmallVectorImpl<Value> &) {
  return emitOpError("reached kiln-autodiff unresolved: run kiln-extract-eval (or, without an "
                     "eval program, kiln-resolve-train-or-eval) before autodiff, which replaces "
                     "it by its training operand in @step and its eval operand in @eval");
}

//===----------------------------------------------------------------------===//
// dropout_mask
//===----------------------------------------------------------------------===//

uint32_t DropoutMaskOp::keepThreshold(double rate) {
  // rate * 2^32 is exact in double; rate < 1 keeps it below 2^32.
  return static_cast<uint32_t>(std::floor(rate * 0x1p32));
}

LogicalResult DropoutMaskOp::verify() {
  double rate = getRate().convertToDouble();
  if (!(rate >= 0.0 && rate < 1.0))
    return emitOpError("rate must be in [0, 1), got ") << rate;
  if (getType().getNumElements() > (int64_t{1} << 32))
    return emitOpError("counts elements with 32 bits, but ")
           << getType() << " has " << getType().getNumElements() << " elements";
  return success();
}

namespace {

// Random123's Philox-4x32 constants (runtime/common/Philox.cpp has the same).
constexpr uint32_t kMultiplier0 = 0xD2511F53;
constexpr uint32_t kMultiplier1 = 0xCD9E8D57;
constexpr uint32_t kWeyl0 = 0x9E3779B9;
constexpr uint32_t kWeyl1 = 0xBB67AE85;

Value i32Constant(OpBuilder &b, Location loc, uint32_t value) {
  return b.create<arith::ConstantOp>(loc, b.getI32IntegerAttr(static_cast<int32_t>(value)));
}

} // namespace

FailureOr<Value> DropoutMaskOp::buildElement(OpBuilder &b, Location loc, ValueRange index,
                                             OperandElementFn operandAt) {
  FailureOr<Value> counter = operandAt(0, ValueRange{});
  if (failed(counter))
    return failure();
  Type i32 = b.getI32Type();
  Value step = b.create<arith::FPToUIOp>(loc, i32, *counter);
  llvm::ArrayRef<int64_t> shape = getType().getShape();
  Value linear = b.create<arith::ConstantIndexOp>(loc, 0);
  for (auto [size, position] : llvm::zip(shape, index))
    linear = b.create<arith::AddIOp>(
        loc, b.create<arith::MulIOp>(loc, linear, b.create<arith::ConstantIndexOp>(loc, size)),
        position);
  Value element = b.create<arith::IndexCastUIOp>(loc, i32, linear);

  uint64_t seed = static_cast<uint64_t>(getSeed());
  std::array<uint32_t, 2> key = {static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)};
  std::array<Value, 4> words = {element, step,
                                i32Constant(b, loc, static_cast<uint32_t>(getStream())),
                                i32Constant(b, loc, kCounterTag)};
  Value m0 = i32Constant(b, loc, kMultiplier0), m1 = i32Constant(b, loc, kMultiplier1);
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      key[0] += kWeyl0;
      key[1] += kWeyl1;
    }
    // The key schedule is a compile-time constant: only the counter words are computed.
    auto product0 = b.create<arith::MulUIExtendedOp>(loc, words[0], m0);
    auto product1 = b.create<arith::MulUIExtendedOp>(loc, words[2], m1);
    Value next0 =
        b.create<arith::XOrIOp>(loc, b.create<arith::XOrIOp>(loc, product1.getHigh(), words[1]),
                                i32Constant(b, loc, key[0]));
    Value next2 =
        b.create<arith::XOrIOp>(loc, b.create<arith::XOrIOp>(loc, product0.getHigh(), words[3]),
                                i32Constant(b, loc, key[1]));
    words = {next0, product1.getLow(), next2, product0.getLow()};
  }
  return b
      .create<arith::CmpIOp>(loc, arith::CmpIPredicate::uge, words[0],
                             i32Constant(b, loc, keepThreshold(getRate().convertToDouble())))
      .getResult();
}

AffineMap DropoutMaskOp::getOperandIndexMap(unsigned) {
  // Every element reads the one counter.
  return AffineMap::get(getType().getRank(), 0, {}, getContext());
}

} // namespace kiln::graph
