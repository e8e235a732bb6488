//===- CpuImage.h - Objects and images of the CPU target --------*- C++ -*-===//
//
// The ELF half of the CPU target: the check that an emitted object calls nothing, the
// ld.lld run that links it into a shared image, and the checks of that image.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TARGETS_CPUIMAGE_H
#define KILN_TARGETS_CPUIMAGE_H

#include "kiln/Targets/CpuTarget.h"

#include "llvm/ADT/SmallVector.h"

namespace kiln::targets::detail {

/// Fails with a diagnostic at `where` naming the kernel (from the `.text.<kernel>` section the
/// reference is in), the symbol and `isa` when `object` references an undefined symbol.
mlir::LogicalResult checkObjectCallsNothing(mlir::Operation *where, llvm::ArrayRef<char> object,
                                            llvm::StringRef isa);

/// Links `object` with `ld.lld -shared -nostdlib -Bsymbolic -z now` and returns the image.
mlir::FailureOr<std::vector<uint8_t>> linkImage(mlir::Operation *where, llvm::ArrayRef<char> object,
                                                llvm::StringRef isa);

/// Checks that `image` has no dynamic relocation, no undefined dynamic symbol and loadable
/// segments at addresses equal to their file offsets, and returns the entry of each of
/// `kernels` (a defined function symbol inside an executable segment).
mlir::FailureOr<std::vector<CpuEntry>> inspectImage(mlir::Operation *where,
                                                    llvm::ArrayRef<uint8_t> image,
                                                    llvm::ArrayRef<std::string> kernels,
                                                    llvm::StringRef isa);

} // namespace kiln::targets::detail

#endif // KILN_TARGETS_CPUIMAGE_H
