//===- Layers.h - nn.Module-style building blocks ---------------*- C++ -*-===//
//
// Layers bundle parameters with the ops that use them, like PyTorch's
// nn.Module. A layer is configured without a Builder and creates its
// parameters the first time it is applied to a Tensor; applying it again
// reuses them (weight sharing). While applied it opens a Builder::NameScope
// with its name, so its parameters are "<name>.weight" and its ops carry
// NameLoc("<name>", file:line:col) of the user's call. Unnamed layers are
// named on first use: fc1, fc2, ... for Linear, relu1, ... for Relu.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_LAYERS_H
#define KILN_LAYERS_H

#include "kiln/Ops.h"

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
