//===- CompileCommand.cpp - kiln compile ----------------------------------===//
//
// Parses a graph-dialect model, runs the front half of the compiler (eval
// extraction, autodiff, optimizer, simplification) and the Vulkan codegen,
// and writes the plan. Diagnostics point into the user's .mlir file (or, for
// modules the builder wrote, at the user's C++ source line).
//
//===----------------------------------------------------------------------===//

#include "../common/InputNesting.h"
#include "CommandLine.h"
#include "Commands.h"

#include "kiln/Codegen/Codegen.h"
#include "kiln/Compiler/Passes.h"
#include "kiln/Dialect/Graph/GraphDialect.h"
#include "kiln/runtime/PlanFile.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassInstrumentation.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>

namespace kiln::tool {

const char *const kCompileHelp = R"(kiln compile MODEL.mlir -o MODEL.kplan [options]

Compiles a graph-dialect model (one func.func @step ending in graph.minimize, as the C++
builder writes it) into a training plan: autodiff, the optimizer, simplification, kernel
formation (kiln-fuse), one generated kernel per fused group (SPIR-V for Vulkan; PTX for
CUDA, for sm_80, which every GPU of compute capability 8.0 or newer runs), the dispatch
sequence of one step and its memory plan. Every other func.func of the module (a
forward-only program such as @generate, written with Builder::beginProgram) becomes a
program of the plan beside "eval", run on demand (kiln generate runs "generate").

Options:
  -o, --output PATH        the plan to write (required)
  --target vulkan|cuda|cpu|all
                           the kernels' targets (default all = vulkan, cuda and cpu: one
                           plan runs on every device; kiln train --device auto picks).
                           cpu: native images for x86-64-v3, x86-64-v4 and aarch64 (kiln
                           train --device cpu runs the best this host can)
  --no-fusion              one kernel per compute op (for comparison and debugging)
  --explain-fusion         report every fusion kiln-fuse refused, and why (remarks, to stderr)
  --optimizer sgd|adam|adamw
  --lr X, --momentum X, --nesterov, --weight-decay X, --beta1 X, --beta2 X, --epsilon X
                           override the model's graph.optimizer settings (numbers >= 0;
                           the optimizer checks its own ranges, e.g. beta1 in [0, 1))
  --no-eval                leave out the forward-only "eval" program (no test accuracy)
  --emit-mlir PATH         also write the compiled graph-dialect module
  --print-ir-after-all     print the module after every pass (to stderr)
  --dump-ir-after PASS|all write the module after PASS (or after every pass) to numbered files
                           in the dump folder: 00-input.mlir, 01-kiln-extract-eval.mlir, ...;
                           kiln-fuse shows the kernels formed, kiln-emit-kernels their
                           gpu.func code, then the exec dialect (the plan as IR):
                           kiln-exec-assemble the buffers, kernels and dispatches,
                           kiln-exec-elide-copies the in-place updates,
                           kiln-exec-allocate-arena each buffer's arena offset,
                           kiln-exec-place-barriers the barriers, and
                           kiln-exec-compile-targets each kernel's SPIR-V and PTX (the
                           plan the .kplan is printed from)
  --dump-dir DIR           the dump folder (default: MODEL.ir next to MODEL.kplan)
  --time-passes            report the time of every pass (to stderr)
)";

namespace {

int fail(const std::string &message) {
  std::fprintf(stderr, "kiln compile: %s\n", message.c_str());
  return 1;
}

/// Writes the module to `<dir>/<NN>-<pass argument>.mlir` after each selected pass of the
/// pipeline, numbered by the pass's position in the pipeline (00 is the input). A file that
/// cannot be written is recorded in `error()`; the pipeline itself carries on.
class DumpIRInstrumentation : public mlir::PassInstrumentation {
public:
  /// `selected` is a pass argument of the pipeline or "all".
  DumpIRInstrumentation(std::string dir, std::string selected)
      : dir_(std::move(dir)), selected_(std::move(selected)) {}

  void runAfterPass(mlir::Pass *pass, mlir::Operation *op) override {
    if (pass->getArgument().empty())
      return;
    ++index_;
    if (selected_ != "all" && pass->getArgument() != selected_)
      return;
    while (mlir::Operation *parent = op->getParentOp())
      op = parent;
    write(index_, pass->getArgument().str(), op);
  }

  /// Writes `op` as file number `index` named after `name`.
  void write(int index, const std::string &name, mlir::Operation *op) {
    char prefix[8];
    std::snprintf(prefix, sizeof(prefix), "%02d-", index);
    llvm::SmallString<256> path(dir_);
    llvm::sys::path::append(path, prefix + name + ".mlir");
    std::string openError;
    auto output = mlir::openOutputFile(path, &openError);
    if (!output) {
      if (error_.empty())
        error_ = "cannot write '" + std::string(path) + "': " + openError;
      return;
    }
    op->print(output->os());
    output->keep();
  }

  /// The first write failure, or empty.
  const std::string &error() const { return error_; }

private:
  std::string dir_;
  std::string selected_;
  int index_ = 0;
  std::string error_;
};

} // namespace

int runCompile(const std::vector<std::string> &rawArgs) {
  std::vector<std::string> args;
  for (const std::string &arg : rawArgs)
    args.push_back(arg == "-o" ? "--output" : arg);
  auto parsed = Arguments::parse(
      args,
      {"output", "target", "optimizer", "lr", "momentum", "weight-decay", "beta1", "beta2",
       "epsilon", "emit-mlir", "dump-ir-after", "dump-dir"},
      {"nesterov", "no-eval", "print-ir-after-all", "time-passes", "no-fusion", "explain-fusion"});
  if (!parsed.ok())
    return fail(std::string(parsed.status().message()));
  const Arguments &a = *parsed;
  if (a.positional().size() != 1)
    return fail("expected exactly one model file (.mlir); see kiln compile --help");
  if (!a.has("output"))
    return fail("missing -o PATH: where to write the plan");
  codegen::CodegenOptions codegenOptions;
  codegenOptions.fusion = !a.has("no-fusion");
  codegenOptions.explainFusion = a.has("explain-fusion");
  if (std::string target = a.getOr("target", "all"); target == "vulkan")
    codegenOptions.targets = {plan::TARGET_VULKAN};
  else if (target == "cuda")
    codegenOptions.targets = {plan::TARGET_CUDA};
  else if (target == "cpu")
    codegenOptions.targets = {plan::TARGET_CPU};
  else if (target != "all")
    return fail("unknown target '" + target + "'; give vulkan, cuda, cpu or all");

  AppendOptimizerOptions optimizer;
  optimizer.optimizer = a.getOr("optimizer", "");
  optimizer.nesterov = a.has("nesterov");
  struct NumberFlag {
    const char *flag;
    double *field;
  } numbers[] = {{"lr", &optimizer.learningRate},
                 {"momentum", &optimizer.momentum},
                 {"weight-decay", &optimizer.weightDecay},
                 {"beta1", &optimizer.beta1},
                 {"beta2", &optimizer.beta2},
                 {"epsilon", &optimizer.epsilon}};
  for (NumberFlag &number : numbers) {
    auto value = a.getDouble(number.flag, *number.field);
    if (!value.ok())
      return fail(std::string(value.status().message()));
    // Negative is "unset" in AppendOptimizerOptions: a flag given so is an error.
    if (a.has(number.flag) && !(*value >= 0))
      return fail(absl::StrCat("--", number.flag, " must be a number >= 0, not ", *value));
    *number.field = *value;
  }

  auto start = std::chrono::steady_clock::now();
  mlir::MLIRContext context;
  context.loadDialect<graph::GraphDialect, mlir::func::FuncDialect>();
  // A diagnostic names the op by its location; printing the whole module after it (MLIR's
  // default) buries the message under hundreds of lines.
  context.printOpOnDiagnostic(false);
  llvm::SourceMgr sourceMgr;
  mlir::SourceMgrDiagnosticHandler diagnostics(sourceMgr, &context, llvm::errs());
  const std::string &modelPath = a.positional()[0];
  std::string openError;
  auto file = mlir::openInputFile(modelPath, &openError);
  if (!file)
    return fail("cannot read model '" + modelPath + "': " + openError);
  // MLIR's parser recurses on nesting; refuse what would overflow the stack.
  if (std::string nesting = inputNestingError(file->getBuffer(), modelPath); !nesting.empty()) {
    llvm::errs() << nesting << "\n";
    return fail("'" + modelPath + "' is not a valid graph-dialect module (errors above)");
  }
  sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceFile<mlir::ModuleOp>(sourceMgr, &context);
  if (!module)
    return fail("'" + modelPath + "' is not a valid graph-dialect module (errors above)");

  mlir::PassManager pm(&context);
  if (a.has("print-ir-after-all")) {
    context.disableMultithreading();
    pm.enableIRPrinting();
  }
  if (a.has("time-passes"))
    pm.enableTiming();
  if (!a.has("no-eval"))
    pm.addPass(createExtractEval());
  else // graph.train_or_eval (batch norm, dropout) still needs its training operand.
    pm.addPass(createResolveTrainOrEval());
  addTrainingStepPipeline(pm, optimizer);

  DumpIRInstrumentation *dumper = nullptr;
  if (auto selected = a.get("dump-ir-after")) {
    std::vector<std::string> passes;
    for (mlir::Pass &pass : pm.getPasses())
      if (std::find(passes.begin(), passes.end(), pass.getArgument()) == passes.end())
        passes.push_back(pass.getArgument().str());
    // Run by code generation, on a copy of the module: kernel formation and the exec passes.
    std::vector<std::string> codegenPasses;
    mlir::OpPassManager backEnd(mlir::ModuleOp::getOperationName());
    codegen::addBackEndPasses(backEnd, codegenOptions);
    for (mlir::Pass &pass : backEnd.getPasses())
      codegenPasses.push_back(pass.getArgument().str());
    passes.insert(passes.end(), codegenPasses.begin(), codegenPasses.end());
    if (*selected != "all" && std::find(passes.begin(), passes.end(), *selected) == passes.end()) {
      std::string known;
      for (const std::string &pass : passes)
        known += " " + pass;
      return fail("--dump-ir-after: the pipeline has no pass '" + *selected +
                  "'; give all or one of:" + known);
    }
    llvm::SmallString<256> defaultDir(*a.get("output"));
    llvm::sys::path::replace_extension(defaultDir, "ir");
    std::string dir = a.getOr("dump-dir", std::string(defaultDir));
    if (std::error_code ec = llvm::sys::fs::create_directories(dir))
      return fail("cannot create the dump folder '" + dir + "': " + ec.message());
    auto instrumentation = std::make_unique<DumpIRInstrumentation>(dir, *selected);
    dumper = instrumentation.get();
    dumper->write(0, "input", module->getOperation());
    // Numbered after the pipeline's passes, in code generation's order.
    int firstCodegenIndex = static_cast<int>(pm.size()) + 1;
    std::string selection = *selected;
    codegenOptions.afterPass = [dumper, firstCodegenIndex, selection,
                                codegenPasses](llvm::StringRef pass, mlir::ModuleOp module) {
      auto position = std::find(codegenPasses.begin(), codegenPasses.end(), pass.str());
      if (position == codegenPasses.end() || (selection != "all" && pass != selection))
        return;
      int index = firstCodegenIndex + static_cast<int>(position - codegenPasses.begin());
      dumper->write(index, pass.str(), module.getOperation());
    };
    context.disableMultithreading();
    pm.addInstrumentation(std::move(instrumentation));
  } else if (a.has("dump-dir")) {
    return fail("--dump-dir needs --dump-ir-after PASS|all");
  }

  if (mlir::failed(pm.run(*module)))
    return fail("compiling '" + modelPath + "' failed (errors above)");
  if (dumper && !dumper->error().empty())
    return fail(dumper->error());

  std::string moduleText;
  llvm::raw_string_ostream moduleStream(moduleText);
  module->print(moduleStream);
  if (auto emit = a.get("emit-mlir")) {
    std::string error;
    auto output = mlir::openOutputFile(*emit, &error);
    if (!output)
      return fail("cannot write '" + *emit + "': " + error);
    output->os() << moduleText;
    output->keep();
  }

  mlir::FailureOr<plan::Plan> plan = codegen::compileToPlan(*module, codegenOptions);
  if (mlir::failed(plan))
    return fail("code generation failed (errors above)");
  if (dumper && !dumper->error().empty())
    return fail(dumper->error());
  if (absl::Status written = plan::writePlanFile(*plan, *a.get("output")); !written.ok())
    return fail(std::string(written.message()));

  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  size_t dispatches = 0;
  for (const plan::Command &command : plan->step().commands())
    dispatches += command.has_dispatch();
  int fused = 0;
  for (const plan::Kernel &kernel : plan->kernels())
    fused += kernel.compute_ops() > 1;
  std::printf("kiln compile: wrote %s (%d kernels, %d of them fused, %zu dispatches per step, "
              "%d buffers, %d program(s) besides the step) in %.2f s\n",
              a.get("output")->c_str(), plan->kernels_size(), fused, dispatches,
              plan->buffers_size(), plan->programs_size(), seconds);
  return 0;
}

} // namespace kiln::tool
