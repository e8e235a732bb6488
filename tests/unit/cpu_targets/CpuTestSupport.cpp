//===- CpuTestSupport.cpp - Shared helpers of the CPU target tests --------===//
#include "CpuTestSupport.h"

#include "kiln/Dialect/Graph/GraphDialect.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/Parser/Parser.h"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

namespace kiln::targets::testing {

mlir::DialectRegistry cpuTestRegistry() {
  mlir::DialectRegistry registry;
  registerCpuKernelDialects(registry);
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

} // namespace kiln::targets::testing
