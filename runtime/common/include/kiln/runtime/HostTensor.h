//===- HostTensor.h - A dense tensor in host memory -------------*- C++ -*-===//
//
// The currency between the host and every Kiln device: batches going in,
// losses, outputs, parameters and checkpoints coming out. Row-major, owned,
// no MLIR dependency.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_HOSTTENSOR_H
#define KILN_RUNTIME_HOSTTENSOR_H

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace kiln {

/// Element types a host tensor may hold. kF64 is for the reference device's
/// float64 mode; kI1 masks are stored one byte per element.
enum class DType { kF32, kF64, kI32, kI1 };

/// Bytes per element of `dtype`.
size_t dtypeSize(DType dtype);
/// "f32", "f64", "i32", "i1".
const char *dtypeName(DType dtype);

/// A dense, row-major tensor owned by the host.
class HostTensor {
public:
  HostTensor() = default;
  /// A zero-filled tensor of `shape`.
  HostTensor(DType dtype, std::vector<int64_t> shape);

  static HostTensor f32(std::vector<int64_t> shape, std::span<const float> values);
  static HostTensor f64(std::vector<int64_t> shape, std::span<const double> values);
  static HostTensor i32(std::vector<int64_t> shape, std::span<const int32_t> values);
  /// A rank-0 f32 tensor.
  static HostTensor scalar(float value);

  DType dtype() const { return dtype_; }
  const std::vector<int64_t> &shape() const { return shape_; }
  int64_t numElements() const;
  size_t sizeInBytes() const { return bytes_.size(); }

  std::span<float> f32();
  std::span<const float> f32() const;
  std::span<double> f64();
  std::span<const double> f64() const;
  std::span<int32_t> i32();
  std::span<const int32_t> i32() const;
  std::span<uint8_t> bytes() { return bytes_; }
  std::span<const uint8_t> bytes() const { return bytes_; }

  /// Element `i` (row-major) widened to double, for f32, f64, i32 or i1.
  double at(int64_t i) const;
  /// This tensor's values converted to `dtype` (f32 <-> f64 only; others copy).
  HostTensor convertTo(DType dtype) const;
  /// "f32[128x784]", for messages.
  std::string describe() const;

private:
  DType dtype_ = DType::kF32;
  std::vector<int64_t> shape_;
  std::vector<uint8_t> bytes_;
};

} // namespace kiln

#endif // KILN_RUNTIME_HOSTTENSOR_H
