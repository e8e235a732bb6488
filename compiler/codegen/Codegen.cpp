//===- Codegen.cpp - A graph-dialect training step to a plan --------------===//
//
// compileToPlan runs the back half of the compiler on a copy of the module:
// kiln-fuse and kiln-emit-kernels (kernels), then the exec pipeline (plan
// assembly, copy elision, arena allocation, barrier placement, target
// compilation; compiler/exec), and prints the resulting exec.plan as the
// protobuf plan. Every step is a pass, so every step can be dumped.
//
//===----------------------------------------------------------------------===//

#include "kiln/Codegen/Codegen.h"

#include "kiln/Compiler/Passes.h"
#include "kiln/Exec/Passes.h"
#include "kiln/Exec/Serialize.h"
#include "kiln/Kernels/KernelEmitter.h"
#include "kiln/Targets/CpuTarget.h"
#include "kiln/Targets/KernelTargets.h"
#include "kiln/runtime/PlanValidation.h"
#include "kiln/runtime/Sha256.h"

#include "mlir/IR/Location.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

using namespace mlir;

namespace kiln::codegen {
namespace {

/// Hands the module to CodegenOptions::afterPass after each of code generation's passes.
class AfterPassCallback : public PassInstrumentation {
public:
  explicit AfterPassCallback(std::function<void(llvm::StringRef, ModuleOp)> callback)
      : callback_(std::move(callback)) {}
  void runAfterPass(Pass *pass, Operation *op) override {
    if (auto module = llvm::dyn_cast<ModuleOp>(op))
      callback_(pass->getArgument(), module);
  }

private:
  std::function<void(llvm::StringRef, ModuleOp)> callback_;
};

} // namespace

const char *compilerVersion() { return exec::compilerVersion(); }

std::string gradientOutputName(std::string_view variable) {
  return exec::gradientOutputName(llvm::StringRef(variable.data(), variable.size()));
}

void addBackEndPasses(OpPassManager &pm, const CodegenOptions &options) {
  FuseOptions fuse;
  fuse.noFusion = !options.fusion;
  fuse.explain = options.explainFusion;
  pm.addPass(createFuse(fuse));
  pm.addPass(createEmitKernels());
  exec::ExecPipelineOptions pipeline;
  // The options hold a view; the pass copies the list when it is created below.
  std::vector<std::string> targets;
  for (plan::Target target : options.targets)
    targets.push_back(target == plan::TARGET_VULKAN ? "vulkan"
                      : target == plan::TARGET_CUDA ? "cuda"
                                                    : "cpu");
  pipeline.assemble.targets = targets;
  pipeline.assemble.compiler = options.compilerVersion;
  pipeline.planMemory = options.planMemory;
  exec::addExecPipeline(pm, pipeline);
}

FailureOr<plan::Plan> compileToPlan(ModuleOp module, const CodegenOptions &options) {
  MLIRContext *context = module.getContext();
  DialectRegistry registry;
  kernels::registerKernelEmitterDialects(registry);
  targets::registerKernelDialects(registry);
  targets::registerCpuKernelDialects(registry);
  registry.insert<exec::ExecDialect>();
  context->appendDialectRegistry(registry);
  context->loadAllAvailableDialects();

  OwningOpRef<ModuleOp> compiled(module.clone());
  PassManager pm(context);
  addBackEndPasses(pm, options);
  if (options.afterPass)
    pm.addInstrumentation(std::make_unique<AfterPassCallback>(options.afterPass));
  if (failed(pm.run(*compiled)))
    return failure();

  // The module with its locations, so the reference device running the plan reports the
  // user's source lines; the hash covers exactly this text.
  std::string source;
  llvm::raw_string_ostream os(source);
  module.print(os, OpPrintingFlags().enableDebugInfo(/*enable=*/true, /*prettyForm=*/false));
  exec::PlanOp execPlan = exec::getPlan(*compiled);
  execPlan.setSourceHash(toHex(sha256(os.str())));
  FailureOr<plan::Plan> plan = exec::serializePlan(execPlan, std::move(source));
  if (failed(plan))
    return failure();
  if (absl::Status status = plan::validatePlan(*plan); !status.ok())
    return module.emitError("internal compiler error: the generated plan is invalid: ")
           << status.ToString();
  return plan;
}

} // namespace kiln::codegen
