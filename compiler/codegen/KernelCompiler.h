//===- KernelCompiler.h - Every kernel's target code, in parallel --------===//
//
// Plan assembly queues each kernel here; compileAll() lowers the queue to SPIR-V and PTX
// on the context's thread pool and writes the code into the plan's kernels in queue order,
// so the plan is the same bytes whatever the thread count. Kernels whose gpu.func is
// identical up to its name are lowered to PTX once; the others get that PTX with their
// own name.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_CODEGEN_KERNELCOMPILER_H
#define KILN_CODEGEN_KERNELCOMPILER_H

#include "kiln/plan/plan.pb.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Support/LogicalResult.h"

#include <string>
#include <vector>

namespace kiln::codegen {

class KernelCompiler {
public:
  explicit KernelCompiler(std::vector<plan::Target> targets) : targets_(std::move(targets)) {}

  /// Queues `kernel` (borrowed; it must outlive compileAll) for plan kernel `index`, named
  /// `name`; errors are reported at `where`.
  void add(uint32_t index, llvm::StringRef name, mlir::gpu::GPUModuleOp kernel,
           mlir::Operation *where);

  /// Lowers every queued kernel for every target into `plan`'s kernels. Fails, after
  /// reporting each kernel that failed (in queue order), if any did.
  mlir::LogicalResult compileAll(plan::Plan &plan);

private:
  struct Queued {
    uint32_t index;
    std::string name;
    mlir::gpu::GPUModuleOp kernel;
    mlir::Operation *where;
  };
  std::vector<plan::Target> targets_;
  std::vector<Queued> queue_;
};

} // namespace kiln::codegen

#endif // KILN_CODEGEN_KERNELCOMPILER_H
