//===- Kiln.cpp - kiln: compile, train, inspect, export, generate ---------===//
//
// The user's command-line tool: `kiln compile` turns a graph-dialect model
// into a plan, `kiln train` runs a plan on a dataset, `kiln inspect` shows
// what a plan holds, `kiln export` writes a checkpoint's trained parameters,
// `kiln generate` samples text from a trained language model.
//
//===----------------------------------------------------------------------===//

#include "Commands.h"

#include <cstdio>
#include <cstring>

static const char *const kUsage =
    R"(kiln: a static compute-graph compiler and fused training runtime

Usage:
  kiln compile MODEL.mlir -o MODEL.kplan [options]   compile a model into a training plan
  kiln train MODEL.kplan [options]                   train a plan on a dataset
  kiln inspect MODEL.kplan [view] [options]          show a plan: summary, kernels, dispatches,
                                                     buffers, IR, SPIR-V, Graphviz dataflow
  kiln export MODEL.kplan --checkpoint C -o W        write a checkpoint's trained parameters
                                                     (PyTorch names) to safetensors
  kiln generate MODEL.kplan --checkpoint C --prompt TEXT --tokens N
                                                     sample text from a trained byte-level
                                                     language model (its "generate" program)
  kiln help COMMAND                                  the options of COMMAND

A model is a graph-dialect module, as the C++ builder writes it (see docs/guide/builder.md).
A plan (.kplan) holds the whole training step (forward, backward, optimizer) as kernels
that run as one submission per step. See docs/guide/kiln-tool.md.
)";

int main(int argc, char **argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    std::fputs(kUsage, stdout);
    return argc < 2 ? 2 : 0;
  }
  std::string command = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  bool wantsHelp = false;
  for (const std::string &arg : args)
    wantsHelp |= arg == "--help" || arg == "-h";
  if (command == "help") {
    std::string topic = args.empty() ? "" : args[0];
    if (topic == "compile")
      std::fputs(kiln::tool::kCompileHelp, stdout);
    else if (topic == "train")
      std::fputs(kiln::tool::kTrainHelp, stdout);
    else if (topic == "inspect")
      std::fputs(kiln::tool::kInspectHelp, stdout);
    else if (topic == "export")
      std::fputs(kiln::tool::kExportHelp, stdout);
    else if (topic == "generate")
      std::fputs(kiln::tool::kGenerateHelp, stdout);
    else
      std::fputs(kUsage, stdout);
    return 0;
  }
  if (command == "compile")
    return wantsHelp ? (std::fputs(kiln::tool::kCompileHelp, stdout), 0)
                     : kiln::tool::runCompile(args);
  if (command == "train")
    return wantsHelp ? (std::fputs(kiln::tool::kTrainHelp, stdout), 0) : kiln::tool::runTrain(args);
  if (command == "inspect")
    return wantsHelp ? (std::fputs(kiln::tool::kInspectHelp, stdout), 0)
                     : kiln::tool::runInspect(args);
  if (command == "export")
    return wantsHelp ? (std::fputs(kiln::tool::kExportHelp, stdout), 0)
                     : kiln::tool::runExport(args);
  if (command == "generate")
    return wantsHelp ? (std::fputs(kiln::tool::kGenerateHelp, stdout), 0)
                     : kiln::tool::runGenerate(args);
  std::fprintf(stderr, "kiln: unknown command '%s'\n\n%s", command.c_str(), kUsage);
  return 2;
}
