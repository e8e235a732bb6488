//===- Layers.cpp - nn.Module-style building blocks -----------------------===//
//
// Naming, scoping and the forward functions of the built-in layers.
//
//===----------------------------------------------------------------------===//

#include "kiln/Layers.h"

#include "absl/strings/str_cat.h"

#include <cmath>

namespace kiln {
namespace {

std::string describe(mlir::Type type) {
  std::string text;
  llvm::raw_string_ostream os(text);
  type.print(os);
  return text;
}

/// PyTorch's nn.Linear bound 1/sqrt(in); 0 for a layer without inputs.
double linearBound(int64_t inFeatures) {
  return inFeatures > 0 ? 1.0 / std::sqrt(static_cast<double>(inFeatures)) : 0.0;
}

} // namespace

Tensor Layer::operator()(Tensor input, SourceLocation loc) {
  Builder *builder = input.builder();
  if (!builder)
    return Tensor();
  if (!builder->ready(loc))
    return builder->poison();
  if (!input.ok()) {
    builder->reportError("a layer's input is an empty Tensor; use Tensors the Builder made", loc);
    return builder->poison();
  }
  if (builder_ && builder_ != builder) {
    builder->reportError(absl::StrCat("layer '", name_,
                                      "' was first applied with another Builder; create a new "
                                      "layer for each model"),
                         loc);
    return builder->poison();
  }
  builder_ = builder;
  if (name_.empty() && !namePrefix_.empty())
    name_ = builder->uniqueScopeName(namePrefix_);
  if (name_.empty())
    return forward(input, loc);
  Builder::NameScope scope(*builder, name_);
  return forward(input, loc);
}

Linear::Linear(int64_t inFeatures, int64_t outFeatures, bool bias)
    : Layer("fc"), inFeatures_(inFeatures), outFeatures_(outFeatures), hasBias_(bias),
      weightInit_(Init::uniform(-linearBound(inFeatures), linearBound(inFeatures))),
      biasInit_(Init::uniform(-linearBound(inFeatures), linearBound(inFeatures))) {}

Tensor Linear::forward(Tensor input, SourceLocation loc) {
  Builder &b = *input.builder();
  if (inFeatures_ <= 0 || outFeatures_ <= 0) {
    b.reportError(
        absl::StrCat("Linear(", inFeatures_, ", ", outFeatures_, ") needs positive feature counts"),
        loc);
    return b.poison();
  }
  if (input.rank() < 1 || input.dim(-1) != inFeatures_) {
    b.reportError(absl::StrCat("Linear expects inputs [..., ", inFeatures_, "] but got ",
                               describe(input.type())),
                  loc);
    return b.poison();
  }
  if (!weight_.ok()) {
    weight_ = b.parameter("weight", {outFeatures_, inFeatures_}, weightInit_, loc);
    if (hasBias_)
      bias_ = b.parameter("bias", {outFeatures_}, biasInit_, loc);
  }

  llvm::SmallVector<int64_t> outShape(input.shape());
  outShape.back() = outFeatures_;
  Tensor rows = input.rank() == 2 ? input : reshape(input, {-1, inFeatures_}, loc);
  Tensor y = matmul(rows, weight_, {.transposeRhs = true}, loc);
  if (hasBias_)
    y = add(y, bias_, loc);
  return input.rank() == 2 ? y : reshape(y, outShape, loc);
}

Tensor Sequential::forward(Tensor input, SourceLocation loc) {
  Tensor x = input;
  for (const std::unique_ptr<Layer> &layer : layers_)
    x = (*layer)(x, loc);
  return x;
}

} // namespace kiln
