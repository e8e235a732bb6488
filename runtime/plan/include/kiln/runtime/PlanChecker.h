//===- PlanChecker.h - Independent proof of a plan's memory plan -*- C++ -*-===//
//
// checkPlanMemory re-derives, without the memory planner's code, everything that
// makes a planned plan safe to run: transient buffers that are live at the same
// time do not share arena bytes, every read sees the write of the buffer it
// reads, and every conflicting pair of accesses inside a program is separated
// by a Barrier. Tests run it over every plan the planner produces.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_PLANCHECKER_H
#define KILN_RUNTIME_PLANCHECKER_H

#include "kiln/plan/plan.pb.h"

#include "absl/status/status.h"

#include <vector>

namespace kiln::plan {

/// Which bindings of `kernel` a dispatch writes (true) or only reads (false); one entry per
/// binding. This is the plan's access semantics, shared by the planner and the checker:
///   - an in_place output binding is written; an in_place input binding that is not also an
///     output is read only;
///   - otherwise the kernel's SPIR-V decides: a storage buffer (set 0) is written when the
///     module stores through it (OpStore, OpCopyMemory, an atomic, or a pointer passed to a
///     function call, following access chains back to the variable), else it is read;
///   - without usable SPIR-V (no binding decorations), bindings 0..output_bindings-1 (at
///     least binding 0) are written and the others read, as the compiler declares.
std::vector<bool> kernelWrittenBindings(const Kernel &kernel);

/// Checks the memory plan of a plan that passed validatePlan. Returns OK or
/// FailedPrecondition naming the program, command index, buffers and byte ranges of the
/// first problem found:
///   (a) two arena buffers whose live intervals overlap share bytes (except an output placed
///       on the input it replaces by a kernel's in_place pair), or an offset is unaligned or
///       outside Plan.memory.arena_bytes;
///   (b) a read of a transient buffer sees bytes last written by another buffer, or reads a
///       transient before any write in the same run of its program (transients are undefined
///       at program start);
///   (c) two accesses of the same bytes in one program, at least one a write, have no Barrier
///       between them.
/// Live intervals are over one timeline: Plan.step's commands, then each of Plan.programs'
/// in order; a buffer lives from the first command that touches it to the last.
absl::Status checkPlanMemory(const Plan &plan);

/// Only (a) of checkPlanMemory: arena placement and no two live buffers sharing bytes. The
/// load checks run it first so that overlapping live ranges are reported as such, not as the
/// clobbered read they cause.
absl::Status checkArenaPlacement(const Plan &plan);

} // namespace kiln::plan

#endif // KILN_RUNTIME_PLANCHECKER_H
