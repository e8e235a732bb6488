//===- FuzzInputFile.h - A temporary file holding the fuzzer's input -*- C++ -*-===//
//
// The dataset readers take paths, so the data fuzz targets write each input
// to a per-process file (under $TMPDIR, /tmp by default) and read it back.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TESTS_FUZZ_FUZZINPUTFILE_H
#define KILN_TESTS_FUZZ_FUZZINPUTFILE_H

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <unistd.h>

namespace kiln::fuzz {

/// Writes `data` to this process's file `<tmp>/kiln-fuzz-<pid>-<suffix>` and returns its path.
/// Aborts if the file cannot be written (that is the harness failing, not the reader).
inline std::filesystem::path writeInputFile(const uint8_t *data, size_t size,
                                            const std::string &suffix) {
  const char *tmp = std::getenv("TMPDIR");
  std::filesystem::path path = std::filesystem::path(tmp && *tmp ? tmp : "/tmp") /
                               ("kiln-fuzz-" + std::to_string(getpid()) + "-" + suffix);
  std::FILE *file = std::fopen(path.c_str(), "wb");
  if (!file || (size && std::fwrite(data, 1, size, file) != size) || std::fclose(file) != 0)
    std::abort();
  return path;
}

} // namespace kiln::fuzz

#endif // KILN_TESTS_FUZZ_FUZZINPUTFILE_H
