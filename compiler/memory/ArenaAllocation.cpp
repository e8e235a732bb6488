//===- ArenaAllocation.cpp - Live intervals and arena offsets -------------===//
//
// Every transient buffer lives from the first to the last command that touches
// it on one timeline (Plan.step's commands, then each program's). Buffers joined
// by in-place reuse form one group that occupies one block. Groups are placed
// by two greedy heuristics (largest first, and earliest start first), each a
// best fit into the gaps left by the groups already placed that overlap in
// time, as TFLite's greedy-by-size planner and XLA's heap simulator do; the
// smaller arena wins.
//
//===----------------------------------------------------------------------===//

#include "PlannerInternal.h"

#include <algorithm>
#include <cstdint>
#include <numeric>

namespace kiln::memory::detail {

namespace {

constexpr int64_t kUnused = -1;

struct Group {
  uint64_t size = 0;       // aligned
  int64_t first = kUnused; // timeline indices, inclusive
  int64_t last = kUnused;
  uint32_t leader = 0; // smallest buffer index, for a deterministic order
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

} // namespace

plan::MemorySummary assignArena(plan::Plan &plan, const MemoryPlanOptions &options) {
  int buffers = plan.buffers_size();
  std::vector<int64_t> first(buffers, kUnused), last(buffers, kUnused);
  // Dispatches by timeline index, for in-place reuse.
  std::vector<std::pair<int64_t, const plan::Dispatch *>> dispatches;
  int64_t time = 0;
  for (plan::Step *program : programsOf(plan))
    for (const plan::Command &command : program->commands()) {
      CommandAccesses accesses = accessesOf(plan, command);
      for (const auto *list : {&accesses.reads, &accesses.writes})
        for (uint32_t buffer : *list) {
          if (first[buffer] == kUnused)
            first[buffer] = time;
          last[buffer] = time;
        }
      if (command.has_dispatch())
        dispatches.emplace_back(time, &command.dispatch());
      ++time;
    }

  auto inArena = [&](uint32_t buffer) {
    return plan.buffers(buffer).role() == plan::BUFFER_ROLE_TRANSIENT && first[buffer] != kUnused;
  };

  // In-place reuse: chains of buffers that share one block. `groupOf` maps a buffer to its
  // group's first buffer; `tail` the chain's last buffer, the only one that may be replaced.
  std::vector<uint32_t> groupOf(buffers);
  std::iota(groupOf.begin(), groupOf.end(), 0u);
  std::vector<uint32_t> tail = groupOf;
  std::vector<bool> joined(buffers, false);
  uint32_t reuses = 0;
  if (options.reuseInPlace)
    for (auto [at, dispatch] : dispatches)
      for (const plan::InPlacePair &pair : plan.kernels(dispatch->kernel()).in_place()) {
        uint32_t input = dispatch->buffers(pair.input_binding());
        uint32_t output = dispatch->buffers(pair.output_binding());
        if (input == output || !inArena(input) || !inArena(output) || joined[output] ||
            groupOf[output] != output || tail[groupOf[input]] != input ||
            plan.buffers(input).size_bytes() != plan.buffers(output).size_bytes() ||
            last[input] != at || first[output] != at)
          continue;
        int bindingsOfInput = 0;
        for (uint32_t bound : dispatch->buffers())
          bindingsOfInput += bound == input;
        if (bindingsOfInput != 1)
          continue;
        groupOf[output] = groupOf[input];
        tail[groupOf[input]] = output;
        joined[output] = true;
        ++reuses;
      }

  std::vector<Group> groups;
  std::vector<int> groupIndex(buffers, -1);
  for (int buffer = 0; buffer < buffers; ++buffer) {
    if (!inArena(buffer))
      continue;
    uint32_t leader = groupOf[buffer];
    if (groupIndex[leader] < 0) {
      groupIndex[leader] = static_cast<int>(groups.size());
      groups.push_back({0, first[buffer], last[buffer], leader, 0});
    }
    Group &group = groups[groupIndex[leader]];
    group.size =
        std::max(group.size, alignUp(plan.buffers(buffer).size_bytes(), options.alignment));
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

  for (int buffer = 0; buffer < buffers; ++buffer) {
    plan::Buffer &entry = *plan.mutable_buffers(buffer);
    entry.set_in_arena(groupIndex[buffer] >= 0);
    entry.set_arena_offset(groupIndex[buffer] >= 0 ? groups[groupIndex[buffer]].offset : 0);
  }

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

  plan::MemorySummary summary;
  summary.set_arena_bytes(arena);
  summary.set_peak_live_bytes(static_cast<uint64_t>(peak));
  summary.set_alignment(options.alignment);
  summary.set_in_place_reuses(reuses);
  return summary;
}

} // namespace kiln::memory::detail
