//===- TrainingSpec.h - What to minimize and how ----------------*- C++ -*-===//
//
// A TrainingSpec names the scalar loss and the optimizer of a training step.
// `Builder::build(spec)` writes the optimizer to the module's
// `graph.optimizer` dictionary, which the `kiln-append-optimizer` pass turns
// into update ops. Defaults and update rules follow PyTorch's torch.optim.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TRAININGSPEC_H
#define KILN_TRAININGSPEC_H

#include "kiln/Builder.h"

#include "absl/status/status.h"
#include "mlir/IR/BuiltinAttributes.h"

#include <string_view>
#include <variant>

namespace kiln {

/// Stochastic gradient descent, as torch.optim.SGD (dampening 0): with
/// momentum, v = momentum * v + g; Nesterov uses g + momentum * v.
/// `weightDecay` adds weightDecay * param to the gradient.
struct Sgd {
  double learningRate = 0.01;
  double momentum = 0.0;
  bool nesterov = false;
  double weightDecay = 0.0;
};

/// Adam with bias correction, as torch.optim.Adam; `weightDecay` is L2
/// added to the gradient.
struct Adam {
  double learningRate = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double epsilon = 1e-8;
  double weightDecay = 0.0;
};

/// AdamW, as torch.optim.AdamW: Adam with decoupled weight decay
/// (param -= learningRate * weightDecay * param).
struct AdamW {
  double learningRate = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double epsilon = 1e-8;
  double weightDecay = 0.01;
};

using Optimizer = std::variant<Sgd, Adam, AdamW>;

/// The loss a training step minimizes (a scalar f32 Tensor) and its
/// optimizer.
struct TrainingSpec {
  Tensor loss;
  Optimizer optimizer = Sgd{};
};

/// "sgd", "adam" or "adamw": the `kind` in `graph.optimizer`.
std::string_view optimizerKind(const Optimizer &optimizer);

/// OK when every hyperparameter is in the range torch.optim accepts
/// (finite, learning rate, momentum, epsilon and weight decay >= 0, betas in
/// [0, 1), Nesterov only with momentum > 0); InvalidArgument naming the
/// field otherwise.
absl::Status validateOptimizer(const Optimizer &optimizer);

/// The `graph.optimizer` dictionary: `kind` plus the optimizer's f64 entries
/// (sgd: learning_rate, momentum, nesterov, weight_decay; adam/adamw:
/// learning_rate, beta1, beta2, epsilon, weight_decay).
mlir::DictionaryAttr optimizerAttribute(mlir::MLIRContext &context, const Optimizer &optimizer);

} // namespace kiln

#endif // KILN_TRAININGSPEC_H
