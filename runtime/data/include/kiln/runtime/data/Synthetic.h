//===- Synthetic.h - Deterministic synthetic classification data -*- C++ -*-===//
//
// A Gaussian-cluster classification problem for tests and benchmarks that must
// not depend on files: each class has a random centre, each example is its
// class centre plus Gaussian noise. Everything is a pure function of the
// options (Philox-4x32-10, see kiln/runtime/Philox.h), so the same options give
// bit-identical data on every machine.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_DATA_SYNTHETIC_H
#define KILN_RUNTIME_DATA_SYNTHETIC_H

#include "kiln/runtime/data/Dataset.h"

#include "absl/status/statusor.h"

#include <cstdint>
#include <string>

namespace kiln::data {

struct GaussianClustersOptions {
  int64_t numTrainExamples = 1024;
  int64_t numTestExamples = 256;
  int64_t numFeatures = 16;
  int32_t numClasses = 4;
  uint64_t seed = 0;
  /// Standard deviation of every coordinate of a class centre.
  float centreSpread = 3.0f;
  /// Standard deviation of an example around its class centre; with the defaults the classes
  /// are far apart relative to the noise, so a linear model separates them almost perfectly.
  float noise = 1.0f;
  /// Splits are named "<name>/train" and "<name>/test".
  std::string name = "gaussian-clusters";
};

/// Generates the train and test splits. With N = numFeatures, Philox key `seed` and
/// z(stream, i) = philox::standardNormal(seed, stream, i) rounded to float:
///   centre[c][f]         = centreSpread * z(0, c * N + f)
///   label of example i   = i % numClasses                  (balanced classes)
///   train features[i][f] = centre[label][f] + noise * z(1, i * N + f)
///   test  features[i][f] = centre[label][f] + noise * z(2, i * N + f)
/// exampleShape is {numFeatures}. Fails with InvalidArgument when numTrainExamples < 1,
/// numTestExamples < 0, numFeatures < 1, numClasses < 1, or a spread is negative or not finite.
absl::StatusOr<DatasetSplits> makeGaussianClusters(const GaussianClustersOptions &options);

} // namespace kiln::data

#endif // KILN_RUNTIME_DATA_SYNTHETIC_H
