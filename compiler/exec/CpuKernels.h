//===- CpuKernels.h - The cpu target's part of assembly and compilation -*- C++ -*-===//
//
// Plan assembly is the last pass that sees the graph kernel functions kiln-fuse formed (it
// erases them), and it knows the plan's targets: so it builds each kernel's CPU function,
// with kernels/'s CPU emitter of the kernel's kind, into a `builtin.module @<kernel>_cpu`
// beside the plan (as it keeps each kernel's gpu.module there). kiln-exec-compile-targets
// then links all of them into one image per ISA (docs/design/cpu-codegen.md).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_EXEC_CPUKERNELS_H
#define KILN_EXEC_CPUKERNELS_H

#include "kiln/Dialect/Exec/ExecDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"

namespace kiln::exec {

/// The name of the module holding kernel `kernel`'s CPU function: "<kernel>_cpu".
std::string cpuModuleName(llvm::StringRef kernel);

/// Builds the CPU function of the kernel function `callee` (of kind `kind`) into a new
/// `builtin.module @<callee>_cpu` at the end of `module`, and records it on `kernel`
/// (`cpu_code`, `cpu_tile_count`). Fails with the emitter's diagnostic and one at the kernel.
mlir::LogicalResult addCpuKernel(mlir::ModuleOp module, mlir::func::FuncOp callee,
                                 llvm::StringRef kind, KernelOp kernel);

/// The same for the compiler's mask conversion kernel `name` (KernelEmitter.h's
/// emitMaskConversion).
mlir::LogicalResult addCpuMaskConversion(mlir::ModuleOp module, mlir::Location loc,
                                         llvm::StringRef name, int64_t count, bool pack,
                                         KernelOp kernel);

/// Compiles the CPU functions of every kernel of `plan` (each kernel's `cpu_code`) into one
/// image per ISA: sets the plan's `cpu_images` and each kernel's `cpu_entries`, drops
/// `cpu_code` and erases the modules. Fails with the CPU target's diagnostic.
mlir::LogicalResult compileCpuImages(mlir::ModuleOp module, PlanOp plan);

} // namespace kiln::exec

#endif // KILN_EXEC_CPUKERNELS_H
