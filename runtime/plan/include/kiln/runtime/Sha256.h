//===- Sha256.h - SHA-256 digests (FIPS 180-4) ------------------*- C++ -*-===//
//
// A small, self-contained SHA-256 used to checksum plan payloads, so that a
// corrupted `.kplan` file is rejected before protobuf parses it. No OpenSSL.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_SHA256_H
#define KILN_RUNTIME_SHA256_H

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace kiln {

using Sha256Digest = std::array<uint8_t, 32>;

/// Incremental SHA-256: `update` any number of times, then `finish` once.
class Sha256 {
public:
  Sha256();
  void update(std::span<const uint8_t> bytes);
  void update(std::string_view bytes);
  /// The digest of everything passed to `update`; the object must not be used afterwards.
  Sha256Digest finish();

private:
  void compressBlock(const uint8_t *block);

  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> pending_{};
  size_t pendingSize_ = 0;
  uint64_t totalBytes_ = 0;
};

/// The SHA-256 digest of `bytes`.
Sha256Digest sha256(std::string_view bytes);
/// Lower-case hex of `digest` (64 characters).
std::string toHex(const Sha256Digest &digest);

} // namespace kiln

#endif // KILN_RUNTIME_SHA256_H
