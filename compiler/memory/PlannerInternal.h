//===- PlannerInternal.h - The memory planner's steps -----------*- C++ -*-===//
//
// The steps planMemory runs in order, each in its own file: copy elision, arena
// allocation (live intervals, in-place reuse, offsets) and barrier placement.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_MEMORY_PLANNERINTERNAL_H
#define KILN_MEMORY_PLANNERINTERNAL_H

#include "kiln/Memory/MemoryPlanner.h"

#include <vector>

namespace kiln::memory::detail {

/// The buffers one command reads and writes (a buffer may appear in both).
struct CommandAccesses {
  std::vector<uint32_t> reads, writes;
};

/// Dispatch bindings as kernelWrittenBindings says; a Copy reads src and writes dst.
CommandAccesses accessesOf(const plan::Plan &plan, const plan::Command &command);

/// Plan.step, then Plan.programs in order: the planner's timeline.
std::vector<plan::Step *> programsOf(plan::Plan &plan);

/// Removes every Barrier command of every program.
void removeBarriers(plan::Plan &plan);

/// Rewrites assign Copies into in-place updates where legal (see memory-planning.md), erases
/// the transient buffers that become unused and renumbers the rest. Returns the number of
/// copies removed. Expects a plan without barriers.
uint32_t elideCopies(plan::Plan &plan);

/// Places the transient buffers in one arena; fills arena_bytes, peak_live_bytes,
/// alignment and in_place_reuses of the returned summary. Expects a plan without barriers.
plan::MemorySummary assignArena(plan::Plan &plan, const MemoryPlanOptions &options);

/// Inserts the barriers every program needs, by byte ranges of allocations.
void placeBarriers(plan::Plan &plan);

} // namespace kiln::memory::detail

#endif // KILN_MEMORY_PLANNERINTERNAL_H
