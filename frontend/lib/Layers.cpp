//===- Layers.cpp - nn.Module-style building blocks -----------------------===//
//
// Naming, scoping and the forward functions of the built-in layers.
//
//===----------------------------------------------------------------------===//

#include "kiln/Layers.h"

#include "OpSupport.h"

#include "absl/strings/str_cat.h"

#include <cmath>

namespace kiln {
namespace {

/// PyTorch's nn.Linear bound 1/sqrt(in); 0 for a layer without inputs.
double linearBound(int64_t inFeatures) {
  return inFeatures > 0 ? 1.0 / std::sqrt(static_cast<double>(inFeatures)) : 0.0;
}

/// PyTorch's nn.Conv2d bound 1/sqrt(fanIn) with fanIn = C / groups * KH * KW; 0 when the
/// configuration has no inputs (the forward function reports it).
double convBound(int64_t inChannels, std::array<int64_t, 2> kernel, int64_t groups) {
  if (groups <= 0 || inChannels <= 0 || inChannels % groups != 0)
    return 0.0;
  return linearBound(inChannels / groups * kernel[0] * kernel[1]);
}

std::string hxw(std::array<int64_t, 2> values) { return absl::StrCat(values[0], "x", values[1]); }

/// Records "<layer> expects inputs [N, C, H, W] but got <type>" unless `input` has rank 4.
bool checkImages(Builder &b, const char *layer, Tensor input, SourceLocation loc) {
  if (input.rank() == 4)
    return true;
  b.reportError(
      absl::StrCat(layer, " expects inputs [N, C, H, W] but got ", describe(input.type())), loc);
  return false;
}

/// Records an error unless `options` is a window that fits the (padded) input.
bool checkPool(Builder &b, const char *layer, Tensor input, const Pool2dOptions &options,
               SourceLocation loc) {
  if (!checkImages(b, layer, input, loc))
    return false;
  std::array<int64_t, 2> stride = options.stride.value_or(options.kernel);
  for (int axis = 0; axis < 2; ++axis) {
    if (options.kernel[axis] <= 0 || stride[axis] <= 0 || options.padding[axis] < 0) {
      b.reportError(absl::StrCat(layer,
                                 " needs a positive kernel and stride and a padding >= 0, "
                                 "got kernel ",
                                 hxw(options.kernel), ", stride ", hxw(stride), ", padding ",
                                 hxw(options.padding)),
                    loc);
      return false;
    }
    int64_t extent = input.dim(2 + axis) + 2 * options.padding[axis];
    if (options.kernel[axis] > extent) {
      b.reportError(absl::StrCat(layer, "'s ", hxw(options.kernel),
                                 " window does not fit the input's ", input.dim(2), "x",
                                 input.dim(3), " plane padded by ", hxw(options.padding)),
                    loc);
      return false;
    }
  }
  return true;
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

Conv2d::Conv2d(int64_t inChannels, int64_t outChannels, std::array<int64_t, 2> kernel,
               Conv2dOptions options, bool bias)
    : Layer("conv"), inChannels_(inChannels), outChannels_(outChannels), kernel_(kernel),
      options_(options), hasBias_(bias),
      weightInit_(Init::uniform(-convBound(inChannels, kernel, options.groups),
                                convBound(inChannels, kernel, options.groups))),
      biasInit_(Init::uniform(-convBound(inChannels, kernel, options.groups),
                              convBound(inChannels, kernel, options.groups))) {}

Tensor Conv2d::forward(Tensor input, SourceLocation loc) {
  Builder &b = *input.builder();
  std::string config = absl::StrCat("Conv2d(", inChannels_, ", ", outChannels_, ", ", hxw(kernel_),
                                    ", groups ", options_.groups, ")");
  if (inChannels_ <= 0 || outChannels_ <= 0 || kernel_[0] <= 0 || kernel_[1] <= 0 ||
      options_.groups <= 0) {
    b.reportError(absl::StrCat(config, " needs positive channel counts, kernel and groups"), loc);
    return b.poison();
  }
  if (inChannels_ % options_.groups != 0 || outChannels_ % options_.groups != 0) {
    b.reportError(absl::StrCat(config, ": groups must divide both channel counts"), loc);
    return b.poison();
  }
  for (int axis = 0; axis < 2; ++axis) {
    if (options_.stride[axis] <= 0 || options_.dilation[axis] <= 0 || options_.padding[axis] < 0) {
      b.reportError(absl::StrCat(config,
                                 " needs a positive stride and dilation and a padding >= 0, "
                                 "got stride ",
                                 hxw(options_.stride), ", dilation ", hxw(options_.dilation),
                                 ", padding ", hxw(options_.padding)),
                    loc);
      return b.poison();
    }
  }
  if (!checkImages(b, "Conv2d", input, loc))
    return b.poison();
  if (input.dim(1) != inChannels_) {
    b.reportError(absl::StrCat("Conv2d expects ", inChannels_, " input channels but the input has ",
                               input.dim(1), " (", describe(input.type()), ")"),
                  loc);
    return b.poison();
  }
  for (int axis = 0; axis < 2; ++axis) {
    int64_t span = options_.dilation[axis] * (kernel_[axis] - 1) + 1;
    if (span > input.dim(2 + axis) + 2 * options_.padding[axis]) {
      b.reportError(absl::StrCat("Conv2d's ", hxw(kernel_), " kernel (dilation ",
                                 hxw(options_.dilation), ") does not fit the input's ",
                                 input.dim(2), "x", input.dim(3), " plane padded by ",
                                 hxw(options_.padding)),
                    loc);
      return b.poison();
    }
  }
  if (!weight_.ok()) {
    weight_ =
        b.parameter("weight", {outChannels_, inChannels_ / options_.groups, kernel_[0], kernel_[1]},
                    weightInit_, loc);
    if (hasBias_)
      bias_ = b.parameter("bias", {outChannels_}, biasInit_, loc);
  }
  Tensor y = conv2d(input, weight_, options_, loc);
  if (!hasBias_ || !y.ok())
    return y;
  // The bias runs along the channel axis (1), which numpy-style broadcasting would not pick.
  return add(y, broadcastInDim(bias_, {1}, y.shape(), loc), loc);
}

Tensor BatchNorm2d::forward(Tensor input, SourceLocation loc) {
  Builder &b = *input.builder();
  if (channels_ <= 0) {
    b.reportError(absl::StrCat("BatchNorm2d(", channels_, ") needs a positive channel count"), loc);
    return b.poison();
  }
  if (!checkImages(b, "BatchNorm2d", input, loc))
    return b.poison();
  if (input.dim(1) != channels_) {
    b.reportError(absl::StrCat("BatchNorm2d expects ", channels_, " channels but the input has ",
                               input.dim(1), " (", describe(input.type()), ")"),
                  loc);
    return b.poison();
  }
  if (!weight_.ok()) {
    weight_ = b.parameter("weight", {channels_}, Init::ones(), loc);
    bias_ = b.parameter("bias", {channels_}, Init::zeros(), loc);
  }
  return batchNorm(input, weight_, bias_, options_, loc);
}

Tensor MaxPool2d::forward(Tensor input, SourceLocation loc) {
  if (!checkPool(*input.builder(), "MaxPool2d", input, options_, loc))
    return input.builder()->poison();
  return maxPool2d(input, options_, loc);
}

Tensor AvgPool2d::forward(Tensor input, SourceLocation loc) {
  if (!checkPool(*input.builder(), "AvgPool2d", input, options_, loc))
    return input.builder()->poison();
  return avgPool2d(input, options_, loc);
}

Tensor GlobalAvgPool::forward(Tensor input, SourceLocation loc) {
  if (!checkImages(*input.builder(), "GlobalAvgPool", input, loc))
    return input.builder()->poison();
  return globalAvgPool2d(input, loc);
}

Tensor Dropout::forward(Tensor input, SourceLocation loc) {
  if (!(rate_ >= 0.0 && rate_ < 1.0)) {
    input.builder()->reportError(absl::StrCat("Dropout's rate must lie in [0, 1), got ", rate_),
                                 loc);
    return input.builder()->poison();
  }
  return dropout(input, rate_, loc);
}

Tensor Flatten::forward(Tensor input, SourceLocation loc) {
  if (input.rank() < 2) {
    input.builder()->reportError(absl::StrCat("Flatten expects inputs [N, ...] of rank 2 or more "
                                              "but got ",
                                              describe(input.type())),
                                 loc);
    return input.builder()->poison();
  }
  if (input.rank() == 2)
    return input;
  return reshape(input, {input.dim(0), -1}, loc);
}

Tensor Sequential::forward(Tensor input, SourceLocation loc) {
  Tensor x = input;
  for (const std::unique_ptr<Layer> &layer : layers_)
    x = (*layer)(x, loc);
  return x;
}

} // namespace kiln
