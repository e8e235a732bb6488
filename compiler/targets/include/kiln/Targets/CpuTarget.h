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
// `buildCpuPointwiseKernel` writes the CPU form of a pointwise kernel function (the same
// `graph.kernel` functions the GPU emitters in kernels/ start from).
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

/// How a CPU kernel splits its work: `tileCount` tiles of `elementsPerTile` result elements
/// (a pointwise kernel's last tile is shorter), for the plan and the thread team.
struct CpuKernelTiling {
  std::string name;
  uint32_t tileCount = 0;
  int64_t elementsPerTile = 0;
};

/// Elements per tile of a CPU pointwise kernel: a multiple of the 8 vector lanes, so every
/// split of the tiles among threads computes each element with the same instructions.
inline constexpr int64_t kCpuPointwiseTileElements = 4096;

/// Writes into `into` a public func.func with the CPU kernel signature, named after `kernel`,
/// computing the `pointwise` kernel function `kernel` (a func.func with `graph.kernel`, as
/// kiln-fuse forms it): bindings 0..R-1 are its results, R..R+A-1 its arguments, each a flat
/// f32 buffer; each tile is an 8-lane vector loop over its elements with a scalar tail, the
/// payload of each op from its ElementwiseOpInterface. Fails with a diagnostic at the
/// offending op when the kernel is not pointwise, when an op is not elementwise (views such
/// as broadcasts are not supported yet), when a value is not f32 or the shapes differ, or
/// when a payload op cannot be widened to vectors.
mlir::FailureOr<CpuKernelTiling> buildCpuPointwiseKernel(mlir::func::FuncOp kernel,
                                                         mlir::ModuleOp into);

/// Writes into `into` the CPU kernel (named after `kernel`) of the `matmul` kernel function
/// `kernel` holding one 2-D f32 graph.matmul (either operand may be transposed) whose result it
/// returns: binding 0 is the result, 1..A the arguments; tile i computes result row i, each
/// element summing k in ascending order with one fma per k (8 columns per vector when the
/// right operand is not transposed, the rest scalar). Fails with a diagnostic when the kernel
/// has an epilogue, a batch dimension or operands that are not its arguments.
mlir::FailureOr<CpuKernelTiling> buildCpuMatmulKernel(mlir::func::FuncOp kernel,
                                                      mlir::ModuleOp into);

} // namespace kiln::targets

#endif // KILN_TARGETS_CPUTARGET_H
