//===- KernelTargetsTest.cpp - SPIR-V and PTX from gpu.module kernels ----===//
//
// Hand-written kernels in the emitter's ABI go through lowerToSpirv (checked by the
// SPIRV-Tools validator for Vulkan 1.1) and lowerToPtx (checked by ptxas for sm_80 and
// sm_90); malformed kernels must fail with a diagnostic.
//
//===----------------------------------------------------------------------===//
#include "KernelSources.h"

#include "kiln/Targets/KernelTargets.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include "spirv-tools/libspirv.hpp"
#include "gtest/gtest.h"

#include <chrono>
#include <regex>

using namespace mlir;

namespace {

using namespace kiln::targets::sources;

struct KernelCase {
  const char *source;
  const char *name;
  int numMemrefs;
};

const KernelCase kCases[] = {{kElementwise, "ew_math", 3},
                             {kSelectI32, "select_i32", 3},
                             {kReduction, "block_sum", 2},
                             {kTranspose2d, "transpose_64", 2}};

class KernelTargetsTest : public ::testing::TestWithParam<KernelCase> {
protected:
  KernelTargetsTest() : context(makeRegistry()) {}

  static DialectRegistry makeRegistry() {
    DialectRegistry registry;
    kiln::targets::registerKernelDialects(registry);
    return registry;
  }

  /// Parses `source` and returns its gpu.module (held by `parsed`).
  gpu::GPUModuleOp parse(const char *source) {
    parsed = parseSourceString<ModuleOp>(source, &context);
    if (!parsed)
      return nullptr;
    auto modules = parsed->getOps<gpu::GPUModuleOp>();
    return modules.empty() ? nullptr : *modules.begin();
  }

  MLIRContext context;
  OwningOpRef<ModuleOp> parsed;
};

std::string print(Operation *op) {
  std::string text;
  llvm::raw_string_ostream stream(text);
  op->print(stream);
  return text;
}

/// Names of the OpEntryPoint instructions in `words`.
std::vector<std::string> entryPointNames(const std::vector<uint32_t> &words) {
  constexpr uint32_t kOpEntryPoint = 15;
  std::vector<std::string> names;
  for (size_t at = 5; at < words.size();) {
    uint32_t count = words[at] >> 16, opcode = words[at] & 0xffff;
    if (count == 0)
      break;
    if (opcode == kOpEntryPoint && at + 3 < words.size())
      names.emplace_back(reinterpret_cast<const char *>(&words[at + 3]));
    at += count;
  }
  return names;
}

double millisecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

TEST_P(KernelTargetsTest, SpirvValidatesForVulkan11) {
  gpu::GPUModuleOp kernel = parse(GetParam().source);
  ASSERT_TRUE(kernel);
  std::string before = print(kernel);

  auto start = std::chrono::steady_clock::now();
  FailureOr<std::vector<uint32_t>> words = kiln::targets::lowerToSpirv(kernel);
  double ms = millisecondsSince(start);
  ASSERT_TRUE(succeeded(words));
  std::printf("[spirv] %s: %zu words in %.2f ms\n", GetParam().name, words->size(), ms);
  EXPECT_EQ(print(kernel), before) << "lowerToSpirv modified its input";

  spvtools::SpirvTools tools(SPV_ENV_VULKAN_1_1);
  std::string messages;
  tools.SetMessageConsumer([&](spv_message_level_t, const char *, const spv_position_t &,
                               const char *message) { messages += std::string(message) + "\n"; });
  EXPECT_TRUE(tools.Validate(*words)) << messages;
  EXPECT_EQ(entryPointNames(*words), std::vector<std::string>{GetParam().name});
}

TEST_P(KernelTargetsTest, PtxAssemblesForSm80AndSm90) {
  gpu::GPUModuleOp kernel = parse(GetParam().source);
  ASSERT_TRUE(kernel);
  std::string before = print(kernel);
  for (const char *arch : {"sm_80", "sm_90"}) {
    SCOPED_TRACE(arch);
    auto start = std::chrono::steady_clock::now();
    FailureOr<std::string> ptx = kiln::targets::lowerToPtx(kernel, arch);
    double ms = millisecondsSince(start);
    ASSERT_TRUE(succeeded(ptx));
    std::printf("[ptx] %s %s: %zu chars in %.2f ms\n", GetParam().name, arch, ptx->size(), ms);
    EXPECT_EQ(print(kernel), before) << "lowerToPtx modified its input";

    EXPECT_NE(ptx->find(std::string(".entry ") + GetParam().name + "("), std::string::npos) << *ptx;
    EXPECT_NE(ptx->find(std::string(".target ") + arch), std::string::npos);
    std::regex param(std::string("\\.param \\.u64 ") + GetParam().name + "_param_\\d+");
    auto count = std::distance(std::sregex_iterator(ptx->begin(), ptx->end(), param),
                               std::sregex_iterator());
    EXPECT_EQ(count, GetParam().numMemrefs) << *ptx;
    // Math must be inlined from libdevice, never left as an external call.
    EXPECT_EQ(ptx->find("__nv_"), std::string::npos) << *ptx;
    // Accurate math: no approximate sqrt, division or tanh instruction.
    EXPECT_EQ(ptx->find("sqrt.approx"), std::string::npos) << *ptx;
    EXPECT_EQ(ptx->find("div.approx"), std::string::npos) << *ptx;
    EXPECT_EQ(ptx->find("tanh.approx"), std::string::npos) << *ptx;
    EXPECT_EQ(kiln::targets::checkWithPtxas(*ptx, arch), "");
  }
}

INSTANTIATE_TEST_SUITE_P(Kernels, KernelTargetsTest, ::testing::ValuesIn(kCases),
                         [](const auto &info) { return std::string(info.param.name); });

/// Lowers `source` with `lower` and returns the diagnostics it emitted, "" when it
/// succeeded.
class MalformedKernelTest : public KernelTargetsTest {
protected:
  template <typename Lower> std::string failureOf(const char *source, Lower lower) {
    gpu::GPUModuleOp kernel = parse(source);
    if (!kernel)
      return "parse failed";
    std::string diagnostics;
    ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diagnostic) {
      diagnostics += diagnostic.str() + "\n";
      return success();
    });
    if (succeeded(lower(kernel)))
      return "";
    return diagnostics.empty() ? "failed without a diagnostic" : diagnostics;
  }
};

constexpr const char *kF64Argument = R"mlir(
gpu.module @bad {
  gpu.func @f64_kernel(%a: memref<16xf64>) kernel attributes {known_block_size = array<i32: 16, 1, 1>} {
    gpu.return
  }
}
)mlir";

constexpr const char *kUnconvertibleOp = R"mlir(
gpu.module @bad {
  gpu.func @fpowi_kernel(%a: memref<16xf32>) kernel attributes {known_block_size = array<i32: 16, 1, 1>} {
    %tid = gpu.thread_id x
    %x = memref.load %a[%tid] : memref<16xf32>
    %three = arith.constant 3 : i32
    %y = math.fpowi %x, %three : f32, i32
    %z = math.log1p %y : f32
    memref.store %z, %a[%tid] : memref<16xf32>
    gpu.return
  }
}
)mlir";

constexpr const char *kUnconvertibleForNvvm = R"mlir(
gpu.module @bad {
  gpu.func @fpowi_kernel(%a: memref<16xf32>) kernel attributes {known_block_size = array<i32: 16, 1, 1>} {
    %tid = gpu.thread_id x
    %x = memref.load %a[%tid] : memref<16xf32>
    %three = arith.constant 3 : i32
    %y = math.fpowi %x, %three : f32, i32
    memref.store %y, %a[%tid] : memref<16xf32>
    gpu.return
  }
}
)mlir";

constexpr const char *kTwoKernels = R"mlir(
gpu.module @bad {
  gpu.func @one(%a: memref<16xf32>) kernel { gpu.return }
  gpu.func @two(%a: memref<16xf32>) kernel { gpu.return }
}
)mlir";

TEST_F(MalformedKernelTest, F64ArgumentIsRejected) {
  auto spirv = [](gpu::GPUModuleOp k) { return kiln::targets::lowerToSpirv(k); };
  auto ptx = [](gpu::GPUModuleOp k) { return kiln::targets::lowerToPtx(k, "sm_90"); };
  EXPECT_NE(failureOf(kF64Argument, spirv).find("kernel argument 0 has type 'memref<16xf64>'"),
            std::string::npos);
  EXPECT_NE(failureOf(kF64Argument, ptx).find("expected a static 1-D memref of f32 or i32"),
            std::string::npos);
}

TEST_F(MalformedKernelTest, UnconvertibleOpFailsSpirvWithDiagnostic) {
  std::string diagnostics = failureOf(
      kUnconvertibleOp, [](gpu::GPUModuleOp k) { return kiln::targets::lowerToSpirv(k); });
  // (math.erf is expanded by a polynomial before the conversion; math.fpowi has no lowering.)
  EXPECT_NE(diagnostics.find("failed to legalize operation 'math.fpowi'"), std::string::npos)
      << diagnostics;
  EXPECT_NE(diagnostics.find("lowering kernel @fpowi_kernel to SPIR-V failed"), std::string::npos)
      << diagnostics;
}

TEST_F(MalformedKernelTest, UnconvertibleOpFailsPtxWithDiagnostic) {
  std::string diagnostics = failureOf(kUnconvertibleForNvvm, [](gpu::GPUModuleOp k) {
    return kiln::targets::lowerToPtx(k, "sm_90");
  });
  EXPECT_NE(diagnostics.find("math.fpowi"), std::string::npos) << diagnostics;
  EXPECT_NE(diagnostics.find("kernel @fpowi_kernel to PTX for sm_90 failed"), std::string::npos)
      << diagnostics;
}

TEST_F(MalformedKernelTest, TwoKernelsAndUnknownArchAreRejected) {
  auto ptx80 = [](gpu::GPUModuleOp k) { return kiln::targets::lowerToPtx(k, "sm_80"); };
  EXPECT_NE(failureOf(kTwoKernels, ptx80).find("expected exactly one gpu.func kernel"),
            std::string::npos);
  auto ptx70 = [](gpu::GPUModuleOp k) { return kiln::targets::lowerToPtx(k, "sm_70"); };
  EXPECT_NE(failureOf(kElementwise, ptx70).find("unsupported CUDA architecture 'sm_70'"),
            std::string::npos);
}

TEST(PtxasTest, ReportsBadPtx) {
  std::string error = kiln::targets::checkWithPtxas("this is not ptx", "sm_90");
  EXPECT_FALSE(error.empty());
}

} // namespace
