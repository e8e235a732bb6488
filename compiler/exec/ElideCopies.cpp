//===- ElideCopies.cpp - kiln-exec-elide-copies ---------------------------===//
//
// Plan assembly computes a variable's new value into a transient T with a
// dispatch D and copies T onto the variable V at the end of the program. When
// nothing between D and the copy touches V, D reads V only through an input its
// kernel declares in place with T's binding, and T is written only by D and
// read only after it (in this program alone), D may write V directly: every use
// of T becomes V, the copy goes, and T is erased.
//
//===----------------------------------------------------------------------===//

#include "kiln/Exec/Passes.h"

#include "Accesses.h"

#include "mlir/IR/Builders.h"

#include <algorithm>

namespace kiln::exec {
#define GEN_PASS_DEF_EXECELIDECOPIES
#include "kiln/Exec/Passes.h.inc"
} // namespace kiln::exec

using namespace mlir;

namespace kiln::exec {
namespace {

bool contains(llvm::ArrayRef<BufferOp> buffers, BufferOp buffer) {
  return llvm::is_contained(buffers, buffer);
}

/// Whether any program other than `program` touches `buffer`.
bool usedElsewhere(BufferOp buffer, ProgramOp program) {
  for (Operation *user : buffer->getUsers())
    if (user->getParentOfType<ProgramOp>() != program)
      return true;
  return false;
}

/// The single binding at which `dispatch` binds `buffer`, or -1 if none or several.
int onlyBinding(DispatchOp dispatch, Value buffer) {
  int found = -1;
  for (auto [binding, bound] : llvm::enumerate(dispatch.getBuffers()))
    if (bound == buffer) {
      if (found >= 0)
        return -1;
      found = static_cast<int>(binding);
    }
  return found;
}

/// The dispatch whose result `copy` may write in place (see the file comment), or null.
DispatchOp elisionSource(PlanOp plan, ProgramOp program, CopyOp copy) {
  BufferOp source = bufferOf(copy.getSource()), target = bufferOf(copy.getTarget());
  if (source.getRole() != BufferRole::transient || target.getRole() != BufferRole::variable ||
      usedElsewhere(source, program) || source.getSize() != copy.getSize() ||
      target.getSize() != copy.getSize())
    return {};

  llvm::SmallVector<Operation *> commands = commandsOf(program);
  auto copyAt = llvm::find(commands, copy.getOperation()) - commands.begin();
  int64_t writer = -1;
  for (auto [index, command] : llvm::enumerate(commands)) {
    Accesses accesses = accessesOf(command);
    bool writesSource = contains(accesses.writes, source);
    bool readsSource = contains(accesses.reads, source);
    int64_t at = static_cast<int64_t>(index);
    if (writesSource) {
      if (writer >= 0 || !llvm::isa<DispatchOp>(command))
        return {}; // several writers, or a copy writes it
      writer = at;
    }
    if (readsSource && writer < 0)
      return {}; // read before D: it would read the variable's new bytes early
    bool touchesTarget = contains(accesses.reads, target) || contains(accesses.writes, target);
    if (writer >= 0 && at > writer && at < copyAt && touchesTarget)
      return {};
    if (at > copyAt && contains(accesses.writes, target))
      return {}; // later readers of T would see the variable's later value
  }
  if (writer < 0 || writer > copyAt)
    return {};

  auto dispatch = llvm::cast<DispatchOp>(commands[writer]);
  auto kernel = plan.lookupSymbol<KernelOp>(dispatch.getKernel());
  int sourceBinding = onlyBinding(dispatch, source);
  if (sourceBinding < 0 || !kernel.writes(sourceBinding))
    return {};
  llvm::ArrayRef<int32_t> pairs = kernel.getInPlace().value_or(llvm::ArrayRef<int32_t>());
  for (auto [binding, bound] : llvm::enumerate(dispatch.getBuffers())) {
    if (bound != target.getResult())
      continue;
    if (kernel.writes(binding))
      return {};
    bool paired = false;
    for (size_t index = 0; index + 1 < pairs.size(); index += 2)
      paired = paired ||
               (pairs[index] == sourceBinding && pairs[index + 1] == static_cast<int32_t>(binding));
    if (!paired)
      return {};
  }
  return dispatch;
}

class ExecElideCopies : public impl::ExecElideCopiesBase<ExecElideCopies> {
public:
  void runOnOperation() override {
    PlanOp plan = requirePlan(getOperation(), getArgument());
    if (!plan)
      return signalPassFailure();
    for (ProgramOp program : programsOf(plan))
      if (!program.getBlock().getOps<BarrierOp>().empty()) {
        program.emitError("kiln-exec-elide-copies expects a program without barriers; run it "
                          "before kiln-exec-place-barriers");
        return signalPassFailure();
      }
    int64_t naive = 0;
    for (auto buffer : plan.getBlock().getOps<BufferOp>())
      if (buffer.getRole() == BufferRole::transient)
        naive += buffer.getSize();

    int64_t elided = 0;
    for (ProgramOp program : programsOf(plan))
      for (auto copy : llvm::make_early_inc_range(program.getBlock().getOps<CopyOp>())) {
        if (!elisionSource(plan, program, copy))
          continue;
        BufferOp source = bufferOf(copy.getSource());
        Value target = copy.getTarget();
        copy.erase();
        source.getResult().replaceAllUsesWith(target);
        source.erase();
        ++elided;
      }
    OpBuilder builder(plan);
    if (!plan.getNaiveBytes()) // a second run must not count what the first one erased
      plan.setNaiveBytesAttr(builder.getI64IntegerAttr(naive));
    plan.setElidedCopiesAttr(
        builder.getI64IntegerAttr(elided + plan.getElidedCopies().value_or(0)));
    numElided = elided;
  }
};

} // namespace
} // namespace kiln::exec
