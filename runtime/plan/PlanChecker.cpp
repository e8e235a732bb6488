//===- PlanChecker.cpp - Independent proof of a plan's memory plan --------===//
//
// Deliberately shares no code with compiler/memory: it recomputes live
// intervals, simulates each program over byte ranges (an interval map from
// arena bytes to the buffer that last wrote them) and checks barriers pairwise
// within each barrier-free stretch, so a bug in the planner is not repeated here.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/PlanChecker.h"

#include "kiln/runtime/PlanValidation.h"

#include "absl/strings/str_cat.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <string>

namespace kiln::plan {

namespace {

constexpr uint32_t kSpirvMagic = 0x07230203;
constexpr uint32_t kOpFunctionCall = 57, kOpVariable = 59, kOpStore = 62, kOpCopyMemory = 63,
                   kOpAccessChain = 65, kOpInBoundsAccessChain = 66, kOpPtrAccessChain = 67,
                   kOpDecorate = 71, kOpCopyObject = 83, kOpBitcast = 124,
                   kOpInBoundsPtrAccessChain = 70, kOpAtomicStore = 228, kOpAtomicFirst = 229,
                   kOpAtomicLast = 242;
constexpr uint32_t kDecorationBinding = 33, kDecorationDescriptorSet = 34;

/// Per binding: true if the module stores through it (OpStore, OpCopyMemory, atomics, or a
/// pointer passed to a function), found by following access chains back to the storage
/// buffer variable; nullopt when the module declares no bindings (a stand-in).
std::optional<std::vector<bool>> writtenFromSpirv(const Kernel &kernel) {
  const std::string &bytes = kernel.spirv();
  if (bytes.size() < 20 || bytes.size() % 4 != 0)
    return std::nullopt;
  std::vector<uint32_t> words(bytes.size() / 4);
  std::memcpy(words.data(), bytes.data(), bytes.size());
  if (words[0] != kSpirvMagic)
    return std::nullopt;
  std::map<uint32_t, uint32_t> binding, set, root; // root: pointer id -> variable id
  std::set<uint32_t> variables, stored;
  auto rootOf = [&](uint32_t id) {
    auto found = root.find(id);
    return found == root.end() ? 0u : found->second;
  };
  for (size_t at = 5; at < words.size();) {
    uint32_t count = words[at] >> 16, opcode = words[at] & 0xffff;
    if (count == 0 || at + count > words.size())
      return std::nullopt;
    const uint32_t *operand = &words[at + 1];
    uint32_t operands = count - 1;
    if (opcode == kOpDecorate && operands >= 3) {
      if (operand[1] == kDecorationBinding)
        binding[operand[0]] = operand[2];
      else if (operand[1] == kDecorationDescriptorSet)
        set[operand[0]] = operand[2];
    } else if (opcode == kOpVariable && operands >= 3) {
      variables.insert(operand[1]);
      root[operand[1]] = operand[1];
    } else if ((opcode == kOpAccessChain || opcode == kOpInBoundsAccessChain ||
                opcode == kOpPtrAccessChain || opcode == kOpInBoundsPtrAccessChain ||
                opcode == kOpCopyObject || opcode == kOpBitcast) &&
               operands >= 3) {
      if (uint32_t base = rootOf(operand[2]))
        root[operand[1]] = base;
    } else if ((opcode == kOpStore || opcode == kOpCopyMemory) && operands >= 1) {
      stored.insert(rootOf(operand[0]));
    } else if ((opcode == kOpAtomicStore) && operands >= 1) {
      stored.insert(rootOf(operand[0]));
    } else if (opcode >= kOpAtomicFirst && opcode <= kOpAtomicLast && operands >= 3) {
      stored.insert(rootOf(operand[2]));
    } else if (opcode == kOpFunctionCall) {
      for (uint32_t argument = 3; argument < operands; ++argument)
        stored.insert(rootOf(operand[argument]));
    }
    at += count;
  }
  std::vector<bool> written(kernel.binding_count(), false);
  bool found = false;
  for (uint32_t variable : variables) {
    auto index = binding.find(variable);
    if (index == binding.end() || set[variable] != 0 || index->second >= written.size())
      continue;
    found = true;
    written[index->second] = stored.count(variable) > 0;
  }
  if (!found)
    return std::nullopt;
  return written;
}

/// One access of a command: `buffer`'s bytes [begin, end) of `allocation` (-1 = the arena,
/// else the buffer's own allocation).
struct Access {
  uint32_t buffer;
  int64_t allocation;
  uint64_t begin, end;
  bool write;
  uint32_t binding; ///< For messages; the copy's source/destination use 0.
};

std::string describe(const Plan &plan, uint32_t buffer) {
  return absl::StrCat("buffer ", buffer, " ('", plan.buffers(buffer).name(), "')");
}

std::string describeRange(const Access &access) {
  return absl::StrCat(access.allocation < 0 ? "arena" : "own allocation", " bytes [", access.begin,
                      ", ", access.end, ")");
}

Access accessOf(const Plan &plan, uint32_t buffer, uint64_t bytes, bool write, uint32_t binding) {
  const Buffer &b = plan.buffers(buffer);
  if (b.in_arena())
    return {buffer, -1, b.arena_offset(), b.arena_offset() + bytes, write, binding};
  return {buffer, static_cast<int64_t>(buffer), 0, bytes, write, binding};
}

/// Reads first, then writes, as the command performs them.
std::vector<Access> commandAccesses(const Plan &plan, const Command &command) {
  std::vector<Access> accesses;
  if (command.has_dispatch()) {
    const Dispatch &dispatch = command.dispatch();
    std::vector<bool> written = kernelWrittenBindings(plan.kernels(dispatch.kernel()));
    for (bool pass : {false, true})
      for (int binding = 0; binding < dispatch.buffers_size(); ++binding)
        if (written[binding] == pass) {
          uint32_t buffer = dispatch.buffers(binding);
          accesses.push_back(
              accessOf(plan, buffer, plan.buffers(buffer).size_bytes(), pass, binding));
        }
  } else if (command.has_copy()) {
    const Copy &copy = command.copy();
    accesses.push_back(accessOf(plan, copy.src_buffer(), copy.size_bytes(), false, 0));
    accesses.push_back(accessOf(plan, copy.dst_buffer(), copy.size_bytes(), true, 0));
  }
  return accesses;
}

bool overlaps(const Access &a, const Access &b) {
  return a.allocation == b.allocation && a.begin < b.end && b.begin < a.end;
}

absl::Status failure(auto &&...pieces) {
  return absl::FailedPreconditionError(absl::StrCat(pieces...));
}

/// (a): placement within the arena and no sharing between buffers live at the same time.
absl::Status checkPlacement(const Plan &plan, const std::vector<ProgramView> &programs) {
  const MemorySummary &memory = plan.memory();
  int buffers = plan.buffers_size();
  std::vector<int64_t> first(buffers, -1), last(buffers, -1);
  // Where each in-place output legally shares its input's bytes: (input, output, command).
  std::vector<std::tuple<uint32_t, uint32_t, int64_t>> inPlace;
  int64_t time = 0;
  for (const ProgramView &program : programs)
    for (const Command &command : program.step->commands()) {
      auto touch = [&](uint32_t buffer) {
        if (first[buffer] < 0)
          first[buffer] = time;
        last[buffer] = time;
      };
      if (command.has_dispatch()) {
        const Dispatch &dispatch = command.dispatch();
        for (uint32_t buffer : dispatch.buffers())
          touch(buffer);
        for (const InPlacePair &pair : plan.kernels(dispatch.kernel()).in_place())
          if (pair.output_binding() < static_cast<uint32_t>(dispatch.buffers_size()) &&
              pair.input_binding() < static_cast<uint32_t>(dispatch.buffers_size()))
            inPlace.emplace_back(dispatch.buffers(pair.input_binding()),
                                 dispatch.buffers(pair.output_binding()), time);
      } else if (command.has_copy()) {
        touch(command.copy().src_buffer());
        touch(command.copy().dst_buffer());
      }
      ++time;
    }

  bool anyInArena = false;
  for (int index = 0; index < buffers; ++index) {
    const Buffer &buffer = plan.buffers(index);
    if (!buffer.in_arena())
      continue;
    anyInArena = true;
    uint32_t alignment = memory.alignment();
    if (alignment == 0 || (alignment & (alignment - 1)) != 0)
      return failure("memory.alignment is ", alignment, "; it must be a power of two");
    if (buffer.role() != BUFFER_ROLE_TRANSIENT)
      return failure(describe(plan, index), " is in the arena but is not transient");
    if (buffer.arena_offset() % alignment != 0)
      return failure(describe(plan, index), " is at arena offset ", buffer.arena_offset(),
                     ", not a multiple of the alignment ", alignment);
    if (buffer.arena_offset() + buffer.size_bytes() > memory.arena_bytes())
      return failure(describe(plan, index), " occupies arena bytes [", buffer.arena_offset(), ", ",
                     buffer.arena_offset() + buffer.size_bytes(), ") beyond arena_bytes ",
                     memory.arena_bytes());
  }
  if (!anyInArena)
    return absl::OkStatus();

  auto sharedInPlace = [&](uint32_t a, uint32_t b) {
    for (auto [input, output, at] : inPlace)
      if (((input == a && output == b) || (input == b && output == a)) && last[input] == at &&
          first[output] == at && first[input] < at && last[output] >= at &&
          plan.buffers(a).arena_offset() == plan.buffers(b).arena_offset() &&
          plan.buffers(a).size_bytes() == plan.buffers(b).size_bytes())
        return true;
    return false;
  };
  for (int a = 0; a < buffers; ++a) {
    const Buffer &left = plan.buffers(a);
    if (!left.in_arena() || first[a] < 0)
      continue;
    for (int b = a + 1; b < buffers; ++b) {
      const Buffer &right = plan.buffers(b);
      if (!right.in_arena() || first[b] < 0)
        continue;
      bool liveTogether = first[a] <= last[b] && first[b] <= last[a];
      bool shareBytes = left.arena_offset() < right.arena_offset() + right.size_bytes() &&
                        right.arena_offset() < left.arena_offset() + left.size_bytes();
      if (liveTogether && shareBytes && !sharedInPlace(a, b))
        return failure(describe(plan, a), " (live at commands ", first[a], "..", last[a],
                       ", arena bytes [", left.arena_offset(), ", ",
                       left.arena_offset() + left.size_bytes(), ")) and ", describe(plan, b),
                       " (live at commands ", first[b], "..", last[b], ", arena bytes [",
                       right.arena_offset(), ", ", right.arena_offset() + right.size_bytes(),
                       ")) are live at the same time and overlap (timeline: the step's "
                       "commands, then each program's)");
    }
  }
  return absl::OkStatus();
}

/// The last writer of each byte of one allocation: begin -> (end, writer).
using WriterMap = std::map<uint64_t, std::pair<uint64_t, uint32_t>>;

void recordWrite(WriterMap &writers, uint64_t begin, uint64_t end, uint32_t buffer) {
  // Split the entries straddling begin and end, then drop everything inside.
  auto split = [&](uint64_t at) {
    auto it = writers.upper_bound(at);
    if (it == writers.begin())
      return;
    --it;
    if (it->first < at && it->second.first > at) {
      writers[at] = {it->second.first, it->second.second};
      it->second.first = at;
    }
  };
  split(begin);
  split(end);
  writers.erase(writers.lower_bound(begin), writers.lower_bound(end));
  writers[begin] = {end, buffer};
}

/// The first byte of [begin, end) not last written by `buffer`, if any, with its writer
/// (nullopt writer: never written in this run).
std::optional<std::pair<uint64_t, std::optional<uint32_t>>>
firstForeignByte(const WriterMap &writers, uint64_t begin, uint64_t end, uint32_t buffer) {
  uint64_t at = begin;
  auto it = writers.upper_bound(at);
  if (it != writers.begin())
    --it;
  for (; at < end; ++it) {
    if (it == writers.end() || it->first > at)
      return std::make_pair(at, std::optional<uint32_t>());
    if (it->second.first <= at)
      continue;
    if (it->second.second != buffer)
      return std::make_pair(at, std::optional<uint32_t>(it->second.second));
    at = it->second.first;
  }
  return std::nullopt;
}

/// (b) and (c) for one program.
absl::Status checkProgram(const Plan &plan, const ProgramView &program) {
  std::map<int64_t, WriterMap> writers; // per allocation
  std::vector<std::pair<int, Access>> sinceBarrier;
  const Step &step = *program.step;
  for (int index = 0; index < step.commands_size(); ++index) {
    const Command &command = step.commands(index);
    if (command.has_barrier()) {
      sinceBarrier.clear();
      continue;
    }
    std::string where = absl::StrCat("program '", program.name, "' command ", index);
    std::vector<Access> accesses = commandAccesses(plan, command);
    for (const Access &access : accesses) {
      for (const auto &[earlier, previous] : sinceBarrier)
        if ((access.write || previous.write) && overlaps(access, previous))
          return failure(where, " ", access.write ? "writes " : "reads ",
                         describe(plan, access.buffer), " at ", describeRange(access),
                         " but command ", earlier, " ", previous.write ? "wrote " : "read ",
                         describe(plan, previous.buffer), " at ", describeRange(previous),
                         " with no barrier between them");
    }
    for (const Access &access : accesses) {
      if (plan.buffers(access.buffer).role() != BUFFER_ROLE_TRANSIENT)
        continue;
      WriterMap &map = writers[access.allocation];
      if (access.write) {
        recordWrite(map, access.begin, access.end, access.buffer);
        continue;
      }
      if (auto foreign = firstForeignByte(map, access.begin, access.end, access.buffer)) {
        if (!foreign->second)
          return failure(where, " reads ", describe(plan, access.buffer), " (binding ",
                         access.binding, ") at ", describeRange(access), " but byte ",
                         foreign->first,
                         " was not written earlier in this run; transients are undefined at "
                         "program start");
        return failure(where, " reads ", describe(plan, access.buffer), " (binding ",
                       access.binding, ") at ", describeRange(access), " but byte ", foreign->first,
                       " was last written by ", describe(plan, *foreign->second), " (clobbered)");
      }
    }
    for (const Access &access : accesses)
      sinceBarrier.emplace_back(index, access);
  }
  return absl::OkStatus();
}

} // namespace

std::vector<bool> kernelWrittenBindings(const Kernel &kernel) {
  std::vector<bool> written;
  if (std::optional<std::vector<bool>> fromSpirv = writtenFromSpirv(kernel)) {
    written = *std::move(fromSpirv);
  } else {
    // No SPIR-V to read (a CUDA-only plan): the compiler's declaration, results first.
    written.assign(kernel.binding_count(), false);
    uint32_t outputs = std::max<uint32_t>(kernel.output_bindings(), 1);
    for (uint32_t binding = 0; binding < outputs && binding < written.size(); ++binding)
      written[binding] = true;
  }
  for (const InPlacePair &pair : kernel.in_place())
    if (pair.input_binding() < written.size())
      written[pair.input_binding()] = false;
  for (const InPlacePair &pair : kernel.in_place())
    if (pair.output_binding() < written.size())
      written[pair.output_binding()] = true;
  return written;
}

absl::Status checkPlanMemory(const Plan &plan) {
  // The simulation first: its messages name the command where memory goes wrong. Sharing
  // bytes while live is then caught even where no command observes it.
  std::vector<ProgramView> programs = planPrograms(plan);
  for (const ProgramView &program : programs)
    if (absl::Status status = checkProgram(plan, program); !status.ok())
      return status;
  return checkPlacement(plan, programs);
}

absl::Status checkArenaPlacement(const Plan &plan) {
  return checkPlacement(plan, planPrograms(plan));
}

} // namespace kiln::plan
