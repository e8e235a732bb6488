//===- InspectCommand.cpp - kiln inspect ----------------------------------===//
//
// Shows what a plan holds without running it: a model summary (parameters per
// layer, inputs, outputs, counts), the kernels with the graph ops they serve,
// the command sequence of a program, the buffers, the compiled graph module,
// the SPIR-V disassembly of one kernel, and a Graphviz export of a program's
// dataflow. Everything is read from the .kplan file; no device is needed.
//
//===----------------------------------------------------------------------===//

#include "CommandLine.h"
#include "Commands.h"
#include "InspectExec.h"

#include "kiln/runtime/PlanFile.h"
#include "kiln/runtime/PlanValidation.h"

#include "spirv-tools/libspirv.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace kiln::tool {

const char *const kInspectHelp = R"(kiln inspect MODEL.kplan [view] [options]

Shows what a compiled plan holds. Pick one view (default --summary):

  --summary                model name, compiler version, targets, IR hash; a table of the
                           trainable variables grouped by layer (shape, parameter count);
                           totals (trainable parameters, optimizer state, bytes); inputs and
                           outputs with their shapes; kernel, command and program counts
  --kernels                every kernel: index, name, kind (matmul, pointwise, reduction, row,
                           multi-tensor), the layers it serves, workgroup size, bindings (how
                           many it writes, which may share memory), SPIR-V and PTX sizes, and
                           the graph ops (with source locations) fused into it
  --dispatches             the numbered command sequence of the training step: dispatches
                           (kernel, workgroup counts, buffers by name), barriers and copies
  --buffers                the memory plan: every buffer's index, name, role, size and arena
                           offset; totals per role; the naive sum of all buffers
  --memory                 the memory plan's summary (arena, peak live and naive bytes, their
                           ratios, elided copies, in-place reuses) and per buffer: index, name,
                           role, size, arena offset (or "own") and live range, as first..last
                           command on the timeline (the step's commands, then each program's)
  --arena-svg FILE         write the arena as a self-contained SVG to FILE: x = command on the
                           timeline, y = arena offset, one rectangle per arena buffer (hover for
                           name, size and range), a line at the peak live bytes
  --exec                   the plan as exec IR, as `kiln compile --dump-ir-after` shows the
                           compiler's last stage: buffers (role, size, arena offset), kernels
                           (kind, each binding's write/read access; code shown by its size),
                           inputs, variables and every program's dispatches, copies, barriers
                           and outputs
  --ir                     the compiled graph-dialect module the plan was generated from
  --spirv KERNEL           the SPIR-V disassembly of one kernel, by name or index
  --ptx KERNEL             the PTX of one kernel, by name or index (--arch sm_80|sm_90 picks
                           the architecture; default the first the plan carries)
  --graphviz               a Graphviz DOT graph of the training step's dataflow: one node per
                           dispatch or copy, one edge per buffer a command reads from the
                           command that last wrote it (render with `dot -Tsvg`)

Options:
  --program NAME           with --dispatches or --graphviz: show program NAME (e.g. eval)
                           instead of the training step ("train")
  -o, --output PATH        with --graphviz: write the DOT text to PATH instead of stdout
)";

namespace {

int fail(const std::string &message) {
  std::fprintf(stderr, "kiln inspect: %s\n", message.c_str());
  return 1;
}

const char *roleName(plan::BufferRole role) {
  switch (role) {
  case plan::BUFFER_ROLE_TRANSIENT:
    return "transient";
  case plan::BUFFER_ROLE_VARIABLE:
    return "variable";
  case plan::BUFFER_ROLE_INPUT:
    return "input";
  case plan::BUFFER_ROLE_OUTPUT:
    return "output";
  case plan::BUFFER_ROLE_CONSTANT:
    return "constant";
  default:
    return "unspecified";
  }
}

uint64_t elementCount(const plan::TensorSpec &tensor) {
  uint64_t count = 1;
  for (int64_t extent : tensor.shape())
    count *= static_cast<uint64_t>(extent);
  return count;
}

std::string shapeText(const plan::TensorSpec &tensor) {
  std::string text = "[";
  for (int i = 0; i < tensor.shape_size(); ++i)
    text += (i ? ", " : "") + std::to_string(tensor.shape(i));
  return text + "]";
}

std::string dim3Text(const plan::Dim3 &dim) {
  return "(" + std::to_string(dim.x()) + "," + std::to_string(dim.y()) + "," +
         std::to_string(dim.z()) + ")";
}

/// The layer a variable belongs to: its name up to the last '.', so "fc1.weight" and
/// "fc1.bias" form layer "fc1"; a name without '.' is its own layer.
std::string layerOf(const std::string &name) {
  size_t dot = name.rfind('.');
  return dot == std::string::npos ? name : name.substr(0, dot);
}

/// Distinct op names of a kernel in first-seen order, e.g. "graph.add, graph.mul".
std::string kernelOps(const plan::Kernel &kernel) {
  std::vector<std::string> names;
  for (const plan::SourceOp &op : kernel.source_ops())
    if (std::find(names.begin(), names.end(), op.op_name()) == names.end())
      names.push_back(op.op_name());
  std::string text;
  for (size_t i = 0; i < names.size(); ++i)
    text += (i ? ", " : "") + names[i];
  return text;
}

void printRow(const std::vector<std::string> &cells, const std::vector<size_t> &widths) {
  std::string line;
  for (size_t i = 0; i < cells.size(); ++i) {
    line += cells[i];
    if (i + 1 < cells.size())
      line += std::string(widths[i] + 2 - std::min(widths[i] + 2, cells[i].size()), ' ');
  }
  std::printf("%s\n", line.c_str());
}

/// Prints `rows` (the first one the header) as left-aligned columns with a rule below the header.
void printTable(const std::vector<std::vector<std::string>> &rows) {
  std::vector<size_t> widths(rows.front().size(), 0);
  for (const auto &row : rows)
    for (size_t i = 0; i < row.size(); ++i)
      widths[i] = std::max(widths[i], row[i].size());
  size_t total = 0;
  for (size_t width : widths)
    total += width + 2;
  printRow(rows.front(), widths);
  std::printf("%s\n", std::string(total - 2, '-').c_str());
  for (size_t i = 1; i < rows.size(); ++i)
    printRow(rows[i], widths);
}

int showSummary(const plan::Plan &plan) {
  const plan::Metadata &meta = plan.metadata();
  std::string targets;
  for (int target : meta.targets())
    targets += (targets.empty() ? "" : ", ") +
               std::string(plan::targetName(static_cast<plan::Target>(target)));
  std::printf("Model: %s\nCompiler: %s\nTargets: %s\nSource IR hash: %s\n\n",
              meta.model_name().c_str(), meta.compiler_version().c_str(), targets.c_str(),
              meta.source_ir_hash().c_str());

  std::vector<std::vector<std::string>> rows = {{"Layer", "Variable", "Shape", "Params"}};
  uint64_t trainable = 0, trainableBytes = 0, stateElements = 0, stateBytes = 0;
  int stateCount = 0;
  std::string previousLayer;
  for (const plan::Variable &variable : plan.variables()) {
    const plan::TensorSpec &tensor = variable.tensor();
    if (!variable.trainable()) {
      stateElements += elementCount(tensor);
      stateBytes += plan::tensorByteSize(tensor);
      ++stateCount;
      continue;
    }
    std::string layer = layerOf(tensor.name());
    rows.push_back({layer == previousLayer ? "" : layer, tensor.name(), shapeText(tensor),
                    std::to_string(elementCount(tensor))});
    previousLayer = layer;
    trainable += elementCount(tensor);
    trainableBytes += plan::tensorByteSize(tensor);
  }
  std::printf("Trainable variables\n");
  printTable(rows);
  std::printf("Total trainable parameters: %llu (%llu bytes)\n",
              static_cast<unsigned long long>(trainable),
              static_cast<unsigned long long>(trainableBytes));
  std::printf("Optimizer state: %llu elements in %d variables (%llu bytes)\n",
              static_cast<unsigned long long>(stateElements), stateCount,
              static_cast<unsigned long long>(stateBytes));
  std::printf("Variables in total: %llu bytes\n\n",
              static_cast<unsigned long long>(trainableBytes + stateBytes));

  std::vector<plan::ProgramView> programs = plan::planPrograms(plan);
  std::printf("Inputs\n");
  for (const plan::Input &input : plan.inputs())
    std::printf("  %-24s %s%s\n", input.tensor().name().c_str(),
                plan::describeTensor(input.tensor()).c_str(),
                input.default_value().empty() ? "" : " (has a default)");
  std::printf("Outputs\n");
  for (const plan::ProgramView &program : programs)
    for (uint32_t index : program.outputs) {
      const plan::TensorSpec &tensor = plan.outputs(static_cast<int>(index)).tensor();
      std::printf("  %-24s %s (program %s)\n", tensor.name().c_str(),
                  plan::describeTensor(tensor).c_str(), program.name.c_str());
    }

  std::printf("\nKernels: %d\n", plan.kernels_size());
  std::printf("Buffers: %d\n", plan.buffers_size());
  for (const plan::ProgramView &program : programs) {
    int dispatches = 0, barriers = 0, copies = 0;
    for (const plan::Command &command : program.step->commands()) {
      dispatches += command.has_dispatch();
      barriers += command.has_barrier();
      copies += command.has_copy();
    }
    std::printf("Program %s: %d dispatches, %d barriers, %d copies per run\n", program.name.c_str(),
                dispatches, barriers, copies);
  }
  std::printf("Programs: %zu\n", programs.size());
  return 0;
}

int showKernels(const plan::Plan &plan) {
  for (int i = 0; i < plan.kernels_size(); ++i) {
    const plan::Kernel &kernel = plan.kernels(i);
    std::printf("kernel %d: %s\n", i, kernel.name().c_str());
    std::string layers;
    for (const std::string &layer : kernel.layers())
      layers += (layers.empty() ? "" : ", ") + layer;
    std::printf("  kind: %s, layers: %s\n", kernel.kind().empty() ? "-" : kernel.kind().c_str(),
                layers.empty() ? "-" : layers.c_str());
    std::printf("  workgroup size: %s\n", dim3Text(kernel.workgroup_size()).c_str());
    std::printf("  bindings: %u (%u written), push constants: %u bytes, entry point: %s\n",
                kernel.binding_count(), kernel.output_bindings(), kernel.push_constant_size(),
                kernel.entry_point().c_str());
    std::string code = "SPIR-V: " + std::to_string(kernel.spirv().size()) + " bytes";
    for (const plan::PtxCode &ptx : kernel.ptx_code())
      code += ", PTX " + ptx.arch() + ": " + std::to_string(ptx.ptx().size()) + " bytes";
    std::printf("  %s\n", code.c_str());
    if (kernel.in_place_size() > 0) {
      std::string pairs;
      for (const plan::InPlacePair &pair : kernel.in_place())
        pairs += " " + std::to_string(pair.output_binding()) + "<-" +
                 std::to_string(pair.input_binding());
      std::printf("  may update in place (output<-input binding):%s\n", pairs.c_str());
    }
    std::printf("  graph ops (%d):\n", kernel.source_ops_size());
    for (const plan::SourceOp &op : kernel.source_ops())
      std::printf("    %s at %s\n", op.op_name().c_str(),
                  op.location().empty() ? "unknown location" : op.location().c_str());
  }
  return 0;
}

/// The program called `name`, or null with the names available appended to `error`.
const plan::ProgramView *findProgram(const std::vector<plan::ProgramView> &programs,
                                     const std::string &name, std::string &error) {
  for (const plan::ProgramView &program : programs)
    if (program.name == name)
      return &program;
  error = "the plan has no program '" + name + "'; its programs are:";
  for (const plan::ProgramView &program : programs)
    error += " " + program.name;
  return nullptr;
}

int showDispatches(const plan::Plan &plan, const plan::ProgramView &program) {
  auto bufferName = [&](uint32_t index) { return plan.buffers(static_cast<int>(index)).name(); };
  std::printf("program %s: %d commands\n", program.name.c_str(), program.step->commands_size());
  int number = 0;
  for (const plan::Command &command : program.step->commands()) {
    std::string line;
    if (command.has_dispatch()) {
      const plan::Dispatch &dispatch = command.dispatch();
      line = "dispatch kernel=" + plan.kernels(static_cast<int>(dispatch.kernel())).name() +
             " groups=" + dim3Text(dispatch.group_count()) + " buffers=[";
      for (int i = 0; i < dispatch.buffers_size(); ++i)
        line += (i ? ", " : "") + bufferName(dispatch.buffers(i));
      line += "]";
    } else if (command.has_barrier()) {
      line = "barrier";
    } else if (command.has_copy()) {
      const plan::Copy &copy = command.copy();
      line = "copy " + bufferName(copy.src_buffer()) + " -> " + bufferName(copy.dst_buffer()) +
             " (" + std::to_string(copy.size_bytes()) + " bytes)";
    } else {
      line = "(empty command)";
    }
    std::printf("%4d  %s\n", number++, line.c_str());
  }
  return 0;
}

int showBuffers(const plan::Plan &plan) {
  std::vector<std::vector<std::string>> rows = {
      {"Index", "Name", "Role", "Size (bytes)", "Arena offset"}};
  std::map<std::string, std::pair<int, uint64_t>> perRole;
  uint64_t naive = 0;
  int arenaPlaced = 0;
  for (int i = 0; i < plan.buffers_size(); ++i) {
    const plan::Buffer &buffer = plan.buffers(i);
    rows.push_back({std::to_string(i), buffer.name(), roleName(buffer.role()),
                    std::to_string(buffer.size_bytes()),
                    buffer.in_arena() ? std::to_string(buffer.arena_offset()) : "own"});
    auto &[count, bytes] = perRole[roleName(buffer.role())];
    ++count;
    bytes += buffer.size_bytes();
    naive += buffer.size_bytes();
    arenaPlaced += buffer.in_arena();
  }
  printTable(rows);
  std::printf("\nTotals per role\n");
  for (const auto &[role, totals] : perRole)
    std::printf("  %-10s %5d buffers %14llu bytes\n", role.c_str(), totals.first,
                static_cast<unsigned long long>(totals.second));
  std::printf("Naive sum (every buffer its own allocation): %llu bytes in %d buffers\n",
              static_cast<unsigned long long>(naive), plan.buffers_size());
  std::printf("Buffers placed in the transient arena: %d\n", arenaPlaced);
  return 0;
}

/// Live ranges on the planner's timeline: every program's commands, the step's first.
struct Timeline {
  std::vector<int64_t> first, last; // per buffer; -1 when no command touches it
  std::vector<std::pair<std::string, int64_t>> programStarts;
  int64_t length = 0;
};

Timeline timelineOf(const plan::Plan &plan) {
  Timeline timeline;
  timeline.first.assign(plan.buffers_size(), -1);
  timeline.last.assign(plan.buffers_size(), -1);
  auto touch = [&](uint32_t buffer) {
    if (timeline.first[buffer] < 0)
      timeline.first[buffer] = timeline.length;
    timeline.last[buffer] = timeline.length;
  };
  for (const plan::ProgramView &program : plan::planPrograms(plan)) {
    timeline.programStarts.emplace_back(program.name, timeline.length);
    for (const plan::Command &command : program.step->commands()) {
      if (command.has_dispatch())
        for (uint32_t buffer : command.dispatch().buffers())
          touch(buffer);
      if (command.has_copy()) {
        touch(command.copy().src_buffer());
        touch(command.copy().dst_buffer());
      }
      ++timeline.length;
    }
  }
  return timeline;
}

std::string ratio(uint64_t numerator, uint64_t denominator) {
  if (denominator == 0)
    return "-";
  char text[32];
  std::snprintf(text, sizeof(text), "%.3f", double(numerator) / double(denominator));
  return text;
}

int showMemory(const plan::Plan &plan) {
  const plan::MemorySummary &memory = plan.memory();
  Timeline timeline = timelineOf(plan);
  auto bytes = [](uint64_t value) { return static_cast<unsigned long long>(value); };
  bool planned = memory.alignment() != 0;
  std::printf("Memory plan%s\n", planned ? "" : " (none: every buffer has its own allocation)");
  std::printf("  arena            %14llu bytes (alignment %u)\n", bytes(memory.arena_bytes()),
              memory.alignment());
  std::printf("  peak live        %14llu bytes (lower bound for any arena)\n",
              bytes(memory.peak_live_bytes()));
  std::printf("  naive            %14llu bytes (every transient its own allocation)\n",
              bytes(memory.naive_bytes()));
  std::printf("  arena / peak     %14s\n",
              ratio(memory.arena_bytes(), memory.peak_live_bytes()).c_str());
  std::printf("  arena / naive    %14s\n",
              ratio(memory.arena_bytes(), memory.naive_bytes()).c_str());
  std::printf("  elided copies    %14u (variables updated in place)\n", memory.elided_copies());
  std::printf("  in-place reuses  %14u (outputs placed on a dying input)\n",
              memory.in_place_reuses());
  std::printf("Timeline:");
  for (const auto &[name, start] : timeline.programStarts)
    std::printf(" %s from command %lld;", name.c_str(), static_cast<long long>(start));
  std::printf(" %lld commands\n\n", static_cast<long long>(timeline.length));

  std::vector<std::vector<std::string>> rows = {
      {"Index", "Name", "Role", "Size (bytes)", "Arena offset", "Live"}};
  for (int i = 0; i < plan.buffers_size(); ++i) {
    const plan::Buffer &buffer = plan.buffers(i);
    std::string live = timeline.first[i] < 0 ? std::string("unused")
                                             : std::to_string(timeline.first[i]) + ".." +
                                                   std::to_string(timeline.last[i]);
    rows.push_back({std::to_string(i), buffer.name(), roleName(buffer.role()),
                    std::to_string(buffer.size_bytes()),
                    buffer.in_arena() ? std::to_string(buffer.arena_offset()) : "own", live});
  }
  printTable(rows);
  return 0;
}

std::string xmlEscape(const std::string &text) {
  std::string escaped;
  for (char c : text) {
    switch (c) {
    case '<':
      escaped += "&lt;";
      break;
    case '>':
      escaped += "&gt;";
      break;
    case '&':
      escaped += "&amp;";
      break;
    case '"':
      escaped += "&quot;";
      break;
    default:
      escaped += c;
    }
  }
  return escaped;
}

/// The arena as SVG: x = timeline command, y = arena offset (0 at the bottom).
std::string arenaSvg(const plan::Plan &plan) {
  const plan::MemorySummary &memory = plan.memory();
  Timeline timeline = timelineOf(plan);
  const double left = 90, bottom = 50, top = 30, right = 20, width = 900, height = 500;
  double commands = std::max<int64_t>(timeline.length, 1);
  double arena = double(std::max<uint64_t>({memory.arena_bytes(), memory.peak_live_bytes(), 1}));
  auto x = [&](double command) { return left + command / commands * width; };
  auto y = [&](double offset) { return top + height - offset / arena * height; };
  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << left + width + right
      << "\" height=\"" << top + height + bottom << "\" font-family=\"sans-serif\" "
      << "font-size=\"12\">\n";
  svg << "<title>" << xmlEscape(plan.metadata().model_name()) << ": transient arena, "
      << memory.arena_bytes() << " bytes</title>\n";
  svg << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << width << "\" height=\""
      << height << "\" fill=\"#f8f8f8\" stroke=\"#444\"/>\n";
  int index = 0;
  for (int i = 0; i < plan.buffers_size(); ++i) {
    const plan::Buffer &buffer = plan.buffers(i);
    if (!buffer.in_arena() || timeline.first[i] < 0)
      continue;
    double x0 = x(double(timeline.first[i])), x1 = x(double(timeline.last[i] + 1));
    double y0 = y(double(buffer.arena_offset() + buffer.size_bytes()));
    double y1 = y(double(buffer.arena_offset()));
    int hue = (index++ * 47) % 360;
    svg << "<rect x=\"" << x0 << "\" y=\"" << y0 << "\" width=\"" << std::max(x1 - x0, 0.5)
        << "\" height=\"" << std::max(y1 - y0, 0.5) << "\" fill=\"hsl(" << hue
        << ",60%,65%)\" stroke=\"#333\" stroke-width=\"0.3\"><title>" << xmlEscape(buffer.name())
        << " (buffer " << i << "): " << buffer.size_bytes() << " bytes at offset "
        << buffer.arena_offset() << ", live at commands " << timeline.first[i] << ".."
        << timeline.last[i] << "</title></rect>\n";
  }
  double peak = y(double(memory.peak_live_bytes()));
  svg << "<line x1=\"" << left << "\" y1=\"" << peak << "\" x2=\"" << left + width << "\" y2=\""
      << peak << "\" stroke=\"#c00\" stroke-dasharray=\"6,3\"/>\n";
  svg << "<text x=\"" << left + width - 4 << "\" y=\"" << peak - 4
      << "\" text-anchor=\"end\" fill=\"#c00\">peak live " << memory.peak_live_bytes()
      << " bytes</text>\n";
  for (const auto &[name, start] : timeline.programStarts) {
    double at = x(double(start));
    svg << "<line x1=\"" << at << "\" y1=\"" << top << "\" x2=\"" << at << "\" y2=\""
        << top + height << "\" stroke=\"#888\" stroke-dasharray=\"2,2\"/>\n";
    svg << "<text x=\"" << at + 3 << "\" y=\"" << top - 8 << "\">" << xmlEscape(name)
        << "</text>\n";
  }
  svg << "<text x=\"" << left << "\" y=\"" << top + height + 16 << "\">0</text>\n";
  svg << "<text x=\"" << left + width << "\" y=\"" << top + height + 16 << "\" text-anchor=\"end\">"
      << timeline.length << "</text>\n";
  svg << "<text x=\"" << left + width / 2 << "\" y=\"" << top + height + 38
      << "\" text-anchor=\"middle\">command (timeline: the step, then each program)</text>\n";
  svg << "<text x=\"" << left - 6 << "\" y=\"" << top + height
      << "\" text-anchor=\"end\">0</text>\n";
  svg << "<text x=\"" << left - 6 << "\" y=\"" << top + 10 << "\" text-anchor=\"end\">"
      << uint64_t(arena) << "</text>\n";
  svg << "<text transform=\"translate(20," << top + height / 2
      << ") rotate(-90)\" text-anchor=\"middle\">arena offset (bytes)</text>\n";
  svg << "</svg>\n";
  return svg.str();
}

int showIr(const plan::Plan &plan) {
  if (plan.graph_module().empty())
    return fail("the plan carries no graph module (the compiler that wrote it left it out)");
  std::fputs(plan.graph_module().c_str(), stdout);
  if (plan.graph_module().back() != '\n')
    std::fputs("\n", stdout);
  return 0;
}

/// The kernel named `key`, or whose index `key` is; -1 if none.
int findKernel(const plan::Plan &plan, const std::string &key) {
  for (int i = 0; i < plan.kernels_size(); ++i)
    if (plan.kernels(i).name() == key)
      return i;
  if (!key.empty() && key.size() < 10 &&
      std::all_of(key.begin(), key.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    int index = std::stoi(key);
    if (index < plan.kernels_size())
      return index;
  }
  return -1;
}

std::string availableKernels(const plan::Plan &plan) {
  std::string text;
  for (int i = 0; i < plan.kernels_size(); ++i)
    text += "\n  " + std::to_string(i) + ": " + plan.kernels(i).name();
  return text;
}

/// The 32-bit words of a little-endian SPIR-V byte string (whose size validation checked).
std::vector<uint32_t> spirvWords(const std::string &bytes) {
  std::vector<uint32_t> words(bytes.size() / 4);
  for (size_t i = 0; i < words.size(); ++i)
    for (int b = 3; b >= 0; --b)
      words[i] = (words[i] << 8) | static_cast<uint8_t>(bytes[i * 4 + b]);
  return words;
}

int showSpirv(const plan::Plan &plan, const std::string &key) {
  int index = findKernel(plan, key);
  if (index < 0)
    return fail("the plan has no kernel '" + key +
                "'; give a name or index of one of these:" + availableKernels(plan));
  const plan::Kernel &kernel = plan.kernels(index);
  if (kernel.spirv().empty())
    return fail("kernel '" + kernel.name() + "' carries no SPIR-V (the plan's targets: no vulkan)");
  spvtools::SpirvTools tools(SPV_ENV_VULKAN_1_1);
  std::string messages;
  tools.SetMessageConsumer(
      [&](spv_message_level_t, const char *, const spv_position_t &position, const char *message) {
        messages += "word " + std::to_string(position.index) + ": " + message + "\n";
      });
  std::string text;
  if (!tools.Disassemble(spirvWords(kernel.spirv()), &text,
                         SPV_BINARY_TO_TEXT_OPTION_FRIENDLY_NAMES |
                             SPV_BINARY_TO_TEXT_OPTION_INDENT))
    return fail("kernel '" + kernel.name() + "' holds SPIR-V that does not disassemble:\n" +
                messages);
  std::printf("; kernel %d: %s (%zu bytes)\n%s", index, kernel.name().c_str(),
              kernel.spirv().size(), text.c_str());
  return 0;
}

int showPtx(const plan::Plan &plan, const std::string &key, const std::string &arch) {
  int index = findKernel(plan, key);
  if (index < 0)
    return fail("the plan has no kernel '" + key +
                "'; give a name or index of one of these:" + availableKernels(plan));
  const plan::Kernel &kernel = plan.kernels(index);
  if (kernel.ptx_code().empty())
    return fail("kernel '" + kernel.name() + "' carries no PTX (the plan's targets: no cuda)");
  std::string archs;
  for (const plan::PtxCode &code : kernel.ptx_code()) {
    if (arch.empty() || code.arch() == arch) {
      std::printf("// kernel %d: %s (%s, %zu bytes)\n%s", index, kernel.name().c_str(),
                  code.arch().c_str(), code.ptx().size(), code.ptx().c_str());
      return 0;
    }
    archs += " " + code.arch();
  }
  return fail("kernel '" + kernel.name() + "' has no PTX for " + arch + "; it has:" + archs);
}

std::string dotEscape(const std::string &text) {
  std::string escaped;
  for (char c : text) {
    if (c == '"' || c == '\\')
      escaped += '\\';
    escaped += c;
  }
  return escaped;
}

std::string dataflowDot(const plan::Plan &plan, const plan::ProgramView &program) {
  std::vector<std::vector<bool>> written;
  for (const plan::Kernel &kernel : plan.kernels())
    written.push_back(plan::declaredWrittenBindings(kernel));
  std::ostringstream dot;
  dot << "digraph \"" << dotEscape(plan.metadata().model_name() + "." + program.name) << "\" {\n"
      << "  rankdir=TB;\n  node [shape=box, fontname=\"monospace\"];\n";
  // The node that last wrote each buffer, or "" if nothing in the program has yet.
  std::map<uint32_t, std::string> lastWriter;
  std::set<uint32_t> externalNodes;
  auto bufferName = [&](uint32_t index) { return plan.buffers(static_cast<int>(index)).name(); };
  auto addRead = [&](uint32_t buffer, const std::string &node) {
    auto writer = lastWriter.find(buffer);
    std::string source;
    if (writer != lastWriter.end()) {
      source = writer->second;
    } else {
      source = "b" + std::to_string(buffer);
      if (externalNodes.insert(buffer).second)
        dot << "  " << source << " [shape=ellipse, label=\"" << dotEscape(bufferName(buffer))
            << "\\n(" << roleName(plan.buffers(static_cast<int>(buffer)).role()) << ")\"];\n";
    }
    dot << "  " << source << " -> " << node << " [label=\"" << dotEscape(bufferName(buffer))
        << "\"];\n";
  };
  int number = 0;
  for (const plan::Command &command : program.step->commands()) {
    std::string node = "c" + std::to_string(number);
    if (command.has_dispatch()) {
      const plan::Dispatch &dispatch = command.dispatch();
      const plan::Kernel &kernel = plan.kernels(static_cast<int>(dispatch.kernel()));
      dot << "  " << node << " [label=\"#" << number << " " << dotEscape(kernel.name()) << "\\n"
          << dotEscape(kernelOps(kernel)) << "\"];\n";
      const std::vector<bool> &writes = written[dispatch.kernel()];
      for (int i = 0; i < dispatch.buffers_size(); ++i)
        if (!writes[i])
          addRead(dispatch.buffers(i), node);
      for (int i = 0; i < dispatch.buffers_size(); ++i)
        if (writes[i])
          lastWriter[dispatch.buffers(i)] = node;
    } else if (command.has_copy()) {
      const plan::Copy &copy = command.copy();
      dot << "  " << node << " [shape=box, style=rounded, label=\"#" << number << " copy\\n"
          << dotEscape(bufferName(copy.src_buffer())) << " -> "
          << dotEscape(bufferName(copy.dst_buffer())) << "\"];\n";
      addRead(copy.src_buffer(), node);
      lastWriter[copy.dst_buffer()] = node;
    }
    ++number;
  }
  dot << "}\n";
  return dot.str();
}

} // namespace

int runInspect(const std::vector<std::string> &rawArgs) {
  std::vector<std::string> args;
  for (const std::string &arg : rawArgs)
    args.push_back(arg == "-o" ? "--output" : arg);
  auto parsed = Arguments::parse(
      args, {"spirv", "ptx", "arch", "program", "output", "arena-svg"},
      {"summary", "kernels", "dispatches", "buffers", "memory", "exec", "ir", "graphviz"});
  if (!parsed.ok())
    return fail(std::string(parsed.status().message()));
  const Arguments &a = *parsed;
  if (a.positional().size() != 1)
    return fail("expected exactly one plan file (.kplan); see kiln inspect --help");
  std::vector<std::string> views;
  for (const char *view : {"summary", "kernels", "dispatches", "buffers", "memory", "arena-svg",
                           "exec", "ir", "spirv", "ptx", "graphviz"})
    if (a.has(view))
      views.push_back(view);
  if (views.size() > 1)
    return fail("pick one view at a time (got --" + views[0] + " and --" + views[1] + ")");
  std::string view = views.empty() ? "summary" : views[0];
  if (a.has("program") && view != "dispatches" && view != "graphviz")
    return fail("--program applies to --dispatches and --graphviz only");
  if (a.has("arch") && view != "ptx")
    return fail("--arch applies to --ptx only");
  if (a.has("output") && view != "graphviz")
    return fail("-o applies to --graphviz only; the other views print to stdout");

  absl::StatusOr<plan::Plan> plan = plan::readPlanFile(a.positional()[0]);
  if (!plan.ok())
    return fail(std::string(plan.status().message()));

  if (view == "summary")
    return showSummary(*plan);
  if (view == "kernels")
    return showKernels(*plan);
  if (view == "buffers")
    return showBuffers(*plan);
  if (view == "memory")
    return showMemory(*plan);
  if (view == "arena-svg") {
    std::string path = *a.get("arena-svg");
    std::ofstream file(path, std::ios::binary);
    file << arenaSvg(*plan);
    file.close();
    if (!file)
      return fail("cannot write '" + path + "'; check that its folder exists and is writable");
    std::printf("kiln inspect: wrote %s\n", path.c_str());
    return 0;
  }
  if (view == "exec")
    return showExec(*plan);
  if (view == "ir")
    return showIr(*plan);
  if (view == "spirv")
    return showSpirv(*plan, *a.get("spirv"));
  if (view == "ptx")
    return showPtx(*plan, *a.get("ptx"), a.getOr("arch", ""));

  std::vector<plan::ProgramView> programs = plan::planPrograms(*plan);
  std::string error;
  const plan::ProgramView *program =
      findProgram(programs, a.getOr("program", plan::kTrainProgram), error);
  if (!program)
    return fail(error);
  if (view == "dispatches")
    return showDispatches(*plan, *program);

  std::string dot = dataflowDot(*plan, *program);
  std::optional<std::string> path = a.get("output");
  if (!path) {
    std::fputs(dot.c_str(), stdout);
    return 0;
  }
  std::ofstream file(*path, std::ios::binary);
  file << dot;
  file.close();
  if (!file)
    return fail("cannot write '" + *path + "'; check that its folder exists and is writable");
  std::printf("kiln inspect: wrote %s\n", path->c_str());
  return 0;
}

} // namespace kiln::tool
