//===- PlaceBarriers.cpp - kiln-exec-place-barriers -----------------------===//
//
// The one place barriers are decided. A barrier goes before a command that
// reads memory written since the last barrier, or writes memory read or written
// since then; what a dispatch reads and writes is its kernel's declared access.
// Buffers in the arena conflict when their [offset, offset + size) ranges
// overlap, so two buffers that share bytes are ordered like one; a buffer with
// its own allocation conflicts only with itself. The runtime orders program
// runs, so each program starts with nothing outstanding.
//
//===----------------------------------------------------------------------===//

#include "kiln/Exec/Passes.h"

#include "Accesses.h"

#include "mlir/IR/Builders.h"

#include <vector>

namespace kiln::exec {
#define GEN_PASS_DEF_EXECPLACEBARRIERS
#include "kiln/Exec/Passes.h.inc"
} // namespace kiln::exec

using namespace mlir;

namespace kiln::exec {
namespace {

struct Range {
  Operation *allocation; // null: the arena; else the buffer itself
  uint64_t begin, end;
};

Range rangeOf(BufferOp buffer) {
  uint64_t size = static_cast<uint64_t>(buffer.getSize());
  if (std::optional<int64_t> offset = buffer.getOffset())
    return {nullptr, static_cast<uint64_t>(*offset), static_cast<uint64_t>(*offset) + size};
  return {buffer, 0, size};
}

bool overlapsAny(const Range &range, const std::vector<Range> &ranges) {
  for (const Range &other : ranges)
    if (other.allocation == range.allocation && other.begin < range.end && range.begin < other.end)
      return true;
  return false;
}

class ExecPlaceBarriers : public impl::ExecPlaceBarriersBase<ExecPlaceBarriers> {
public:
  void runOnOperation() override {
    PlanOp plan = requirePlan(getOperation(), getArgument());
    if (!plan)
      return signalPassFailure();
    uint64_t placed = 0;
    for (ProgramOp program : programsOf(plan)) {
      for (auto barrier : llvm::make_early_inc_range(program.getBlock().getOps<BarrierOp>()))
        barrier.erase();
      std::vector<Range> read, written; // since the last barrier
      for (Operation *command : commandsOf(program)) {
        Accesses accesses = accessesOf(command);
        std::vector<Range> reads, writes;
        for (BufferOp buffer : accesses.reads)
          reads.push_back(rangeOf(buffer));
        for (BufferOp buffer : accesses.writes)
          writes.push_back(rangeOf(buffer));
        bool hazard = false;
        for (const Range &range : reads)
          hazard = hazard || overlapsAny(range, written);
        for (const Range &range : writes)
          hazard = hazard || overlapsAny(range, written) || overlapsAny(range, read);
        if (hazard) {
          OpBuilder(command).create<BarrierOp>(command->getLoc());
          ++placed;
          read.clear();
          written.clear();
        }
        read.insert(read.end(), reads.begin(), reads.end());
        written.insert(written.end(), writes.begin(), writes.end());
      }
    }
    numBarriers = placed;
  }
};

} // namespace
} // namespace kiln::exec
