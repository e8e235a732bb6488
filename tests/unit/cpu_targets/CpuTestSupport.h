//===- CpuTestSupport.h - Shared helpers of the CPU target tests ----------===//
//
// A context with the CPU kernel dialects and the graph dialect, diagnostics collected as
// text, the LLVM binary tools run on an image, an image made executable in memory (the one
// home of that fixture), and a fixture that emits kernel functions with kernels/'s CPU
// emitters, links them for x86-64-v3 and runs them over any split of their tiles.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TESTS_CPU_TARGETS_CPUTESTSUPPORT_H
#define KILN_TESTS_CPU_TARGETS_CPUTESTSUPPORT_H

#include "kiln/Kernels/CpuKernelEmitter.h"
#include "kiln/Targets/CpuTarget.h"

#include "gtest/gtest.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
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

/// Consecutive tile ranges a kernel is run over.
using TileSplit = std::vector<std::pair<uint32_t, uint32_t>>;

/// The splits of `tiles` tiles every execution test compares: [0,T) (first), [0,1)+[1,T),
/// one tile per call, one tile per call in reverse order, halves in reverse order, and
/// ranges with empty and out-of-range calls.
std::vector<TileSplit> tileSplits(uint32_t tiles);

/// `count` floats drawn uniformly from [-scale, scale) by a generator seeded with `seed`.
std::vector<float> randomFloats(size_t count, unsigned seed, float scale = 2.0f);

/// Fails the test (at most 5 messages) where `got[i]` is not within float32's forward
/// tolerance of TESTING.md, |a-b| <= 1e-4 + 1e-4*|b|, of `expected[i]`.
void expectNear(const std::vector<float> &got, const std::vector<double> &expected,
                const std::string &what);

/// Emits kernel functions with kiln::kernels::emitCpuKernel into `kernels`, links them into
/// one x86-64-v3 image and runs its entries in process.
class CpuKernelTest : public ::testing::Test {
protected:
  CpuKernelTest();

  /// Parses `source` and emits every function's CPU form (in order) into `kernels`.
  mlir::FailureOr<std::vector<kiln::kernels::CpuKernelInfo>> emit(const char *source);
  /// Compiles `kernels` for x86-64-v3 and makes the image executable.
  bool link();
  /// The entry of kernel `index` of the linked image.
  ExecutableImage::Kernel entry(size_t index) const;

  /// Runs `kernel` over `split` with fresh NaN-filled results of `resultFloats` 32-bit words
  /// each (bindings: results, then `arguments`) and a fresh 64-byte aligned scratch buffer of
  /// `info.scratchBytes` filled with garbage per call; returns the results.
  std::vector<std::vector<float>> run(ExecutableImage::Kernel kernel,
                                      const kiln::kernels::CpuKernelInfo &info,
                                      const std::vector<size_t> &resultFloats,
                                      const std::vector<const void *> &arguments,
                                      const TileSplit &split);
  /// run() over [0, tiles) and then over every tileSplits() split, which must give the same
  /// bits; returns the results of [0, tiles).
  std::vector<std::vector<float>> runEverySplit(ExecutableImage::Kernel kernel,
                                                const kiln::kernels::CpuKernelInfo &info,
                                                const std::vector<size_t> &resultFloats,
                                                const std::vector<const void *> &arguments);

  mlir::MLIRContext context;
  mlir::OwningOpRef<mlir::ModuleOp> graphModule, kernels;
  std::optional<CpuImage> image;
  std::unique_ptr<ExecutableImage> executable;
};

} // namespace kiln::targets::testing

#endif // KILN_TESTS_CPU_TARGETS_CPUTESTSUPPORT_H
