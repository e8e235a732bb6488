//===- Init.cpp - Resolving initializers against a shape ------------------===//
//
// Turns fan-based initializers (Xavier, He) into the plain distributions a
// `#graph.init` attribute stores, with PyTorch's formulas so a Kiln model and
// its PyTorch twin start from identically distributed weights.
//
//===----------------------------------------------------------------------===//

#include "kiln/Init.h"

#include "absl/strings/str_cat.h"

#include <cmath>

namespace kiln {

std::optional<Fans> computeFans(llvm::ArrayRef<int64_t> shape) {
  if (shape.size() < 2)
    return std::nullopt;
  int64_t receptiveField = 1;
  for (int64_t size : shape.drop_front(2))
    receptiveField *= size;
  return Fans{shape[1] * receptiveField, shape[0] * receptiveField};
}

std::string Init::describe() const {
  switch (kind_) {
  case Kind::kConstant:
    return absl::StrCat("constant(", first_, ")");
  case Kind::kUniform:
    return absl::StrCat("uniform(", first_, ", ", second_, ")");
  case Kind::kNormal:
    return absl::StrCat("normal(", first_, ", ", second_, ")");
  case Kind::kXavierUniform:
    return absl::StrCat("xavierUniform(gain = ", first_, ")");
  case Kind::kXavierNormal:
    return absl::StrCat("xavierNormal(gain = ", first_, ")");
  case Kind::kHeUniform:
    return absl::StrCat("heUniform(gain = ", first_, ")");
  case Kind::kHeNormal:
    return absl::StrCat("heNormal(gain = ", first_, ")");
  }
  return "unknown initializer";
}

absl::StatusOr<ResolvedInit> Init::resolve(llvm::ArrayRef<int64_t> shape) const {
  if (!std::isfinite(first_) || !std::isfinite(second_))
    return absl::InvalidArgumentError(
        absl::StrCat(describe(), " has a non-finite number; use finite values"));

  bool fanBased = kind_ != Kind::kConstant && kind_ != Kind::kUniform && kind_ != Kind::kNormal;
  Fans fans;
  if (fanBased) {
    std::optional<Fans> computed = computeFans(shape);
    if (!computed)
      return absl::InvalidArgumentError(
          absl::StrCat(describe(),
                       " needs a parameter of rank 2 or more (stored [out, in, ...]) to compute "
                       "its fans; use uniform() or normal() for rank ",
                       shape.size()));
    fans = *computed;
    if (fans.in <= 0 || fans.out <= 0)
      return absl::InvalidArgumentError(
          absl::StrCat(describe(), " cannot scale by the fans of a parameter with no elements"));
  }

  double gain = first_;
  double fanSum = static_cast<double>(fans.in + fans.out);
  double fanIn = static_cast<double>(fans.in);
  ResolvedInit resolved;
  switch (kind_) {
  case Kind::kConstant:
    resolved = {graph::Distribution::constant, first_, 0.0};
    break;
  case Kind::kUniform:
    resolved = {graph::Distribution::uniform, first_, second_};
    break;
  case Kind::kNormal:
    resolved = {graph::Distribution::normal, first_, second_};
    break;
  case Kind::kXavierUniform: {
    double bound = gain * std::sqrt(6.0 / fanSum);
    resolved = {graph::Distribution::uniform, -bound, bound};
    break;
  }
  case Kind::kXavierNormal:
    resolved = {graph::Distribution::normal, 0.0, gain * std::sqrt(2.0 / fanSum)};
    break;
  case Kind::kHeUniform: {
    double bound = gain * std::sqrt(3.0 / fanIn);
    resolved = {graph::Distribution::uniform, -bound, bound};
    break;
  }
  case Kind::kHeNormal:
    resolved = {graph::Distribution::normal, 0.0, gain / std::sqrt(fanIn)};
    break;
  }

  if (resolved.distribution == graph::Distribution::uniform && !(resolved.first < resolved.second))
    return absl::InvalidArgumentError(absl::StrCat(describe(), " gives the empty range [",
                                                   resolved.first, ", ", resolved.second,
                                                   "); it needs low < high (a positive gain)"));
  if (resolved.distribution == graph::Distribution::normal && resolved.second < 0)
    return absl::InvalidArgumentError(absl::StrCat(describe(), " gives the standard deviation ",
                                                   resolved.second, "; it must be >= 0"));
  return resolved;
}

} // namespace kiln
