//===- Codegen.h - From a graph-dialect training step to a plan -*- C++ -*-===//
//
// The back half of the compiler for every target (Vulkan, CUDA, CPU): turns a graph-dialect
// module (after kiln::addTrainingStepPipeline) into a kiln.plan.Plan that a
// runtime executes as one submission per step.
//
// kiln-fuse groups the compute ops into kernels; each becomes one dispatch of
// a kernel generated for it (SPIR-V for Vulkan, PTX for CUDA); every kernel
// result gets its own buffer (graph.read aliases the variable's buffer and
// graph.reshape its operand's, since buffers are row-major); graph.assign
// becomes a copy at the end of the step; barriers sit exactly where a command
// touches a buffer that an earlier command since the last barrier wrote, or
// writes one that such a command read. The memory planner then turns assign
// copies into in-place updates where legal, packs the transients into one
// arena and re-places the barriers by overlapping bytes.
//
// Kernels keep every element in 32 bits, i1 masks included; an i1 input or
// output (one byte per element on the host) is converted by one extra
// dispatch at the step's boundary. A graph.gradient (a module differentiated
// but given no optimizer) becomes the output gradientOutputName(variable).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_CODEGEN_CODEGEN_H
#define KILN_CODEGEN_CODEGEN_H

#include "kiln/plan/plan.pb.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/LogicalResult.h"
#include "llvm/ADT/StringRef.h"

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::codegen {

/// The plan output that carries the gradient of `variable` (from graph.gradient):
/// "gradient/<variable>".
std::string gradientOutputName(std::string_view variable);

/// "kiln <version>" of this build, recorded in every plan's metadata.
const char *compilerVersion();

struct CodegenOptions {
  /// Recorded as the plan's compiler_version; empty means compilerVersion().
  std::string compilerVersion;
  /// Form fused kernels (kiln-fuse); false gives one kernel per compute op.
  bool fusion = true;
  /// Report every refused fusion as a remark (kiln-fuse's `explain`).
  bool explainFusion = false;
  /// Run the memory planner (compiler/memory): assign copies elided into in-place updates,
  /// transient buffers packed into one arena, barriers placed by overlapping bytes.
  bool planMemory = true;
  /// The targets every kernel is compiled for: SPIR-V for Vulkan, PTX for CUDA (sm_80, which
  /// the driver compiles for every device of compute capability 8.0 and newer), native code
  /// for the CPU (x86-64-v3, x86-64-v4 and aarch64 images). All three by default.
  std::vector<plan::Target> targets = {plan::TARGET_VULKAN, plan::TARGET_CUDA, plan::TARGET_CPU};
  /// Called with the module after each pass code generation runs on its copy of the module
  /// (kiln-fuse, kiln-emit-kernels and the exec passes), with the pass's argument (for IR
  /// dumps).
  std::function<void(llvm::StringRef pass, mlir::ModuleOp)> afterPass;
};

/// Compiles `module` (not modified) into a plan for `options.targets`. The module must hold
/// one `func.func @step` whose ops are graph ops, with graph.minimize already lowered by
/// kiln-autodiff; it becomes the plan's step ("train"). Every other function (such as @eval
/// from kiln-extract-eval) becomes one of the plan's programs, named after it, sharing the
/// variables and inputs. The plan's graph_module holds the module's text with locations.
///
/// Fails, after emitting an error diagnostic at the offending op's location that names the
/// op and the reason, when something cannot run on the targets: an op outside the graph
/// dialect, a zero-element tensor, a tensor larger than 128 MiB, an i1 variable, a variable
/// assigned twice, or a grid beyond the dispatch limits. Nothing is silently run on the host.
/// Compiling the same module twice gives plans that serialize to identical bytes.
/// Adds the back half of the compiler to `pm`: kiln-fuse, kiln-emit-kernels and the exec
/// pipeline (compiler/exec), as compileToPlan runs them.
void addBackEndPasses(mlir::OpPassManager &pm, const CodegenOptions &options);

mlir::FailureOr<plan::Plan> compileToPlan(mlir::ModuleOp module,
                                          const CodegenOptions &options = {});

} // namespace kiln::codegen

#endif // KILN_CODEGEN_CODEGEN_H
