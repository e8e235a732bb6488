//===- CpuImageLoaderTest.cpp - Compiler images through the CPU runtime's loader ---===//
//
// The compiler's x86-64-v3 image of y = tanh(x) * w + b, wrapped in a plan CpuImage with its
// SHA-256, is accepted by runtime/cpu's CodeImage (which maps segments at their addresses and
// checks relocations, needed libraries, TLS, initialisers and entries) and its entry computes
// the same bytes as the flat copy (CpuTestSupport's ExecutableImage) runs.
//
//===----------------------------------------------------------------------===//
#include "CpuTestSupport.h"

#include "kiln/runtime/Sha256.h"
#include "kiln/runtime/cpu/CodeImage.h"

#include "mlir/IR/BuiltinOps.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>

using namespace mlir;
using namespace kiln::targets;
using namespace kiln::targets::testing;

namespace {

constexpr int64_t kElements = 1003;

constexpr const char *kTanhAffine = R"mlir(
func.func private @tanh_affine(%x: tensor<1003xf32>, %w: tensor<1003xf32>, %b: tensor<1003xf32>) -> tensor<1003xf32>
    attributes {graph.kernel = #graph.kernel<pointwise, layers = ["layer"], ops = 3>} {
  %t = graph.tanh %x : tensor<1003xf32>
  %m = graph.mul %t, %w : tensor<1003xf32>
  %y = graph.add %m, %b : tensor<1003xf32>
  return %y : tensor<1003xf32>
}
)mlir";

TEST(CpuImageLoaderTest, RuntimeLoaderRunsTheCompilersImage) {
  MLIRContext context(cpuTestRegistry());
  OwningOpRef<ModuleOp> graphModule = parseModule(context, kTanhAffine);
  ASSERT_TRUE(graphModule);
  OwningOpRef<ModuleOp> kernels = ModuleOp::create(UnknownLoc::get(&context));
  FailureOr<kiln::kernels::CpuKernelInfo> info =
      kiln::kernels::emitCpuKernel(*graphModule->getOps<func::FuncOp>().begin(), *kernels,
                                   kiln::kernels::TargetConfig::cpuTarget());
  ASSERT_TRUE(succeeded(info));
  FailureOr<CpuImage> image = compileCpuImage(*kernels, CpuIsa::X86_64_V3);
  ASSERT_TRUE(succeeded(image));

  kiln::plan::CpuImage planImage;
  planImage.set_isa(cpuIsaName(image->isa).str());
  std::string code(image->bytes.begin(), image->bytes.end());
  planImage.set_code(code);
  kiln::Sha256Digest digest = kiln::sha256(code);
  planImage.set_sha256(std::string(digest.begin(), digest.end()));
  auto loaded = kiln::cpu::CodeImage::load(planImage);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  auto entry = (*loaded)->entry(image->entries[0].offset, "tanh_affine");
  ASSERT_TRUE(entry.ok()) << entry.status();

  std::vector<float> x(kElements), w(kElements), b(kElements);
  for (int64_t i = 0; i < kElements; ++i) {
    x[i] = std::sin(0.37f * i) * 3.0f;
    w[i] = 0.5f + 0.001f * i;
    b[i] = -0.25f;
  }
  auto run = [&](auto kernel) {
    std::vector<float> y(kElements, std::nanf(""));
    void *bindings[] = {y.data(), x.data(), w.data(), b.data()};
    kernel(bindings, 0, info->tileCount, nullptr);
    return y;
  };
  std::vector<float> fromLoader = run(*entry);
  ExecutableImage flat(image->bytes);
  ASSERT_TRUE(flat.valid());
  std::vector<float> fromFlatCopy = run(flat.entry(image->entries[0].offset));
  EXPECT_EQ(std::memcmp(fromLoader.data(), fromFlatCopy.data(), kElements * sizeof(float)), 0);
  for (int64_t i = 0; i < kElements; ++i)
    ASSERT_NEAR(fromLoader[i], std::tanh(static_cast<double>(x[i])) * w[i] + b[i], 1e-5) << i;
}

} // namespace
