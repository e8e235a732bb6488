//===- CpuImageTest.cpp - Native images from hand-written CPU kernels ----===//
//
// Kernels written directly in the LLVM, func, math and vector dialects go through
// compileCpuImage for every ISA; llvm-readelf confirms there is no relocation and no
// undefined symbol, llvm-objdump that the ISA's FMA instructions are there. A kernel that
// would call libm (arith.remf becomes frem, which only fmodf computes; powf is expanded
// now) and a kernel with the wrong signature are refused with diagnostics naming the kernel
// and the ISA.
//
//===----------------------------------------------------------------------===//
#include "CpuTestSupport.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <regex>
#include <sstream>

using namespace mlir;
using namespace kiln::targets;
using namespace kiln::targets::testing;

namespace {

/// y[0..16) = x * x + x on one 16-lane vector: zmm registers where AVX-512 has them.
constexpr const char *kFma16 = R"mlir(
func.func @fma16(%bindings: !llvm.ptr, %begin: i32, %end: i32, %scratch: !llvm.ptr) {
  %ys = llvm.getelementptr %bindings[0] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
  %xs = llvm.getelementptr %bindings[1] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
  %y = llvm.load %ys : !llvm.ptr -> !llvm.ptr
  %x = llvm.load %xs : !llvm.ptr -> !llvm.ptr
  %v = llvm.load %x {alignment = 4 : i64} : !llvm.ptr -> vector<16xf32>
  %r = math.fma %v, %v, %v : vector<16xf32>
  llvm.store %r, %y {alignment = 4 : i64} : vector<16xf32>, !llvm.ptr
  return
}
)mlir";

/// y[0] = fmod(x[0], x[1]): arith.remf becomes frem, which LLVM lowers to a call of fmodf.
constexpr const char *kFmod = R"mlir(
func.func @fmod_kernel(%bindings: !llvm.ptr, %begin: i32, %end: i32, %scratch: !llvm.ptr) {
  %ys = llvm.getelementptr %bindings[0] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
  %xs = llvm.getelementptr %bindings[1] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
  %y = llvm.load %ys : !llvm.ptr -> !llvm.ptr
  %x = llvm.load %xs : !llvm.ptr -> !llvm.ptr
  %x1 = llvm.getelementptr %x[1] : (!llvm.ptr) -> !llvm.ptr, f32
  %a = llvm.load %x : !llvm.ptr -> f32
  %b = llvm.load %x1 : !llvm.ptr -> f32
  %p = arith.remf %a, %b : f32
  llvm.store %p, %y : f32, !llvm.ptr
  return
}
)mlir";

/// y[0..4096) = 0: O3 would make the loop a memset call unless kernels are freestanding.
constexpr const char *kZeroFill = R"mlir(
func.func @zero_fill(%bindings: !llvm.ptr, %begin: i32, %end: i32, %scratch: !llvm.ptr) {
  %y = llvm.load %bindings : !llvm.ptr -> !llvm.ptr
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant 4096 : index
  scf.for %i = %c0 to %n step %c1 {
    %offset = arith.index_cast %i : index to i64
    %p = llvm.getelementptr %y[%offset] : (!llvm.ptr, i64) -> !llvm.ptr, f32
    llvm.store %zero, %p : f32, !llvm.ptr
  }
  return
}
)mlir";

constexpr const char *kWrongSignature = R"mlir(
func.func @two_arguments(%bindings: !llvm.ptr, %begin: i32) {
  return
}
)mlir";

class CpuImageTest : public ::testing::Test {
protected:
  CpuImageTest() : context(cpuTestRegistry()) {}

  FailureOr<CpuImage> compile(const char *source, CpuIsa isa) {
    module = parseModule(context, source);
    if (!module)
      return failure();
    return compileCpuImage(*module, isa);
  }

  MLIRContext context;
  OwningOpRef<ModuleOp> module;
};

/// The `llvm-readelf --dyn-syms` lines that name an undefined symbol.
std::vector<std::string> undefinedSymbols(const std::string &readelf) {
  std::vector<std::string> undefined;
  std::istringstream lines(readelf);
  std::regex undefinedLine(R"(^\s*\d+:\s+[0-9a-f]+\s+\d+\s+\w+\s+\w+\s+\w+\s+UND\s+(\S+))");
  for (std::string line; std::getline(lines, line);)
    if (std::smatch match; std::regex_search(line, match, undefinedLine))
      undefined.push_back(match[1]);
  return undefined;
}

TEST(CpuUndefinedSymbolParser, FindsNamedUndefinedSymbolsOnly) {
  std::string sample = "     0: 0000000000000000     0 NOTYPE  LOCAL  DEFAULT   UND \n"
                       "     1: 0000000000000000     0 FUNC    GLOBAL DEFAULT   UND powf\n"
                       "     2: 0000000000000290   272 FUNC    GLOBAL DEFAULT     7 k\n";
  EXPECT_EQ(undefinedSymbols(sample), std::vector<std::string>{"powf"});
}

TEST_F(CpuImageTest, EveryIsaImageHasNoRelocationsNorUndefinedSymbols) {
  for (CpuIsa isa : {CpuIsa::X86_64_V3, CpuIsa::X86_64_V4, CpuIsa::AArch64}) {
    SCOPED_TRACE(cpuIsaName(isa).str());
    FailureOr<CpuImage> image = compile(kFma16, isa);
    ASSERT_TRUE(succeeded(image));
    ASSERT_EQ(image->entries.size(), 1u);
    EXPECT_EQ(image->entries[0].kernel, "fma16");

    std::optional<std::string> relocations = runLlvmTool("llvm-readelf", "-r", image->bytes);
    ASSERT_TRUE(relocations) << "llvm-readelf-19 is missing or failed";
    EXPECT_NE(relocations->find("There are no relocations in this file."), std::string::npos)
        << *relocations;
    std::optional<std::string> symbols = runLlvmTool("llvm-readelf", "--dyn-syms", image->bytes);
    ASSERT_TRUE(symbols);
    EXPECT_TRUE(undefinedSymbols(*symbols).empty()) << *symbols;
    // The entry is the symbol's address, which is also its file offset.
    std::ostringstream entry;
    entry << std::hex << image->entries[0].offset;
    EXPECT_TRUE(std::regex_search(
        *symbols,
        std::regex("0*" + entry.str() + R"(\s+\d+\s+FUNC\s+GLOBAL\s+DEFAULT\s+\d+\s+fma16)")))
        << *symbols;
  }
}

TEST_F(CpuImageTest, EachIsaUsesItsVectorFma) {
  struct Expectation {
    CpuIsa isa;
    const char *present;
    const char *absent;
  };
  for (Expectation expectation : {Expectation{CpuIsa::X86_64_V3, "vfmadd[0-9]+ps\\s+%ymm", "zmm"},
                                  Expectation{CpuIsa::X86_64_V4, "vfmadd[0-9]+ps\\s+%zmm", "ymm"},
                                  Expectation{CpuIsa::AArch64, "fmla\\s+v[0-9]+\\.4s", "vfmadd"}}) {
    SCOPED_TRACE(cpuIsaName(expectation.isa).str());
    FailureOr<CpuImage> image = compile(kFma16, expectation.isa);
    ASSERT_TRUE(succeeded(image));
    std::optional<std::string> disassembly = runLlvmTool("llvm-objdump", "-d", image->bytes);
    ASSERT_TRUE(disassembly) << "llvm-objdump-19 is missing or failed";
    EXPECT_TRUE(std::regex_search(*disassembly, std::regex(expectation.present))) << *disassembly;
    EXPECT_FALSE(std::regex_search(*disassembly, std::regex(expectation.absent))) << *disassembly;
  }
}

TEST_F(CpuImageTest, KernelCallingLibmIsRefused) {
  DiagnosticLog log(context);
  FailureOr<CpuImage> image = compile(kFmod, CpuIsa::X86_64_V3);
  EXPECT_TRUE(failed(image));
  EXPECT_NE(log.text().find("CPU kernel @fmod_kernel for x86-64-v3 calls the external symbol "
                            "'fmodf'"),
            std::string::npos)
      << log.text();
}

TEST_F(CpuImageTest, LoopsDoNotBecomeLibraryCalls) {
  DiagnosticLog log(context);
  FailureOr<CpuImage> image = compile(kZeroFill, CpuIsa::X86_64_V3);
  ASSERT_TRUE(succeeded(image)) << log.text();
  std::optional<std::string> disassembly = runLlvmTool("llvm-objdump", "-d", image->bytes);
  ASSERT_TRUE(disassembly);
  EXPECT_EQ(disassembly->find("call"), std::string::npos) << *disassembly;
  ExecutableImage executable(image->bytes);
  ASSERT_TRUE(executable.valid());
  std::vector<float> y(4096, 1.0f);
  void *bindings[] = {y.data()};
  executable.entry(image->entries[0].offset)(bindings, 0, 1, nullptr);
  EXPECT_TRUE(std::all_of(y.begin(), y.end(), [](float value) { return value == 0.0f; }));
}

TEST_F(CpuImageTest, WrongSignatureIsRefused) {
  DiagnosticLog log(context);
  FailureOr<CpuImage> image = compile(kWrongSignature, CpuIsa::AArch64);
  EXPECT_TRUE(failed(image));
  EXPECT_NE(log.text().find("CPU kernel @two_arguments for aarch64 has type"), std::string::npos)
      << log.text();
}

} // namespace
