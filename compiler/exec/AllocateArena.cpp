//===- AllocateArena.cpp - kiln-exec-allocate-arena -----------------------===//
//
// Every transient buffer lives from the first to the last command that touches
// it on one timeline (@train's commands, then each other program's). Buffers
// joined by in-place reuse form one group that occupies one block. Groups are
// placed by two greedy heuristics (largest first, and earliest start first),
// each a best fit into the gaps left by the groups already placed that overlap
// in time, as TFLite's greedy-by-size planner and XLA's heap simulator do; the
// smaller arena wins.
//
//===----------------------------------------------------------------------===//

#include "kiln/Exec/Passes.h"

#include "Accesses.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseMap.h"

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

namespace kiln::exec {
#define GEN_PASS_DEF_EXECALLOCATEARENA
#include "kiln/Exec/Passes.h.inc"
} // namespace kiln::exec

using namespace mlir;

namespace kiln::exec {
namespace {

constexpr int64_t kUnused = -1;

struct Group {
  uint64_t size = 0;       // aligned
  int64_t first = kUnused; // timeline indices, inclusive
  int64_t last = kUnused;
  uint64_t offset = 0;
};

bool liveTogether(const Group &a, const Group &b) { return a.first <= b.last && b.first <= a.last; }

/// Best-fit placement of `groups` in the given order; returns the arena size.
uint64_t place(std::vector<Group> &groups, const std::vector<size_t> &order) {
  std::vector<size_t> placed;
  uint64_t arena = 0;
  for (size_t current : order) {
    Group &group = groups[current];
    std::vector<size_t> neighbours;
    for (size_t other : placed)
      if (liveTogether(group, groups[other]))
        neighbours.push_back(other);
    std::sort(neighbours.begin(), neighbours.end(), [&](size_t a, size_t b) {
      return groups[a].offset != groups[b].offset ? groups[a].offset < groups[b].offset : a < b;
    });
    uint64_t end = 0, best = UINT64_MAX, bestGap = UINT64_MAX;
    for (size_t other : neighbours) {
      uint64_t gap = groups[other].offset > end ? groups[other].offset - end : 0;
      if (gap >= group.size && gap < bestGap) {
        best = end;
        bestGap = gap;
      }
      end = std::max(end, groups[other].offset + groups[other].size);
    }
    group.offset = best != UINT64_MAX ? best : end;
    arena = std::max(arena, group.offset + group.size);
    placed.push_back(current);
  }
  return arena;
}

uint64_t alignUp(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

class ExecAllocateArena : public impl::ExecAllocateArenaBase<ExecAllocateArena> {
public:
  using ExecAllocateArenaBase::ExecAllocateArenaBase;
  void runOnOperation() override;
};

void ExecAllocateArena::runOnOperation() {
  PlanOp plan = requirePlan(getOperation(), getArgument());
  if (!plan)
    return signalPassFailure();
  if (alignment == 0 || (alignment & (alignment - 1)) != 0) {
    plan.emitError("kiln-exec-allocate-arena: alignment ") << alignment << " is not a power of two";
    return signalPassFailure();
  }
  llvm::SmallVector<BufferOp> buffers = llvm::to_vector(plan.getBlock().getOps<BufferOp>());
  llvm::DenseMap<Operation *, unsigned> indexOf;
  for (auto [index, buffer] : llvm::enumerate(buffers)) {
    if (buffer.getOffset()) {
      buffer.emitError("kiln-exec-allocate-arena: buffer '")
          << buffer.getName() << "' is already in an arena; allocate the arena once";
      return signalPassFailure();
    }
    indexOf[buffer] = static_cast<unsigned>(index);
  }
  size_t count = buffers.size();
  std::vector<int64_t> first(count, kUnused), last(count, kUnused);
  // Dispatches by timeline index, for in-place reuse.
  std::vector<std::pair<int64_t, DispatchOp>> dispatches;
  int64_t time = 0;
  for (ProgramOp program : programsOf(plan))
    for (Operation *command : commandsOf(program)) {
      if (llvm::isa<BarrierOp>(command)) {
        program.emitError("kiln-exec-allocate-arena expects a program without barriers; run it "
                          "before kiln-exec-place-barriers");
        return signalPassFailure();
      }
      Accesses accesses = accessesOf(command);
      for (const auto *list : {&accesses.reads, &accesses.writes})
        for (BufferOp buffer : *list) {
          unsigned index = indexOf.lookup(buffer);
          if (first[index] == kUnused)
            first[index] = time;
          last[index] = time;
        }
      if (auto dispatch = llvm::dyn_cast<DispatchOp>(command))
        dispatches.emplace_back(time, dispatch);
      ++time;
    }

  auto inArena = [&](unsigned index) {
    return buffers[index].getRole() == BufferRole::transient && first[index] != kUnused;
  };

  // In-place reuse: chains of buffers that share one block. `groupOf` maps a buffer to its
  // group's first buffer; `tail` the chain's last buffer, the only one that may be replaced.
  std::vector<unsigned> groupOf(count);
  std::iota(groupOf.begin(), groupOf.end(), 0u);
  std::vector<unsigned> tail = groupOf;
  std::vector<bool> joined(count, false);
  uint64_t reuses = 0;
  if (reuseInPlace)
    for (auto [at, dispatch] : dispatches) {
      auto kernel = plan.lookupSymbol<KernelOp>(dispatch.getKernel());
      llvm::ArrayRef<int32_t> pairs = kernel.getInPlace().value_or(llvm::ArrayRef<int32_t>());
      for (size_t pair = 0; pair + 1 < pairs.size(); pair += 2) {
        Value inputValue = dispatch.getBuffers()[pairs[pair + 1]];
        unsigned input = indexOf.lookup(bufferOf(inputValue));
        unsigned output = indexOf.lookup(bufferOf(dispatch.getBuffers()[pairs[pair]]));
        if (input == output || !inArena(input) || !inArena(output) || joined[output] ||
            groupOf[output] != output || tail[groupOf[input]] != input ||
            buffers[input].getSize() != buffers[output].getSize() || last[input] != at ||
            first[output] != at)
          continue;
        if (llvm::count(dispatch.getBuffers(), inputValue) != 1)
          continue;
        groupOf[output] = groupOf[input];
        tail[groupOf[input]] = output;
        joined[output] = true;
        ++reuses;
      }
    }

  std::vector<Group> groups;
  std::vector<int> groupIndex(count, -1);
  for (unsigned buffer = 0; buffer < count; ++buffer) {
    if (!inArena(buffer))
      continue;
    unsigned leader = groupOf[buffer];
    if (groupIndex[leader] < 0) {
      groupIndex[leader] = static_cast<int>(groups.size());
      groups.push_back({0, first[buffer], last[buffer], 0});
    }
    Group &group = groups[groupIndex[leader]];
    group.size =
        std::max(group.size, alignUp(static_cast<uint64_t>(buffers[buffer].getSize()), alignment));
    group.first = std::min(group.first, first[buffer]);
    group.last = std::max(group.last, last[buffer]);
    groupIndex[buffer] = groupIndex[leader];
  }

  std::vector<size_t> bySize(groups.size()), byStart(groups.size());
  std::iota(bySize.begin(), bySize.end(), 0);
  std::iota(byStart.begin(), byStart.end(), 0);
  std::sort(bySize.begin(), bySize.end(), [&](size_t a, size_t b) {
    if (groups[a].size != groups[b].size)
      return groups[a].size > groups[b].size;
    return groups[a].first != groups[b].first ? groups[a].first < groups[b].first : a < b;
  });
  std::sort(byStart.begin(), byStart.end(), [&](size_t a, size_t b) {
    if (groups[a].first != groups[b].first)
      return groups[a].first < groups[b].first;
    return groups[a].size != groups[b].size ? groups[a].size > groups[b].size : a < b;
  });
  std::vector<Group> bySizeGroups = groups;
  uint64_t bySizeArena = place(bySizeGroups, bySize);
  uint64_t byStartArena = place(groups, byStart);
  uint64_t arena = byStartArena;
  if (bySizeArena <= byStartArena) {
    groups = std::move(bySizeGroups);
    arena = bySizeArena;
  }

  OpBuilder builder(plan);
  for (unsigned buffer = 0; buffer < count; ++buffer)
    if (groupIndex[buffer] >= 0)
      buffers[buffer].setOffsetAttr(
          builder.getI64IntegerAttr(static_cast<int64_t>(groups[groupIndex[buffer]].offset)));

  // The peak: the most group bytes live at one command (a sweep over interval ends).
  std::vector<std::pair<int64_t, int64_t>> events; // (time, +size at start / -size after end)
  for (const Group &group : groups) {
    events.emplace_back(group.first, static_cast<int64_t>(group.size));
    events.emplace_back(group.last + 1, -static_cast<int64_t>(group.size));
  }
  std::sort(events.begin(), events.end());
  int64_t live = 0, peak = 0;
  for (size_t index = 0; index < events.size(); ++index) {
    live += events[index].second;
    if (index + 1 == events.size() || events[index + 1].first != events[index].first)
      peak = std::max(peak, live);
  }

  if (!plan.getNaiveBytes()) {
    int64_t naive = 0;
    for (BufferOp buffer : buffers)
      if (buffer.getRole() == BufferRole::transient)
        naive += buffer.getSize();
    plan.setNaiveBytesAttr(builder.getI64IntegerAttr(naive));
  }
  plan.setArenaBytesAttr(builder.getI64IntegerAttr(static_cast<int64_t>(arena)));
  plan.setPeakLiveBytesAttr(builder.getI64IntegerAttr(peak));
  plan.setAlignmentAttr(builder.getI64IntegerAttr(alignment));
  plan.setInPlaceReusesAttr(builder.getI64IntegerAttr(static_cast<int64_t>(reuses)));
  if (!plan.getElidedCopies())
    plan.setElidedCopiesAttr(builder.getI64IntegerAttr(0));
  numArenaBytes = arena;
  numNaiveBytes = static_cast<uint64_t>(*plan.getNaiveBytes());
  numReuses = reuses;
}

} // namespace
} // namespace kiln::exec
