//===- FuzzIdx.cpp - libFuzzer target: IDX (MNIST) files -------------------===//
//
// The input is one IDX file, raw or gzip (the reader detects which). It is read
// as an images file and as a labels file (data::readIdxImages/readIdxLabels,
// which take a path, so the bytes go to a temporary file), and loadMnist reads
// it as both halves of a split.
//
//===----------------------------------------------------------------------===//

#include "FuzzInputFile.h"

#include "kiln/runtime/data/Mnist.h"

#include <cstdint>
#include <system_error>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::filesystem::path path = kiln::fuzz::writeInputFile(data, size, "input.idx");
  (void)kiln::data::readIdxImages(path);
  (void)kiln::data::readIdxLabels(path);
  (void)kiln::data::loadMnist(path, path);
  std::error_code ignored;
  std::filesystem::remove(path, ignored);
  return 0;
}
