//===- PyTorchExchange.h - Handing a training run to PyTorch ----*- C++ -*-===//
//
// The differential tests against PyTorch (TESTING.md layer 3) write what Kiln
// did (initial parameters, batches, losses, final parameters) as raw
// little-endian arrays plus a manifest.json into a fresh folder, run a script
// of tests/pytorch with Debian's /usr/bin/python3 (which has torch) on it, and
// read its verdict. SplitMix64 makes their data the same on every platform.
// Header-only; the including target defines KILN_SOURCE_DIR_AT_BUILD.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TESTS_UNIT_PYTORCH_PYTORCHEXCHANGE_H
#define KILN_TESTS_UNIT_PYTORCH_PYTORCHEXCHANGE_H

#include "kiln/runtime/HostTensor.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"
#include "gtest/gtest.h"

#include <sys/wait.h>

#include <array>
#include <bit>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace kiln::pytorch_test {

static_assert(std::endian::native == std::endian::little,
              "the files for PyTorch are written as little-endian arrays");

/// The interpreter that has torch (Debian's python3-torch), not the first python3 on PATH.
constexpr const char *kPython = "/usr/bin/python3";

/// SplitMix64: a fully specified generator, so the data are the same on every platform.
class SplitMix64 {
public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, 1) with 24 random bits.
  float uniform() { return static_cast<float>(next() >> 40) * 0x1.0p-24f; }
  /// Uniform in [-1, 1) with 24 random bits.
  float symmetric() { return static_cast<float>(next() >> 40) * 0x1.0p-23f - 1.0f; }

private:
  uint64_t state_;
};

/// A fresh folder of raw arrays plus the manifest describing them.
class Exchange {
public:
  /// `name` prefixes the folder's name ("kiln-mlp-vs-pytorch").
  explicit Exchange(const std::string &name) {
    llvm::SmallString<128> path;
    if (llvm::sys::fs::createUniqueDirectory(name, path))
      ADD_FAILURE() << "cannot create a temporary folder";
    directory_ = std::string(path);
  }

  const std::string &directory() const { return directory_; }

  /// Writes `bytes` to `file`; returns the manifest entry describing it
  /// ({"file", "dtype", "shape"}, read by tests/pytorch/exchange.py).
  std::string write(const std::string &file, const void *bytes, size_t size,
                    const std::string &dtype, const std::vector<int64_t> &shape) {
    std::string path = directory_ + "/" + file;
    FILE *out = std::fopen(path.c_str(), "wb");
    if (!out || std::fwrite(bytes, 1, size, out) != size)
      ADD_FAILURE() << "cannot write " << path;
    if (out)
      std::fclose(out);
    return absl::StrCat(R"({"file": ")", file, R"(", "dtype": ")", dtype, R"(", "shape": [)",
                        absl::StrJoin(shape, ", "), "]}");
  }

  std::string write(const std::string &file, const HostTensor &tensor) {
    return write(file, tensor.bytes().data(), tensor.sizeInBytes(), dtypeName(tensor.dtype()),
                 tensor.shape());
  }

  /// A JSON object of `tensors` by name, each written to `prefix` + its name.
  std::string write(const std::string &prefix, const std::map<std::string, HostTensor> &tensors) {
    std::vector<std::string> entries;
    for (const auto &[name, tensor] : tensors)
      entries.push_back(absl::StrCat("\"", name, "\": ", write(prefix + name, tensor)));
    return absl::StrCat("{", absl::StrJoin(entries, ", "), "}");
  }

  void writeManifest(const std::string &json) {
    std::error_code error;
    llvm::raw_fd_ostream out(directory_ + "/manifest.json", error);
    ASSERT_FALSE(error) << error.message();
    out << json;
  }

  /// Runs tests/pytorch/`script` on the folder: its exit code and everything it printed.
  std::pair<int, std::string> run(const std::string &script) const {
    const char *sourceDir = std::getenv("KILN_SOURCE_DIR");
    std::string path =
        absl::StrCat(sourceDir ? sourceDir : KILN_SOURCE_DIR_AT_BUILD, "/tests/pytorch/", script);
    std::string command = absl::StrCat(kPython, " '", path, "' '", directory_, "' 2>&1");
    FILE *pipe = popen(command.c_str(), "r");
    if (!pipe)
      return {-1, "cannot start " + command};
    std::string output;
    std::array<char, 4096> buffer;
    while (size_t read = std::fread(buffer.data(), 1, buffer.size(), pipe))
      output.append(buffer.data(), read);
    int status = pclose(pipe);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
  }

  void remove() { llvm::sys::fs::remove_directories(directory_); }

private:
  std::string directory_;
};

} // namespace kiln::pytorch_test

#endif // KILN_TESTS_UNIT_PYTORCH_PYTORCHEXCHANGE_H
