//===- InspectCommand.cpp - kiln inspect ----------------------------------===//
//
// Shows what a plan holds without running it. This file has the command line,
// the summary (parameters per layer, inputs, outputs, counts), the kernels with
// the graph ops they serve, a program's command sequence and a Graphviz export
// of its dataflow; the memory views, the code views and the exec view are in
// InspectMemory.cpp, InspectCode.cpp and InspectExec.cpp (InspectViews.h).
// Everything is read from the .kplan file; no device is needed.
//
//===----------------------------------------------------------------------===//

#include "CommandLine.h"
#include "Commands.h"
#include "InspectViews.h"

#include "kiln/runtime/PlanFile.h"
#include "kiln/runtime/PlanValidation.h"

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

using namespace inspect;
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
