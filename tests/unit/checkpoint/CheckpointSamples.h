//===- CheckpointSamples.h - The plan checkpoint tests check against -*- C++ -*-===//
//
// Shared by the checkpoint unit tests, the safetensors fuzz target (which
// validates every decoded file against this plan) and kiln-fuzz-seeds (which
// writes a checkpoint of it).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TESTS_UNIT_CHECKPOINT_CHECKPOINTSAMPLES_H
#define KILN_TESTS_UNIT_CHECKPOINT_CHECKPOINTSAMPLES_H

#include "kiln/plan/plan.pb.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kiln::checkpoint_test {

/// A plan with three variables (f32[4, 3] trainable, its Adam moment, a scalar step).
inline plan::Plan samplePlan() {
  plan::Plan plan;
  plan.mutable_metadata()->set_model_name("mlp");
  auto addVariable = [&](const std::string &name, std::vector<int64_t> shape, bool trainable) {
    plan::Variable *variable = plan.add_variables();
    variable->mutable_tensor()->set_name(name);
    variable->mutable_tensor()->set_dtype(plan::DTYPE_F32);
    for (int64_t extent : shape)
      variable->mutable_tensor()->add_shape(extent);
    variable->set_trainable(trainable);
  };
  addVariable("fc1.weight", {4, 3}, true);
  addVariable("fc1.weight.adam_m", {4, 3}, false);
  addVariable("optimizer.step", {}, false);
  return plan;
}

} // namespace kiln::checkpoint_test

#endif // KILN_TESTS_UNIT_CHECKPOINT_CHECKPOINTSAMPLES_H
