//===- Safetensors.h - Crash-safe safetensors files -------------*- C++ -*-===//
//
// Reads and writes the safetensors format (the one PyTorch users load with
// `safetensors.torch.load_file`):
//
//   u64 little-endian N | N bytes of JSON header | raw little-endian tensor data
//
// The header maps each tensor name to {"dtype": "F32"|"F64"|"I32", "shape": [...],
// "data_offsets": [begin, end]} (offsets relative to the data section) plus an
// optional "__metadata__" object of string -> string. Kiln writes tensors sorted
// by name with contiguous offsets and pads the header with spaces to a multiple
// of 8 bytes. Writing goes to `PATH.tmp.<pid>`, is fsynced, renamed over PATH and
// the directory fsynced, so a crash or a full disk never damages an existing
// file at PATH. Reading validates every field and never reads out of bounds.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CHECKPOINT_SAFETENSORS_H
#define KILN_RUNTIME_CHECKPOINT_SAFETENSORS_H

#include "kiln/runtime/HostTensor.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::checkpoint {

/// The contents of one safetensors file.
struct TensorFile {
  /// Tensors by name; f32, f64 and i32 only (safetensors F32, F64, I32).
  std::map<std::string, HostTensor, std::less<>> tensors;
  /// The "__metadata__" object.
  std::map<std::string, std::string, std::less<>> metadata;
};

/// Headers larger than this are rejected when reading (as the safetensors library does).
inline constexpr uint64_t kMaxHeaderSize = 100 * 1024 * 1024;
/// The largest checkpoint readSafetensors reads (64 GiB): far beyond the models Kiln trains,
/// small enough that a wrong path cannot make it allocate without bound.
inline constexpr uint64_t kMaxSafetensorsFileBytes = uint64_t{64} << 30;

/// The complete file contents for `file`. Fails with InvalidArgument for an i1 tensor or an
/// empty tensor name.
absl::StatusOr<std::string> encodeSafetensors(const TensorFile &file);

/// Decodes safetensors bytes. `origin` names them in messages (usually the path). Every
/// failure is DataLoss or InvalidArgument naming `origin` and what is wrong: truncated
/// input, a header length beyond the file, malformed JSON, an unknown dtype, a shape whose
/// size does not match its offsets, offsets out of range, overlapping or leaving gaps,
/// non-string metadata.
absl::StatusOr<TensorFile> decodeSafetensors(std::string_view bytes, std::string_view origin);

/// Test hook for writeFileAtomically: called after each chunk has been written to the
/// temporary file, with the temporary file's path and the bytes written so far.
using WriteProgressHook = std::function<void(const std::string &tmpPath, uint64_t written)>;

/// Writes the concatenation of `pieces` to `path` crash-safely: into `path.tmp.<pid>`, fsync,
/// rename over `path`, fsync of the directory. On failure (disk full, permissions) the
/// temporary file is removed, `path` is left as it was, and the Status (Unavailable) names
/// the path and the OS error.
absl::Status writeFileAtomically(const std::string &path,
                                 const std::vector<std::span<const uint8_t>> &pieces,
                                 const WriteProgressHook &onProgress = nullptr);

/// Encodes `file` and writes it with writeFileAtomically.
absl::Status writeSafetensors(const std::string &path, const TensorFile &file,
                              const WriteProgressHook &onProgress = nullptr);

/// Reads `path` and decodes it; NotFound if it cannot be opened.
absl::StatusOr<TensorFile> readSafetensors(const std::string &path);

} // namespace kiln::checkpoint

#endif // KILN_RUNTIME_CHECKPOINT_SAFETENSORS_H
