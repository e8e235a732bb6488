//===- MemoryPlanner.h - Static memory planning of a plan -------*- C++ -*-===//
//
// planMemory rewrites a code-generated plan so that its transient buffers share
// one arena: it updates variables in place instead of copying (copy elision),
// lets an elementwise kernel write its output over a dying input (in-place
// reuse), packs the remaining live intervals into the arena, and re-places the
// barriers by memory ranges rather than by buffers. See
// docs/design/memory-planning.md.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_MEMORY_MEMORYPLANNER_H
#define KILN_MEMORY_MEMORYPLANNER_H

#include "kiln/plan/plan.pb.h"

#include "absl/status/statusor.h"

#include <cstdint>

namespace kiln::memory {

struct MemoryPlanOptions {
  /// Every arena offset is a multiple of this (a power of two). 256 bytes satisfies every
  /// Vulkan device's minStorageBufferOffsetAlignment and CUDA's allocation alignment.
  uint32_t alignment = 256;
  /// Let the dispatch that computes a variable's new value write the variable directly,
  /// dropping the trailing assign Copy, when that is provably equivalent.
  bool elideCopies = true;
  /// Place a kernel's output over an input that dies there when the kernel lists the pair
  /// in Kernel.in_place.
  bool reuseInPlace = true;
};

/// Plans the memory of `plan` in place and returns the summary it also stores in
/// Plan.memory. `plan` must pass validatePlan and must not have been planned before.
/// Buffers removed by copy elision are erased and every buffer index renumbered; the
/// command order is kept except that Copy commands may disappear and Barriers are re-placed.
/// Fails with InvalidArgument if the alignment is not a power of two or the plan is already
/// planned; the plan is unchanged then.
absl::StatusOr<kiln::plan::MemorySummary> planMemory(kiln::plan::Plan &plan,
                                                     const MemoryPlanOptions &options = {});

} // namespace kiln::memory

#endif // KILN_MEMORY_MEMORYPLANNER_H
