//===- DataTestFiles.h - Dataset files written by the data tests -*- C++ -*-===//
//
// The data tests generate their own small IDX and CIFAR-10 files, raw and
// gzip-compressed, in a fresh temporary directory per test.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TESTS_UNIT_DATA_DATATESTFILES_H
#define KILN_TESTS_UNIT_DATA_DATATESTFILES_H

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <vector>

namespace kiln::data::testing {

using Bytes = std::vector<uint8_t>;

/// An IDX images file: magic 0x00000803, then count, rows, cols (big-endian), then `pixels`.
Bytes idxImages(uint32_t count, uint32_t rows, uint32_t cols, const Bytes &pixels);
/// An IDX labels file: magic 0x00000801, count, then `labels`.
Bytes idxLabels(const Bytes &labels);
/// Any 4-byte big-endian magic followed by `rest`.
Bytes withMagic(uint32_t magic, const Bytes &rest);
/// `count` images of rows x cols with pixel (image i, byte p) = (7 i + 3 p) % 256.
Bytes patternPixels(uint32_t count, uint32_t rows, uint32_t cols);
/// `raw` as a single gzip member (zlib deflate, gzip wrapper).
Bytes gzip(const Bytes &raw);
/// CIFAR-10 records: record r has label labels[r] and pixel p = (5 r + p) % 256.
Bytes cifarRecords(const Bytes &labels);

void writeFile(const std::filesystem::path &path, const Bytes &bytes);

/// A test fixture with an empty directory `dir()` that is removed after the test.
class TempDirTest : public ::testing::Test {
protected:
  void SetUp() override;
  void TearDown() override;
  const std::filesystem::path &dir() const { return dir_; }

private:
  std::filesystem::path dir_;
};

} // namespace kiln::data::testing

#endif // KILN_TESTS_UNIT_DATA_DATATESTFILES_H
