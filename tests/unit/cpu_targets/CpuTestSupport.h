//===- CpuTestSupport.h - Shared helpers of the CPU target tests ----------===//
//
// A context with the CPU kernel dialects and the graph dialect, diagnostics collected as
// text, the LLVM binary tools run on an image, and an image made executable in memory.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TESTS_CPU_TARGETS_CPUTESTSUPPORT_H
#define KILN_TESTS_CPU_TARGETS_CPUTESTSUPPORT_H

#include "kiln/Targets/CpuTarget.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kiln::targets::testing {

/// A registry with the CPU kernel dialects and the graph dialect.
mlir::DialectRegistry cpuTestRegistry();

/// Parses `source` into a module; null (with the diagnostics in `errors`) on failure.
mlir::OwningOpRef<mlir::ModuleOp> parseModule(mlir::MLIRContext &context, const char *source);

/// Collects every diagnostic of a context as text while alive.
class DiagnosticLog {
public:
  explicit DiagnosticLog(mlir::MLIRContext &context);
  ~DiagnosticLog();
  const std::string &text() const { return text_; }

private:
  mlir::MLIRContext &context_;
  uint64_t handler_;
  std::string text_;
};

/// Runs LLVM 19's `tool` ("llvm-objdump", "llvm-readelf") with `arguments` on `image`
/// (written to a temporary file, appended last); returns stdout+stderr, or nullopt when
/// the tool is missing or fails.
std::optional<std::string> runLlvmTool(const std::string &tool, const std::string &arguments,
                                       const std::vector<uint8_t> &image);

/// An image copied into fresh pages that are then made read+execute (as runtime/cpu will).
class ExecutableImage {
public:
  explicit ExecutableImage(const std::vector<uint8_t> &bytes);
  ~ExecutableImage();
  ExecutableImage(const ExecutableImage &) = delete;
  ExecutableImage &operator=(const ExecutableImage &) = delete;
  bool valid() const { return memory_ != nullptr; }

  using Kernel = void (*)(void *const *bindings, uint32_t tileBegin, uint32_t tileEnd,
                          void *scratch);
  Kernel entry(uint64_t offset) const;

private:
  void *memory_ = nullptr;
  size_t size_ = 0;
};

} // namespace kiln::targets::testing

#endif // KILN_TESTS_CPU_TARGETS_CPUTESTSUPPORT_H
