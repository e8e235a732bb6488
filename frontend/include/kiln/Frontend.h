//===- Frontend.h - Everything needed to write a Kiln model -----*- C++ -*-===//
//
// One include for model files: the Builder and Tensor, the ops, losses,
// layers, initializers and the TrainingSpec with its optimizers.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_FRONTEND_H
#define KILN_FRONTEND_H

#include "kiln/Builder.h"
#include "kiln/Conv.h"
#include "kiln/Embedding.h"
#include "kiln/Init.h"
#include "kiln/Layers.h"
#include "kiln/Losses.h"
#include "kiln/Normalization.h"
#include "kiln/Ops.h"
#include "kiln/Pooling.h"
#include "kiln/TrainingSpec.h"
#include "kiln/Transformer.h"

#endif // KILN_FRONTEND_H
