//===- BarrierPlacement.cpp - Barriers by memory, not by buffer -----------===//
//
// Once buffers alias in the arena, two different buffers can be the same bytes,
// so a program's barriers are placed again from scratch over byte ranges: a
// Barrier goes before a command that reads memory written since the last
// barrier, or writes memory read or written since then. Arena buffers conflict
// when their [offset, offset + size) ranges overlap; a buffer with its own
// allocation conflicts only with itself. The runtime orders program runs, so
// each program starts with nothing outstanding.
//
//===----------------------------------------------------------------------===//

#include "PlannerInternal.h"

namespace kiln::memory::detail {

namespace {

struct Range {
  int64_t allocation; // -1: the arena; else the buffer's index
  uint64_t begin, end;
};

Range rangeOf(const plan::Plan &plan, uint32_t buffer) {
  const plan::Buffer &entry = plan.buffers(buffer);
  if (entry.in_arena())
    return {-1, entry.arena_offset(), entry.arena_offset() + entry.size_bytes()};
  return {static_cast<int64_t>(buffer), 0, entry.size_bytes()};
}

bool overlapsAny(const Range &range, const std::vector<Range> &ranges) {
  for (const Range &other : ranges)
    if (other.allocation == range.allocation && other.begin < range.end && range.begin < other.end)
      return true;
  return false;
}

} // namespace

void placeBarriers(plan::Plan &plan) {
  for (plan::Step *program : programsOf(plan)) {
    google::protobuf::RepeatedPtrField<plan::Command> placed;
    std::vector<Range> read, written; // since the last barrier
    for (plan::Command &command : *program->mutable_commands()) {
      CommandAccesses accesses = accessesOf(plan, command);
      std::vector<Range> reads, writes;
      for (uint32_t buffer : accesses.reads)
        reads.push_back(rangeOf(plan, buffer));
      for (uint32_t buffer : accesses.writes)
        writes.push_back(rangeOf(plan, buffer));
      bool hazard = false;
      for (const Range &range : reads)
        hazard = hazard || overlapsAny(range, written);
      for (const Range &range : writes)
        hazard = hazard || overlapsAny(range, written) || overlapsAny(range, read);
      if (hazard) {
        placed.Add()->mutable_barrier();
        read.clear();
        written.clear();
      }
      read.insert(read.end(), reads.begin(), reads.end());
      written.insert(written.end(), writes.begin(), writes.end());
      *placed.Add() = std::move(command);
    }
    program->mutable_commands()->Swap(&placed);
  }
}

} // namespace kiln::memory::detail
