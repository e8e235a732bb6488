//===- Normalization.h - Batch norm and dropout -----------------*- C++ -*-===//
//
// Layers that behave differently in the training step and in the eval
// program (kiln-extract-eval's @eval). Both are composites of existing graph
// ops joined by graph.train_or_eval, so autodiff differentiates them with the
// ops' own rules and fusion sees ordinary reductions and elementwise ops; see
// docs/design/batch-norm-and-dropout.md.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_NORMALIZATION_H
#define KILN_NORMALIZATION_H

#include "kiln/Ops.h"

namespace kiln {

/// `train` in the training step, `eval` in the eval program (graph.train_or_eval, resolved by
/// by kiln-extract-eval before autodiff). Both must have one type.
Tensor trainOrEval(Tensor train, Tensor eval, SourceLocation loc = SourceLocation::current());

struct BatchNormOptions {
  double momentum = 0.1;
  double eps = 1e-5;
};

/// As torch.nn.functional.batch_norm on x [N, C, ...] with weight and bias [C]: in the training
/// step, batch statistics over every axis but 1 (biased variance for normalizing) and the variables
/// "<scope>running_mean" (init 0) and "<scope>running_var" (init 1), created by this call in the
/// current NameScope, assigned (1 - momentum) * running + momentum * batch (unbiased variance for
/// running_var) inside the step; the eval program normalizes with the running statistics.
Tensor batchNorm(Tensor x, Tensor weight, Tensor bias, BatchNormOptions options = {},
                 SourceLocation loc = SourceLocation::current());

/// Zeroes each element with probability `rate` and scales the others by 1 / (1 - rate) in the
/// training step; the identity in the eval program. rate in [0, 1).
Tensor dropout(Tensor x, double rate, SourceLocation loc = SourceLocation::current());

} // namespace kiln

#endif // KILN_NORMALIZATION_H
