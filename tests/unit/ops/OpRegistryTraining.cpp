//===- OpRegistryTraining.cpp - Registry samples of the training ops -----===//
//
// graph.dropout_mask at several step counters, rates and shapes. The counter
// is `arg0 * 0 + k`, so every device sees the step number k exactly whatever
// arg0 is drawn; the reference is Philox-4x32-10 of runtime/common (checked
// against Random123's known answers in PhiloxTest), one block per element.
// The forward check is then a bit-for-bit comparison of masks on every device
// the conformance suite runs. graph.train_or_eval has no samples: no device
// ever sees one (kiln-extract-eval and kiln-resolve-train-or-eval remove it;
// TrainingOpsTest checks that).
//
//===----------------------------------------------------------------------===//

#include "OpRegistry.h"

#include "kiln/runtime/Philox.h"

#include <cmath>
#include <cstdio>

namespace kiln::ops_test {
namespace {

OpSample dropoutMask(std::string sample, Shape shape, double rate, uint64_t seed, uint32_t stream,
                     uint32_t step) {
  char rateText[32];
  std::snprintf(rateText, sizeof rateText, "%.17e", rate);
  std::string scalar = tensorType({});
  std::string assembly = "%zero = graph.constant dense<0.0> : " + scalar +
                         "\n    %ignored = graph.mul %arg0, %zero : " + scalar +
                         "\n    %k = graph.constant dense<" + std::to_string(step) +
                         ".0> : " + scalar + "\n    %counter = graph.add %ignored, %k : " + scalar +
                         "\n    %result = graph.dropout_mask %counter rate = " + rateText +
                         " seed = " + std::to_string(static_cast<int64_t>(seed)) +
                         " stream = " + std::to_string(stream) + " : " + scalar + " -> " +
                         tensorType(shape, ElementType::kI1);
  return {"dropout_mask",
          std::move(sample),
          {{{}}},
          shape,
          ElementType::kI1,
          assembly,
          [shape, rate, seed, stream, step](const std::vector<Tensor> &) {
            // floor(rate * 2^32), written out independently of the op's helper.
            auto threshold = static_cast<uint64_t>(std::ldexp(rate, 32));
            std::vector<double> keep;
            for (int64_t i = 0; i < numElements(shape); ++i) {
              philox::Counter words = philox::philox4x32_10(
                  {static_cast<uint32_t>(i), step, stream, 0x44524f50u}, philox::keyOf(seed));
              keep.push_back(words[0] >= threshold ? 1.0 : 0.0);
            }
            return keep;
          },
          /*differentiable=*/false};
}

} // namespace

void appendTrainingSamples(std::vector<OpSample> &r) {
  r.push_back(dropoutMask("half_at_step_0", {4, 64}, 0.5, 0, 0, 0));
  r.push_back(dropoutMask("tenth_at_step_1", {4, 64}, 0.1, 0, 0, 1));
  r.push_back(dropoutMask("rank3_at_step_7_stream_3", {2, 3, 40}, 0.3, 42, 3, 7));
  r.push_back(
      dropoutMask("big_seed_at_step_1000000", {130}, 0.75, 0xfedcba9876543210ull, 1, 1000000));
  r.push_back(dropoutMask("rate_zero_keeps_all", {3, 5}, 0.0, 5, 0, 2));
}

} // namespace kiln::ops_test
