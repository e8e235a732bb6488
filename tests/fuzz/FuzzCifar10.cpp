//===- FuzzCifar10.cpp - libFuzzer target: CIFAR-10 binary files -----------===//
//
// The input is one CIFAR-10 batch file (3073-byte records), raw or gzip;
// data::loadCifar10 takes paths, so the bytes go to a temporary file.
//
//===----------------------------------------------------------------------===//

#include "FuzzInputFile.h"

#include "kiln/runtime/data/Cifar10.h"

#include <cstdint>
#include <system_error>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::filesystem::path path = kiln::fuzz::writeInputFile(data, size, "data_batch.bin");
  std::filesystem::path paths[] = {path};
  (void)kiln::data::loadCifar10(paths, "fuzz");
  std::error_code ignored;
  std::filesystem::remove(path, ignored);
  return 0;
}
