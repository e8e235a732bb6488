//===- SafetensorsTest.cpp - safetensors files: format, errors, crash safety ===//
//
// Round trips, one test per reader error (checked by message), the format details
// PyTorch's safetensors relies on (layout, padding, ordering, a Python reader), and
// crash safety: a writer SIGKILLed mid-write leaves the previous file intact.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/checkpoint/Safetensors.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace kiln::checkpoint {
namespace {

using ::testing::HasSubstr;

std::string scratchDir() {
  std::string dir = std::filesystem::temp_directory_path() /
                    ("kiln-safetensors-test-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  return dir;
}

TensorFile sampleFile() {
  TensorFile file;
  std::vector<float> weight = {1.5f, -2.25f, 3.0f, 0.125f, -0.0f, 1e-30f};
  file.tensors["fc1.weight"] = HostTensor::f32({2, 3}, weight);
  std::vector<double> step = {7.0};
  file.tensors["optimizer.step"] = HostTensor::f64({}, step);
  std::vector<int32_t> ids = {-1, 2, 2147483647};
  file.tensors["a.ids"] = HostTensor::i32({3}, ids);
  file.metadata["kiln.format"] = "kiln-checkpoint-1";
  file.metadata["note"] = "quote \" backslash \\ newline \n";
  return file;
}

std::string encode(const TensorFile &file) {
  auto bytes = encodeSafetensors(file);
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  return bytes.ok() ? *bytes : std::string();
}

/// An encoded file whose header is `header` (unpadded) followed by `data`.
std::string withHeader(const std::string &header, const std::string &data) {
  std::string out(8, '\0');
  uint64_t length = header.size();
  std::memcpy(out.data(), &length, 8);
  return out + header + data;
}

std::string errorOf(std::string_view bytes) {
  auto decoded = decodeSafetensors(bytes, "t.safetensors");
  EXPECT_FALSE(decoded.ok());
  return decoded.ok() ? std::string() : std::string(decoded.status().message());
}

std::string readAll(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST(SafetensorsTest, RoundTripsTensorsAndMetadata) {
  TensorFile file = sampleFile();
  auto decoded = decodeSafetensors(encode(file), "mem");
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->metadata, file.metadata);
  ASSERT_EQ(decoded->tensors.size(), file.tensors.size());
  for (const auto &[name, tensor] : file.tensors) {
    const HostTensor &other = decoded->tensors.at(name);
    EXPECT_EQ(other.dtype(), tensor.dtype()) << name;
    EXPECT_EQ(other.shape(), tensor.shape()) << name;
    EXPECT_TRUE(std::equal(other.bytes().begin(), other.bytes().end(), tensor.bytes().begin(),
                           tensor.bytes().end()))
        << name;
  }
}

TEST(SafetensorsTest, LayoutIsSortedContiguousAndPadded) {
  std::string bytes = encode(sampleFile());
  uint64_t length;
  std::memcpy(&length, bytes.data(), 8);
  EXPECT_EQ(length % 8, 0u);
  std::string header = bytes.substr(8, length);
  // Sorted by name: a.ids (12 bytes), fc1.weight (24), optimizer.step (8).
  EXPECT_THAT(header,
              HasSubstr("\"a.ids\":{\"dtype\":\"I32\",\"shape\":[3],\"data_offsets\":[0,12]}"));
  EXPECT_THAT(
      header,
      HasSubstr("\"fc1.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[12,36]}"));
  EXPECT_THAT(
      header,
      HasSubstr("\"optimizer.step\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[36,44]}"));
  EXPECT_LT(header.find("a.ids"), header.find("fc1.weight"));
  EXPECT_EQ(bytes.size(), 8 + length + 44);
  float first;
  std::memcpy(&first, bytes.data() + 8 + length + 12, 4);
  EXPECT_EQ(first, 1.5f);
}

TEST(SafetensorsTest, RejectsI1Tensors) {
  TensorFile file;
  file.tensors["mask"] = HostTensor(DType::kI1, {2});
  auto bytes = encodeSafetensors(file);
  ASSERT_FALSE(bytes.ok());
  EXPECT_THAT(bytes.status().message(), HasSubstr("tensor 'mask' is i1[2]"));
}

TEST(SafetensorsTest, TruncationAtEveryRegionIsReported) {
  std::string bytes = encode(sampleFile());
  uint64_t length;
  std::memcpy(&length, bytes.data(), 8);
  EXPECT_THAT(errorOf(bytes.substr(0, 0)), HasSubstr("truncated: 0 bytes, too short"));
  EXPECT_THAT(errorOf(bytes.substr(0, 5)), HasSubstr("truncated: 5 bytes, too short"));
  EXPECT_THAT(errorOf(bytes.substr(0, 8)),
              HasSubstr("the header length is " + std::to_string(length) +
                        " bytes, beyond the end of the file (8 bytes in all)"));
  EXPECT_THAT(errorOf(bytes.substr(0, 8 + length / 2)), HasSubstr("beyond the end of the file"));
  // Inside the data: the last tensor's offsets run past the end.
  EXPECT_THAT(errorOf(bytes.substr(0, bytes.size() - 3)),
              HasSubstr("tensor 'optimizer.step': data_offsets [36, 44] are out of range: the "
                        "data section has 41 bytes"));
  // Every prefix fails cleanly.
  for (size_t size = 0; size < bytes.size(); ++size)
    EXPECT_FALSE(decodeSafetensors(bytes.substr(0, size), "t").ok()) << size;
}

TEST(SafetensorsTest, HeaderLengthBeyondTheFile) {
  std::string bytes = encode(sampleFile());
  uint64_t huge = ~uint64_t{0};
  std::memcpy(bytes.data(), &huge, 8);
  EXPECT_THAT(errorOf(bytes), HasSubstr("the header length is 18446744073709551615 bytes, "
                                        "beyond the end of the file"));
}

TEST(SafetensorsTest, FlippedHeaderBytesNeverCrash) {
  std::string bytes = encode(sampleFile());
  uint64_t length;
  std::memcpy(&length, bytes.data(), 8);
  int rejected = 0;
  for (size_t i = 8; i < 8 + length; ++i)
    for (unsigned char flip : {0x01, 0x20, 0x80, 0xff}) {
      std::string corrupt = bytes;
      corrupt[i] = static_cast<char>(corrupt[i] ^ flip);
      auto decoded = decodeSafetensors(corrupt, "t");
      rejected += !decoded.ok();
    }
  // Flips inside metadata values or padding may still decode; structural ones must not.
  EXPECT_GT(rejected, static_cast<int>(length));
}

TEST(SafetensorsTest, BadJsonIsReportedWithItsOffset) {
  EXPECT_THAT(errorOf(withHeader("{\"a\": ", "")),
              HasSubstr("the header is not valid JSON: bad JSON at byte 6: unexpected end of "
                        "input, expected a value"));
  EXPECT_THAT(errorOf(withHeader("[1,2]", "")), HasSubstr("the header is not a JSON object"));
  EXPECT_THAT(errorOf(withHeader("{\"a\":1,\"a\":2}", "")), HasSubstr("duplicate member \"a\""));
  EXPECT_THAT(errorOf(withHeader(std::string(100, '['), "")), HasSubstr("nesting deeper than 64"));
  EXPECT_THAT(errorOf(withHeader("{} x", "")), HasSubstr("trailing characters"));
  EXPECT_THAT(errorOf(withHeader("{\"a\":\"\\x\"}", "")), HasSubstr("unknown escape"));
}

TEST(SafetensorsTest, EntryErrorsNameTheTensor) {
  std::string eight(8, '\0');
  EXPECT_THAT(
      errorOf(withHeader(R"({"w":{"dtype":"BF16","shape":[4],"data_offsets":[0,8]}})", eight)),
      HasSubstr("tensor 'w': unsupported dtype \"BF16\"; expected F32, F64 or I32"));
  EXPECT_THAT(
      errorOf(withHeader(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", eight)),
      HasSubstr("tensor 'w': shape and dtype F32 need 12 bytes but data_offsets span 8"));
  EXPECT_THAT(
      errorOf(withHeader(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", eight)),
      HasSubstr("tensor 'w': shape holds something other than a non-negative integer"));
  EXPECT_THAT(
      errorOf(withHeader(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", eight)),
      HasSubstr("tensor 'w': data_offsets [8, 0] end before they begin"));
  EXPECT_THAT(errorOf(withHeader(R"({"w":{"dtype":"F32","shape":[2]}})", eight)),
              HasSubstr("tensor 'w': needs dtype, shape and data_offsets"));
  EXPECT_THAT(
      errorOf(withHeader(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}})", eight)),
      HasSubstr("tensor 'w': unknown field 'x'"));
  EXPECT_THAT(
      errorOf(withHeader(
          R"({"w":{"dtype":"F32","shape":[4611686018427387904,8],"data_offsets":[0,8]}})", eight)),
      HasSubstr("tensor 'w': shape and dtype F32 need"));
  EXPECT_THAT(errorOf(withHeader(R"({"__metadata__":{"k":1}})", "")),
              HasSubstr("metadata 'k' is not a string"));
}

TEST(SafetensorsTest, OverlapsGapsAndTrailingBytesAreRejected) {
  std::string sixteen(16, '\0');
  EXPECT_THAT(errorOf(withHeader(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                 R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                                 sixteen)),
              HasSubstr("tensors 'a' and 'b' overlap in the data section"));
  EXPECT_THAT(
      errorOf(withHeader(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})", sixteen)),
      HasSubstr("the data section has a gap of 8 bytes before tensor 'a'"));
  EXPECT_THAT(
      errorOf(withHeader(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", sixteen)),
      HasSubstr("the data section has 8 bytes after the last tensor"));
}

TEST(SafetensorsTest, WriteReplacesAtomicallyAndLeavesNoTemporary) {
  std::string dir = scratchDir();
  std::string path = dir + "/c.safetensors";
  ASSERT_TRUE(writeSafetensors(path, sampleFile()).ok());
  TensorFile second = sampleFile();
  second.metadata["kiln.step"] = "2";
  ASSERT_TRUE(writeSafetensors(path, second).ok());
  auto read = readSafetensors(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->metadata.at("kiln.step"), "2");
  int entries = 0;
  for (const auto &entry : std::filesystem::directory_iterator(dir))
    entries += entry.exists();
  EXPECT_EQ(entries, 1);
  std::filesystem::remove_all(dir);
}

TEST(SafetensorsTest, UnwritableDirectoryFailsCleanly) {
  absl::Status status = writeSafetensors("/nonexistent-dir/c.safetensors", sampleFile());
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(status.message(), HasSubstr("cannot create /nonexistent-dir/c.safetensors.tmp."));
  auto read = readSafetensors("/nonexistent-dir/c.safetensors");
  EXPECT_EQ(read.status().code(), absl::StatusCode::kNotFound);
}

// A directory or a device named as a checkpoint is refused by its kind, before a byte is read
// (reading /dev/zero would never end; a directory threw from iostreams).
TEST(SafetensorsTest, ADirectoryOrADeviceIsNotACheckpoint) {
  std::string dir = scratchDir();
  auto directory = readSafetensors(dir);
  EXPECT_EQ(directory.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(directory.status().message(), HasSubstr("it is a directory, not a regular file"));
  auto device = readSafetensors("/dev/zero");
  EXPECT_EQ(device.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(device.status().message(),
              HasSubstr("cannot read checkpoint '/dev/zero': it is a character device"));
  std::filesystem::remove_all(dir);
}

// A header with 200,000 entries decodes (the JSON parser's duplicate check is a hash set, so
// parsing is linear in the entry count; a quadratic check took over a minute here).
TEST(SafetensorsTest, AHeaderWithManyEntriesDecodes) {
  constexpr int kEntries = 200000;
  std::string header = "{";
  for (int i = 0; i < kEntries; ++i)
    header += "\"t" + std::to_string(i) + "\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[" +
              std::to_string(4 * i) + "," + std::to_string(4 * i + 4) + "]}" +
              (i + 1 < kEntries ? "," : "");
  header += "}";
  std::string bytes(8, '\0');
  uint64_t length = header.size();
  std::memcpy(bytes.data(), &length, 8);
  bytes += header;
  bytes += std::string(4 * kEntries, '\0');
  auto file = decodeSafetensors(bytes, "many.safetensors");
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->tensors.size(), static_cast<size_t>(kEntries));
}

TEST(SafetensorsTest, WriterKilledMidWriteLeavesThePreviousCheckpointIntact) {
  std::string dir = scratchDir();
  std::string path = dir + "/c.safetensors";
  ASSERT_TRUE(writeSafetensors(path, sampleFile()).ok());
  std::string before = readAll(path);

  // 16 MiB of weights: the writer reports progress after each 1 MiB chunk.
  TensorFile big = sampleFile();
  big.tensors["big"] = HostTensor(DType::kF32, {4 << 20});
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(ready[0]);
    (void)writeSafetensors(path, big, [&](const std::string &, uint64_t written) {
      if (written >= (uint64_t{2} << 20)) {
        char byte = 1;
        (void)!write(ready[1], &byte, 1);
        pause(); // Killed here, mid-write.
      }
    });
    _exit(0);
  }
  close(ready[1]);
  char byte = 0;
  ASSERT_EQ(read(ready[0], &byte, 1), 1);
  close(ready[0]);
  std::string tmpPath = path + ".tmp." + std::to_string(child);
  EXPECT_TRUE(std::filesystem::exists(tmpPath)) << "the writer did not use " << tmpPath;
  ASSERT_EQ(kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

  EXPECT_EQ(readAll(path), before) << "the killed writer damaged the previous checkpoint";
  auto read = readSafetensors(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->tensors.count("big"), 0u);
  EXPECT_EQ(read->tensors.at("fc1.weight").f32()[1], -2.25f);
  std::filesystem::remove_all(dir);
}

TEST(SafetensorsTest, PyTorchReadsTheWeights) {
  if (!std::filesystem::exists("/usr/bin/python3"))
    GTEST_SKIP() << "/usr/bin/python3 is not installed";
  std::string dir = scratchDir();
  std::string path = dir + "/c.safetensors";
  ASSERT_TRUE(writeSafetensors(path, sampleFile()).ok());
  std::string script = R"(
import json, struct, sys, torch
raw = open(sys.argv[1], 'rb').read()
(n,) = struct.unpack('<Q', raw[:8])
header = json.loads(raw[8:8 + n])
data = bytearray(raw[8 + n:])
meta = header.pop('__metadata__')
assert meta['kiln.format'] == 'kiln-checkpoint-1', meta
types = {'F32': torch.float32, 'F64': torch.float64, 'I32': torch.int32}
t = {}
for name, e in header.items():
    b, end = e['data_offsets']
    t[name] = torch.frombuffer(data[b:end], dtype=types[e['dtype']]).reshape(e['shape']) if end > b else torch.zeros(e['shape'])
assert sorted(t) == ['a.ids', 'fc1.weight', 'optimizer.step'], sorted(t)
assert t['fc1.weight'].shape == (2, 3) and t['fc1.weight'].dtype == torch.float32
assert torch.equal(t['fc1.weight'], torch.tensor([[1.5, -2.25, 3.0], [0.125, -0.0, 1e-30]]))
assert t['optimizer.step'].shape == () and t['optimizer.step'].item() == 7.0
assert t['a.ids'].tolist() == [-1, 2, 2147483647]
print('pytorch-ok')
)";
  std::string scriptPath = dir + "/read.py";
  std::ofstream(scriptPath) << script;
  std::string command = "/usr/bin/python3 " + scriptPath + " " + path + " 2>&1";
  FILE *pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[256];
  while (fgets(buffer, sizeof(buffer), pipe))
    output += buffer;
  int exitStatus = pclose(pipe);
  EXPECT_EQ(exitStatus, 0) << output;
  EXPECT_THAT(output, HasSubstr("pytorch-ok"));
  std::filesystem::remove_all(dir);
}

} // namespace
} // namespace kiln::checkpoint
