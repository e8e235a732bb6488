//===- AttentionKernel.cpp - Fused causal attention, forward and backward -===//
//
// One kernel per graph.attention or graph.attention_grad, written once
// against KernelContext: the same function is emitted for SPIR-V, PTX and the
// CPU target. One work item per row (a GPU thread, 64 to a workgroup; a CPU
// tile), holding the row's D values (D <= AttentionOp::kMaxHeadSize) as scalar
// loop-carried values, so nothing of size T x T is ever stored.
//
// Forward, per query row t of head (b, h): an online softmax over u <= t. The
// running maximum m, sum l and accumulator acc[D] start from u = 0 and take
// each further key as m' = max(m, s), l = l e^(m - m') + e^(s - m'), acc =
// acc e^(m - m') + e^(s - m') v[u]; then out = acc / l and lse = m + log l.
//
// Backward: 2 B H T work items. The first B H T are query rows: Dt = dout[t]·
// out[t] - dlse[t], then over u <= t (ascending) P = exp(scale q[t]·k[u] -
// lse[t]), dS = P (dout[t]·v[u] - Dt), dq += dS k[u]; dq *= scale. The others
// are key rows: over t >= u (ascending) the same P and dS, dv += P dout[t],
// dk += dS q[t]; dk *= scale. Each output element is written by one work item
// in a fixed order: deterministic, no atomics.
//
// Every loop runs at least once (u = 0 is peeled off the forward loop, which
// then may run zero times: its results are selected against the peeled values,
// since the SPIR-V lowering leaves a zero-trip loop's results undefined).
//
// The CPU form: a tile is a head, and a loop over its T rows, widened to vectors
// (adjacent rows in the lanes) by vectorizeCpuLoop. The loops over keys (and, in
// the backward pass, over queries) then need bounds every lane shares: they run
// over all T positions, and a position the row does not see leaves the carried
// values as they are (a select), so each lane computes exactly the sums of the
// per-row form in the same order. The keys' and queries' rows are the same for
// every lane (scalar loads, broadcast); a backward item computes both the query
// row's dq and the key row's dk and dv of its position.
//
//===----------------------------------------------------------------------===//

#include "KernelContext.h"

#include "mlir/Dialect/Math/IR/Math.h"

#include <array>

using namespace mlir;

namespace kiln::kernels {
namespace {

constexpr int64_t kThreadsPerGroup = 64;

class AttentionEmitter : public KernelKindEmitter {
public:
  LogicalResult emit(KernelContext &context) override;
};

/// Emits loads and arithmetic for one attention kernel.
struct Builder {
  KernelContext &c;
  OpBuilder &b;
  Location loc;
  int64_t t, d;
  double scale;

  Value load(Value buffer, Value offset) { return b.create<memref::LoadOp>(loc, buffer, offset); }
  void store(Value value, Value buffer, Value offset) {
    b.create<memref::StoreOp>(loc, value, buffer, offset);
  }
  Value add(Value x, Value y) { return b.create<arith::AddFOp>(loc, x, y); }
  Value sub(Value x, Value y) { return b.create<arith::SubFOp>(loc, x, y); }
  Value mul(Value x, Value y) { return b.create<arith::MulFOp>(loc, x, y); }
  Value exp(Value x) { return b.create<math::ExpOp>(loc, x); }
  Value iadd(Value x, Value y) { return b.create<arith::AddIOp>(loc, x, y); }
  Value imul(Value x, int64_t y) { return b.create<arith::MulIOp>(loc, x, c.index(y)); }
  /// The D values of row `row` ([B H T] rows of D) of `buffer`.
  llvm::SmallVector<Value> loadRow(Value buffer, Value row) {
    Value base = imul(row, d);
    llvm::SmallVector<Value> values;
    for (int64_t i = 0; i < d; ++i)
      values.push_back(load(buffer, iadd(base, c.index(i))));
    return values;
  }
  void storeRow(llvm::ArrayRef<Value> values, Value buffer, Value row) {
    Value base = imul(row, d);
    for (int64_t i = 0; i < d; ++i)
      store(values[i], buffer, iadd(base, c.index(i)));
  }
  /// sum_i x[i] * y[i], in order.
  Value dot(llvm::ArrayRef<Value> x, llvm::ArrayRef<Value> y) {
    Value sum = mul(x[0], y[0]);
    for (int64_t i = 1; i < d; ++i)
      sum = add(sum, mul(x[i], y[i]));
    return sum;
  }
  Value scaled(Value x) { return mul(c.f32(scale), x); }

  /// The forward pass's online-softmax update of (m, l, acc[D]) = `carried` by key row `key`.
  llvm::SmallVector<Value> forwardStep(llvm::ArrayRef<Value> qRow, ValueRange carried, Value key,
                                       Value k, Value v) {
    Value m = carried[0], l = carried[1];
    Value score = scaled(dot(qRow, loadRow(k, key)));
    Value larger = b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OGT, score, m);
    Value next = b.create<arith::SelectOp>(loc, larger, score, m);
    Value decay = exp(sub(m, next)), weight = exp(sub(score, next));
    llvm::SmallVector<Value> updated = {next, add(mul(l, decay), weight)};
    llvm::SmallVector<Value> vRow = loadRow(v, key);
    for (int64_t i = 0; i < d; ++i)
      updated.push_back(add(mul(carried[2 + i], decay), mul(weight, vRow[i])));
    return updated;
  }
  /// Dt = dout[row]·out[row] - dlse[row].
  Value delta(llvm::ArrayRef<Value> doutRow, Value row, Value out, Value dlse) {
    return sub(dot(doutRow, loadRow(out, row)), load(dlse, row));
  }
  /// A query row's dq sums (`carried`) plus the term of key row `key`.
  llvm::SmallVector<Value> queryStep(llvm::ArrayRef<Value> qRow, llvm::ArrayRef<Value> doutRow,
                                     Value deltaRow, Value lseRow, ValueRange carried, Value key,
                                     Value k, Value v) {
    llvm::SmallVector<Value> kRow = loadRow(k, key);
    Value p = exp(sub(scaled(dot(qRow, kRow)), lseRow));
    Value ds = mul(p, sub(dot(doutRow, loadRow(v, key)), deltaRow));
    llvm::SmallVector<Value> updated;
    for (int64_t i = 0; i < d; ++i)
      updated.push_back(add(carried[i], mul(ds, kRow[i])));
    return updated;
  }
  /// A key row's dk and dv sums (`carried`: D of each) plus the terms of query row `query`;
  /// `buffers` are q, lse, dout, out, dlse.
  llvm::SmallVector<Value> keyStep(llvm::ArrayRef<Value> kRow, llvm::ArrayRef<Value> vRow,
                                   ValueRange carried, Value query, std::array<Value, 5> buffers) {
    auto [q, lse, dout, out, dlse] = buffers;
    llvm::SmallVector<Value> qRow = loadRow(q, query), doutRow = loadRow(dout, query);
    Value p = exp(sub(scaled(dot(qRow, kRow)), load(lse, query)));
    Value ds = mul(p, sub(dot(doutRow, vRow), delta(doutRow, query, out, dlse)));
    llvm::SmallVector<Value> updated;
    for (int64_t i = 0; i < d; ++i)
      updated.push_back(add(carried[i], mul(ds, qRow[i])));
    for (int64_t i = 0; i < d; ++i)
      updated.push_back(add(carried[d + i], mul(p, doutRow[i])));
    return updated;
  }
  /// sums[first, first + D), times the scale when `scaledSums`, into row `row` of `buffer`.
  void storeSums(ValueRange sums, int64_t first, bool scaledSums, Value buffer, Value row) {
    llvm::SmallVector<Value> values;
    for (int64_t i = 0; i < d; ++i)
      values.push_back(scaledSums ? scaled(sums[first + i]) : sums[first + i]);
    storeRow(values, buffer, row);
  }
};

/// The CPU form (see the file comment): `heads` tiles of T rows.
void emitCpu(Builder &e, llvm::ArrayRef<Value> inputs, llvm::ArrayRef<Value> outputs, bool backward,
             int64_t heads) {
  KernelContext &context = e.c;
  OpBuilder &b = e.b;
  Location loc = e.loc;
  int64_t t = e.t, d = e.d;
  OpBuilder::InsertionGuard guard(b);
  Value head = context.linearGroup(heads);
  // Not the tiles: the rows of each tile are what becomes vectors.
  context.tileLoop = nullptr;
  Value first = e.imul(head, t);
  auto rowLoop = b.create<scf::ForOp>(loc, context.index(0), context.index(t), context.index(1));
  b.setInsertionPointToStart(rowLoop.getBody());
  Value position = rowLoop.getInductionVar();
  Value row = e.iadd(first, position);
  // A loop over the head's T positions carrying `init`; `body(at, other)` gives the updated
  // values at position `at` (row `other` of the head), kept only where `sees(at)`.
  auto overPositions = [&](int64_t begin, llvm::ArrayRef<Value> init,
                           llvm::function_ref<Value(Value)> sees,
                           llvm::function_ref<llvm::SmallVector<Value>(ValueRange, Value)> body) {
    auto loop =
        b.create<scf::ForOp>(loc, context.index(begin), context.index(t), context.index(1), init);
    OpBuilder::InsertionGuard loopGuard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value at = loop.getInductionVar();
    ValueRange carried = loop.getRegionIterArgs();
    llvm::SmallVector<Value> updated = body(carried, e.iadd(first, at));
    Value keep = sees(at);
    llvm::SmallVector<Value> yielded;
    for (auto [value, previous] : llvm::zip(updated, carried))
      yielded.push_back(b.create<arith::SelectOp>(loc, keep, value, previous));
    b.create<scf::YieldOp>(loc, yielded);
    return loop;
  };
  auto compare = [&](arith::CmpIPredicate predicate, Value x, Value y) {
    return b.create<arith::CmpIOp>(loc, predicate, x, y).getResult();
  };

  if (!backward) {
    Value q = inputs[0], k = inputs[1], v = inputs[2];
    llvm::SmallVector<Value> qRow = e.loadRow(q, row);
    // u = 0, which every row sees: m = s0, l = 1, acc = v[0].
    llvm::SmallVector<Value> init;
    init.push_back(e.scaled(e.dot(qRow, e.loadRow(k, first))));
    init.push_back(context.f32(1.0));
    llvm::SmallVector<Value> v0 = e.loadRow(v, first);
    init.append(v0.begin(), v0.end());
    auto loop = overPositions(
        1, init, [&](Value u) { return compare(arith::CmpIPredicate::ule, u, position); },
        [&](ValueRange carried, Value key) { return e.forwardStep(qRow, carried, key, k, v); });
    Value m = loop.getResult(0), l = loop.getResult(1);
    if (outputs[0]) {
      llvm::SmallVector<Value> out;
      for (int64_t i = 0; i < d; ++i)
        out.push_back(b.create<arith::DivFOp>(loc, loop.getResult(2 + i), l));
      e.storeRow(out, outputs[0], row);
    }
    if (outputs[1])
      e.store(e.add(m, b.create<math::LogOp>(loc, l)), outputs[1], row);
  } else {
    Value q = inputs[0], k = inputs[1], v = inputs[2], out = inputs[3], lse = inputs[4],
          dout = inputs[5], dlse = inputs[6];
    if (outputs[0]) {
      // This position as a query row: dq over the keys u <= position.
      llvm::SmallVector<Value> qRow = e.loadRow(q, row), doutRow = e.loadRow(dout, row);
      Value delta = e.delta(doutRow, row, out, dlse), lseRow = e.load(lse, row);
      auto loop = overPositions(
          0, llvm::SmallVector<Value>(d, context.f32(0.0)),
          [&](Value u) { return compare(arith::CmpIPredicate::ule, u, position); },
          [&](ValueRange carried, Value key) {
            return e.queryStep(qRow, doutRow, delta, lseRow, carried, key, k, v);
          });
      e.storeSums(loop.getResults(), 0, /*scaledSums=*/true, outputs[0], row);
    }
    if (outputs[1] || outputs[2]) {
      // This position as a key row: dk and dv over the queries at or after it.
      llvm::SmallVector<Value> kRow = e.loadRow(k, row), vRow = e.loadRow(v, row);
      auto loop = overPositions(
          0, llvm::SmallVector<Value>(2 * d, context.f32(0.0)),
          [&](Value query) { return compare(arith::CmpIPredicate::uge, query, position); },
          [&](ValueRange carried, Value query) {
            return e.keyStep(kRow, vRow, carried, query, {q, lse, dout, out, dlse});
          });
      if (outputs[1])
        e.storeSums(loop.getResults(), 0, /*scaledSums=*/true, outputs[1], row);
      if (outputs[2])
        e.storeSums(loop.getResults(), d, /*scaledSums=*/false, outputs[2], row);
    }
  }
  b.setInsertionPoint(rowLoop);
  vectorizeCpuLoop(b, rowLoop, context.config.cpuLanes);
}

LogicalResult AttentionEmitter::emit(KernelContext &context) {
  Operation *op = nullptr;
  for (Operation &candidate : context.body())
    if (llvm::isa<graph::AttentionOp, graph::AttentionGradOp>(candidate))
      op = &candidate;
  if (!op)
    return context.kernel.emitOpError("internal compiler error: an attention kernel without a "
                                      "graph.attention or graph.attention_grad");
  llvm::ArrayRef<int64_t> shape = shapeOf(op->getOperand(0));
  int64_t t = shape[2], d = shape[3], rows = shape[0] * shape[1] * shape[2];
  if (d > graph::AttentionOp::kMaxHeadSize)
    return op->emitOpError("head size ")
           << d << " is above the attention kernels' limit of " << graph::AttentionOp::kMaxHeadSize;
  llvm::SmallVector<Value> inputs;
  for (Value operand : op->getOperands()) {
    auto argument = llvm::dyn_cast<BlockArgument>(operand);
    if (!argument)
      return op->emitOpError("internal compiler error: an attention kernel whose operand is "
                             "computed inside the kernel");
    inputs.push_back(context.inputs[argument.getArgNumber()]);
    context.directReads.insert(argument.getArgNumber());
  }
  // The output buffer of each result, null when nothing reads it.
  llvm::SmallVector<Value> outputs;
  for (Value result : op->getResults()) {
    Value buffer;
    for (auto [i, returned] : llvm::enumerate(context.returned))
      if (returned == result)
        buffer = context.outputs[i];
    outputs.push_back(buffer);
  }

  bool backward = llvm::isa<graph::AttentionGradOp>(op);
  if (context.cpu()) {
    Builder e{context, context.b, context.loc,
              t,       d,         op->getAttrOfType<FloatAttr>("scale").getValueAsDouble()};
    emitCpu(e, inputs, outputs, backward, rows / t);
    return success();
  }
  int64_t items = backward ? 2 * rows : rows;
  int64_t threads = context.cpu() ? 1 : kThreadsPerGroup;
  int64_t groups = (items + threads - 1) / threads;
  context.workgroup = {static_cast<uint32_t>(threads), 1, 1};
  context.grid = context.gridFor(groups);
  OpBuilder &b = context.b;
  Location loc = context.loc;
  Builder e{context, b, loc, t, d, op->getAttrOfType<FloatAttr>("scale").getValueAsDouble()};

  OpBuilder::InsertionGuard guard(b);
  Value thread = context.threadId();
  Value group = context.linearGroup(groups);
  Value item = e.iadd(e.imul(group, threads), thread);
  if (threads * groups != items) {
    Value inside =
        b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, item, context.index(items));
    auto branch = b.create<scf::IfOp>(loc, inside, /*withElseRegion=*/false);
    b.setInsertionPointToStart(&branch.getThenRegion().front());
  }

  auto positionOf = [&](Value row) {
    return b.create<arith::RemUIOp>(loc, row, context.index(t)).getResult();
  };
  // The first row of `row`'s head.
  auto headStart = [&](Value row) { return b.create<arith::SubIOp>(loc, row, positionOf(row)); };

  if (!backward) {
    Value q = inputs[0], k = inputs[1], v = inputs[2];
    Value row = item, position = positionOf(row), first = headStart(row);
    llvm::SmallVector<Value> qRow = e.loadRow(q, row);
    // u = 0, peeled: m = s0, l = 1, acc = v[0].
    llvm::SmallVector<Value> init;
    init.push_back(e.scaled(e.dot(qRow, e.loadRow(k, first))));
    init.push_back(context.f32(1.0));
    llvm::SmallVector<Value> v0 = e.loadRow(v, first);
    init.append(v0.begin(), v0.end());
    auto loop = b.create<scf::ForOp>(loc, context.index(1), e.iadd(position, context.index(1)),
                                     context.index(1), init);
    {
      OpBuilder::InsertionGuard loopGuard(b);
      b.setInsertionPointToStart(loop.getBody());
      Value key = e.iadd(first, loop.getInductionVar());
      b.create<scf::YieldOp>(loc, e.forwardStep(qRow, loop.getRegionIterArgs(), key, k, v));
    }
    Value ran = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ugt, position, context.index(0));
    llvm::SmallVector<Value> final;
    for (auto [result, start] : llvm::zip(loop.getResults(), init))
      final.push_back(b.create<arith::SelectOp>(loc, ran, result, start));
    Value m = final[0], l = final[1];
    if (outputs[0]) {
      llvm::SmallVector<Value> out;
      for (int64_t i = 0; i < d; ++i)
        out.push_back(b.create<arith::DivFOp>(loc, final[2 + i], l));
      e.storeRow(out, outputs[0], row);
    }
    if (outputs[1])
      e.store(e.add(m, b.create<math::LogOp>(loc, l)), outputs[1], row);
    context.tileLoop = nullptr;
    return success();
  }

  Value q = inputs[0], k = inputs[1], v = inputs[2], out = inputs[3], lse = inputs[4],
        dout = inputs[5], dlse = inputs[6];
  Value isQuery =
      b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, item, context.index(rows));
  auto branch = b.create<scf::IfOp>(loc, isQuery, /*withElseRegion=*/true);
  {
    // A query row: dq.
    OpBuilder::InsertionGuard branchGuard(b);
    b.setInsertionPointToStart(&branch.getThenRegion().front());
    Value row = item, position = positionOf(row), first = headStart(row);
    llvm::SmallVector<Value> qRow = e.loadRow(q, row), doutRow = e.loadRow(dout, row);
    Value delta = e.delta(doutRow, row, out, dlse), lseRow = e.load(lse, row);
    llvm::SmallVector<Value> init(d, context.f32(0.0));
    auto loop = b.create<scf::ForOp>(loc, context.index(0), e.iadd(position, context.index(1)),
                                     context.index(1), init);
    {
      OpBuilder::InsertionGuard loopGuard(b);
      b.setInsertionPointToStart(loop.getBody());
      Value key = e.iadd(first, loop.getInductionVar());
      b.create<scf::YieldOp>(
          loc, e.queryStep(qRow, doutRow, delta, lseRow, loop.getRegionIterArgs(), key, k, v));
    }
    if (outputs[0])
      e.storeSums(loop.getResults(), 0, /*scaledSums=*/true, outputs[0], row);
  }
  {
    // A key row: dk and dv.
    OpBuilder::InsertionGuard branchGuard(b);
    b.setInsertionPointToStart(&branch.getElseRegion().front());
    Value row = b.create<arith::SubIOp>(loc, item, context.index(rows));
    Value position = positionOf(row), first = headStart(row);
    llvm::SmallVector<Value> kRow = e.loadRow(k, row), vRow = e.loadRow(v, row);
    llvm::SmallVector<Value> init(2 * d, context.f32(0.0));
    auto loop = b.create<scf::ForOp>(loc, position, context.index(t), context.index(1), init);
    {
      OpBuilder::InsertionGuard loopGuard(b);
      b.setInsertionPointToStart(loop.getBody());
      Value query = e.iadd(first, loop.getInductionVar());
      b.create<scf::YieldOp>(
          loc, e.keyStep(kRow, vRow, loop.getRegionIterArgs(), query, {q, lse, dout, out, dlse}));
    }
    if (outputs[1])
      e.storeSums(loop.getResults(), 0, /*scaledSums=*/true, outputs[1], row);
    if (outputs[2])
      e.storeSums(loop.getResults(), d, /*scaledSums=*/false, outputs[2], row);
  }
  context.tileLoop = nullptr;
  return success();
}

} // namespace

std::unique_ptr<KernelKindEmitter> createAttentionEmitter() {
  return std::make_unique<AttentionEmitter>();
}

} // namespace kiln::kernels
