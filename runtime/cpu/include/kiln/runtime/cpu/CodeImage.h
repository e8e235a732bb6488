//===- CodeImage.h - A plan's native code, loaded without dlopen -*- C++ -*-===//
//
// One CpuImage of a plan (plan.proto) made callable: the ELF64 shared object's
// PT_LOAD segments copied into an anonymous mapping at their virtual
// addresses, then the mapping made read-only and the executable segments'
// pages read+execute. Never writable and executable at once; never dlopen.
// Everything is checked before a byte runs: the SHA-256 of the code, the ELF
// header and machine, every segment within the file, no interpreter, TLS or
// initialisers, no needed libraries and no dynamic relocations, and that each
// kernel entry lies inside an executable segment (docs/design/cpu-runtime.md).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CPU_CODEIMAGE_H
#define KILN_RUNTIME_CPU_CODEIMAGE_H

#include "kiln/plan/plan.pb.h"

#include "absl/status/statusor.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace kiln::cpu {

/// The kernel ABI of CPU-TARGET.md: computes tiles [tileBegin, tileEnd) of the kernel's
/// tile count; bindings[i] is the first byte of binding i's buffer; scratch is the calling
/// thread's own CpuEntry.scratch_bytes (64-byte aligned) or null.
using KernelFunction = void (*)(void *const *bindings, uint32_t tileBegin, uint32_t tileEnd,
                                void *scratch);

class CodeImage {
public:
  /// Checks and maps `image`. Fails with DataLoss (the code does not match its sha256, the
  /// ELF is truncated or inconsistent) or FailedPrecondition (a well-formed ELF this runtime
  /// will not run: another machine, relocations, needed libraries, TLS, an interpreter,
  /// initialisers), each message naming the ISA and the offending header, segment or tag;
  /// ResourceExhausted if the mapping fails. Never crashes on damaged bytes.
  static absl::StatusOr<std::unique_ptr<CodeImage>> load(const plan::CpuImage &image);

  /// Unmaps the code.
  ~CodeImage();
  CodeImage(const CodeImage &) = delete;
  CodeImage &operator=(const CodeImage &) = delete;

  /// The function at virtual address `offset` (a CpuEntry.offset) of kernel `kernel` (for
  /// messages); FailedPrecondition naming the kernel, the ISA and the offset unless it lies
  /// inside an executable segment.
  absl::StatusOr<KernelFunction> entry(uint64_t offset, std::string_view kernel) const;

  /// The whole mapping (read-only after load; the executable pages read+execute).
  std::span<const std::byte> mapping() const { return {base_, mappedBytes_}; }
  /// The [begin, end) virtual address ranges of the executable segments.
  const std::vector<std::pair<uint64_t, uint64_t>> &executableRanges() const { return executable_; }
  const std::string &isa() const { return isa_; }

private:
  CodeImage() = default;

  std::string isa_;
  std::byte *base_ = nullptr;
  size_t mappedBytes_ = 0;
  std::vector<std::pair<uint64_t, uint64_t>> executable_;
};

} // namespace kiln::cpu

#endif // KILN_RUNTIME_CPU_CODEIMAGE_H
