//===- MemoryPlanner.cpp - Static memory planning of a plan ---------------===//
//
// Runs the planner's steps in order: drop the code generator's barriers, elide
// assign copies, allocate the arena, place barriers again by memory ranges.
//
//===----------------------------------------------------------------------===//

#include "kiln/Memory/MemoryPlanner.h"

#include "PlannerInternal.h"

#include "kiln/runtime/PlanChecker.h"

#include "absl/strings/str_cat.h"

namespace kiln::memory {

namespace detail {

CommandAccesses accessesOf(const plan::Plan &plan, const plan::Command &command) {
  CommandAccesses accesses;
  if (command.has_dispatch()) {
    const plan::Dispatch &dispatch = command.dispatch();
    std::vector<bool> written = plan::kernelWrittenBindings(plan.kernels(dispatch.kernel()));
    for (int binding = 0; binding < dispatch.buffers_size(); ++binding)
      (written[binding] ? accesses.writes : accesses.reads).push_back(dispatch.buffers(binding));
  } else if (command.has_copy()) {
    accesses.reads.push_back(command.copy().src_buffer());
    accesses.writes.push_back(command.copy().dst_buffer());
  }
  return accesses;
}

std::vector<plan::Step *> programsOf(plan::Plan &plan) {
  std::vector<plan::Step *> programs = {plan.mutable_step()};
  for (plan::Step &program : *plan.mutable_programs())
    programs.push_back(&program);
  return programs;
}

void removeBarriers(plan::Plan &plan) {
  for (plan::Step *program : programsOf(plan)) {
    auto *commands = program->mutable_commands();
    int kept = 0;
    for (int index = 0; index < commands->size(); ++index)
      if (!commands->Get(index).has_barrier())
        commands->SwapElements(kept++, index);
    commands->DeleteSubrange(kept, commands->size() - kept);
  }
}

} // namespace detail

absl::StatusOr<plan::MemorySummary> planMemory(plan::Plan &plan, const MemoryPlanOptions &options) {
  uint32_t alignment = options.alignment;
  if (alignment == 0 || (alignment & (alignment - 1)) != 0)
    return absl::InvalidArgumentError(
        absl::StrCat("memory alignment ", alignment, " is not a power of two"));
  for (int index = 0; index < plan.buffers_size(); ++index)
    if (plan.buffers(index).in_arena())
      return absl::InvalidArgumentError(
          absl::StrCat("buffer ", index, " ('", plan.buffers(index).name(),
                       "') is already in an arena; plan memory once, on the code generator's "
                       "output"));

  uint64_t naiveBytes = 0;
  for (const plan::Buffer &buffer : plan.buffers())
    if (buffer.role() == plan::BUFFER_ROLE_TRANSIENT)
      naiveBytes += buffer.size_bytes();

  detail::removeBarriers(plan);
  uint32_t elided = options.elideCopies ? detail::elideCopies(plan) : 0;
  plan::MemorySummary summary = detail::assignArena(plan, options);
  detail::placeBarriers(plan);

  summary.set_naive_bytes(naiveBytes);
  summary.set_elided_copies(elided);
  *plan.mutable_memory() = summary;
  return summary;
}

} // namespace kiln::memory
