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

/// mean((prediction - target)^2) over every element, like
/// torch.nn.functional.mse_loss: same-shaped f32 tensors -> scalar.
Tensor mse(Tensor prediction, Tensor target, SourceLocation loc = SourceLocation::current());

} // namespace kiln

#endif // KILN_LOSSES_H
