//===- Init.h - How a parameter's initial values are drawn ------*- C++ -*-===//
//
// `kiln::Init` describes a parameter initializer the way PyTorch's nn.init
// does (zeros, uniform, Xavier/Glorot, He/Kaiming, ...). The builder resolves
// it against the parameter's shape into a plain constant, uniform or normal
// distribution, which the module stores as a `#graph.init` attribute and
// every device draws with Philox.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_INIT_H
#define KILN_INIT_H

#include "kiln/Dialect/Graph/GraphDialect.h"

#include "absl/status/statusor.h"
#include "llvm/ADT/ArrayRef.h"

#include <cstdint>
#include <numbers>
#include <optional>
#include <string>

namespace kiln {

/// The fans PyTorch's `_calculate_fan_in_and_fan_out` computes for a weight
/// stored [out, in, k...]: fanIn = shape[1] * receptive field, fanOut =
/// shape[0] * receptive field, where the receptive field is the product of
/// shape[2:].
struct Fans {
  int64_t in = 0;
  int64_t out = 0;
};

/// The fans of `shape`, or std::nullopt when it has fewer than two dimensions
/// (PyTorch rejects those too).
std::optional<Fans> computeFans(llvm::ArrayRef<int64_t> shape);

/// A resolved initializer: one of the distributions a `#graph.init` holds.
/// `first`/`second` are (value, unused), (low, high) or (mean, stddev).
struct ResolvedInit {
  graph::Distribution distribution = graph::Distribution::constant;
  double first = 0;
  double second = 0;
};

/// An initializer, resolved against a parameter's shape when the parameter
/// is created. Cheap to copy.
class Init {
public:
  enum class Kind {
    kConstant,
    kUniform,
    kNormal,
    kXavierUniform,
    kXavierNormal,
    kHeUniform,
    kHeNormal,
  };

  /// Every element 0.
  static Init zeros() { return constant(0.0); }
  /// Every element 1.
  static Init ones() { return constant(1.0); }
  /// Every element `value`.
  static Init constant(double value) { return Init(Kind::kConstant, value, 0.0); }
  /// U[low, high); resolving fails unless low < high.
  static Init uniform(double low, double high) { return Init(Kind::kUniform, low, high); }
  /// N(mean, stddev^2); resolving fails when stddev < 0.
  static Init normal(double mean, double stddev) { return Init(Kind::kNormal, mean, stddev); }
  /// Xavier/Glorot uniform: U(-b, b), b = gain * sqrt(6 / (fanIn + fanOut)).
  static Init xavierUniform(double gain = 1.0) { return Init(Kind::kXavierUniform, gain, 0.0); }
  /// Xavier/Glorot normal: N(0, s^2), s = gain * sqrt(2 / (fanIn + fanOut)).
  static Init xavierNormal(double gain = 1.0) { return Init(Kind::kXavierNormal, gain, 0.0); }
  /// He/Kaiming uniform in fan_in mode: U(-b, b), b = gain * sqrt(3 / fanIn).
  /// The default gain sqrt(2) suits ReLU.
  static Init heUniform(double gain = std::numbers::sqrt2) {
    return Init(Kind::kHeUniform, gain, 0.0);
  }
  /// He/Kaiming normal in fan_in mode: N(0, s^2), s = gain / sqrt(fanIn).
  static Init heNormal(double gain = std::numbers::sqrt2) {
    return Init(Kind::kHeNormal, gain, 0.0);
  }

  Kind kind() const { return kind_; }

  /// The distribution this initializer gives a parameter of `shape`. Fails
  /// with InvalidArgument when a fan-based initializer meets a shape of rank
  /// below 2, when a fan is 0, or when the distribution is empty (low >= high,
  /// stddev < 0, a non-finite number).
  absl::StatusOr<ResolvedInit> resolve(llvm::ArrayRef<int64_t> shape) const;

  /// "heUniform(gain = 1.41421)", for messages.
  std::string describe() const;

private:
  Init(Kind kind, double first, double second) : kind_(kind), first_(first), second_(second) {}

  Kind kind_;
  double first_;
  double second_;
};

} // namespace kiln

#endif // KILN_INIT_H
