//===- CopyElision.cpp - Updating variables in place ----------------------===//
//
// The code generator computes a variable's new value into a transient T with a
// dispatch D and copies T onto the variable V at the end of the program. When
// nothing between D and the copy touches V, D reads V only through an input its
// kernel declares in place with T's binding, and T is written only by D and
// read only after it (in this program alone), D may write V directly: every
// use of T from D on becomes V, the copy goes, and T is erased.
//
//===----------------------------------------------------------------------===//

#include "PlannerInternal.h"

#include "kiln/runtime/PlanChecker.h"

#include <algorithm>

namespace kiln::memory::detail {

namespace {

bool contains(const std::vector<uint32_t> &buffers, uint32_t buffer) {
  return std::find(buffers.begin(), buffers.end(), buffer) != buffers.end();
}

/// The single binding at which `dispatch` binds `buffer`, or -1 if none or several.
int onlyBinding(const plan::Dispatch &dispatch, uint32_t buffer) {
  int found = -1;
  for (int binding = 0; binding < dispatch.buffers_size(); ++binding)
    if (dispatch.buffers(binding) == buffer) {
      if (found >= 0)
        return -1;
      found = binding;
    }
  return found;
}

/// Whether the copy at `copyIndex` of `program` may be elided (see the file comment).
/// Returns the index of the dispatch that writes the copy's source, or -1.
int elisionSource(const plan::Plan &plan, const plan::Step &program, int copyIndex,
                  const std::vector<int> &usesElsewhere) {
  const plan::Copy &copy = program.commands(copyIndex).copy();
  uint32_t source = copy.src_buffer(), target = copy.dst_buffer();
  const plan::Buffer &sourceBuffer = plan.buffers(source), &targetBuffer = plan.buffers(target);
  if (sourceBuffer.role() != plan::BUFFER_ROLE_TRANSIENT ||
      targetBuffer.role() != plan::BUFFER_ROLE_VARIABLE || usesElsewhere[source] > 0 ||
      sourceBuffer.size_bytes() != copy.size_bytes() ||
      targetBuffer.size_bytes() != copy.size_bytes())
    return -1;

  int writer = -1;
  for (int index = 0; index < program.commands_size(); ++index) {
    CommandAccesses accesses = accessesOf(plan, program.commands(index));
    bool writesSource = contains(accesses.writes, source);
    bool readsSource = contains(accesses.reads, source);
    if (writesSource) {
      if (writer >= 0 || !program.commands(index).has_dispatch())
        return -1; // several writers, or a copy writes it
      writer = index;
    }
    if (readsSource && writer < 0)
      return -1; // read before D: it would read the variable's new bytes early
    bool touchesTarget = contains(accesses.reads, target) || contains(accesses.writes, target);
    if (writer >= 0 && index > writer && index < copyIndex && touchesTarget)
      return -1;
    if (index > copyIndex && contains(accesses.writes, target))
      return -1; // later readers of T would see the variable's later value
  }
  if (writer < 0 || writer > copyIndex)
    return -1;

  const plan::Dispatch &dispatch = program.commands(writer).dispatch();
  const plan::Kernel &kernel = plan.kernels(dispatch.kernel());
  std::vector<bool> written = plan::kernelWrittenBindings(kernel);
  int sourceBinding = onlyBinding(dispatch, source);
  if (sourceBinding < 0 || !written[sourceBinding])
    return -1;
  for (int binding = 0; binding < dispatch.buffers_size(); ++binding) {
    if (dispatch.buffers(binding) != target)
      continue;
    if (written[binding])
      return -1;
    bool paired = std::any_of(
        kernel.in_place().begin(), kernel.in_place().end(), [&](const plan::InPlacePair &pair) {
          return pair.output_binding() == static_cast<uint32_t>(sourceBinding) &&
                 pair.input_binding() == static_cast<uint32_t>(binding);
        });
    if (!paired)
      return -1;
  }
  return writer;
}

void renumber(plan::Plan &plan, const std::vector<bool> &erased) {
  std::vector<uint32_t> newIndex(plan.buffers_size());
  uint32_t next = 0;
  for (int index = 0; index < plan.buffers_size(); ++index)
    newIndex[index] = erased[index] ? UINT32_MAX : next++;
  auto *buffers = plan.mutable_buffers();
  int kept = 0;
  for (int index = 0; index < buffers->size(); ++index)
    if (!erased[index])
      buffers->SwapElements(kept++, index);
  buffers->DeleteSubrange(kept, buffers->size() - kept);

  for (plan::Input &input : *plan.mutable_inputs())
    input.mutable_tensor()->set_buffer(newIndex[input.tensor().buffer()]);
  for (plan::Output &output : *plan.mutable_outputs())
    output.mutable_tensor()->set_buffer(newIndex[output.tensor().buffer()]);
  for (plan::Variable &variable : *plan.mutable_variables())
    variable.mutable_tensor()->set_buffer(newIndex[variable.tensor().buffer()]);
  for (plan::Step *program : programsOf(plan))
    for (plan::Command &command : *program->mutable_commands()) {
      if (command.has_dispatch()) {
        plan::Dispatch *dispatch = command.mutable_dispatch();
        for (int binding = 0; binding < dispatch->buffers_size(); ++binding)
          dispatch->set_buffers(binding, newIndex[dispatch->buffers(binding)]);
      } else if (command.has_copy()) {
        plan::Copy *copy = command.mutable_copy();
        copy->set_src_buffer(newIndex[copy->src_buffer()]);
        copy->set_dst_buffer(newIndex[copy->dst_buffer()]);
      }
    }
}

} // namespace

uint32_t elideCopies(plan::Plan &plan) {
  std::vector<plan::Step *> programs = programsOf(plan);
  // For each program, how many other programs touch each buffer.
  std::vector<std::vector<int>> usedBy(programs.size(), std::vector<int>(plan.buffers_size()));
  for (size_t p = 0; p < programs.size(); ++p)
    for (const plan::Command &command : programs[p]->commands()) {
      CommandAccesses accesses = accessesOf(plan, command);
      for (const auto *list : {&accesses.reads, &accesses.writes})
        for (uint32_t buffer : *list)
          usedBy[p][buffer] = 1;
    }

  std::vector<bool> erased(plan.buffers_size(), false);
  uint32_t elided = 0;
  for (size_t p = 0; p < programs.size(); ++p) {
    std::vector<int> usesElsewhere(plan.buffers_size(), 0);
    for (size_t other = 0; other < programs.size(); ++other)
      if (other != p)
        for (int buffer = 0; buffer < plan.buffers_size(); ++buffer)
          usesElsewhere[buffer] += usedBy[other][buffer];
    plan::Step &program = *programs[p];
    for (int index = 0; index < program.commands_size(); ++index) {
      if (!program.commands(index).has_copy())
        continue;
      int writer = elisionSource(plan, program, index, usesElsewhere);
      if (writer < 0)
        continue;
      uint32_t source = program.commands(index).copy().src_buffer();
      uint32_t target = program.commands(index).copy().dst_buffer();
      for (int later = writer; later < program.commands_size(); ++later) {
        plan::Command &command = *program.mutable_commands(later);
        if (command.has_dispatch()) {
          plan::Dispatch *dispatch = command.mutable_dispatch();
          for (int binding = 0; binding < dispatch->buffers_size(); ++binding)
            if (dispatch->buffers(binding) == source)
              dispatch->set_buffers(binding, target);
        } else if (command.has_copy() && command.copy().src_buffer() == source) {
          command.mutable_copy()->set_src_buffer(target);
        }
      }
      program.mutable_commands()->DeleteSubrange(index, 1);
      --index;
      erased[source] = true;
      ++elided;
    }
  }
  if (elided > 0)
    renumber(plan, erased);
  return elided;
}

} // namespace kiln::memory::detail
