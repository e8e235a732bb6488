//===- Layers.h - nn.Module-style building blocks ---------------*- C++ -*-===//
//
// Layers bundle parameters with the ops that use them, like PyTorch's
// nn.Module. A layer is configured without a Builder and creates its
// parameters the first time it is applied to a Tensor; applying it again
// reuses them (weight sharing). While applied it opens a Builder::NameScope
// with its name, so its parameters are "<name>.weight" and its ops carry
// NameLoc("<name>", file:line:col) of the user's call. Unnamed layers are
// named on first use: fc1, fc2, ... for Linear, relu1, ... for Relu, conv1,
// bn1, maxpool1, avgpool1, globalavgpool1, dropout1, flatten1 for the
// convolutional layers.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_LAYERS_H
#define KILN_LAYERS_H

#include "kiln/Conv.h"
#include "kiln/Normalization.h"
#include "kiln/Ops.h"
#include "kiln/Pooling.h"

#include <array>
#include <concepts>
#include <memory>
#include <string>
#include <vector>

namespace kiln {

/// The base of every layer: a name and a forward function.
class Layer {
public:
  virtual ~Layer() = default;

  /// Applies the layer to `input` within its NameScope; `loc` is the user's
  /// call, given to every op the layer emits. An empty or poisoned input
  /// gives a poisoned result. A layer belongs to the first Builder it is
  /// applied with; applying it with another records an error.
  Tensor operator()(Tensor input, SourceLocation loc = SourceLocation::current());

  /// The layer's name; empty until it is named or first applied.
  const std::string &name() const { return name_; }
  /// Names the layer ("fc1"); call before its first application.
  Layer &setName(std::string name) {
    name_ = std::move(name);
    return *this;
  }

protected:
  /// `namePrefix` is used for automatic names ("fc" gives fc1, fc2, ...); an
  /// empty prefix leaves an unnamed layer without a scope.
  explicit Layer(std::string namePrefix) : namePrefix_(std::move(namePrefix)) {}
  Layer(const Layer &) = default;
  Layer(Layer &&) = default;
  Layer &operator=(const Layer &) = default;
  Layer &operator=(Layer &&) = default;

  /// Emits the layer's ops on `input`'s Builder, which is ready and inside
  /// the layer's scope.
  virtual Tensor forward(Tensor input, SourceLocation loc) = 0;

private:
  std::string namePrefix_;
  std::string name_;
  Builder *builder_ = nullptr;
};

/// y = x W^T + b, as torch.nn.Linear: the weight is stored [out, in] and
/// applied with a transposed matmul. Both weight and bias default to
/// U(-1/sqrt(in), 1/sqrt(in)), which is what PyTorch's
/// kaiming_uniform_(a=sqrt(5)) and bias init give. Inputs [..., in] give
/// [..., out] (leading dimensions are flattened around the matmul).
class Linear : public Layer {
public:
  Linear(int64_t inFeatures, int64_t outFeatures, bool bias = true);

  /// Replaces the weight's initializer; call before the first application.
  Linear &setWeightInit(Init init) {
    weightInit_ = init;
    return *this;
  }
  /// Replaces the bias's initializer; call before the first application.
  Linear &setBiasInit(Init init) {
    biasInit_ = init;
    return *this;
  }

  int64_t inFeatures() const { return inFeatures_; }
  int64_t outFeatures() const { return outFeatures_; }
  /// The weight [out, in] read in the step; empty before the first application.
  Tensor weight() const { return weight_; }
  /// The bias [out]; empty before the first application or without bias.
  Tensor bias() const { return bias_; }

protected:
  Tensor forward(Tensor input, SourceLocation loc) override;

private:
  int64_t inFeatures_;
  int64_t outFeatures_;
  bool hasBias_;
  Init weightInit_;
  Init biasInit_;
  Tensor weight_;
  Tensor bias_;
};

/// max(x, 0).
class Relu : public Layer {
public:
  Relu() : Layer("relu") {}

protected:
  Tensor forward(Tensor input, SourceLocation loc) override { return relu(input, loc); }
};

/// tanh(x).
class Tanh : public Layer {
public:
  Tanh() : Layer("tanh") {}

protected:
  Tensor forward(Tensor input, SourceLocation loc) override { return tanh(input, loc); }
};

/// 1 / (1 + e^-x).
class Sigmoid : public Layer {
public:
  Sigmoid() : Layer("sigmoid") {}

protected:
  Tensor forward(Tensor input, SourceLocation loc) override { return sigmoid(input, loc); }
};

/// torch.nn.Conv2d on NCHW inputs: x [N, C, H, W] -> [N, O, OH, OW] (see conv2d). The weight is
/// stored [O, C / groups, KH, KW] and the bias [O]; both default to U(-1/sqrt(fanIn),
/// 1/sqrt(fanIn)) with fanIn = C / groups * KH * KW, which is what PyTorch's
/// kaiming_uniform_(a=sqrt(5)) and bias init give.
class Conv2d : public Layer {
public:
  Conv2d(int64_t inChannels, int64_t outChannels, std::array<int64_t, 2> kernel,
         Conv2dOptions options = {}, bool bias = true);
  /// A square kernel x kernel convolution.
  Conv2d(int64_t inChannels, int64_t outChannels, int64_t kernel, Conv2dOptions options = {},
         bool bias = true)
      : Conv2d(inChannels, outChannels, {kernel, kernel}, options, bias) {}

  /// Replaces the weight's initializer; call before the first application.
  Conv2d &setWeightInit(Init init) {
    weightInit_ = init;
    return *this;
  }
  /// Replaces the bias's initializer; call before the first application.
  Conv2d &setBiasInit(Init init) {
    biasInit_ = init;
    return *this;
  }

  int64_t inChannels() const { return inChannels_; }
  int64_t outChannels() const { return outChannels_; }
  std::array<int64_t, 2> kernel() const { return kernel_; }
  const Conv2dOptions &options() const { return options_; }
  /// The weight [O, C / groups, KH, KW]; empty before the first application.
  Tensor weight() const { return weight_; }
  /// The bias [O]; empty before the first application or without bias.
  Tensor bias() const { return bias_; }

protected:
  Tensor forward(Tensor input, SourceLocation loc) override;

private:
  int64_t inChannels_;
  int64_t outChannels_;
  std::array<int64_t, 2> kernel_;
  Conv2dOptions options_;
  bool hasBias_;
  Init weightInit_;
  Init biasInit_;
  Tensor weight_;
  Tensor bias_;
};

/// torch.nn.BatchNorm2d (affine, tracking running statistics) on x [N, C, H, W]: see batchNorm.
/// Parameters "<name>.weight" (init 1) and "<name>.bias" (init 0), both [C], and the state
/// "<name>.running_mean" and "<name>.running_var", as in PyTorch's state_dict.
class BatchNorm2d : public Layer {
public:
  explicit BatchNorm2d(int64_t channels, BatchNormOptions options = {})
      : Layer("bn"), channels_(channels), options_(options) {}

  int64_t channels() const { return channels_; }
  /// The scale [C]; empty before the first application.
  Tensor weight() const { return weight_; }
  /// The shift [C]; empty before the first application.
  Tensor bias() const { return bias_; }

protected:
  Tensor forward(Tensor input, SourceLocation loc) override;

private:
  int64_t channels_;
  BatchNormOptions options_;
  Tensor weight_;
  Tensor bias_;
};

/// torch.nn.MaxPool2d on x [N, C, H, W] (see maxPool2d); the stride defaults to the kernel.
class MaxPool2d : public Layer {
public:
  explicit MaxPool2d(Pool2dOptions options = {}) : Layer("maxpool"), options_(options) {}
  /// A kernel x kernel window with stride kernel, as nn.MaxPool2d(kernel).
  explicit MaxPool2d(int64_t kernel)
      : MaxPool2d(Pool2dOptions{.kernel = {kernel, kernel}, .stride = std::nullopt}) {}

protected:
  Tensor forward(Tensor input, SourceLocation loc) override;

private:
  Pool2dOptions options_;
};

/// torch.nn.AvgPool2d on x [N, C, H, W] (see avgPool2d); the stride defaults to the kernel.
class AvgPool2d : public Layer {
public:
  explicit AvgPool2d(Pool2dOptions options = {}) : Layer("avgpool"), options_(options) {}
  /// A kernel x kernel window with stride kernel, as nn.AvgPool2d(kernel).
  explicit AvgPool2d(int64_t kernel)
      : AvgPool2d(Pool2dOptions{.kernel = {kernel, kernel}, .stride = std::nullopt}) {}

protected:
  Tensor forward(Tensor input, SourceLocation loc) override;

private:
  Pool2dOptions options_;
};

/// The mean over each channel's plane: [N, C, H, W] -> [N, C], as
/// nn.AdaptiveAvgPool2d(1) followed by nn.Flatten().
class GlobalAvgPool : public Layer {
public:
  GlobalAvgPool() : Layer("globalavgpool") {}

protected:
  Tensor forward(Tensor input, SourceLocation loc) override;
};

/// torch.nn.Dropout(rate): see dropout; the identity in the eval program. rate in [0, 1).
class Dropout : public Layer {
public:
  explicit Dropout(double rate = 0.5) : Layer("dropout"), rate_(rate) {}

  double rate() const { return rate_; }

protected:
  Tensor forward(Tensor input, SourceLocation loc) override;

private:
  double rate_;
};

/// torch.nn.Flatten(): [N, d1, d2, ...] -> [N, d1 * d2 * ...]; a rank-2 input is returned as is.
class Flatten : public Layer {
public:
  Flatten() : Layer("flatten") {}

protected:
  Tensor forward(Tensor input, SourceLocation loc) override;
};

/// A layer type, or a reference to one.
template <typename T>
concept LayerType = std::derived_from<std::remove_cvref_t<T>, Layer>;

class Sequential;

/// True for the argument list of a move or copy (one Sequential), which the
/// layer-list constructor must leave to the move constructor.
template <typename... Ts>
concept MovesASequential = sizeof...(Ts) == 1 &&
                           (std::same_as<std::remove_cvref_t<Ts>, Sequential> && ...);

/// Layers applied in order, as torch.nn.Sequential. Unnamed, it adds no
/// scope of its own (its layers are fc1, relu1, ...); named, its layers'
/// names are prefixed ("encoder.fc1.weight"). Owns its layers; movable, not
/// copyable.
class Sequential : public Layer {
public:
  Sequential() : Layer("") {}

  /// `Sequential{Linear(784, 128), Relu(), Linear(128, 10)}`.
  template <LayerType... Layers>
  requires(!MovesASequential<Layers...>) explicit Sequential(Layers &&...layers) : Layer("") {
    (add(std::forward<Layers>(layers)), ...);
  }

  Sequential(Sequential &&) = default;
  Sequential &operator=(Sequential &&) = default;

  /// Appends `layer` (moved or copied in).
  template <LayerType L> Sequential &add(L &&layer) {
    layers_.push_back(std::make_unique<std::remove_cvref_t<L>>(std::forward<L>(layer)));
    return *this;
  }
  /// Appends `layer` under `name`.
  template <LayerType L> Sequential &add(std::string name, L &&layer) {
    add(std::forward<L>(layer));
    layers_.back()->setName(std::move(name));
    return *this;
  }

  size_t size() const { return layers_.size(); }
  Layer &operator[](size_t index) { return *layers_[index]; }
  const Layer &operator[](size_t index) const { return *layers_[index]; }

protected:
  Tensor forward(Tensor input, SourceLocation loc) override;

private:
  std::vector<std::unique_ptr<Layer>> layers_;
};

} // namespace kiln

#endif // KILN_LAYERS_H
