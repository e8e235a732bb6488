//===- TrainingSpec.h - What to minimize and how ----------------*- C++ -*-===//
//
// A TrainingSpec names the scalar loss, the optimizer of a training step and
// optional gradient clipping. `Builder::build(spec)` writes the optimizer (and
// the clipping) to the module's `graph.optimizer` dictionary, which the
// `kiln-append-optimizer` pass turns into update ops. Defaults and update
// rules follow PyTorch's torch.optim and torch.nn.utils.clip_grad_norm_.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TRAININGSPEC_H
#define KILN_TRAININGSPEC_H

#include "kiln/Builder.h"

#include "absl/status/status.h"
#include "mlir/IR/BuiltinAttributes.h"

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

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
///
/// The decay applies to every trainable parameter unless the spec marks
/// fewer, as PyTorch's parameter groups do (nanoGPT decays the matrices of
/// its linear layers, not biases, layer norms or embeddings):
/// `decayMatricesOnly` decays only parameters of rank >= 2, and `noDecay`
/// lists parameters (full names, "transformer.wte.weight") never decayed.
/// Every name in `noDecay` must be a trainable parameter of the module;
/// kiln-append-optimizer rejects one that is not, naming it. The undecayed
/// parameters still get the Adam update.
struct AdamW {
  double learningRate = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double epsilon = 1e-8;
  double weightDecay = 0.01;
  bool decayMatricesOnly = false;
  std::vector<std::string> noDecay = {};
};

using Optimizer = std::variant<Sgd, Adam, AdamW>;

/// The loss a training step minimizes (a scalar f32 Tensor), its optimizer
/// and optional gradient clipping.
struct TrainingSpec {
  Tensor loss;
  Optimizer optimizer = Sgd{};
  /// When set, the step clips the gradients by their global L2 norm before
  /// the optimizer update, as torch.nn.utils.clip_grad_norm_(parameters,
  /// max_norm): total = sqrt(sum of every gradient's squared elements), each
  /// gradient scaled by min(1, clipGradNorm / (total + 1e-6)). Computed on
  /// the device inside the step (nothing is read back to the host); the step
  /// gets the output "grad_norm" (total, before clipping). A finite number
  /// > 0.
  std::optional<double> clipGradNorm = std::nullopt;
};

/// "sgd", "adam" or "adamw": the `kind` in `graph.optimizer`.
std::string_view optimizerKind(const Optimizer &optimizer);

/// OK when every hyperparameter is in the range torch.optim accepts
/// (finite, learning rate, momentum, epsilon and weight decay >= 0, betas in
/// [0, 1), Nesterov only with momentum > 0) and AdamW's noDecay names are
/// non-empty and distinct; InvalidArgument naming the field otherwise.
absl::Status validateOptimizer(const Optimizer &optimizer);

/// validateOptimizer(spec.optimizer) (its message prefixed "optimizer: "),
/// and clipGradNorm, when set, a finite number > 0 ("clipGradNorm must be
/// ..."). The loss is checked by Builder::build, which prefixes the message
/// with "TrainingSpec.".
absl::Status validateTrainingSpec(const TrainingSpec &spec);

/// The `graph.optimizer` dictionary: `kind` plus the optimizer's f64 entries
/// (sgd: learning_rate, momentum, nesterov, weight_decay; adam/adamw:
/// learning_rate, beta1, beta2, epsilon, weight_decay; adamw also
/// decay_min_rank = 2 when decayMatricesOnly and no_decay, an array of
/// names, when noDecay is not empty).
mlir::DictionaryAttr optimizerAttribute(mlir::MLIRContext &context, const Optimizer &optimizer);

/// optimizerAttribute(spec.optimizer) plus `clip_grad_norm` (f64) when
/// spec.clipGradNorm is set: what Builder::build writes.
mlir::DictionaryAttr optimizerAttribute(mlir::MLIRContext &context, const TrainingSpec &spec);

} // namespace kiln

#endif // KILN_TRAININGSPEC_H
