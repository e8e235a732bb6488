//===- LlvmAsanOff.h - No ASan poisoning in LLVM's inline allocators -*- C++ -*-===//
//
// Force-included (-include) in kiln-fuzz-mlir, whose graph-dialect sources are
// ASan-instrumented while Debian's libLLVM/libMLIR are not. LLVM's
// BumpPtrAllocator poisons fresh slabs and unpoisons each allocation, but only
// in instrumented code: a slab poisoned by our inline copy and then handed out
// by libMLIR's uninstrumented copy reads as use-after-poison (a false positive
// in mlir::NamedAttrList, seen on the first seed). LLVM's own switch,
// LLVM_ADDRESS_SANITIZER_BUILD, is set from the compiler, so it is overridden
// here, after llvm/Support/Compiler.h has defined it.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TESTS_FUZZ_LLVMASANOFF_H
#define KILN_TESTS_FUZZ_LLVMASANOFF_H

#include "llvm/Support/Compiler.h"

#undef LLVM_ADDRESS_SANITIZER_BUILD
#define LLVM_ADDRESS_SANITIZER_BUILD 0
#define __asan_poison_memory_region(p, size) ((void)(p), (void)(size))
#define __asan_unpoison_memory_region(p, size) ((void)(p), (void)(size))

#endif // KILN_TESTS_FUZZ_LLVMASANOFF_H
