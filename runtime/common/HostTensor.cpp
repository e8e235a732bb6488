//===- HostTensor.cpp - A dense tensor in host memory ---------------------===//

#include "kiln/runtime/HostTensor.h"

#include <cassert>
#include <cstring>
#include <functional>
#include <numeric>

namespace kiln {

size_t dtypeSize(DType dtype) {
  switch (dtype) {
  case DType::kF32:
  case DType::kI32:
    return 4;
  case DType::kF64:
    return 8;
  case DType::kI1:
    return 1;
  }
  return 0;
}

const char *dtypeName(DType dtype) {
  switch (dtype) {
  case DType::kF32:
    return "f32";
  case DType::kF64:
    return "f64";
  case DType::kI32:
    return "i32";
  case DType::kI1:
    return "i1";
  }
  return "?";
}

static int64_t product(const std::vector<int64_t> &shape) {
  return std::accumulate(shape.begin(), shape.end(), int64_t{1}, std::multiplies<>());
}

HostTensor::HostTensor(DType dtype, std::vector<int64_t> shape)
    : dtype_(dtype), shape_(std::move(shape)), bytes_(product(shape_) * dtypeSize(dtype)) {}

template <typename T>
static HostTensor fromValues(DType dtype, std::vector<int64_t> shape, std::span<const T> values) {
  HostTensor tensor(dtype, std::move(shape));
  assert(static_cast<int64_t>(values.size()) == tensor.numElements() && "value count mismatch");
  std::memcpy(tensor.bytes().data(), values.data(), tensor.sizeInBytes());
  return tensor;
}

HostTensor HostTensor::f32(std::vector<int64_t> shape, std::span<const float> values) {
  return fromValues(DType::kF32, std::move(shape), values);
}
HostTensor HostTensor::f64(std::vector<int64_t> shape, std::span<const double> values) {
  return fromValues(DType::kF64, std::move(shape), values);
}
HostTensor HostTensor::i32(std::vector<int64_t> shape, std::span<const int32_t> values) {
  return fromValues(DType::kI32, std::move(shape), values);
}
HostTensor HostTensor::scalar(float value) { return f32({}, std::span<const float>(&value, 1)); }

int64_t HostTensor::numElements() const { return product(shape_); }

template <typename T> static std::span<T> view(std::vector<uint8_t> &bytes) {
  return {reinterpret_cast<T *>(bytes.data()), bytes.size() / sizeof(T)};
}
template <typename T> static std::span<const T> view(const std::vector<uint8_t> &bytes) {
  return {reinterpret_cast<const T *>(bytes.data()), bytes.size() / sizeof(T)};
}

std::span<float> HostTensor::f32() {
  assert(dtype_ == DType::kF32);
  return view<float>(bytes_);
}
std::span<const float> HostTensor::f32() const {
  assert(dtype_ == DType::kF32);
  return view<float>(bytes_);
}
std::span<double> HostTensor::f64() {
  assert(dtype_ == DType::kF64);
  return view<double>(bytes_);
}
std::span<const double> HostTensor::f64() const {
  assert(dtype_ == DType::kF64);
  return view<double>(bytes_);
}
std::span<int32_t> HostTensor::i32() {
  assert(dtype_ == DType::kI32);
  return view<int32_t>(bytes_);
}
std::span<const int32_t> HostTensor::i32() const {
  assert(dtype_ == DType::kI32);
  return view<int32_t>(bytes_);
}

double HostTensor::at(int64_t i) const {
  switch (dtype_) {
  case DType::kF32:
    return f32()[i];
  case DType::kF64:
    return f64()[i];
  case DType::kI32:
    return i32()[i];
  case DType::kI1:
    return bytes_[i];
  }
  return 0;
}

HostTensor HostTensor::convertTo(DType dtype) const {
  if (dtype == dtype_)
    return *this;
  HostTensor out(dtype, shape_);
  int64_t n = numElements();
  if (dtype_ == DType::kF32 && dtype == DType::kF64) {
    for (int64_t i = 0; i < n; ++i)
      out.f64()[i] = f32()[i];
  } else if (dtype_ == DType::kF64 && dtype == DType::kF32) {
    for (int64_t i = 0; i < n; ++i)
      out.f32()[i] = static_cast<float>(f64()[i]);
  } else {
    return *this;
  }
  return out;
}

std::string HostTensor::describe() const {
  std::string out = dtypeName(dtype_);
  out += "[";
  for (size_t i = 0; i < shape_.size(); ++i)
    out += (i ? "x" : "") + std::to_string(shape_[i]);
  return out + "]";
}

} // namespace kiln
