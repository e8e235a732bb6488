//===- DataTestFiles.cpp - Dataset files written by the data tests --------===//

#include "DataTestFiles.h"

#include <fstream>

#include <unistd.h>
#include <zlib.h>

namespace kiln::data::testing {
namespace {

void appendBigEndian32(Bytes &bytes, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8)
    bytes.push_back(static_cast<uint8_t>(value >> shift));
}

} // namespace

Bytes withMagic(uint32_t magic, const Bytes &rest) {
  Bytes bytes;
  appendBigEndian32(bytes, magic);
  bytes.insert(bytes.end(), rest.begin(), rest.end());
  return bytes;
}

Bytes idxImages(uint32_t count, uint32_t rows, uint32_t cols, const Bytes &pixels) {
  Bytes bytes;
  appendBigEndian32(bytes, 0x00000803);
  appendBigEndian32(bytes, count);
  appendBigEndian32(bytes, rows);
  appendBigEndian32(bytes, cols);
  bytes.insert(bytes.end(), pixels.begin(), pixels.end());
  return bytes;
}

Bytes idxLabels(const Bytes &labels) {
  Bytes bytes;
  appendBigEndian32(bytes, 0x00000801);
  appendBigEndian32(bytes, static_cast<uint32_t>(labels.size()));
  bytes.insert(bytes.end(), labels.begin(), labels.end());
  return bytes;
}

Bytes patternPixels(uint32_t count, uint32_t rows, uint32_t cols) {
  Bytes pixels;
  for (uint32_t image = 0; image < count; ++image)
    for (uint32_t p = 0; p < rows * cols; ++p)
      pixels.push_back(static_cast<uint8_t>((7 * image + 3 * p) % 256));
  return pixels;
}

Bytes gzip(const Bytes &raw) {
  z_stream stream{};
  // 15 + 16: a gzip wrapper around a default-size window.
  EXPECT_EQ(deflateInit2(&stream, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY),
            Z_OK);
  Bytes out(deflateBound(&stream, raw.size()) + 32);
  stream.next_in = const_cast<Bytef *>(raw.data());
  stream.avail_in = static_cast<uInt>(raw.size());
  stream.next_out = out.data();
  stream.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&stream, Z_FINISH), Z_STREAM_END);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

Bytes cifarRecords(const Bytes &labels) {
  Bytes bytes;
  for (size_t record = 0; record < labels.size(); ++record) {
    bytes.push_back(labels[record]);
    for (int p = 0; p < 3072; ++p)
      bytes.push_back(static_cast<uint8_t>((5 * record + p) % 256));
  }
  return bytes;
}

void writeFile(const std::filesystem::path &path, const Bytes &bytes) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(reinterpret_cast<const char *>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(file.good()) << "could not write " << path;
}

void TempDirTest::SetUp() {
  const ::testing::TestInfo *info = ::testing::UnitTest::GetInstance()->current_test_info();
  dir_ = std::filesystem::temp_directory_path() /
         (std::string("kiln-data-") + std::to_string(getpid()) + "-" + info->test_suite_name() +
          "-" + info->name());
  std::filesystem::remove_all(dir_);
  std::filesystem::create_directories(dir_);
}

void TempDirTest::TearDown() {
  std::error_code error;
  std::filesystem::remove_all(dir_, error);
}

} // namespace kiln::data::testing
