//===- OpRegistry.h - One entry per graph op, with samples ------*- C++ -*-===//
//
// The op registry of TESTING.md: for every compute op of the graph dialect,
// samples (operand shapes, how their values are drawn, the op's MLIR text)
// and an independent reference implementation (ReferenceMath.h). Entries know
// nothing about devices: OpHarness.h turns a sample into modules and runs them
// on any DeviceUnderTest, so Vulkan and CUDA reuse every entry.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TESTS_UNIT_OPS_OPREGISTRY_H
#define KILN_TESTS_UNIT_OPS_OPREGISTRY_H

#include "ReferenceMath.h"

#include <functional>
#include <string>
#include <vector>

namespace kiln::ops_test {

/// How a sample draws an operand (and so its element type).
enum class Draw {
  kUniform,      ///< f32 from U[-2, 2]
  kPositive,     ///< f32 from U[0.1, 2], inside log's and sqrt's domain
  kAwayFromZero, ///< f32 from +-U[0.5, 2], for denominators
  kFewValues,    ///< f32 from {-1, -0.5, 0, 0.5, 1}, so comparisons meet ties
  kLabels,       ///< i32 class indices in [0, classes)
  kAnyLabels,    ///< i32 in [-2, classes + 2): some out of range
  kMask,         ///< i1, each true with probability 1/2
};

enum class ElementType { kF32, kI32, kI1 };

struct OperandSpec {
  Shape shape;
  Draw draw = Draw::kUniform;
  int64_t classes = 0; ///< for kLabels and kAnyLabels
};

ElementType elementTypeOf(Draw draw);

/// One op with one choice of operands.
struct OpSample {
  /// The op's mnemonic without "graph." ("matmul") and this sample's name
  /// ("transpose_rhs"); together they name the generated tests.
  std::string op;
  std::string sample;
  std::vector<OperandSpec> operands;
  Shape resultShape;
  ElementType resultType = ElementType::kF32;
  /// The op in MLIR assembly, reading %arg0, %arg1, ... and defining %result.
  std::string assembly;
  /// The op's value on `operands` (row-major doubles).
  std::function<std::vector<double>(const std::vector<Tensor> &operands)> reference;
  /// Whether the op has a derivative (then every f32 operand takes a gradient).
  bool differentiable = true;
  /// For an op differentiable almost everywhere sampled where it is not (max pooling over
  /// ties): d sum(op(x) * weights) / d operand `i` as the op's rule defines it, checked
  /// instead of finite differences (within their tolerances). Unset: finite differences.
  std::function<std::vector<double>(const std::vector<Tensor> &operands,
                                    const std::vector<double> &weights, size_t operand)>
      gradientReference;

  /// The step of the float32 random-direction VJP check. An op of degree at most 2 in its
  /// operands (bilinear: the convolutions) has an exact central difference at any step, so a
  /// large one keeps float32 rounding of long sums from swamping it.
  double vjpEpsilon = 1e-4;

  std::string testName() const { return op + "_" + sample; }
};

/// Every sample of every op, in a fixed order.
const std::vector<OpSample> &opRegistry();

/// The samples of each op family with its own file, appended to the registry in this order.
void appendConvSamples(std::vector<OpSample> &samples);      // OpRegistryConv.cpp
void appendWindowSamples(std::vector<OpSample> &samples);    // OpRegistryWindow.cpp
void appendTrainingSamples(std::vector<OpSample> &samples);  // OpRegistryTraining.cpp
void appendIndexSamples(std::vector<OpSample> &samples);     // OpRegistryIndex.cpp
void appendAttentionSamples(std::vector<OpSample> &samples); // OpRegistryAttention.cpp

/// "tensor<3x4xf32>".
std::string tensorType(const Shape &shape, ElementType type = ElementType::kF32);

} // namespace kiln::ops_test

#endif // KILN_TESTS_UNIT_OPS_OPREGISTRY_H
