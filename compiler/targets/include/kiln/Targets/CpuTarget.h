//===- CpuTarget.h - CPU kernels -> native position-independent images ----===//
//
// The native CPU target (docs/design/cpu-codegen.md). A CPU kernel is a function
//   void k(void *const *bindings, uint32_t tile_begin, uint32_t tile_end, void *scratch)
// that computes tiles [tile_begin, tile_end) of its iteration space and calls nothing.
// `compileCpuImage` turns a module of such functions into one shared ELF image per ISA,
// linked with ld.lld, with zero dynamic relocations and every loadable segment at a virtual
// address equal to its file offset, so a loader may copy the bytes as they are, make them
// executable and call `bytes.data() + entry.offset`.
//
// The kernels come from kernels/'s CPU emitters (kiln/Kernels/CpuKernelEmitter.h).
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TARGETS_CPUTARGET_H
#define KILN_TARGETS_CPUTARGET_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Support/LogicalResult.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kiln::targets {

/// The instruction sets a CPU image is built for. x86-64-v3 (AVX2 + FMA) runs on the
/// development machines; x86-64-v4 (AVX-512) and aarch64 (Neoverse N1) are compile-only here.
enum class CpuIsa { X86_64_V3, X86_64_V4, AArch64 };

/// "x86-64-v3", "x86-64-v4" or "aarch64", as plans and messages name the ISA.
llvm::StringRef cpuIsaName(CpuIsa isa);

/// One kernel's entry point: a byte offset into `CpuImage::bytes`.
struct CpuEntry {
  std::string kernel;
  uint64_t offset = 0;
};

/// A linked shared ELF image for one ISA and the entry of every kernel in it, in the order
/// the kernels appear in the input module.
struct CpuImage {
  CpuIsa isa = CpuIsa::X86_64_V3;
  std::vector<uint8_t> bytes;
  std::vector<CpuEntry> entries;
};

/// Adds the dialects a CPU kernel module and its lowering need (func, arith, math, scf, cf,
/// vector, memref, index, ub, llvm, graph is not among them) with their LLVM conversion and
/// translation interfaces. The context of the modules passed below must have them.
void registerCpuKernelDialects(mlir::DialectRegistry &registry);

/// Compiles every public function defined in `kernels` (func.func or llvm.func with the
/// kernel signature (!llvm.ptr, i32, i32, !llvm.ptr) -> ()) for `isa`: math ops are replaced
/// by polynomial approximations, the module is lowered to the LLVM dialect, translated to
/// LLVM IR, optimized at O3 for the ISA's TargetMachine, emitted as an object and linked with
/// `ld.lld -shared -nostdlib -Bsymbolic -z now`. `kernels` is not modified.
/// Fails with a diagnostic naming the kernel and the ISA when a kernel has another signature,
/// when the object references an undefined symbol (a libm call, for example), or when the
/// image has a dynamic relocation, an undefined dynamic symbol or a segment whose address
/// differs from its file offset; and when ld.lld is missing or fails.
mlir::FailureOr<CpuImage> compileCpuImage(mlir::ModuleOp kernels, CpuIsa isa);

/// The lld ELF linker: $KILN_LD_LLD, else ld.lld-19 or ld.lld on PATH, else
/// /usr/lib/llvm-19/bin/ld.lld.
std::optional<std::string> findLld();

} // namespace kiln::targets

#endif // KILN_TARGETS_CPUTARGET_H
