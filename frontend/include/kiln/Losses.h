//===- Losses.h - Scalar training losses ------------------------*- C++ -*-===//
//
// Losses reduce to the scalar f32 a TrainingSpec minimizes, with PyTorch's
// default `reduction='mean'`.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_LOSSES_H
#define KILN_LOSSES_H

#include "kiln/Ops.h"

namespace kiln {

/// Mean over the batch of the cross entropy of softmax(logits) and integer
/// labels, like torch.nn.functional.cross_entropy: logits [N, C] f32,
/// labels [N] i32 -> scalar (graph.softmax_cross_entropy + graph.reduce_mean).
Tensor softmaxCrossEntropy(Tensor logits, Tensor labels,
                           SourceLocation loc = SourceLocation::current());

struct CrossEntropyOptions {
  /// PyTorch's `label_smoothing`: the target is (1 - s) * one_hot + s / C, so the loss is
  /// (1 - s) * cross_entropy + s * mean over classes of -log_softmax. In [0, 1].
  double labelSmoothing = 0.0;
};

/// softmaxCrossEntropy with options, like torch.nn.functional.cross_entropy(logits, labels,
/// label_smoothing=s): logits [N, C] f32, labels [N] i32 -> scalar.
Tensor softmaxCrossEntropy(Tensor logits, Tensor labels, CrossEntropyOptions options,
                           SourceLocation loc = SourceLocation::current());

/// Mean over every element of the binary cross entropy of sigmoid(logits) and targets in
/// [0, 1], like torch.nn.functional.binary_cross_entropy_with_logits: same-shaped f32 tensors
/// -> scalar, computed stably as softplus(logits) - logits * targets.
Tensor binaryCrossEntropyWithLogits(Tensor logits, Tensor targets,
                                    SourceLocation loc = SourceLocation::current());

/// Mean over every element of the Huber loss, like torch.nn.HuberLoss(delta=delta): with
/// d = |prediction - target|, 0.5 d^2 where d <= delta, delta (d - 0.5 delta) elsewhere.
/// Same-shaped f32 tensors -> scalar; delta > 0.
Tensor huber(Tensor prediction, Tensor target, double delta = 1.0,
             SourceLocation loc = SourceLocation::current());

/// mean((prediction - target)^2) over every element, like
/// torch.nn.functional.mse_loss: same-shaped f32 tensors -> scalar.
Tensor mse(Tensor prediction, Tensor target, SourceLocation loc = SourceLocation::current());

} // namespace kiln

#endif // KILN_LOSSES_H
