//===- CpuTestSupport.cpp - Shared helpers of the CPU target tests --------===//
#include "CpuTestSupport.h"

#include "kiln/Dialect/Graph/GraphDialect.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/Parser/Parser.h"

#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

namespace kiln::targets::testing {

mlir::DialectRegistry cpuTestRegistry() {
  mlir::DialectRegistry registry;
  registerCpuKernelDialects(registry);
  kiln::kernels::registerCpuKernelEmitterDialects(registry);
  registry.insert<kiln::graph::GraphDialect>();
  return registry;
}

mlir::OwningOpRef<mlir::ModuleOp> parseModule(mlir::MLIRContext &context, const char *source) {
  return mlir::parseSourceString<mlir::ModuleOp>(source, &context);
}

DiagnosticLog::DiagnosticLog(mlir::MLIRContext &context) : context_(context) {
  handler_ = context.getDiagEngine().registerHandler([this](mlir::Diagnostic &diagnostic) {
    text_ += diagnostic.str() + "\n";
    return mlir::success();
  });
}

DiagnosticLog::~DiagnosticLog() { context_.getDiagEngine().eraseHandler(handler_); }

static std::optional<std::string> findTool(const std::string &tool) {
  for (const std::string &path : {"/usr/bin/" + tool + "-19", "/usr/lib/llvm-19/bin/" + tool})
    if (access(path.c_str(), X_OK) == 0)
      return path;
  return std::nullopt;
}

std::optional<std::string> runLlvmTool(const std::string &tool, const std::string &arguments,
                                       const std::vector<uint8_t> &image) {
  std::optional<std::string> path = findTool(tool);
  if (!path)
    return std::nullopt;
  char name[] = "/tmp/kiln-cpu-image-XXXXXX";
  int fd = mkstemp(name);
  if (fd < 0)
    return std::nullopt;
  bool written = write(fd, image.data(), image.size()) == static_cast<ssize_t>(image.size());
  close(fd);
  std::optional<std::string> output;
  if (written) {
    std::string command = *path + " " + arguments + " " + name + " 2>&1";
    if (FILE *pipe = popen(command.c_str(), "r")) {
      std::string text;
      std::array<char, 4096> chunk;
      while (size_t read = fread(chunk.data(), 1, chunk.size(), pipe))
        text.append(chunk.data(), read);
      int status = pclose(pipe);
      if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        output = std::move(text);
    }
  }
  unlink(name);
  return output;
}

ExecutableImage::ExecutableImage(const std::vector<uint8_t> &bytes) {
  size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  size_ = (bytes.size() + page - 1) / page * page;
  void *memory = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED)
    return;
  std::memcpy(memory, bytes.data(), bytes.size());
  if (mprotect(memory, size_, PROT_READ | PROT_EXEC) != 0) {
    munmap(memory, size_);
    return;
  }
  memory_ = memory;
}

ExecutableImage::~ExecutableImage() {
  if (memory_)
    munmap(memory_, size_);
}

ExecutableImage::Kernel ExecutableImage::entry(uint64_t offset) const {
  if (!memory_ || offset >= size_)
    return nullptr;
  return reinterpret_cast<Kernel>(static_cast<char *>(memory_) + offset);
}

std::vector<TileSplit> tileSplits(uint32_t tiles) {
  std::vector<TileSplit> splits;
  if (tiles > 1)
    splits.push_back({{0, 1}, {1, tiles}});
  TileSplit single, reversed;
  for (uint32_t t = 0; t < tiles; ++t) {
    single.push_back({t, t + 1});
    reversed.push_back({tiles - 1 - t, tiles - t});
  }
  splits.push_back(single);
  splits.push_back(reversed);
  splits.push_back({{tiles / 2, tiles}, {0, tiles / 2}});
  splits.push_back(
      {{0, 0}, {0, tiles / 3}, {tiles / 3, tiles / 3}, {tiles / 3, tiles}, {tiles, tiles + 5}});
  return splits;
}

std::vector<float> randomFloats(size_t count, unsigned seed, float scale) {
  std::mt19937 random(seed);
  std::uniform_real_distribution<float> uniform(-scale, scale);
  std::vector<float> values(count);
  for (float &value : values)
    value = uniform(random);
  return values;
}

void expectNear(const std::vector<float> &got, const std::vector<double> &expected,
                const std::string &what) {
  ASSERT_EQ(got.size(), expected.size()) << what;
  int64_t mismatches = 0;
  for (size_t i = 0; i < got.size(); ++i)
    if (!(std::abs(got[i] - expected[i]) <= 1e-4 + 1e-4 * std::abs(expected[i])) &&
        mismatches++ < 5)
      ADD_FAILURE() << what << "[" << i << "] = " << got[i] << ", expected " << expected[i];
  EXPECT_EQ(mismatches, 0) << what;
}

CpuKernelTest::CpuKernelTest() : context(cpuTestRegistry()) {
  kernels = mlir::ModuleOp::create(mlir::UnknownLoc::get(&context));
}

mlir::FailureOr<std::vector<kiln::kernels::CpuKernelInfo>> CpuKernelTest::emit(const char *source) {
  graphModule = parseModule(context, source);
  if (!graphModule)
    return mlir::failure();
  std::vector<kiln::kernels::CpuKernelInfo> infos;
  for (mlir::func::FuncOp function : graphModule->getOps<mlir::func::FuncOp>()) {
    mlir::FailureOr<kiln::kernels::CpuKernelInfo> info =
        kiln::kernels::emitCpuKernel(function, *kernels, kiln::kernels::TargetConfig::cpuTarget());
    if (mlir::failed(info))
      return mlir::failure();
    infos.push_back(*info);
  }
  return infos;
}

bool CpuKernelTest::link() {
  mlir::FailureOr<CpuImage> compiled = compileCpuImage(*kernels, CpuIsa::X86_64_V3);
  if (mlir::failed(compiled))
    return false;
  image = std::move(*compiled);
  executable = std::make_unique<ExecutableImage>(image->bytes);
  return executable->valid();
}

ExecutableImage::Kernel CpuKernelTest::entry(size_t index) const {
  if (!image || !executable || index >= image->entries.size())
    return nullptr;
  return executable->entry(image->entries[index].offset);
}

std::vector<std::vector<float>> CpuKernelTest::run(ExecutableImage::Kernel kernel,
                                                   const kiln::kernels::CpuKernelInfo &info,
                                                   const std::vector<size_t> &resultFloats,
                                                   const std::vector<const void *> &arguments,
                                                   const TileSplit &split) {
  std::vector<std::vector<float>> results;
  for (size_t size : resultFloats)
    results.emplace_back(size, std::nanf(""));
  std::vector<void *> bindings;
  for (std::vector<float> &result : results)
    bindings.push_back(result.data());
  for (const void *argument : arguments)
    bindings.push_back(const_cast<void *>(argument));
  size_t scratchSize = (info.scratchBytes + 63) / 64 * 64;
  for (auto [begin, end] : split) {
    void *scratch = scratchSize ? std::aligned_alloc(64, scratchSize) : nullptr;
    if (scratch)
      std::memset(scratch, 0xa5, scratchSize); // garbage: kernels may not rely on zeros
    kernel(bindings.data(), begin, end, scratch);
    std::free(scratch);
  }
  return results;
}

std::vector<std::vector<float>> CpuKernelTest::runEverySplit(
    ExecutableImage::Kernel kernel, const kiln::kernels::CpuKernelInfo &info,
    const std::vector<size_t> &resultFloats, const std::vector<const void *> &arguments) {
  std::vector<std::vector<float>> whole =
      run(kernel, info, resultFloats, arguments, {{0, info.tileCount}});
  for (const TileSplit &split : tileSplits(info.tileCount)) {
    std::vector<std::vector<float>> parts = run(kernel, info, resultFloats, arguments, split);
    for (size_t r = 0; r < whole.size(); ++r)
      EXPECT_EQ(std::memcmp(parts[r].data(), whole[r].data(), whole[r].size() * sizeof(float)), 0)
          << "result " << r << " differs for a split into " << split.size() << " calls";
  }
  return whole;
}

} // namespace kiln::targets::testing
